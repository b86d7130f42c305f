package diffy_test

import (
	"context"
	"fmt"
	"slices"
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
// the collector delivers to the stream (one instance at a time here), stores
// each as a part, writes no whole collection, and reports what the
// analyzer reports on all the Results at once.
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
	if _, err := store.Get(ctx, persist.KindCollection, "web"); err == nil {
		t.Error("a whole collection was stored: it would need every Result at once")
	}
	partKeys, _ := store.List(ctx, persist.KindPartial)
	if len(partKeys) != 12 {
		t.Errorf("%d parts stored, want one per batch delivered (12)", len(partKeys))
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
