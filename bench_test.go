package diffy_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/diffy-dfir/diffy"
	"github.com/diffy-dfir/diffy/collect"
	"github.com/diffy-dfir/diffy/diffytest/fleet"
	"github.com/diffy-dfir/diffy/payload"
	"github.com/diffy-dfir/diffy/persist"
	"github.com/diffy-dfir/diffy/target"
)

// BenchmarkLoadResults reads the saved collection of the "large" simulated
// fleet (2,000 hosts, the standard pack) from one file.
func BenchmarkLoadResults(b *testing.B) {
	f := fleet.Generate(fleet.Scenario("large"))
	doc, err := json.Marshal(f.Results(time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)))
	if err != nil {
		b.Fatal(err)
	}
	path := filepath.Join(b.TempDir(), "large.json")
	if err := os.WriteFile(path, doc, 0o600); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(doc)))
	b.ReportAllocs()
	for b.Loop() {
		rs, skips, err := diffy.LoadResults(path)
		if err != nil || len(skips) != 0 || len(rs) != len(f.Hosts)*len(payload.StandardPack()) {
			b.Fatalf("LoadResults: %d results, %v, %v", len(rs), skips, err)
		}
	}
}

// BenchmarkCollectBatches collects the "large" simulated fleet through
// Diffy.Collect into a Dir store, in batches of 500 (each stored as a part,
// then the whole collection, then the parts deleted): the cost of keeping
// every batch, beyond the collector's own.
func BenchmarkCollectBatches(b *testing.B) {
	f := fleet.Generate(fleet.Scenario("large"))
	results := f.Results(time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC))
	byInst := map[string][]collect.Result{}
	for _, r := range results {
		byInst[r.InstanceID] = append(byInst[r.InstanceID], r)
	}
	col := collectorFunc(func(ctx context.Context, insts []target.Instance, cmds []payload.Command) ([]collect.Result, error) {
		var out []collect.Result
		for _, in := range insts {
			out = append(out, byInst[in.ID]...)
		}
		return out, nil
	})
	tg := target.Static{"fleet": f.Instances()}
	b.ReportAllocs()
	for b.Loop() {
		d, err := diffy.New(diffy.WithTarget(tg), diffy.WithCollector(col), diffy.WithStore(persist.NewDir(b.TempDir())))
		if err != nil {
			b.Fatal(err)
		}
		rs, err := d.Collect(context.Background(), "fleet")
		if err != nil || len(rs) != len(results) {
			b.Fatalf("Collect: %d results, %v", len(rs), err)
		}
	}
}
