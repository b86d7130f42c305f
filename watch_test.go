package diffy_test

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/diffy-dfir/diffy"
	"github.com/diffy-dfir/diffy/collect"
	"github.com/diffy-dfir/diffy/inventory"
	"github.com/diffy-dfir/diffy/persist"
	"github.com/diffy-dfir/diffy/target"
)

// growing is an inventory whose entries a test changes.
type growing struct{ entries *[]inventory.Entry }

func (g growing) Entries(context.Context) ([]inventory.Entry, error) {
	return slices.Clone(*g.entries), nil
}

// TestInventoryRound: a round hands out the entries never seen (not one
// with a baseline already), remembers them in the store, so that the next
// round, and a new Diffy on the same store (a restart), hand out only what
// is new since; an entry whose handler failed is handed out again.
func TestInventoryRound(t *testing.T) {
	ctx := context.Background()
	store := persist.NewMemory()
	tg := target.Static{"web": {{ID: "i-1"}}, "db": {{ID: "i-2"}}, "api": {{ID: "i-3"}}}
	entries := []inventory.Entry{{Key: "web"}, {Key: "db"}}
	mk := func() *diffy.Diffy {
		return mustNew(t, diffy.WithTarget(tg), diffy.WithPayload(twoCommands), diffy.WithCollector(newFleet(3, "")),
			diffy.WithStore(store), diffy.WithInventory(growing{&entries}))
	}
	d := mk()
	if _, err := d.Baseline(ctx, "db"); err != nil {
		t.Fatal(err)
	}
	var handed []string
	failing := ""
	handle := func(_ context.Context, e inventory.Entry) error {
		if e.Key == failing {
			return errors.New("queue full")
		}
		handed = append(handed, e.Key)
		return nil
	}
	round := func(d *diffy.Diffy, want ...string) {
		t.Helper()
		handed = nil
		es, err := d.InventoryRound(ctx, handle)
		var keys []string
		for _, e := range es {
			keys = append(keys, e.Key)
		}
		if !slices.Equal(keys, want) || !slices.Equal(handed, want) {
			t.Errorf("round returned %v, handed %v, want %v (err %v)", keys, handed, want, err)
		}
		if (err != nil) != (failing != "") {
			t.Errorf("round error %v", err)
		}
	}
	round(d, "web") // db has a baseline: seen, not handed
	round(d)
	entries = append(entries, inventory.Entry{Key: "api"})
	failing = "api"
	round(d)
	failing = ""
	round(d, "api")
	round(mk())
	if doc, err := store.Get(ctx, diffy.KindInventorySeen, diffy.InventorySeenKey); err != nil || len(doc) == 0 {
		t.Errorf("seen set: %q, %v", doc, err)
	}
}

// TestInventoryRoundInstances: an entry of a known key naming an instance
// not seen before for it (a deploy, a scale-out) is handed out, once; one
// naming an instance seen before (a scale-in making an older instance the
// newest again) is not; a seen set stored before instances were kept
// records the instances of its keys without handing them out.
func TestInventoryRoundInstances(t *testing.T) {
	ctx := context.Background()
	store := persist.NewMemory()
	tg := target.Static{"web": {{ID: "i-1"}, {ID: "i-2"}}}
	entries := []inventory.Entry{{Key: "web", Instance: "i-1"}}
	d := mustNew(t, diffy.WithTarget(tg), diffy.WithPayload(twoCommands), diffy.WithCollector(newFleet(2, "")),
		diffy.WithStore(store), diffy.WithInventory(growing{&entries}))
	var handed []inventory.Entry
	handle := func(_ context.Context, e inventory.Entry) error { handed = append(handed, e); return nil }
	round := func(want ...string) {
		t.Helper()
		handed = nil
		es, err := d.InventoryRound(ctx, handle)
		var got []string
		for _, e := range es {
			got = append(got, e.Key+"/"+e.Instance)
		}
		if err != nil || !slices.Equal(got, want) || len(handed) != len(want) {
			t.Errorf("round handed %v (%d), %v; want %v", got, len(handed), err, want)
		}
	}
	round("web/i-1")
	round()
	entries[0].Instance = "i-2" // launched: the group's newest
	round("web/i-2")
	round()
	entries[0].Instance = "i-1" // i-2 terminated: i-1 is the newest again
	round()

	// A set of before instances were kept: keys only.
	if err := store.Put(ctx, diffy.KindInventorySeen, diffy.InventorySeenKey, []byte(`{"keys": {"web": "2026-12-01T00:00:00Z"}}`)); err != nil {
		t.Fatal(err)
	}
	entries[0].Instance = "i-3"
	round()
	entries[0].Instance = "i-4"
	round("web/i-4")
}

// TestStopAfterBatch: closing the channel of WithStopAfterBatch lets the
// batch in flight finish, starts no other, and Collect returns an
// *IncompleteError matching ErrStopped with that batch kept; the same
// incident resumes with the others. Progress counts failed instances.
func TestStopAfterBatch(t *testing.T) {
	ctx := context.Background()
	store := persist.NewMemory()
	tg := target.Static{"web": {{ID: "i-1"}, {ID: "i-2"}, {ID: "i-3"}, {ID: "i-4"}}}
	fl := newFleet(3, "") // i-4 has no output: its commands fail
	stop := make(chan struct{})
	fl.before = func(call int) error {
		if call == 1 {
			close(stop) // a shutdown while the second batch runs
		}
		return nil
	}
	var last diffy.Progress
	opts := []diffy.Option{diffy.WithTarget(tg), diffy.WithPayload(twoCommands), diffy.WithCollector(fl), diffy.WithStore(store),
		diffy.WithBatchSize(1), diffy.WithIncident("inc-1"), diffy.WithProgress(func(p diffy.Progress) { last = p })}
	d := mustNew(t, append(opts, diffy.WithStopAfterBatch(stop))...)
	rs, err := d.Collect(ctx, "web")
	var ie *diffy.IncompleteError
	if !errors.As(err, &ie) || !errors.Is(err, diffy.ErrStopped) || ie.Done != 2 || len(rs) != 4 {
		t.Fatalf("Collect: %d Results, %v; want 2 instances and ErrStopped", len(rs), err)
	}
	if n := len(fl.asked()); n != 2 {
		t.Errorf("%d batches asked, want 2", n)
	}
	fl.before = nil
	rs, err = mustNew(t, opts...).Collect(ctx, "web")
	if err != nil || len(rs) != 8 {
		t.Fatalf("resumed: %d Results, %v", len(rs), err)
	}
	if got := fl.asked(); len(got) != 4 || !slices.Equal(got[2], []string{"i-3"}) {
		t.Errorf("asked %v, want i-3 and i-4 alone after the resume", got)
	}
	if last.Stage != "collect" || last.Done != 4 || last.Failed != 1 {
		t.Errorf("last progress %+v, want 4 done, 1 failed", last)
	}
	for _, r := range rs {
		if (r.InstanceID == "i-4") == (r.Status == collect.StatusSuccess) {
			t.Errorf("%s %s: %s", r.InstanceID, r.CommandID, r.Status)
		}
	}
}
