package diffy_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/diffy-dfir/diffy"
	"github.com/diffy-dfir/diffy/analyze"
	"github.com/diffy-dfir/diffy/collect"
	"github.com/diffy-dfir/diffy/diffytest"
	"github.com/diffy-dfir/diffy/payload"
	"github.com/diffy-dfir/diffy/persist"
	"github.com/diffy-dfir/diffy/target"
)

// historyStores are the stores the history tests run on: Dir and Memory
// (persist.InfoLister: sizes and times without reading), and
// diffytest.FakeStore (no InfoLister: the fallback through List).
func historyStores(t *testing.T) map[string]func() persist.Store {
	return map[string]func() persist.Store{
		"dir":    func() persist.Store { return persist.NewDir(filepath.Join(t.TempDir(), "store")) },
		"memory": func() persist.Store { return persist.NewMemory() },
		"fake":   func() persist.Store { return diffytest.NewFakeStore() },
	}
}

// historyDiffy is a Diffy over a fleet of n hosts of the cluster analyzer
// (no baseline needed), storing in st.
func historyDiffy(t *testing.T, st persist.Store, f *fleetCollector, n int, opts ...diffy.Option) *diffy.Diffy {
	t.Helper()
	tg := target.StaticIDs("web", ids(n)...)
	base := []diffy.Option{diffy.WithTarget(tg), diffy.WithPayload(twoCommands), diffy.WithCollector(f),
		diffy.WithStore(st), diffy.WithAnalyzer(analyze.Clustering{})}
	return mustNew(t, append(base, opts...)...)
}

// An analysis run three times a day apart leaves three collections and
// three reports of the key, each loadable by its run ID, the collection
// and the report of one call sharing it, the newest also the latest.
func TestHistoryKeepsEveryRun(t *testing.T) {
	for name, newStore := range historyStores(t) {
		t.Run(name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				ctx := context.Background()
				st := newStore()
				f := newFleet(5, "")
				d := historyDiffy(t, st, f, 5)
				start := time.Now().UTC()
				for day := range 3 {
					// Each day host i-2 listens on one more port.
					f.rows["i-2"][payload.ListeningPorts] = append(slices.Clone(f.rows["i-2"][payload.ListeningPorts]),
						collect.Row{"address": "0.0.0.0", "port": fmt.Sprint(9000 + day), "protocol": "6", "name": "svc", "pid": "1"})
					if _, err := d.Analyze(ctx, "web"); err != nil {
						t.Fatalf("day %d: Analyze: %v", day, err)
					}
					time.Sleep(24 * time.Hour)
				}
				runs, err := d.Runs(ctx, "web")
				if err != nil {
					t.Fatal(err)
				}
				byKind := map[persist.Kind][]diffy.Run{}
				for _, r := range runs {
					byKind[r.Kind] = append(byKind[r.Kind], r)
				}
				if len(byKind[persist.KindCollection]) != 3 || len(byKind[persist.KindAnalysis]) != 3 || len(byKind[persist.KindBaseline]) != 0 {
					t.Fatalf("runs = %+v, want 3 collections and 3 reports", runs)
				}
				for i, r := range byKind[persist.KindCollection] {
					a := byKind[persist.KindAnalysis][i]
					if a.ID != r.ID {
						t.Errorf("day %d: the collection is run %s and the report run %s; one call is one run", i, r.ID, a.ID)
					}
					if want := start.Add(time.Duration(i) * 24 * time.Hour); !r.Time.Equal(want) {
						t.Errorf("day %d: run time %v, want %v", i, r.Time, want)
					}
					if r.Latest != (i == 2) {
						t.Errorf("day %d: Latest = %v", i, r.Latest)
					}
					if name == "fake" {
						if r.Size != -1 {
							t.Errorf("day %d: a store without InfoLister gave size %d, want -1 (unknown)", i, r.Size)
						}
					} else {
						doc, err := d.LoadRun(ctx, persist.KindCollection, "web", r.ID)
						if err != nil {
							t.Fatal(err)
						}
						if r.Size != int64(len(doc)) {
							t.Errorf("day %d: size %d, document has %d bytes", i, r.Size, len(doc))
						}
					}
					rs, err := d.LoadCollection(ctx, "web", r.ID)
					if err != nil {
						t.Fatalf("day %d: LoadCollection(%s): %v", i, r.ID, err)
					}
					if got := portsOf(rs, "i-2"); len(got) != 2+i {
						t.Errorf("day %d: run %s holds %d ports of i-2 (%v), want %d", i, r.ID, len(got), got, 2+i)
					}
				}
				latest, err := d.LoadReport(ctx, "web", diffy.LatestRun)
				if err != nil {
					t.Fatal(err)
				}
				last, err := d.LoadReport(ctx, "web", byKind[persist.KindAnalysis][2].ID)
				if err != nil {
					t.Fatal(err)
				}
				if !latest.CreatedAt.Equal(last.CreatedAt) {
					t.Errorf("the latest report was made at %v, the newest run's at %v", latest.CreatedAt, last.CreatedAt)
				}
				// The plain document is the newest run, as before history.
				plain, err := st.Get(ctx, persist.KindCollection, "web")
				if err != nil {
					t.Fatal(err)
				}
				newest, _ := d.LoadRun(ctx, persist.KindCollection, "web", byKind[persist.KindCollection][2].ID)
				if string(plain) != string(newest) {
					t.Error("the plain collection document is not the newest run")
				}
				if _, err := d.LoadReport(ctx, "web", "20000101T000000.000Z-abc"); !errors.Is(err, diffy.ErrNotFound) || !strings.Contains(err.Error(), "20000101T000000.000Z-abc") {
					t.Errorf("a run never stored: %v, want ErrNotFound naming it", err)
				}
				if _, err := d.LoadReport(ctx, "web", "../../etc/passwd"); !errors.Is(err, diffy.ErrInvalidInput) {
					t.Errorf("a malformed run ID: %v, want ErrInvalidInput", err)
				}
			})
		})
	}
}

// portsOf returns the ports instance id listens on in rs.
func portsOf(rs []collect.Result, id string) []string {
	var out []string
	for _, r := range rs {
		if r.InstanceID == id && r.CommandID == payload.ListeningPorts {
			for _, row := range r.Rows {
				out = append(out, row["port"])
			}
		}
	}
	return out
}

// Retention keeps the newest Runs runs, drops those older than MaxAge, and
// always keeps the newest.
func TestHistoryRetention(t *testing.T) {
	for _, c := range []struct {
		name string
		keep diffy.Retention
		runs int // runs made, a day apart
		want []int
	}{
		{"count", diffy.Retention{Runs: 2}, 5, []int{3, 4}},
		{"age", diffy.Retention{MaxAge: 48 * time.Hour}, 5, []int{2, 3, 4}},
		{"both", diffy.Retention{Runs: 1, MaxAge: 72 * time.Hour}, 5, []int{4}},
		{"age keeps the newest", diffy.Retention{MaxAge: time.Hour}, 3, []int{2}},
		{"all", diffy.Retention{}, 4, []int{0, 1, 2, 3}},
		{"default", diffy.DefaultRetention, 32, func() []int {
			var out []int
			for i := 2; i < 32; i++ {
				out = append(out, i)
			}
			return out
		}()},
	} {
		t.Run(c.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				ctx := context.Background()
				opts := []diffy.Option{diffy.WithRetention(c.keep)}
				if c.name == "default" {
					opts = nil
				}
				d := historyDiffy(t, persist.NewMemory(), newFleet(2, ""), 2, opts...)
				start := time.Now()
				for range c.runs {
					if _, err := d.Collect(ctx, "web"); err != nil {
						t.Fatal(err)
					}
					time.Sleep(24 * time.Hour)
				}
				runs, err := d.Runs(ctx, "web")
				if err != nil {
					t.Fatal(err)
				}
				var days []int
				for _, r := range runs {
					days = append(days, int(r.Time.Sub(start)/(24*time.Hour)))
				}
				if !slices.Equal(days, c.want) {
					t.Errorf("kept the runs of days %v, want %v", days, c.want)
				}
			})
		})
	}
}

// A store written before history holds plain documents only: they are the
// key's one run each (legacy), readable as the latest, and become runs of
// their own time once a newer run is stored.
func TestHistoryReadsLegacyLayout(t *testing.T) {
	for name, newStore := range historyStores(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			st := newStore()
			old := time.Date(2026, 11, 1, 8, 0, 0, 0, time.UTC)
			rs := []collect.Result{{InstanceID: "i-1", CommandID: payload.Users, Status: collect.StatusSuccess, CollectedAt: old,
				Rows: []collect.Row{{"username": "legacy", "uid": "0"}}}}
			doc, _ := json.Marshal(rs)
			rep := analyze.Report{Key: "web", Analyzer: "baseline", CreatedAt: old, Hosts: []analyze.Host{{InstanceID: "i-1", Findings: []analyze.Finding{}}}}
			rdoc, _ := json.Marshal(rep)
			for kind, d := range map[persist.Kind][]byte{persist.KindCollection: doc, persist.KindBaseline: doc, persist.KindAnalysis: rdoc} {
				if err := st.Put(ctx, kind, "web", d); err != nil {
					t.Fatal(err)
				}
			}
			d := historyDiffy(t, st, newFleet(2, ""), 2)
			runs, err := d.Runs(ctx, "web")
			if err != nil {
				t.Fatal(err)
			}
			if len(runs) != 3 {
				t.Fatalf("runs of a legacy store = %+v, want one per kind", runs)
			}
			for _, r := range runs {
				if !r.Legacy || !r.Latest || r.ID != diffy.LatestRun {
					t.Errorf("legacy run %+v: want Legacy, Latest, ID %q", r, diffy.LatestRun)
				}
			}
			got, err := d.LoadReport(ctx, "web", "")
			if err != nil || !got.CreatedAt.Equal(old) {
				t.Fatalf("legacy report: %v, %v", got, err)
			}
			if _, err := d.Collect(ctx, "web"); err != nil {
				t.Fatal(err)
			}
			runs, err = d.Runs(ctx, "web")
			if err != nil {
				t.Fatal(err)
			}
			var cols []diffy.Run
			for _, r := range runs {
				if r.Kind == persist.KindCollection {
					cols = append(cols, r)
				}
			}
			if len(cols) != 2 || cols[0].Legacy || cols[1].Legacy || !cols[1].Latest {
				t.Fatalf("collections after a new run over a legacy one: %+v, want the legacy one as a run, then the new latest", cols)
			}
			// Dir and Memory know when the legacy document was written;
			// the fake store does not, and the Results' time is used.
			if name == "fake" && !cols[0].Time.Equal(old) {
				t.Errorf("the legacy collection became a run of %v, want its Results' time %v", cols[0].Time, old)
			}
			legacy, err := d.LoadCollection(ctx, "web", cols[0].ID)
			if err != nil || len(legacy) != 1 || legacy[0].Rows[0]["username"] != "legacy" {
				t.Fatalf("the legacy collection as run %s: %v, %v", cols[0].ID, legacy, err)
			}
		})
	}
}

// DeleteRuns drops the runs before a time (the newest left becoming the
// latest), or, with the zero time, everything stored of the key.
func TestHistoryDeleteRuns(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		st := persist.NewMemory()
		f := newFleet(3, "")
		d := historyDiffy(t, st, f, 3, diffy.WithBatchSize(1))
		other := historyDiffy(t, st, f, 3)
		start := time.Now()
		for range 4 {
			if _, err := d.Analyze(ctx, "web"); err != nil {
				t.Fatal(err)
			}
			time.Sleep(24 * time.Hour)
		}
		if _, err := other.Collect(ctx, "web2"); err == nil {
			t.Fatal("web2 is not a key of the target; want an error")
		}
		if err := st.Put(ctx, persist.KindCollection, "other", []byte(`[]`)); err != nil {
			t.Fatal(err)
		}
		gone, err := d.DeleteRuns(ctx, "web", start.Add(36*time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		if len(gone) != 4 { // days 0 and 1, collection and report
			t.Fatalf("deleted %+v, want the 4 runs of days 0 and 1", gone)
		}
		runs, _ := d.Runs(ctx, "web")
		if len(runs) != 4 || !runs[0].Time.Equal(start.Add(48*time.Hour)) {
			t.Fatalf("left %+v, want the runs of days 2 and 3", runs)
		}
		// Deleting the newest runs makes the newest left the latest.
		if _, err := d.DeleteRuns(ctx, "web", start.Add(1000*time.Hour)); err != nil {
			t.Fatal(err)
		}
		if runs, _ := d.Runs(ctx, "web"); len(runs) != 0 {
			t.Fatalf("after deleting every run: %+v", runs)
		}
		if _, err := st.Get(ctx, persist.KindCollection, "web"); !errors.Is(err, diffy.ErrNotFound) {
			t.Errorf("the latest collection outlived every run: %v", err)
		}
		// An interrupted run's parts go with the key.
		n := len(f.asked())
		f.before = func(call int) error {
			if call > n {
				return context.Canceled
			}
			return nil
		}
		if _, err := d.Collect(ctx, "web"); err == nil {
			t.Fatal("want the interrupted collection's error")
		}
		if p, _ := d.Partial(ctx, "web"); len(p) != 1 {
			t.Fatalf("partial runs = %+v, want one", p)
		}
		if _, err := d.DeleteRuns(ctx, "web", time.Time{}); err != nil {
			t.Fatal(err)
		}
		if p, _ := d.Partial(ctx, "web"); len(p) != 0 {
			t.Errorf("parts left after deleting the key: %+v", p)
		}
		if _, err := st.Get(ctx, persist.KindCollection, "other"); err != nil {
			t.Errorf("deleting web removed another key: %v", err)
		}
		// A store that cannot delete says so.
		nd := historyDiffy(t, diffytest.StoreFuncs{
			PutFunc:  st.Put,
			GetFunc:  st.Get,
			ListFunc: st.List,
		}, f, 3)
		if _, err := nd.DeleteRuns(ctx, "other", time.Time{}); !errors.Is(err, diffy.ErrInvalidInput) {
			t.Errorf("DeleteRuns on a store without Delete: %v, want ErrInvalidInput", err)
		}
	})
}

// Keys lists every key with documents; a key StoreKey escaped is given
// back as it was, a shortened one only by its store key, which the
// history methods take too.
func TestHistoryKeys(t *testing.T) {
	ctx := context.Background()
	long := strings.Repeat("i-0123456789abcdef0,", 12)
	st := persist.NewMemory()
	tg := target.Static{"web/prod": {{ID: "i-1"}}, long: {{ID: "i-1"}}, "db": {{ID: "i-1"}}}
	d := mustNew(t, diffy.WithTarget(tg), diffy.WithPayload(twoCommands), diffy.WithCollector(newFleet(1, "")), diffy.WithStore(st))
	for _, k := range []string{"web/prod", long, "db"} {
		if _, err := d.Baseline(ctx, k); err != nil {
			t.Fatal(err)
		}
	}
	keys, err := d.Keys(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	var longSK string
	for _, k := range keys {
		got = append(got, k.Key)
		if k.Runs[persist.KindBaseline] != 1 || k.Size <= 0 || k.Newest.IsZero() {
			t.Errorf("key %+v: want one baseline run with its size and time", k)
		}
		if k.Key == "" {
			longSK = k.StoreKey
		}
	}
	if !slices.Equal(got, []string{"", "db", "web/prod"}) && !slices.Equal(got, []string{"db", "", "web/prod"}) && !slices.Equal(got, []string{"db", "web/prod", ""}) {
		t.Fatalf("keys %q, want db, web/prod and the long one unnamed", got)
	}
	for _, k := range []string{long, longSK} {
		runs, err := d.Runs(ctx, k)
		if err != nil || len(runs) != 1 {
			t.Errorf("Runs(%.30q...) = %+v, %v; want the long key's baseline", k, runs, err)
		}
	}
	if runs, err := d.Runs(ctx, "never-stored"); err != nil || len(runs) != 0 {
		t.Errorf("Runs of a key never stored = %+v, %v; want none and no error", runs, err)
	}
	if _, err := d.Runs(ctx, ""); !errors.Is(err, diffy.ErrInvalidKey) {
		t.Errorf("Runs of an empty key: %v, want ErrInvalidKey", err)
	}
}

func TestTargetKey(t *testing.T) {
	for _, k := range []string{"web", "Name=web/prod", "%41", "~x", ".hidden", "a\\b", "ünï"} {
		sk, err := diffy.StoreKey(k)
		if err != nil {
			t.Fatal(err)
		}
		if got, ok := diffy.TargetKey(sk); !ok || got != k {
			t.Errorf("TargetKey(StoreKey(%q) = %q) = %q, %v", k, sk, got, ok)
		}
	}
	sk, _ := diffy.StoreKey(strings.Repeat("x", 300))
	if got, ok := diffy.TargetKey(sk); ok {
		t.Errorf("TargetKey of a shortened key = %q, true", got)
	}
	for _, sk := range []string{"a%2", "a%zz", "a/b", "%2e"} {
		if got, ok := diffy.TargetKey(sk); ok {
			t.Errorf("TargetKey(%q) = %q, true; no key has that store key", sk, got)
		}
	}
}

func TestRunOptions(t *testing.T) {
	for _, opt := range []diffy.Option{
		diffy.WithRetention(diffy.Retention{Runs: -1}),
		diffy.WithRetention(diffy.Retention{MaxAge: -time.Hour}),
		diffy.WithRun("not-a-run"),
		diffy.WithRun("20261126T120000.123Z-"),
		diffy.WithRun("20261126T120000.123Z-UPPER"),
		diffy.WithRun("20261126T120000Z-abc"),
	} {
		if _, err := diffy.New(opt); !errors.Is(err, diffy.ErrInvalidInput) {
			t.Errorf("New: %v, want ErrInvalidInput", err)
		}
	}
	ctx := context.Background()
	st := persist.NewMemory()
	d := historyDiffy(t, st, newFleet(2, ""), 2)
	const id = "20261126T120000.123Z-job1"
	dj, err := d.With(diffy.WithRun(id), diffy.WithIncident("job-1"))
	if err != nil {
		t.Fatal(err)
	}
	if dj.RunID() != id || dj.Incident() != "job-1" || dj.Store() != d.Store() || d.RunID() != "" {
		t.Fatalf("With: run %q incident %q; the original's run %q", dj.RunID(), dj.Incident(), d.RunID())
	}
	if _, err := dj.Analyze(ctx, "web"); err != nil {
		t.Fatal(err)
	}
	runs, _ := d.Runs(ctx, "web")
	if len(runs) != 2 || runs[0].ID != id || runs[1].ID != id {
		t.Fatalf("runs %+v, want the collection and the report as run %s", runs, id)
	}
	if _, err := diffy.New(diffy.WithRun(diffy.NewRunID())); err != nil {
		t.Errorf("NewRunID's ID refused: %v", err)
	}
	a, b := diffy.NewRunID(), diffy.NewRunID()
	if a >= b {
		t.Errorf("run IDs %s then %s do not increase", a, b)
	}
}
