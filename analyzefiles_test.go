package diffy_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/diffy-dfir/diffy"
	"github.com/diffy-dfir/diffy/analyze"
	"github.com/diffy-dfir/diffy/collect"
	"github.com/diffy-dfir/diffy/diffytest/fleet"
	"github.com/diffy-dfir/diffy/persist"
)

// TestScanResults checks that ScanResults delivers each good file's
// Results, in LoadResults' order and with its Skips, one file at a time.
func TestScanResults(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"a.json":     `[{"instance_id":"i-1","command_id":"users","status":"Success","collected_at":"2026-11-26T12:00:00Z","stdout":[{"username":"root"}]}]`,
		"b-cut.json": `[{"instance_id":"i-2","command_id":"users","status":"Success","stdout":[`,
		"c.jsonl": `{"instance_id":"i-3","command_id":"users","status":"Success","stdout":[]}
{"instance_id":"i-3","command_id":"processes","status":"Success","stdout":[]}
42
`,
		"d-empty.json": `[]`,
	})
	var sources []string
	var got []collect.Result
	skips, err := diffy.ScanResults([]string{dir}, func(source string, rs []collect.Result) error {
		sources = append(sources, filepath.Base(source))
		got = append(got, rs...)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"a.json", "c.jsonl"}; !cmp.Equal(sources, want) {
		t.Errorf("files delivered = %v, want %v", sources, want)
	}
	loaded, loadSkips, err := diffy.LoadResults(dir)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(pairs(loaded), pairs(got)); diff != "" {
		t.Errorf("ScanResults and LoadResults differ (-load +scan):\n%s", diff)
	}
	if diff := cmp.Diff(loadSkips, skips); diff != "" {
		t.Errorf("Skips differ (-load +scan):\n%s", diff)
	}
	if s, ok := skipOf(skips, filepath.Join(dir, "b-cut.json")); !ok || !strings.Contains(s.Reason, "whole file was skipped") {
		t.Errorf("cut file: skip %+v (found %v)", s, ok)
	}
	if s, ok := skipOf(skips, filepath.Join(dir, "c.jsonl")); !ok || !strings.Contains(s.Reason, "result 3") {
		t.Errorf("non-Result element: skip %+v (found %v)", s, ok)
	}

	// An error of fn stops the scan and comes back as is.
	stop := errors.New("stop here")
	calls := 0
	_, err = diffy.ScanResults([]string{dir}, func(string, []collect.Result) error { calls++; return stop })
	if !errors.Is(err, stop) || calls != 1 {
		t.Errorf("fn error: err %v after %d calls, want %v after 1", err, calls, stop)
	}

	// Nothing to read: ErrInvalidInput, like LoadResults.
	bad := writeFiles(t, map[string]string{"x.json": `{`})
	if _, err := diffy.ScanResults([]string{bad}, func(string, []collect.Result) error { return nil }); !errors.Is(err, diffy.ErrInvalidInput) {
		t.Errorf("no result: %v, want ErrInvalidInput", err)
	}
	if _, err := diffy.ScanResults(nil, func(string, []collect.Result) error { return nil }); !errors.Is(err, diffy.ErrInvalidInput) {
		t.Errorf("no path: %v, want ErrInvalidInput", err)
	}
}

// fleetDir writes one file per host of a generated fleet into a new
// directory, and a malformed file, and returns the directory and the
// Results.
func fleetDir(t *testing.T, hosts int) (string, []collect.Result) {
	t.Helper()
	at := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	f := fleet.Generate(fleet.Config{Seed: 41, Hosts: hosts, Roles: 2, CanaryFraction: 0.05, CompromisedFraction: 0.05, PlantsPerHost: 1})
	dir := t.TempDir()
	var all []collect.Result
	for i := range f.Hosts {
		rs := f.Hosts[i].Results(at)
		all = append(all, rs...)
		data, err := json.Marshal(rs)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, f.Hosts[i].Instance.ID+".json"), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "broken.json"), []byte(`[{"instance_id":"i-x",`), 0o600); err != nil {
		t.Fatal(err)
	}
	return dir, all
}

// firstHost returns the Results of all's first instance.
func firstHost(all []collect.Result) []collect.Result {
	var base []collect.Result
	for _, r := range all {
		if r.InstanceID == all[0].InstanceID {
			base = append(base, r)
		}
	}
	return base
}

// sansTime is rep's JSON without created_at.
func sansTime(t *testing.T, rep *analyze.Report) string {
	t.Helper()
	r := *rep
	r.CreatedAt = time.Time{}
	data, err := json.MarshalIndent(&r, "", " ")
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// TestAnalyzeFilesStreams checks that AnalyzeFiles with a Streamer
// (Clustering) gives and stores the Report that LoadResults followed by
// AnalyzeResults gives, the malformed file skipped.
func TestAnalyzeFilesStreams(t *testing.T) {
	ctx := context.Background()
	dir, _ := fleetDir(t, 60)
	extra := []analyze.Skip{{Source: "other.json", Reason: "given by the caller"}}
	store := persist.NewMemory()
	d := mustNew(t, diffy.WithAnalyzer(analyze.Clustering{}), diffy.WithStore(store))
	rep, skips, err := d.AnalyzeFiles(ctx, "fleet", []string{dir}, nil, extra)
	if err != nil {
		t.Fatal(err)
	}
	if len(skips) != 1 || skips[0].Source != filepath.Join(dir, "broken.json") {
		t.Fatalf("skips = %+v, want the broken file", skips)
	}
	if want := append(skips, extra...); !cmp.Equal(rep.Skipped, want) {
		t.Errorf("report Skipped = %+v, want %+v", rep.Skipped, want)
	}
	if len(rep.Hosts) != 60 || len(rep.Outliers()) == 0 {
		t.Errorf("%d hosts, %d outliers; want 60 hosts and the compromised ones", len(rep.Hosts), len(rep.Outliers()))
	}

	loaded, lskips, err := diffy.LoadResults(dir)
	if err != nil {
		t.Fatal(err)
	}
	want, err := mustNew(t, diffy.WithAnalyzer(analyze.Clustering{}), diffy.WithStore(persist.NewMemory())).
		AnalyzeResults(ctx, "fleet", loaded, nil, append(lskips, extra...))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(sansTime(t, want), sansTime(t, rep)); diff != "" {
		t.Errorf("AnalyzeFiles and LoadResults+AnalyzeResults differ (-load +files):\n%s", diff)
	}

	data, err := store.Get(ctx, persist.KindAnalysis, "fleet")
	if err != nil {
		t.Fatalf("report not stored: %v", err)
	}
	var stored analyze.Report
	if err := json.Unmarshal(data, &stored); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(sansTime(t, rep), sansTime(t, &stored)); diff != "" {
		t.Errorf("stored report differs (-returned +stored):\n%s", diff)
	}

	// Nothing readable: the error of LoadResults, the skips returned.
	bad := writeFiles(t, map[string]string{"x.json": `{`})
	if _, skips, err := d.AnalyzeFiles(ctx, "fleet", []string{bad}, nil, nil); !errors.Is(err, diffy.ErrInvalidInput) || len(skips) != 1 {
		t.Errorf("no result: err %v, skips %+v; want ErrInvalidInput and one skip", err, skips)
	}
	// A cancelled context stops the analysis with a StageError.
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, _, err := d.AnalyzeFiles(cctx, "fleet", []string{dir}, nil, nil); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v, want context.Canceled", err)
	}
}

// TestAnalyzeFilesDuplicates checks what the doc says of a (host, command)
// found in two files: the stream keeps the one collected later, names the
// other in Report.Skipped, and gives the Report Analyze gives on all the
// Results at once.
func TestAnalyzeFilesDuplicates(t *testing.T) {
	ctx := context.Background()
	dir, all := fleetDir(t, 30)
	dup := all[0]
	dup.CollectedAt = dup.CollectedAt.Add(time.Hour)
	dup.Rows = []collect.Row{{"username": "zz-backdoor", "uid": "0", "gid": "0", "directory": "/tmp", "shell": "/bin/sh"}}
	data, err := json.Marshal([]collect.Result{dup})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "zz-later.json"), data, 0o600); err != nil {
		t.Fatal(err)
	}
	now := func() time.Time { return time.Date(2026, 11, 27, 0, 0, 0, 0, time.UTC) }
	d := mustNew(t, diffy.WithAnalyzer(analyze.Clustering{Now: now}), diffy.WithStore(persist.NewMemory()))
	rep, _, err := d.AnalyzeFiles(ctx, "fleet", []string{dir}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	atOnce, err := analyze.Clustering{Now: now}.Analyze(ctx, analyze.Input{Key: "fleet", Results: append(all, dup),
		Skipped: []analyze.Skip{{Source: filepath.Join(dir, "broken.json"), Reason: rep.Skipped[0].Reason}}})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(sansTime(t, atOnce), sansTime(t, rep)); diff != "" {
		t.Errorf("the stream's report differs from Analyze's on all at once (-at once +files):\n%s", diff)
	}
	if !strings.Contains(sansTime(t, rep), "zz-backdoor") {
		t.Error("the later duplicate's row is not in the report")
	}
	if n := len(rep.Skipped); n != 2 || !strings.Contains(rep.Skipped[1].Source, "instance "+dup.InstanceID+", command "+dup.CommandID) ||
		!strings.Contains(rep.Skipped[1].Reason, "kept the one collected later") {
		t.Errorf("skipped %+v: want the broken file, then the earlier duplicate", rep.Skipped)
	}
}

// noStream hides an analyzer's Stream: an analyzer of a plugin author
// that has none.
type noStream struct{ analyze.Analyzer }

func (noStream) NeedsBaseline() bool { return true }

// TestAnalyzeFilesFallback checks that an analyzer without Streamer gets
// LoadResults' Results, duplicates dropped.
func TestAnalyzeFilesFallback(t *testing.T) {
	ctx := context.Background()
	dir, all := fleetDir(t, 20)
	base := firstHost(all)
	now := func() time.Time { return time.Date(2026, 11, 27, 0, 0, 0, 0, time.UTC) }
	d := mustNew(t, diffy.WithAnalyzer(noStream{analyze.Baseline{Now: now}}), diffy.WithStore(persist.NewMemory()))
	rep, skips, err := d.AnalyzeFiles(ctx, "fleet", []string{dir}, base, nil)
	if err != nil {
		t.Fatal(err)
	}
	loaded, lskips, err := diffy.LoadResults(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !cmp.Equal(skips, lskips) {
		t.Errorf("skips = %+v, want %+v", skips, lskips)
	}
	want, err := d.AnalyzeResults(ctx, "fleet", loaded, base, lskips)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(sansTime(t, want), sansTime(t, rep)); diff != "" {
		t.Errorf("fallback differs from LoadResults+AnalyzeResults (-want +got):\n%s", diff)
	}
	if _, _, err := d.AnalyzeFiles(ctx, "no-baseline", []string{dir}, nil, nil); !errors.Is(err, diffy.ErrNoBaseline) {
		t.Errorf("no baseline: %v, want ErrNoBaseline", err)
	}
}

// TestAnalyzeFilesSameWhateverTheScheduling (issue 14.2): the files are
// decoded on several goroutines, and the Report is the same whatever
// their number and whichever file's decoding ends first: the stream gets
// the Results in the order of the files. The fleet has a host found twice
// with the same collected_at and different rows, where the order decides
// (the one read last is kept); internal/ordered's test shuffles the order
// the jobs end in.
func TestAnalyzeFilesSameWhateverTheScheduling(t *testing.T) {
	ctx := context.Background()
	dir, all := fleetDir(t, 300)
	var again []collect.Result
	for _, r := range all[:6] { // the first host's Results, one row more each
		r.Rows = append(slices.Clone(r.Rows), collect.Row{"planted": "by the test"})
		again = append(again, r)
	}
	data, err := json.Marshal(again)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "zz-again.json"), data, 0o600); err != nil {
		t.Fatal(err)
	}
	now := func() time.Time { return time.Date(2026, 11, 27, 0, 0, 0, 0, time.UTC) }
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	var first, firstLoaded string
	for _, procs := range []int{1, 2, 3, 8} {
		runtime.GOMAXPROCS(procs)
		d := mustNew(t, diffy.WithAnalyzer(analyze.Clustering{Now: now}), diffy.WithStore(persist.NewMemory()))
		rep, _, err := d.AnalyzeFiles(ctx, "fleet", []string{dir}, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		loaded, skips, err := diffy.LoadResults(dir)
		if err != nil {
			t.Fatal(err)
		}
		got, gotLoaded := sansTime(t, rep), fmt.Sprint(loaded, skips)
		if first == "" {
			first, firstLoaded = got, gotLoaded
			continue
		}
		if diff := cmp.Diff(first, got); diff != "" {
			t.Errorf("GOMAXPROCS %d: the Report differs from GOMAXPROCS 1's (-1 +%d):\n%s", procs, procs, diff)
		}
		if gotLoaded != firstLoaded {
			t.Errorf("GOMAXPROCS %d: LoadResults differs from GOMAXPROCS 1's", procs)
		}
	}
}
