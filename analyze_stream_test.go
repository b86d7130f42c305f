package diffy_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/diffy-dfir/diffy"
	"github.com/diffy-dfir/diffy/analyze"
	"github.com/diffy-dfir/diffy/collect"
	"github.com/diffy-dfir/diffy/payload"
	"github.com/diffy-dfir/diffy/persist"
	"github.com/diffy-dfir/diffy/target"
)

// batchingCollector is a fleetCollector that delivers its Results one
// instance per batch (collect.BatchCollector), and counts the batches.
type batchingCollector struct {
	*fleetCollector
	mu      sync.Mutex
	batches int
}

func (b *batchingCollector) CollectBatches(ctx context.Context, insts []target.Instance, cmds []payload.Command, fn func([]collect.Result) error) error {
	rs, err := b.Collect(ctx, insts, cmds)
	for _, in := range insts {
		var one []collect.Result
		for _, r := range rs {
			if r.InstanceID == in.ID {
				one = append(one, r)
			}
		}
		b.mu.Lock()
		b.batches++
		b.mu.Unlock()
		if ferr := fn(one); ferr != nil {
			return ferr
		}
	}
	return err
}

// countingStreamer wraps the cluster analyzer's stream and records the
// size of each Add.
type countingStreamer struct {
	analyze.Clustering
	adds *[]int
}

func (c countingStreamer) NewStream(key string, base []collect.Result) (analyze.Stream, error) {
	s, err := c.Clustering.NewStream(key, base)
	return countingStream{s, c.adds}, err
}

type countingStream struct {
	analyze.Stream
	adds *[]int
}

func (c countingStream) Add(ctx context.Context, rs []collect.Result) error {
	*c.adds = append(*c.adds, len(rs))
	return c.Stream.Add(ctx, rs)
}

// TestAnalyzeStreams: with an analyze.Streamer, Analyze hands each batch
// the collector delivers to the stream (one instance at a time here),
// stores each as a part, then the collection from the parts, and reports
// what the analyzer reports on all the Results at once.
func TestAnalyzeStreams(t *testing.T) {
	ctx := context.Background()
	var insts []target.Instance
	for _, id := range ids(12) {
		insts = append(insts, target.Instance{ID: id})
	}
	tg := target.Static{"web": insts}
	col := &batchingCollector{fleetCollector: newFleet(12, "i-7")}
	store := persist.NewMemory()
	var adds []int
	d := mustNew(t, diffy.WithTarget(tg), diffy.WithPayload(twoCommands), diffy.WithCollector(col),
		diffy.WithStore(store), diffy.WithAnalyzer(countingStreamer{adds: &adds}), diffy.WithBatchSize(5))
	rep, err := d.Analyze(ctx, "web")
	if err != nil {
		t.Fatal(err)
	}
	if len(adds) != 12 || slices.Max(adds) != 2 {
		t.Errorf("stream Adds %v, want 12 of 2 Results (one instance each)", adds)
	}
	// The collection is stored as Collect stores it, joined from the
	// parts (never decoded together), and the parts are dropped.
	doc, err := store.Get(ctx, persist.KindCollection, "web")
	if err != nil {
		t.Fatal(err)
	}
	var stored []collect.Result
	if err := json.Unmarshal(doc, &stored); err != nil || len(stored) != 24 {
		t.Errorf("stored collection: %d Results (%v), want 24", len(stored), err)
	}
	if partKeys, _ := store.List(ctx, persist.KindPartial); len(partKeys) != 0 {
		t.Errorf("%d parts left after the collection was stored", len(partKeys))
	}
	// The same Results at once give the same report.
	all, err := newFleet(12, "i-7").Collect(ctx, insts, mustCommands(t))
	if err != nil {
		t.Fatal(err)
	}
	want, err := analyze.Clustering{}.Analyze(ctx, analyze.Input{Key: "web", Results: all})
	if err != nil {
		t.Fatal(err)
	}
	if got, exp := outliers(rep), outliers(want); fmt.Sprint(got) != fmt.Sprint(exp) || len(got) != 1 || got[0] != "i-7" {
		t.Errorf("streamed outliers %v, at once %v; want [i-7]", got, exp)
	}
}

func mustCommands(t *testing.T) []payload.Command {
	cmds, err := twoCommands.Generate(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	return cmds
}

func outliers(rep *analyze.Report) []string {
	var out []string
	for _, h := range rep.Outliers() {
		out = append(out, h.InstanceID)
	}
	slices.Sort(out)
	return out
}

// TestUnavailableInstancesAccountedFor: an instance the target says cannot
// be collected (an ID EC2 does not know, one not running) is sent no
// command, has a Result of each command saying why, and the Report's notes
// count it; with either kind of analyzer.
func TestUnavailableInstancesAccountedFor(t *testing.T) {
	ctx := context.Background()
	insts := []target.Instance{{ID: "i-1"}, {ID: "i-2"}, {ID: "i-3"}, {ID: "i-4"},
		{ID: "i-gone", Unavailable: "EC2 does not know this instance"}, {ID: "i-5", Unavailable: "the instance is stopped, not running"}}
	for _, an := range []analyze.Analyzer{analyze.Clustering{}, analyze.Baseline{}} {
		t.Run(fmt.Sprintf("%T", an), func(t *testing.T) {
			col := newFleet(4, "")
			store := persist.NewMemory()
			d := mustNew(t, diffy.WithTarget(target.Static{"web": insts}), diffy.WithPayload(twoCommands), diffy.WithCollector(col),
				diffy.WithStore(store), diffy.WithAnalyzer(an))
			if _, err := d.Baseline(ctx, "web"); err != nil {
				t.Fatal(err)
			}
			rep, err := d.Analyze(ctx, "web")
			if err != nil {
				t.Fatal(err)
			}
			for _, call := range col.asked() {
				if slices.Contains(call, "i-gone") || slices.Contains(call, "i-5") {
					t.Errorf("the collector was asked for an unavailable instance: %v", call)
				}
			}
			note := ""
			for _, n := range rep.Notes {
				if strings.Contains(n, "not collected") {
					note = n
				}
			}
			if !strings.Contains(note, "2 instances") || !strings.Contains(note, "i-gone") || !strings.Contains(note, "stopped") {
				t.Errorf("no note counting the 2 unavailable instances: %q", rep.Notes)
			}
		})
	}
	// Their Results are stored with the collection, each saying why.
	d := mustNew(t, diffy.WithTarget(target.Static{"web": insts}), diffy.WithPayload(twoCommands), diffy.WithCollector(newFleet(4, "")),
		diffy.WithStore(persist.NewMemory()))
	rs, err := d.Collect(ctx, "web")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, r := range rs {
		if r.InstanceID == "i-gone" || r.InstanceID == "i-5" {
			n++
			if r.Status != collect.StatusUndeliverable || !strings.Contains(r.Error, "not collected") {
				t.Errorf("%s %s: %s %q", r.InstanceID, r.CommandID, r.Status, r.Error)
			}
		}
	}
	if n != 4 {
		t.Errorf("%d Results for the 2 unavailable instances, want 4", n)
	}
}
