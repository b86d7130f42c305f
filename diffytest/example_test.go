package diffytest_test

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/diffy-dfir/diffy/analyze"
	"github.com/diffy-dfir/diffy/collect"
	"github.com/diffy-dfir/diffy/diffyerr"
	"github.com/diffy-dfir/diffy/diffytest"
	"github.com/diffy-dfir/diffy/payload"
	"github.com/diffy-dfir/diffy/persist"
	"github.com/diffy-dfir/diffy/target"
)

// CheckStore runs the Store suite outside go test. persist.Memory keeps
// every rule.
func ExampleCheckStore() {
	err := diffytest.CheckStore(func() (persist.Store, error) { return persist.NewMemory(), nil })
	fmt.Println("violations:", len(diffytest.Violations(err)))
	// Output:
	// violations: 0
}

// A store written in a hurry: a map with no key checks, keeping and
// handing out the callers' slices, looking at ctx only after writing. The
// suite names each promise it breaks.
func ExampleCheckStore_broken() {
	var mu sync.Mutex
	docs := map[string][]byte{}
	hasty := diffytest.StoreFuncs{
		PutFunc: func(ctx context.Context, kind persist.Kind, key string, doc []byte) error {
			mu.Lock()
			defer mu.Unlock()
			docs[string(kind)+"|"+key] = doc
			return ctx.Err()
		},
		GetFunc: func(ctx context.Context, kind persist.Kind, key string) ([]byte, error) {
			mu.Lock()
			defer mu.Unlock()
			doc, ok := docs[string(kind)+"|"+key]
			if !ok {
				return nil, fmt.Errorf("%s %q: %w", kind, key, diffyerr.ErrNotFound)
			}
			return doc, ctx.Err()
		},
		ListFunc: func(ctx context.Context, kind persist.Kind) ([]string, error) {
			mu.Lock()
			defer mu.Unlock()
			var keys []string
			for k := range docs {
				if key, ok := strings.CutPrefix(k, string(kind)+"|"); ok {
					keys = append(keys, key)
				}
			}
			slices.Sort(keys)
			return keys, ctx.Err()
		},
	}
	err := diffytest.CheckStore(func() (persist.Store, error) {
		mu.Lock()
		defer mu.Unlock()
		clear(docs)
		return hasty, nil
	})
	for _, rule := range diffytest.BrokenRules(err) {
		fmt.Println(rule)
	}
	// Output:
	// invalid-keys
	// returns-copies
	// cancelled-context
}

// A FakeCollector answers from the rows it was given; an instance made to
// fail fails in its own Results, not the run.
func ExampleFakeCollector() {
	c := diffytest.NewFakeCollector(map[string]map[string][]collect.Row{
		"i-1": {payload.Users: {{"username": "root", "uid": "0"}}},
		"i-2": {payload.Users: {{"username": "root", "uid": "0"}, {"username": "toor", "uid": "0"}}},
	})
	c.Fail("i-3", collect.StatusUndeliverable, "SSM agent not running")
	c.Now = func() time.Time { return diffytest.CollectedAt }

	insts := []target.Instance{{ID: "i-1"}, {ID: "i-2"}, {ID: "i-3"}}
	rs, err := c.Collect(context.Background(), insts, []payload.Command{{ID: payload.Users, Query: "SELECT * FROM users;"}})
	fmt.Println("run error:", err)
	for _, r := range rs {
		fmt.Println(strings.TrimSpace(fmt.Sprintf("%s %s %s rows=%d %s", r.InstanceID, r.CommandID, r.Status, len(r.Rows), r.Error)))
	}
	fmt.Println("calls:", len(c.Calls()))
	// Output:
	// run error: <nil>
	// i-1 users Success rows=1
	// i-2 users Success rows=2
	// i-3 users Undeliverable rows=0 command users: SSM agent not running
	// calls: 1
}

// FakeAnalyzer flags the rows not every host has: here, the planted
// listener of the suite's fleets.
func ExampleFakeAnalyzer() {
	var rs []collect.Result
	for _, id := range []string{"i-a", "i-b", "i-c"} {
		rows := diffytest.CleanRows()
		if id == "i-b" {
			rows[payload.ListeningPorts] = append(rows[payload.ListeningPorts], diffytest.PlantedRow())
		}
		for _, cmd := range slices.Sorted(maps.Keys(rows)) {
			rs = append(rs, collect.Result{InstanceID: id, CommandID: cmd, Status: collect.StatusSuccess, CollectedAt: diffytest.CollectedAt, Rows: rows[cmd]})
		}
	}
	a := &diffytest.FakeAnalyzer{}
	rep, err := a.Analyze(context.Background(), analyze.Input{Key: "web", Results: rs})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, h := range rep.Outliers() {
		f := h.Findings[0]
		fmt.Printf("%s: %s %s port %s (%s), on %d of %d hosts\n", h.InstanceID, f.Kind, f.CommandID, f.Row["port"], f.Row["name"], f.HostsWithRow, len(rep.Hosts))
	}
	// Output:
	// i-b: rare listening_ports port 4444 (backdoor), on 1 of 3 hosts
}

// TargetFunc makes a one-off Target from a function: here, one that knows
// a single key.
func ExampleTargetFunc() {
	tg := diffytest.TargetFunc(func(ctx context.Context, key string) ([]target.Instance, error) {
		if key != "canary" {
			return nil, fmt.Errorf("target %q: only \"canary\" is known: %w", key, diffyerr.ErrNotFound)
		}
		return []target.Instance{{ID: "i-0canary"}}, ctx.Err()
	})
	insts, _ := tg.Targets(context.Background(), "canary")
	_, err := tg.Targets(context.Background(), "prod")
	fmt.Println(insts[0].ID)
	fmt.Println(err)
	// Output:
	// i-0canary
	// target "prod": only "canary" is known: not found
}
