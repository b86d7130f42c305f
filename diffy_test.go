package diffy_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
	"unsafe"

	"github.com/diffy-dfir/diffy"
	"github.com/diffy-dfir/diffy/analyze"
	"github.com/diffy-dfir/diffy/collect"
	"github.com/diffy-dfir/diffy/inventory"
	"github.com/diffy-dfir/diffy/payload"
	"github.com/diffy-dfir/diffy/persist"
	"github.com/diffy-dfir/diffy/target"
)

// fleetCollector is an in-memory Collector over canned rows, by instance
// and command. It records the instances of every call; before, when set,
// runs at the start of each call and may stop it with an error.
type fleetCollector struct {
	rows   map[string]map[string][]collect.Row
	before func(call int) error

	mu    sync.Mutex
	calls [][]string
}

func (f *fleetCollector) Collect(ctx context.Context, insts []target.Instance, cmds []payload.Command) ([]collect.Result, error) {
	f.mu.Lock()
	call := len(f.calls)
	ids := make([]string, len(insts))
	for i, in := range insts {
		ids[i] = in.ID
	}
	f.calls = append(f.calls, ids)
	f.mu.Unlock()
	var stop error
	if f.before != nil {
		stop = f.before(call)
	}
	at := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	var out []collect.Result
	for _, in := range insts {
		for _, c := range cmds {
			r := collect.Result{InstanceID: in.ID, CommandID: c.ID, CollectedAt: at, ExitCode: -1}
			rows, ok := f.rows[in.ID][c.ID]
			switch {
			case stop != nil:
				r.Status, r.Error = collect.StatusCancelled, "cancelled"
			case !ok:
				r.Status, r.Error = collect.StatusFailed, "command "+c.ID+": no output"
			default:
				r.Status, r.ExitCode, r.Rows = collect.StatusSuccess, 0, rows
			}
			out = append(out, r)
		}
	}
	return out, stop
}

func (f *fleetCollector) asked() [][]string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.calls)
}

var twoCommands = payload.Commands{
	{ID: payload.ListeningPorts, Query: "SELECT port FROM listening_ports;"},
	{ID: payload.Users, Query: "SELECT username FROM users;"},
}

// newFleet returns n hosts i-1..i-n, all alike but for pids, with host
// odd (if any) listening on one more port.
func newFleet(n int, odd string) *fleetCollector {
	f := &fleetCollector{rows: map[string]map[string][]collect.Row{}}
	for i := 1; i <= n; i++ {
		id := fmt.Sprintf("i-%d", i)
		ports := []collect.Row{{"address": "0.0.0.0", "port": "22", "protocol": "6", "name": "sshd", "pid": fmt.Sprint(600 + i)}}
		if id == odd {
			ports = append(ports, collect.Row{"address": "0.0.0.0", "port": "4444", "protocol": "6", "name": "nc", "pid": "31337"})
		}
		f.rows[id] = map[string][]collect.Row{
			payload.ListeningPorts: ports,
			payload.Users:          {{"username": "root", "uid": "0"}},
		}
	}
	return f
}

func ids(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("i-%d", i+1)
	}
	return out
}

func mustNew(t *testing.T, opts ...diffy.Option) *diffy.Diffy {
	t.Helper()
	d, err := diffy.New(opts...)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return d
}

func TestNewDefaultsAndValidation(t *testing.T) {
	d := mustNew(t)
	if inc := d.Incident(); !strings.HasPrefix(inc, "diffy-") || len(inc) != len("diffy-20261126T120000Z-1a2b3c") {
		t.Errorf("default incident = %q, want diffy-<UTC time>-<6 hex>", inc)
	}
	if _, ok := d.Store().(*persist.Dir); !ok {
		t.Errorf("default store is %T, want *persist.Dir", d.Store())
	}
	if !d.NeedsBaseline() {
		t.Error("default analyzer does not need a baseline; want analyze.Baseline")
	}
	if d2 := mustNew(t); d2.Incident() == d.Incident() {
		t.Errorf("two Diffys share incident %q", d.Incident())
	}
	for _, tc := range []struct {
		name string
		opt  diffy.Option
	}{
		{"zero batch", diffy.WithBatchSize(0)},
		{"negative batch", diffy.WithBatchSize(-3)},
		{"incident with slash", diffy.WithIncident("ir/1")},
		{"incident with dot", diffy.WithIncident("ir.1")},
		{"long incident", diffy.WithIncident(strings.Repeat("a", 65))},
	} {
		if _, err := diffy.New(tc.opt); !errors.Is(err, diffy.ErrInvalidInput) {
			t.Errorf("%s: New error = %v, want ErrInvalidInput", tc.name, err)
		}
	}
	// A nil plugin counts as not set, and options apply in order.
	d = mustNew(t, diffy.WithTarget(nil), diffy.WithIncident("first"), diffy.WithIncident("IR-2026_11"))
	if d.Incident() != "IR-2026_11" {
		t.Errorf("incident = %q, want the last one given", d.Incident())
	}
}

func TestBaselineThenAnalyzeFindsTheOddHost(t *testing.T) {
	ctx := context.Background()
	fleet := newFleet(5, "i-4")
	store := persist.NewMemory()
	var progress []diffy.Progress
	d := mustNew(t,
		diffy.WithTarget(target.StaticIDs("web", ids(5)...)),
		diffy.WithPayload(twoCommands),
		diffy.WithCollector(fleet),
		diffy.WithStore(store),
		diffy.WithBatchSize(2),
		diffy.WithProgress(func(p diffy.Progress) { progress = append(progress, p) }),
	)
	base, err := d.Baseline(ctx, "web")
	if err != nil {
		t.Fatalf("Baseline: %v", err)
	}
	if len(base) != 2 || base[0].InstanceID != "i-1" {
		t.Fatalf("Baseline results = %+v, want 2 results of i-1 (the most typical host: not the odd i-4, the first of the alike)", base)
	}
	doc, err := store.Get(ctx, persist.KindBaseline, "web")
	if err != nil {
		t.Fatalf("baseline not stored: %v", err)
	}
	var stored []collect.Result
	if err := json.Unmarshal(doc, &stored); err != nil || len(stored) != 2 {
		t.Fatalf("stored baseline = %s (%v), want a JSON array of 2 Results", doc, err)
	}

	progress = nil
	rep, err := d.Analyze(ctx, "web")
	if err != nil {
		t.Fatalf("Analyze: %v", err)
	}
	if len(rep.Hosts) != 5 {
		t.Fatalf("report has %d hosts, want 5", len(rep.Hosts))
	}
	out := rep.Outliers()
	if len(out) != 1 || out[0].InstanceID != "i-4" {
		t.Fatalf("outliers = %+v, want only i-4 (pids differ on every host and must not count)", out)
	}
	if f := out[0].Findings; len(f) != 1 || f[0].Kind != analyze.KindAdded || f[0].Row["port"] != "4444" {
		t.Errorf("i-4 findings = %+v, want one added row with port 4444", f)
	}
	for _, kind := range []persist.Kind{persist.KindCollection, persist.KindAnalysis} {
		if _, err := store.Get(ctx, kind, "web"); err != nil {
			t.Errorf("%s of web not stored: %v", kind, err)
		}
	}
	if parts, _ := store.List(ctx, persist.KindPartial); len(parts) != 0 {
		t.Errorf("parts left after a complete run: %v", parts)
	}
	// Three batches of at most 2 instances for the baseline (it collects
	// the group to find its most typical host), the chosen host again
	// alone, and three batches for the analysis.
	if calls := fleet.asked(); len(calls) != 3+1+3 || !slices.Equal(calls[3], []string{"i-1"}) {
		t.Errorf("collector calls = %v, want 3 batches for the baseline, i-1 alone, 3 for the analysis", calls)
	}
	var collects []string
	stages := map[string]bool{}
	for _, p := range progress {
		stages[p.Stage] = true
		if p.Stage == "collect" {
			collects = append(collects, fmt.Sprintf("%d/%d", p.Done, p.Total))
		}
	}
	if want := []string{"0/5", "2/5", "4/5", "5/5"}; !slices.Equal(collects, want) {
		t.Errorf("collect progress = %v, want %v", collects, want)
	}
	if !stages["target"] || !stages["analyze"] {
		t.Errorf("progress stages = %v, want target, collect and analyze", stages)
	}
}

func TestBaselineInstanceChoice(t *testing.T) {
	ctx := context.Background()
	store := persist.NewMemory()
	opts := []diffy.Option{
		diffy.WithTarget(target.StaticIDs("web", ids(3)...)),
		diffy.WithPayload(twoCommands),
		diffy.WithCollector(newFleet(3, "")),
		diffy.WithStore(store),
	}
	rs, err := mustNew(t, append(opts, diffy.WithBaselineInstance("i-2"))...).Baseline(ctx, "web")
	if err != nil || rs[0].InstanceID != "i-2" {
		t.Fatalf("Baseline with instance i-2 = %v, %v", rs, err)
	}
	_, err = mustNew(t, append(opts, diffy.WithBaselineInstance("i-9"))...).Baseline(ctx, "web")
	if !errors.Is(err, diffy.ErrNotFound) || !strings.Contains(err.Error(), `"i-9"`) {
		t.Errorf("Baseline with unknown instance: error = %v, want ErrNotFound naming i-9", err)
	}
}

// TestBaselineTypicalHost: without a named instance Baseline keeps the
// group's most typical host, never the compromised one, even when that is
// the target's first; the analysis against it then finds the compromised
// host alone.
func TestBaselineTypicalHost(t *testing.T) {
	ctx := context.Background()
	store := persist.NewMemory()
	d := mustNew(t, diffy.WithTarget(target.StaticIDs("web", ids(6)...)), diffy.WithPayload(twoCommands),
		diffy.WithCollector(newFleet(6, "i-1")), diffy.WithStore(store))
	base, err := d.Baseline(ctx, "web")
	if err != nil {
		t.Fatal(err)
	}
	if base[0].InstanceID == "i-1" {
		t.Fatalf("the baseline is the compromised first instance i-1")
	}
	if keys, _ := store.List(ctx, persist.KindCollection); len(keys) != 0 {
		t.Errorf("Baseline stored a collection %v; it stores the baseline only", keys)
	}
	rep, err := d.Analyze(ctx, "web")
	if err != nil {
		t.Fatal(err)
	}
	if out := rep.Outliers(); len(out) != 1 || out[0].InstanceID != "i-1" {
		t.Errorf("outliers %+v, want i-1 alone", out)
	}
}

// TestBaselineFleet: BaselineFleet stores every instance's Results; the
// baseline analyzer compares later collections with that fleet.
func TestBaselineFleet(t *testing.T) {
	ctx := context.Background()
	store := persist.NewMemory()
	clean := mustNew(t, diffy.WithTarget(target.StaticIDs("web", ids(6)...)), diffy.WithPayload(twoCommands),
		diffy.WithCollector(newFleet(6, "")), diffy.WithStore(store))
	base, err := clean.BaselineFleet(ctx, "web")
	if err != nil {
		t.Fatal(err)
	}
	if len(base) != 12 {
		t.Fatalf("fleet baseline of %d Results, want 2 commands of 6 instances", len(base))
	}
	later := mustNew(t, diffy.WithTarget(target.StaticIDs("web", ids(6)...)), diffy.WithPayload(twoCommands),
		diffy.WithCollector(newFleet(6, "i-3")), diffy.WithStore(store))
	rep, err := later.Analyze(ctx, "web")
	if err != nil {
		t.Fatal(err)
	}
	if rep.BaselineHosts != 6 {
		t.Errorf("report baseline hosts %d, want 6", rep.BaselineHosts)
	}
	if out := rep.Outliers(); len(out) != 1 || out[0].InstanceID != "i-3" {
		t.Errorf("outliers %+v, want i-3 alone", out)
	}
}

func TestBaselineRefusesAllFailed(t *testing.T) {
	ctx := context.Background()
	store := persist.NewMemory()
	fleet := &fleetCollector{rows: map[string]map[string][]collect.Row{}} // knows nothing: every command fails
	d := mustNew(t, diffy.WithTarget(target.StaticIDs("web", "i-1")), diffy.WithPayload(twoCommands),
		diffy.WithCollector(fleet), diffy.WithStore(store))
	rs, err := d.Baseline(ctx, "web")
	if !errors.Is(err, diffy.ErrAllFailed) {
		t.Fatalf("error = %v, want ErrAllFailed", err)
	}
	if len(rs) != 2 || rs[0].Error == "" {
		t.Errorf("results = %+v, want the 2 failed Results with their errors", rs)
	}
	if keys, _ := store.List(ctx, persist.KindBaseline); len(keys) != 0 {
		t.Errorf("a baseline of failures was stored: %v", keys)
	}
}

func TestAnalyzeWithoutBaseline(t *testing.T) {
	fleet := newFleet(2, "")
	d := mustNew(t, diffy.WithTarget(target.StaticIDs("web", ids(2)...)), diffy.WithPayload(twoCommands),
		diffy.WithCollector(fleet), diffy.WithStore(persist.NewMemory()))
	_, err := d.Analyze(context.Background(), "web")
	if !errors.Is(err, diffy.ErrNoBaseline) || !strings.Contains(err.Error(), "diffy baseline web") {
		t.Fatalf("error = %v, want ErrNoBaseline telling to run `diffy baseline web`", err)
	}
	if calls := fleet.asked(); len(calls) != 0 {
		t.Errorf("collected %v before finding there is no baseline", calls)
	}
	// A key that names nothing: that is the error, not the baseline.
	_, err = d.Analyze(context.Background(), "wbe")
	if !errors.Is(err, diffy.ErrNotFound) || errors.Is(err, diffy.ErrNoBaseline) || !strings.Contains(err.Error(), `"wbe"`) {
		t.Fatalf("unknown key: error = %v, want ErrNotFound naming it", err)
	}
}

func TestPluginErrorsNameStageAndPlugin(t *testing.T) {
	ctx := context.Background()
	boom := errors.New("boom")
	d := mustNew(t, diffy.WithTarget(target.StaticIDs("web", "i-1")), diffy.WithPayload(twoCommands),
		diffy.WithCollector(&fleetCollector{before: func(int) error { return boom }}),
		diffy.WithStore(persist.NewMemory()))
	_, err := d.Collect(ctx, "web")
	var se *diffy.StageError
	if !errors.As(err, &se) || se.Stage != "collect" || se.Plugin != "*diffy_test.fleetCollector" || !errors.Is(err, boom) {
		t.Errorf("collector failure: error = %v, want a StageError collect (*diffy_test.fleetCollector) wrapping boom", err)
	}
	_, err = d.Collect(ctx, "db")
	if !errors.As(err, &se) || se.Stage != "target" || se.Plugin != "target.Static" || !errors.Is(err, diffy.ErrNotFound) {
		t.Errorf("unknown key: error = %v, want a StageError target (target.Static) matching ErrNotFound", err)
	}
	_, err = mustNew(t, diffy.WithTarget(target.StaticIDs("web", "i-1")), diffy.WithPayload(payload.Commands{}),
		diffy.WithStore(persist.NewMemory())).Collect(ctx, "web")
	if !errors.As(err, &se) || se.Stage != "payload" || !errors.Is(err, diffy.ErrInvalidInput) {
		t.Errorf("empty payload: error = %v, want a StageError payload matching ErrInvalidInput", err)
	}
}

func TestCollectAccountsForEveryPair(t *testing.T) {
	// The collector answers only listening_ports of i-1: every other pair
	// must still have a Result.
	lazy := collectorFunc(func(ctx context.Context, insts []target.Instance, cmds []payload.Command) ([]collect.Result, error) {
		return []collect.Result{{InstanceID: "i-1", CommandID: payload.ListeningPorts, Status: collect.StatusSuccess, Rows: []collect.Row{}}}, nil
	})
	d := mustNew(t, diffy.WithTarget(target.StaticIDs("web", "i-1", "i-2")), diffy.WithPayload(twoCommands),
		diffy.WithCollector(lazy), diffy.WithStore(persist.NewMemory()))
	rs, err := d.Collect(context.Background(), "web")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range rs {
		got = append(got, fmt.Sprintf("%s/%s/%s", r.InstanceID, r.CommandID, r.Status))
	}
	want := []string{"i-1/listening_ports/Success", "i-1/users/Failed", "i-2/listening_ports/Failed", "i-2/users/Failed"}
	if !slices.Equal(got, want) {
		t.Errorf("results = %v, want %v", got, want)
	}
}

type collectorFunc func(context.Context, []target.Instance, []payload.Command) ([]collect.Result, error)

func (f collectorFunc) Collect(ctx context.Context, insts []target.Instance, cmds []payload.Command) ([]collect.Result, error) {
	return f(ctx, insts, cmds)
}

// TestInterruptedRunKeepsBatchesAndResumes cancels a run during its third
// batch: the two batches before are in the store, Collect returns them, and
// a second run with the same incident collects only what is missing.
func TestInterruptedRunKeepsBatchesAndResumes(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	store := persist.NewMemory()
	fleet := newFleet(5, "")
	fleet.before = func(call int) error {
		if call == 2 {
			cancel()
			return ctx.Err()
		}
		return nil
	}
	opts := []diffy.Option{
		diffy.WithTarget(target.StaticIDs("web", ids(5)...)), diffy.WithPayload(twoCommands),
		diffy.WithStore(store), diffy.WithBatchSize(2), diffy.WithIncident("ir-1"),
	}
	d := mustNew(t, append(opts, diffy.WithCollector(fleet))...)
	rs, err := d.Collect(ctx, "web")
	var ie *diffy.IncompleteError
	if !errors.As(err, &ie) || !errors.Is(err, context.Canceled) {
		t.Fatalf("error = %v, want an IncompleteError wrapping context.Canceled", err)
	}
	if ie.Done != 4 || ie.Total != 5 || ie.Incident != "ir-1" {
		t.Errorf("IncompleteError = %d of %d, incident %q; want 4 of 5, ir-1", ie.Done, ie.Total, ie.Incident)
	}
	ok := 0
	for _, r := range rs {
		if r.OK() {
			ok++
		}
	}
	if ok != 8 {
		t.Errorf("returned %d successful results, want 8 (4 instances x 2 commands)", ok)
	}
	parts, _ := store.List(context.Background(), persist.KindPartial)
	if len(parts) != 3 {
		t.Errorf("parts in the store = %v, want 3 (two batches, and the cancelled one)", parts)
	}
	if _, err := store.Get(context.Background(), persist.KindCollection, "web"); !errors.Is(err, diffy.ErrNotFound) {
		t.Errorf("an incomplete collection was stored as whole: %v", err)
	}
	runs, err := d.Partial(context.Background(), "web")
	if err != nil || len(runs) != 1 || runs[0].Incident != "ir-1" || runs[0].Instances != 4 || len(runs[0].Results) != 8 {
		t.Fatalf("Partial = %+v, %v; want one run ir-1 with 4 instances, 8 results", runs, err)
	}

	again := newFleet(5, "")
	d = mustNew(t, append(opts, diffy.WithCollector(again))...)
	rs, err = d.Collect(context.Background(), "web")
	if err != nil {
		t.Fatalf("resumed Collect: %v", err)
	}
	if calls := again.asked(); len(calls) != 1 || !slices.Equal(calls[0], []string{"i-5"}) {
		t.Errorf("resumed run asked for %v, want only i-5", calls)
	}
	if len(rs) != 10 || rs[0].InstanceID != "i-1" || rs[9].InstanceID != "i-5" {
		t.Errorf("resumed run returned %d results, want 10 in instance order", len(rs))
	}
	if parts, _ := store.List(context.Background(), persist.KindPartial); len(parts) != 0 {
		t.Errorf("parts left after the resumed run completed: %v", parts)
	}
	if runs, _ := d.Partial(context.Background(), "web"); len(runs) != 0 {
		t.Errorf("Partial after completion = %+v, want none", runs)
	}
}

func TestAnalyzeResultsUsesStoredBaseline(t *testing.T) {
	ctx := context.Background()
	store := persist.NewMemory()
	fleet := newFleet(3, "i-3")
	d := mustNew(t, diffy.WithTarget(target.StaticIDs("saved", ids(3)...)), diffy.WithPayload(twoCommands),
		diffy.WithCollector(fleet), diffy.WithStore(store))
	if _, err := d.Baseline(ctx, "saved"); err != nil {
		t.Fatal(err)
	}
	rs, err := d.Collect(ctx, "saved")
	if err != nil {
		t.Fatal(err)
	}
	skipped := []analyze.Skip{{Source: "bad.json", Reason: "not JSON"}}
	rep, err := d.AnalyzeResults(ctx, "saved", rs, nil, skipped)
	if err != nil {
		t.Fatal(err)
	}
	if out := rep.Outliers(); len(out) != 1 || out[0].InstanceID != "i-3" {
		t.Errorf("outliers = %+v, want i-3", out)
	}
	if len(rep.Skipped) != 1 || rep.Skipped[0].Source != "bad.json" {
		t.Errorf("report skipped = %+v, want bad.json carried on", rep.Skipped)
	}
	if _, err := d.AnalyzeResults(ctx, "other", rs, nil, nil); !errors.Is(err, diffy.ErrNoBaseline) {
		t.Errorf("AnalyzeResults of a key without baseline: %v, want ErrNoBaseline", err)
	}
}

func TestBaselineInventory(t *testing.T) {
	ctx := context.Background()
	store := persist.NewMemory()
	tg := target.Static{
		"web": {{ID: "i-1"}, {ID: "i-2"}},
		"db":  {{ID: "i-3"}},
		"new": {{ID: "i-1"}, {ID: "i-2"}},
	}
	inv := inventory.Static{{Key: "web"}, {Key: "db"}, {Key: "new", Instance: "i-2"}, {Key: "gone"}}
	d := mustNew(t, diffy.WithTarget(tg), diffy.WithPayload(twoCommands), diffy.WithCollector(newFleet(3, "")),
		diffy.WithStore(store), diffy.WithInventory(inv))
	if _, err := d.Baseline(ctx, "db"); err != nil {
		t.Fatal(err)
	}
	keys, err := d.BaselineInventory(ctx)
	if !slices.Equal(keys, []string{"web", "new"}) {
		t.Errorf("baselined %v, want web and new (db has a baseline already)", keys)
	}
	if !errors.Is(err, diffy.ErrNotFound) || !strings.Contains(err.Error(), `"gone"`) {
		t.Errorf("error = %v, want the unknown key gone named, matching ErrNotFound", err)
	}
	doc, _ := store.Get(ctx, persist.KindBaseline, "new")
	if !strings.Contains(string(doc), `"instance_id":"i-2"`) {
		t.Errorf("baseline of new is %s, want it from the inventory's instance i-2", doc)
	}
}

func TestStoreKey(t *testing.T) {
	for _, tc := range []struct{ key, want string }{
		{"local", "local"},
		{"i-0abc,i-0def", "i-0abc,i-0def"},
		{"Name=web prod", "Name=web prod"},
		{"Name=web/prod", "Name=web%2Fprod"},
		{`a\b`, "a%5Cb"},
		{"..", "%2E."},
		{".hidden", "%2Ehidden"},
		{"50%", "50%25"},
		{"a~b", "a%7Eb"},
		{"nul\x00byte", "nul%00byte"},
	} {
		got, err := diffy.StoreKey(tc.key)
		if err != nil || got != tc.want {
			t.Errorf("StoreKey(%q) = %q, %v; want %q", tc.key, got, err, tc.want)
		}
		if err := persist.ValidKey(got); err != nil {
			t.Errorf("StoreKey(%q) = %q is not a valid store key: %v", tc.key, got, err)
		}
	}
	if _, err := diffy.StoreKey(""); !errors.Is(err, diffy.ErrInvalidKey) {
		t.Errorf("StoreKey(\"\") error = %v, want ErrInvalidKey", err)
	}
	// Long keys (many instance IDs) are shortened, and stay distinct.
	long1 := strings.Join(ids(100), ",")
	long2 := strings.Join(ids(101), ",")
	k1, err1 := diffy.StoreKey(long1)
	k2, err2 := diffy.StoreKey(long2)
	if err1 != nil || err2 != nil || len(k1) > 180 || k1 == k2 || !strings.HasPrefix(k1, "i-1,i-2,") {
		t.Errorf("long keys: %q (%v), %q (%v); want distinct keys of at most 180 bytes keeping the start", k1, err1, k2, err2)
	}
}

func TestCollectKeyWithSlash(t *testing.T) {
	store := persist.NewMemory()
	d := mustNew(t, diffy.WithTarget(target.StaticIDs("Name=web/prod", "i-1")), diffy.WithPayload(twoCommands),
		diffy.WithCollector(newFleet(1, "")), diffy.WithStore(store))
	if _, err := d.Collect(context.Background(), "Name=web/prod"); err != nil {
		t.Fatal(err)
	}
	if _, err := store.Get(context.Background(), persist.KindCollection, "Name=web%2Fprod"); err != nil {
		t.Errorf("collection not stored under the escaped key: %v", err)
	}
}

// TestCollectSharesRowsAcrossBatches: the Results of all batches are held
// together, and equal rows of hosts collected in different batches are one
// map (collect.RowPool); different rows keep their values.
func TestCollectSharesRowsAcrossBatches(t *testing.T) {
	f := newFleet(6, "")
	d := mustNew(t, diffy.WithTarget(target.StaticIDs("web", ids(6)...)), diffy.WithPayload(twoCommands),
		diffy.WithCollector(f), diffy.WithStore(persist.NewMemory()), diffy.WithBatchSize(2))
	rs, err := d.Collect(context.Background(), "web")
	if err != nil {
		t.Fatal(err)
	}
	if n := len(f.asked()); n != 3 {
		t.Fatalf("%d batches, want 3", n)
	}
	users := map[string]collect.Row{}
	ports := map[string]collect.Row{}
	for _, r := range rs {
		switch r.CommandID {
		case payload.Users:
			users[r.InstanceID] = r.Rows[0]
		case payload.ListeningPorts:
			ports[r.InstanceID] = r.Rows[0]
		}
	}
	ptr := func(r collect.Row) unsafe.Pointer { return reflect.ValueOf(r).UnsafePointer() }
	if ptr(users["i-1"]) != ptr(users["i-6"]) {
		t.Error("the same users row of hosts of the first and last batch is two maps")
	}
	if ports["i-1"]["pid"] != "601" || ports["i-6"]["pid"] != "606" {
		t.Errorf("different rows mixed up: %v %v", ports["i-1"], ports["i-6"])
	}
}

// TestAnalyzeDescribesHosts: the Report's hosts carry what the target knew
// of their instances (name, private address, tags), as copies.
func TestAnalyzeDescribesHosts(t *testing.T) {
	ctx := context.Background()
	var insts []target.Instance
	for i, id := range ids(3) {
		insts = append(insts, target.Instance{ID: id, Name: fmt.Sprintf("web-%d", i), PrivateIP: fmt.Sprintf("10.0.0.%d", i),
			Tags: map[string]string{"Role": "web"}})
	}
	tg := target.Static{"web": insts}
	d := mustNew(t, diffy.WithTarget(tg), diffy.WithPayload(twoCommands), diffy.WithCollector(newFleet(3, "i-2")),
		diffy.WithStore(persist.NewMemory()), diffy.WithAnalyzer(analyze.Clustering{}))
	rep, err := d.Analyze(ctx, "web")
	if err != nil {
		t.Fatal(err)
	}
	for i, h := range rep.Hosts {
		if h.Name != insts[i].Name || h.PrivateIP != insts[i].PrivateIP || h.Tags["Role"] != "web" {
			t.Errorf("host %s: name %q, address %q, tags %v; want the target's %+v", h.InstanceID, h.Name, h.PrivateIP, h.Tags, insts[i])
		}
	}
	rep.Hosts[0].Tags["Role"] = "changed"
	if insts[0].Tags["Role"] != "web" {
		t.Error("the report's tags are the target's own map")
	}
}

// TestResumedAnalyzeStoresWholeCollection: an Analyze (a streaming
// analyzer) stopped part way and resumed with the same incident stores the
// whole collection, the Results of the earlier run's parts joined with
// this run's, and leaves no part behind.
func TestResumedAnalyzeStoresWholeCollection(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	store := persist.NewMemory()
	first := newFleet(5, "")
	first.before = func(call int) error {
		if call == 2 {
			cancel()
			return ctx.Err()
		}
		return nil
	}
	opts := []diffy.Option{
		diffy.WithTarget(target.StaticIDs("web", ids(5)...)), diffy.WithPayload(twoCommands),
		diffy.WithStore(store), diffy.WithBatchSize(2), diffy.WithIncident("ir-2"),
		diffy.WithAnalyzer(analyze.Clustering{}),
	}
	d := mustNew(t, append(opts, diffy.WithCollector(first))...)
	if _, err := d.Analyze(ctx, "web"); !errors.Is(err, context.Canceled) {
		t.Fatalf("interrupted Analyze: %v, want context.Canceled", err)
	}
	again := newFleet(5, "")
	d = mustNew(t, append(opts, diffy.WithCollector(again))...)
	rep, err := d.Analyze(context.Background(), "web")
	if err != nil {
		t.Fatalf("resumed Analyze: %v", err)
	}
	if calls := again.asked(); len(calls) != 1 || !slices.Equal(calls[0], []string{"i-5"}) {
		t.Errorf("resumed run asked for %v, want only i-5", calls)
	}
	if len(rep.Hosts) != 5 {
		t.Errorf("report of %d hosts, want 5", len(rep.Hosts))
	}
	doc, err := store.Get(context.Background(), persist.KindCollection, "web")
	if err != nil {
		t.Fatalf("stored collection: %v", err)
	}
	var stored []collect.Result
	if err := json.Unmarshal(doc, &stored); err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	for _, r := range stored {
		seen[r.InstanceID]++
	}
	for _, id := range ids(5) {
		if seen[id] != 2 {
			t.Errorf("stored collection holds %d Results of %s, want 2 (every instance once, each command): %v", seen[id], id, seen)
		}
	}
	if parts, _ := store.List(context.Background(), persist.KindPartial); len(parts) != 0 {
		t.Errorf("parts left after the resumed run completed: %v", parts)
	}
}
