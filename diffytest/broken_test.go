package diffytest_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/diffy-dfir/diffy/analyze"
	"github.com/diffy-dfir/diffy/collect"
	"github.com/diffy-dfir/diffy/diffyerr"
	"github.com/diffy-dfir/diffy/diffytest"
	"github.com/diffy-dfir/diffy/inventory"
	"github.com/diffy-dfir/diffy/payload"
	"github.com/diffy-dfir/diffy/persist"
	"github.com/diffy-dfir/diffy/target"
)

// These tests prove that each suite can fail: every deliberately broken
// plugin below is run through the error-returning Check form, which must
// report the defect under the rule it breaks, in the joined error's text
// as well as in its Violations.

// wantBroken checks that err reports every rule of want, by name.
func wantBroken(t *testing.T, err error, want ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("the suite passed a broken plugin; want rules %q reported", want)
	}
	got := diffytest.BrokenRules(err)
	for _, rule := range want {
		if !slices.Contains(got, rule) {
			t.Errorf("rule %q not reported; the suite reported %q:\n%v", rule, got, err)
		}
		if !strings.Contains(err.Error(), "rule "+rule+":") {
			t.Errorf("the joined error does not name rule %q:\n%v", rule, err)
		}
	}
}

// --- Target ---

func brokenTargetHarness(tg target.Target) func() (diffytest.TargetHarness, error) {
	return func() (diffytest.TargetHarness, error) {
		return diffytest.TargetHarness{Target: tg, Key: "web", Want: []string{"i-1", "i-2", "i-3"}, Missing: "nope"}, nil
	}
}

func webInstances() []target.Instance {
	return []target.Instance{{ID: "i-1", Tags: map[string]string{"role": "web"}}, {ID: "i-2"}, {ID: "i-3"}}
}

func TestCheckTargetCatches(t *testing.T) {
	good := diffytest.NewFakeTarget(map[string][]target.Instance{"web": webInstances()})
	shared := webInstances()
	var turn atomic.Int32
	cases := []struct {
		name  string
		tg    target.Target
		rules []string
	}{
		{"duplicates", diffytest.TargetFunc(func(ctx context.Context, key string) ([]target.Instance, error) {
			insts, err := good.Targets(ctx, key)
			return append(insts, insts[0]), err
		}), []string{"no-duplicates"}},
		{"nil error for an unknown key", diffytest.TargetFunc(func(ctx context.Context, key string) ([]target.Instance, error) {
			if key != "web" {
				return nil, nil
			}
			return good.Targets(ctx, key)
		}), []string{"unknown-key"}},
		{"unknown key error without the key", diffytest.TargetFunc(func(ctx context.Context, key string) ([]target.Instance, error) {
			if key != "web" {
				return nil, diffyerr.ErrNotFound
			}
			return good.Targets(ctx, key)
		}), []string{"unknown-key"}},
		{"loses an instance", diffytest.TargetFunc(func(ctx context.Context, key string) ([]target.Instance, error) {
			insts, err := good.Targets(ctx, key)
			return insts[:len(insts)-1], err
		}), []string{"known-key"}},
		{"order changes on every call", diffytest.TargetFunc(func(ctx context.Context, key string) ([]target.Instance, error) {
			insts, err := good.Targets(ctx, key)
			n := int(turn.Add(1)) % len(insts)
			return append(insts[n:], insts[:n]...), err
		}), []string{"deterministic", "concurrent-use"}},
		{"ignores cancellation", diffytest.TargetFunc(func(_ context.Context, key string) ([]target.Instance, error) {
			return good.Targets(context.Background(), key)
		}), []string{"cancelled-context"}},
		{"returns its own slice", diffytest.TargetFunc(func(ctx context.Context, key string) ([]target.Instance, error) {
			if key != "web" {
				return good.Targets(ctx, key)
			}
			return shared, ctx.Err()
		}), []string{"returns-copies"}},
		{"panics", diffytest.TargetFunc(func(ctx context.Context, key string) ([]target.Instance, error) {
			if ctx.Err() != nil {
				panic("boom")
			}
			return good.Targets(ctx, key)
		}), []string{"cancelled-context"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			wantBroken(t, diffytest.CheckTarget(brokenTargetHarness(c.tg)), c.rules...)
		})
	}
}

// --- Payload ---

func TestCheckPayloadCatches(t *testing.T) {
	pack := payload.StandardPack()
	var turn atomic.Int32
	cases := []struct {
		name  string
		p     payload.Payload
		rules []string
	}{
		{"duplicate IDs", diffytest.PayloadFunc(func(ctx context.Context, _ string) ([]payload.Command, error) {
			return append(payload.StandardPack(), payload.StandardPack()[0]), ctx.Err()
		}), []string{"valid-ids"}},
		{"invalid ID", diffytest.PayloadFunc(func(ctx context.Context, _ string) ([]payload.Command, error) {
			return []payload.Command{{ID: "Listening Ports", Query: "SELECT 1;"}}, ctx.Err()
		}), []string{"valid-ids"}},
		{"no command", diffytest.PayloadFunc(func(ctx context.Context, _ string) ([]payload.Command, error) {
			return nil, ctx.Err()
		}), []string{"at-least-one-command"}},
		{"credentials in the shell", diffytest.PayloadFunc(func(ctx context.Context, _ string) ([]payload.Command, error) {
			cmds := payload.StandardPack()
			cmds[0].Shell = "export AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE\n" + cmds[0].Shell
			cmds[1].Shell = "export AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\n" + cmds[1].Shell
			return cmds, ctx.Err()
		}), []string{"no-credentials"}},
		{"order changes on every call", diffytest.PayloadFunc(func(ctx context.Context, _ string) ([]payload.Command, error) {
			cmds := payload.StandardPack()
			n := int(turn.Add(1)) % len(cmds)
			return append(cmds[n:], cmds[:n]...), ctx.Err()
		}), []string{"deterministic", "concurrent-use"}},
		{"ignores cancellation", diffytest.PayloadFunc(func(context.Context, string) ([]payload.Command, error) {
			return payload.StandardPack(), nil
		}), []string{"cancelled-context"}},
		{"returns its own slice", diffytest.PayloadFunc(func(ctx context.Context, _ string) ([]payload.Command, error) {
			return pack, ctx.Err()
		}), []string{"returns-copies"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			wantBroken(t, diffytest.CheckPayload(func() (payload.Payload, error) { return c.p, nil }), c.rules...)
		})
	}
}

// --- Inventory ---

func TestCheckInventoryCatches(t *testing.T) {
	entries := func() []inventory.Entry {
		return []inventory.Entry{{Key: "web", Labels: map[string]string{"account": "1"}}, {Key: "db"}, {Key: "cache"}}
	}
	shared := entries()
	var turn atomic.Int32
	cases := []struct {
		name  string
		inv   inventory.Inventory
		rules []string
	}{
		{"duplicate keys", diffytest.InventoryFunc(func(ctx context.Context) ([]inventory.Entry, error) {
			return append(entries(), inventory.Entry{Key: "web"}), ctx.Err()
		}), []string{"unique-keys"}},
		{"empty key", diffytest.InventoryFunc(func(ctx context.Context) ([]inventory.Entry, error) {
			return append(entries(), inventory.Entry{Instance: "i-1"}), ctx.Err()
		}), []string{"entries"}},
		{"order changes on every call", diffytest.InventoryFunc(func(ctx context.Context) ([]inventory.Entry, error) {
			es := entries()
			n := int(turn.Add(1)) % len(es)
			return append(es[n:], es[:n]...), ctx.Err()
		}), []string{"deterministic", "concurrent-use"}},
		{"ignores cancellation", diffytest.InventoryFunc(func(context.Context) ([]inventory.Entry, error) {
			return entries(), nil
		}), []string{"cancelled-context"}},
		{"returns its own slice", diffytest.InventoryFunc(func(ctx context.Context) ([]inventory.Entry, error) {
			return shared, ctx.Err()
		}), []string{"returns-copies"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			wantBroken(t, diffytest.CheckInventory(func() (inventory.Inventory, error) { return c.inv, nil }), c.rules...)
		})
	}
}

// --- Store ---

// brokenStore is a map-backed Store whose defects are switched on by its
// fields. Its mutex keeps it free of data races, so that the race
// detector does not hide what the suite must find.
type brokenStore struct {
	mu   sync.Mutex
	docs map[string][]byte

	dropLastListed bool // List loses the last key
	dropBig        bool // Put silently drops documents over 512 KiB
	sharedSlices   bool // Put keeps the caller's slice, Get returns the stored one
	noKeyCheck     bool // accepts any key, "../x" included
	tornWrites     bool // Put writes a document in two steps
	missingIsNil   bool // Get of a missing key returns nil, nil
	reverseList    bool // List sorts backwards
	ignoreKind     bool // one namespace for every kind
	ignoreCtx      bool // never looks at ctx
	keepFirst      bool // Put does not overwrite
	reformatJSON   bool // Put trims the trailing newline
	urlDecodesKeys bool // "%2e%2e%2fx" becomes "../x", and is refused
	deleteKeeps    bool // Delete reports success and keeps the document
	anonymousMiss  bool // Get of a missing key says "not found" and not what
	infoNoPrefix   bool // ListInfo ignores its prefix
	infoSizeOff    bool // ListInfo's sizes are one byte off
}

func (s *brokenStore) ListInfo(ctx context.Context, kind persist.Kind, prefix string) ([]persist.Info, error) {
	if err := persist.CheckPrefix(prefix); err != nil {
		return nil, err
	}
	keys, err := s.List(ctx, kind)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	infos := []persist.Info{}
	for _, k := range keys {
		if !strings.HasPrefix(k, prefix) && !s.infoNoPrefix {
			continue
		}
		n := int64(len(s.docs[s.name(kind, k)]))
		if s.infoSizeOff {
			n++
		}
		infos = append(infos, persist.Info{Key: k, Size: n})
	}
	return infos, nil
}

func (s *brokenStore) Delete(ctx context.Context, kind persist.Kind, key string) error {
	if err := s.check(ctx, kind, key); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	n := s.name(kind, key)
	if _, ok := s.docs[n]; !ok {
		return fmt.Errorf("%q: %w", key, diffyerr.ErrNotFound)
	}
	if !s.deleteKeeps {
		delete(s.docs, n)
	}
	return nil
}

func (s *brokenStore) name(kind persist.Kind, key string) string {
	if s.ignoreKind {
		return key
	}
	return string(kind) + "\x00" + key
}

func (s *brokenStore) check(ctx context.Context, kind persist.Kind, key string) error {
	if !s.ignoreCtx && ctx.Err() != nil {
		return ctx.Err()
	}
	if s.urlDecodesKeys {
		key = strings.NewReplacer("%2e", ".", "%2f", "/", "%00", "\x00").Replace(key)
	}
	if s.noKeyCheck {
		return nil
	}
	return errors.Join(persist.ValidKey(string(kind)), persist.ValidKey(key))
}

func (s *brokenStore) Put(ctx context.Context, kind persist.Kind, key string, doc []byte) error {
	if err := s.check(ctx, kind, key); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.docs == nil {
		s.docs = map[string][]byte{}
	}
	n := s.name(kind, key)
	if _, ok := s.docs[n]; ok && s.keepFirst {
		return nil
	}
	switch {
	case s.dropBig && len(doc) > 512<<10:
		return nil
	case s.sharedSlices:
		s.docs[n] = doc
	case s.tornWrites:
		half := append(bytes.Clone(doc[:len(doc)/2]), s.docs[n][min(len(s.docs[n]), len(doc)/2):]...)
		s.docs[n] = half
		s.mu.Unlock()
		time.Sleep(time.Millisecond) // a reader sees the torn document meanwhile
		s.mu.Lock()
		s.docs[n] = bytes.Clone(doc)
	case s.reformatJSON:
		s.docs[n] = bytes.TrimRight(bytes.Clone(doc), "\n")
	default:
		s.docs[n] = bytes.Clone(doc)
	}
	return nil
}

func (s *brokenStore) Get(ctx context.Context, kind persist.Kind, key string) ([]byte, error) {
	if err := s.check(ctx, kind, key); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	d, ok := s.docs[s.name(kind, key)]
	switch {
	case !ok && s.missingIsNil:
		return nil, nil
	case !ok && s.anonymousMiss:
		return nil, diffyerr.ErrNotFound
	case !ok:
		return nil, fmt.Errorf("no %s document %q: %w", kind, key, diffyerr.ErrNotFound)
	case s.sharedSlices:
		return d, nil
	}
	return bytes.Clone(d), nil
}

func (s *brokenStore) List(ctx context.Context, kind persist.Kind) ([]string, error) {
	if err := s.check(ctx, kind, "k"); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var keys []string
	for n := range s.docs {
		if s.ignoreKind {
			keys = append(keys, n)
		} else if k, ok := strings.CutPrefix(n, string(kind)+"\x00"); ok {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	if s.reverseList {
		slices.Reverse(keys)
	}
	if s.dropLastListed && len(keys) > 0 {
		keys = keys[:len(keys)-1]
	}
	return keys, nil
}

func TestCheckStoreCatches(t *testing.T) {
	cases := []struct {
		name  string
		new   func() *brokenStore
		rules []string
	}{
		{"correct (control)", func() *brokenStore { return &brokenStore{} }, nil},
		{"loses a key in List", func() *brokenStore { return &brokenStore{dropLastListed: true} }, []string{"list-sorted", "valid-keys", "concurrent-use"}},
		{"loses a big document", func() *brokenStore { return &brokenStore{dropBig: true} }, []string{"round-trip"}},
		{"returns a shared slice", func() *brokenStore { return &brokenStore{sharedSlices: true} }, []string{"returns-copies"}},
		{"accepts escaping keys", func() *brokenStore { return &brokenStore{noKeyCheck: true} }, []string{"invalid-keys"}},
		{"torn overwrite", func() *brokenStore { return &brokenStore{tornWrites: true} }, []string{"atomic-overwrite"}},
		{"missing key is not an error", func() *brokenStore { return &brokenStore{missingIsNil: true} }, []string{"get-missing", "kinds-separate"}},
		{"List unsorted", func() *brokenStore { return &brokenStore{reverseList: true} }, []string{"list-sorted", "concurrent-use"}},
		{"kinds share keys", func() *brokenStore { return &brokenStore{ignoreKind: true} }, []string{"kinds-separate"}},
		{"ignores cancellation", func() *brokenStore { return &brokenStore{ignoreCtx: true} }, []string{"cancelled-context"}},
		{"keeps the first document", func() *brokenStore { return &brokenStore{keepFirst: true} }, []string{"overwrite", "atomic-overwrite"}},
		{"rewrites documents", func() *brokenStore { return &brokenStore{reformatJSON: true} }, []string{"round-trip"}},
		{"decodes keys", func() *brokenStore { return &brokenStore{urlDecodesKeys: true} }, []string{"valid-keys"}},
		{"Delete keeps the document", func() *brokenStore { return &brokenStore{deleteKeeps: true} }, []string{"delete"}},
		{"not found, but not what", func() *brokenStore { return &brokenStore{anonymousMiss: true} }, []string{"get-missing", "kinds-separate", "delete"}},
		{"ListInfo ignores the prefix", func() *brokenStore { return &brokenStore{infoNoPrefix: true} }, []string{"list-info"}},
		{"ListInfo sizes off", func() *brokenStore { return &brokenStore{infoSizeOff: true} }, []string{"list-info"}},
	}
	for _, c := range cases {
		// In a bubble, the torn store's pause while half written is on the
		// bubble's clock, which stands still while the readers run: they
		// see the torn document every time, however loaded the machine.
		t.Run(c.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				err := diffytest.CheckStore(func() (persist.Store, error) { return c.new(), nil })
				if c.rules == nil {
					if err != nil {
						t.Fatalf("the suite failed a correct store: %v", err)
					}
					return
				}
				wantBroken(t, err, c.rules...)
			})
		})
	}
}

// --- Collector ---

// brokenCollector wraps a FakeCollector and breaks it as its fields say.
type brokenCollector struct {
	fake *diffytest.FakeCollector

	dropInstance    bool // the last instance has no Result
	ignoreCtx       bool // runs with a context that is never cancelled
	failRun         bool // a failing instance fails the whole run
	noDedup         bool // instances listed twice are collected twice
	noCollectedAt   bool // CollectedAt left zero
	sortsInput      bool // sorts the caller's instances and tags them
	sharesRows      bool // later runs return the rows of the first
	failingSuccess  bool // a failing instance reported as a success without rows
	cancelNoResults bool // a cancelled run returns no Result
	extraPair       bool // adds a Result for a command not asked for
	vagueErrors     bool // failures say "failed", naming no command

	mu     sync.Mutex
	cached []collect.Result
}

func (b *brokenCollector) Collect(ctx context.Context, insts []target.Instance, cmds []payload.Command) ([]collect.Result, error) {
	if b.ignoreCtx {
		ctx = context.WithoutCancel(ctx)
	}
	if b.sortsInput {
		slices.SortFunc(insts, func(x, y target.Instance) int { return strings.Compare(y.ID, x.ID) })
		for i := range insts {
			insts[i].Name = "sorted"
		}
	}
	if b.cancelNoResults && ctx.Err() != nil {
		return nil, ctx.Err()
	}
	if b.noDedup && len(insts) > 0 {
		var all []collect.Result
		for _, in := range insts {
			rs, err := b.fake.Collect(ctx, []target.Instance{in}, cmds)
			if err != nil {
				return all, err
			}
			all = append(all, rs...)
		}
		return all, nil
	}
	rs, err := b.fake.Collect(ctx, insts, cmds)
	var failed bool
	for i := range rs {
		if rs[i].Status == collect.StatusUndeliverable {
			failed = true
			if b.failingSuccess {
				rs[i].Status, rs[i].Error = collect.StatusSuccess, ""
			}
		}
		if b.noCollectedAt {
			rs[i].CollectedAt = time.Time{}
		}
		if b.vagueErrors && rs[i].Status != collect.StatusSuccess {
			rs[i].Error = "failed"
		}
	}
	if b.failRun && failed {
		return rs, errors.New("instance unreachable")
	}
	if b.dropInstance {
		last := insts[len(insts)-1].ID
		rs = slices.DeleteFunc(rs, func(r collect.Result) bool { return r.InstanceID == last })
	}
	if b.extraPair && len(rs) > 0 {
		extra := rs[0]
		extra.CommandID = "not_asked"
		rs = append(rs, extra)
	}
	if b.sharesRows {
		b.mu.Lock()
		defer b.mu.Unlock()
		if b.cached == nil {
			b.cached = rs
		}
		return b.cached, err
	}
	return rs, err
}

func TestCheckCollectorCatches(t *testing.T) {
	cases := []struct {
		name  string
		set   func(*brokenCollector)
		rules []string
	}{
		{"correct (control)", func(*brokenCollector) {}, nil},
		{"drops an instance", func(b *brokenCollector) { b.dropInstance = true }, []string{"one-result-per-pair", "concurrent-use"}},
		{"ignores cancellation", func(b *brokenCollector) { b.ignoreCtx = true }, []string{"cancelled-before-start"}},
		{"a failing instance fails the run", func(b *brokenCollector) { b.failRun = true }, []string{"failing-instance", "results-valid"}},
		{"duplicates results", func(b *brokenCollector) { b.noDedup = true }, []string{"duplicate-instances"}},
		{"no CollectedAt", func(b *brokenCollector) { b.noCollectedAt = true }, []string{"results-valid"}},
		{"changes its input", func(b *brokenCollector) { b.sortsInput = true }, []string{"does-not-modify-inputs"}},
		{"shares rows between runs", func(b *brokenCollector) { b.sharesRows = true }, []string{"returns-copies"}},
		{"failing instance reported as a success", func(b *brokenCollector) { b.failingSuccess = true }, []string{"failing-instance"}},
		{"cancelled run returns no Result", func(b *brokenCollector) { b.cancelNoResults = true }, []string{"cancelled-before-start"}},
		{"a Result not asked for", func(b *brokenCollector) { b.extraPair = true }, []string{"one-result-per-pair"}},
		{"errors name no command", func(b *brokenCollector) { b.vagueErrors = true }, []string{"results-valid"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := diffytest.CheckCollector(func() (diffytest.CollectorHarness, error) {
				h := fakeCollectorHarness(t)
				b := &brokenCollector{fake: h.Collector.(*diffytest.FakeCollector)}
				c.set(b)
				h.Collector = b
				if b.ignoreCtx {
					// Its hanging command would never end: the hang itself
					// is TestCheckCollectorCatchesHang's to show.
					h.Hang = nil
				}
				return h, nil
			})
			if c.rules == nil {
				if err != nil {
					t.Fatalf("the suite failed a correct collector: %v", err)
				}
				return
			}
			wantBroken(t, err, c.rules...)
		})
	}
}

// TestCheckCollectorCatchesHang runs a collector whose hanging command
// ignores cancellation: the suite must report the hang under
// cancelled-mid-run instead of blocking. The collector never returns until
// the test releases it, so the outcome does not depend on timing; in a
// synctest bubble the suite's HangTimeout passes on the bubble's clock, at
// once.
func TestCheckCollectorCatchesHang(t *testing.T) {
	synctest.Test(t, testCheckCollectorCatchesHang)
}

func testCheckCollectorCatchesHang(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	err := diffytest.CheckCollector(func() (diffytest.CollectorHarness, error) {
		h := fakeCollectorHarness(t)
		fake := h.Collector.(*diffytest.FakeCollector)
		hang := h.Hang.ID
		h.Collector = diffytest.CollectorFunc(func(ctx context.Context, insts []target.Instance, cmds []payload.Command) ([]collect.Result, error) {
			if slices.ContainsFunc(cmds, func(c payload.Command) bool { return c.ID == hang }) {
				<-release
			}
			return fake.Collect(ctx, insts, cmds)
		})
		return h, nil
	})
	wantBroken(t, err, "cancelled-mid-run")
	if !strings.Contains(err.Error(), "hangs") {
		t.Errorf("the report does not say the call hangs: %v", err)
	}
}

// --- Analyzer ---

// brokenAnalyzer wraps a FakeAnalyzer and breaks its reports as its
// fields say.
type brokenAnalyzer struct {
	fake diffytest.FakeAnalyzer

	omitLast      bool // the last host is missing
	omitFailed    bool // hosts with errors are missing
	duplicate     bool // the first host appears twice
	flagAll       bool // every host is an outlier
	unsorted      bool // hosts in reverse order
	nilFindings   bool // Findings nil when empty
	sortsInput    bool // sorts in.Results in place
	ignoreCtx     bool
	noBaseline    bool // needs a baseline but does not check for one
	counter       atomic.Int32
	varies        bool // a note that changes on every call
	dropSkipped   bool
	wrongKey      bool
	blind         bool // finds nothing
	badPrevalence bool // prevalence as a percentage
}

func (b *brokenAnalyzer) NeedsBaseline() bool { return b.fake.UseBaseline }

func (b *brokenAnalyzer) Analyze(ctx context.Context, in analyze.Input) (*analyze.Report, error) {
	if b.ignoreCtx {
		ctx = context.WithoutCancel(ctx)
	}
	if b.sortsInput {
		slices.SortFunc(in.Results, func(x, y collect.Result) int { return strings.Compare(x.InstanceID, y.InstanceID) })
	}
	if b.noBaseline && len(in.Baseline) == 0 {
		in.Baseline = []collect.Result{{InstanceID: "none"}}
	}
	rep, err := b.fake.Analyze(ctx, in)
	if err != nil {
		return nil, err
	}
	hs := rep.Hosts
	switch {
	case b.omitLast:
		hs = hs[:len(hs)-1]
	case b.omitFailed:
		hs = slices.DeleteFunc(hs, func(h analyze.Host) bool { return len(h.Errors) > 0 })
	case b.duplicate:
		hs = append(hs, hs[0])
	case b.unsorted:
		slices.Reverse(hs)
	case b.varies:
		rep.Notes = append(rep.Notes, fmt.Sprintf("call %d", b.counter.Add(1)))
	case b.dropSkipped:
		rep.Skipped = nil
	case b.wrongKey:
		rep.Key = "key"
	}
	for i := range hs {
		switch {
		case b.flagAll:
			hs[i].Outlier = true
		case b.nilFindings && len(hs[i].Findings) == 0:
			hs[i].Findings = nil
		case b.blind:
			hs[i].Outlier, hs[i].Findings = false, []analyze.Finding{}
		case b.badPrevalence:
			for j := range hs[i].Findings {
				hs[i].Findings[j].Prevalence *= 100
			}
		}
	}
	rep.Hosts = hs
	return rep, nil
}

func TestCheckAnalyzerCatches(t *testing.T) {
	cases := []struct {
		name     string
		baseline bool
		set      func(*brokenAnalyzer)
		rules    []string
	}{
		{"correct (control)", false, func(*brokenAnalyzer) {}, nil},
		{"correct with a baseline (control)", true, func(*brokenAnalyzer) {}, nil},
		{"omits a host", false, func(b *brokenAnalyzer) { b.omitLast = true }, []string{"every-host-once"}},
		{"omits failed hosts", false, func(b *brokenAnalyzer) { b.omitFailed = true }, []string{"every-host-once", "failed-results-reported"}},
		{"duplicates a host", false, func(b *brokenAnalyzer) { b.duplicate = true }, []string{"every-host-once", "hosts-sorted"}},
		{"flags everyone", false, func(b *brokenAnalyzer) { b.flagAll = true }, []string{"clean-fleet-no-outlier", "planted-row-outlier"}},
		{"unsorted hosts", false, func(b *brokenAnalyzer) { b.unsorted = true }, []string{"hosts-sorted"}},
		{"null findings", false, func(b *brokenAnalyzer) { b.nilFindings = true }, []string{"findings-not-nil"}},
		{"changes its input", false, func(b *brokenAnalyzer) { b.sortsInput = true }, []string{"does-not-modify-input"}},
		{"ignores cancellation", false, func(b *brokenAnalyzer) { b.ignoreCtx = true }, []string{"cancelled-context"}},
		{"needs a baseline and does not check", true, func(b *brokenAnalyzer) { b.noBaseline = true }, []string{"no-baseline"}},
		{"not deterministic", false, func(b *brokenAnalyzer) { b.varies = true }, []string{"deterministic", "concurrent-use"}},
		{"drops skipped inputs", false, func(b *brokenAnalyzer) { b.dropSkipped = true }, []string{"carries-skipped"}},
		{"wrong key", false, func(b *brokenAnalyzer) { b.wrongKey = true }, []string{"report-fields"}},
		{"misses the planted row", false, func(b *brokenAnalyzer) { b.blind = true }, []string{"planted-row-outlier"}},
		{"prevalence over 1", false, func(b *brokenAnalyzer) { b.badPrevalence = true }, []string{"report-fields"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := diffytest.CheckAnalyzer(func() (analyze.Analyzer, error) {
				b := &brokenAnalyzer{}
				b.fake.UseBaseline = c.baseline
				c.set(b)
				return b, nil
			})
			if c.rules == nil {
				if err != nil {
					t.Fatalf("the suite failed a correct analyzer: %v", err)
				}
				return
			}
			wantBroken(t, err, c.rules...)
		})
	}
}

// TestCheckPassesFakes checks the error-returning forms on correct plugins:
// no violation at all.
func TestCheckPassesFakes(t *testing.T) {
	if err := diffytest.CheckTarget(func() (diffytest.TargetHarness, error) { return fakeTargetHarness(t), nil }); err != nil {
		t.Errorf("CheckTarget: %v", err)
	}
	if err := diffytest.CheckCollector(func() (diffytest.CollectorHarness, error) { return fakeCollectorHarness(t), nil }); err != nil {
		t.Errorf("CheckCollector: %v", err)
	}
	if err := diffytest.CheckStore(func() (persist.Store, error) { return diffytest.NewFakeStore(), nil }); err != nil {
		t.Errorf("CheckStore: %v", err)
	}
	if err := diffytest.CheckPayload(func() (payload.Payload, error) { return diffytest.NewFakePayload(payload.StandardPack()...), nil }); err != nil {
		t.Errorf("CheckPayload: %v", err)
	}
	if err := diffytest.CheckInventory(func() (inventory.Inventory, error) { return diffytest.NewFakeInventory(inventory.Entry{Key: "a"}), nil }); err != nil {
		t.Errorf("CheckInventory: %v", err)
	}
	if err := diffytest.CheckAnalyzer(func() (analyze.Analyzer, error) { return &diffytest.FakeAnalyzer{}, nil }); err != nil {
		t.Errorf("CheckAnalyzer: %v", err)
	}
}

// TestCheckHarnessErrors checks that a failing constructor and an
// incomplete harness are reported for every rule, not taken for a pass.
func TestCheckHarnessErrors(t *testing.T) {
	err := diffytest.CheckStore(func() (persist.Store, error) { return nil, errors.New("no disk") })
	if v := diffytest.Violations(err); len(v) == 0 || !strings.Contains(err.Error(), "no disk") {
		t.Errorf("a failing constructor gave %d violations: %v", len(v), err)
	}
	err = diffytest.CheckTarget(func() (diffytest.TargetHarness, error) {
		return diffytest.TargetHarness{Target: diffytest.NewFakeTarget(nil), Key: "a"}, nil
	})
	if err == nil || !strings.Contains(err.Error(), "Missing is empty") {
		t.Errorf("an incomplete harness gave %v", err)
	}
	err = diffytest.CheckCollector(func() (diffytest.CollectorHarness, error) {
		return diffytest.CollectorHarness{Collector: diffytest.NewFakeCollector(nil)}, nil
	})
	if err == nil || !strings.Contains(err.Error(), "Instances is empty") {
		t.Errorf("an incomplete harness gave %v", err)
	}
}

// TestViolations checks that Violations and BrokenRules see through
// errors.Join and wrapping.
func TestViolations(t *testing.T) {
	a := &diffytest.Violation{Suite: "Store", Rule: "round-trip", Err: errors.New("x")}
	b := &diffytest.Violation{Suite: "Store", Rule: "overwrite", Err: errors.New("y")}
	c := &diffytest.Violation{Suite: "Store", Rule: "round-trip", Err: errors.New("z")}
	err := fmt.Errorf("wrapped: %w", errors.Join(a, errors.Join(b, c)))
	if got := diffytest.Violations(err); len(got) != 3 || got[0] != a || got[1] != b || got[2] != c {
		t.Errorf("Violations = %v", got)
	}
	if got := diffytest.BrokenRules(err); !slices.Equal(got, []string{"round-trip", "overwrite"}) {
		t.Errorf("BrokenRules = %q", got)
	}
	if got := diffytest.Violations(nil); got != nil {
		t.Errorf("Violations(nil) = %v", got)
	}
	if want := "diffytest: Store rule round-trip: x"; a.Error() != want {
		t.Errorf("Error() = %q, want %q", a.Error(), want)
	}
}
