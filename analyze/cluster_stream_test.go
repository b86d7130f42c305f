package analyze_test

import (
	"context"
	"encoding/json"
	"errors"
	"maps"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/diffy-dfir/diffy/analyze"
	"github.com/diffy-dfir/diffy/collect"
	"github.com/diffy-dfir/diffy/diffytest/fleet"
)

// cloneResults deep-copies results, rows included.
func cloneResults(rs []collect.Result) []collect.Result {
	out := make([]collect.Result, len(rs))
	for i, r := range rs {
		out[i] = r
		out[i].Rows = make([]collect.Row, len(r.Rows))
		for j, row := range r.Rows {
			out[i].Rows[j] = maps.Clone(row)
		}
	}
	return out
}

// streamFleet returns the Results of a fleet with a failed Result and a
// second Result for one (host, command) with one more row.
func streamFleet(t *testing.T) []collect.Result {
	t.Helper()
	res := fleet.Generate(fleet.Config{Seed: 31, Hosts: 300, Roles: 3, CanaryFraction: 0.05, CompromisedFraction: 0.02, PlantsPerHost: 2}).Results(collectedAt)
	if len(res) < 10 {
		t.Fatalf("fleet has %d results", len(res))
	}
	extra := res[3]
	extra.Rows = []collect.Row{{"uid": "0", "username": "toor", "directory": "/root", "shell": "/bin/sh"}}
	failed := res[7]
	failed.Rows, failed.Status, failed.Error = nil, collect.StatusFailed, "osqueryi: no such table"
	return append(res, extra, failed)
}

// reportJSON is the JSON of rep without its created_at.
func reportJSON(t *testing.T, rep *analyze.Report) string {
	t.Helper()
	r := *rep
	r.CreatedAt = time.Time{}
	data, err := json.MarshalIndent(&r, "", " ")
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// streamReport runs a stream of a on batches and returns its Report.
func streamReport(t *testing.T, a analyze.Streamer, batches [][]collect.Result, skipped []analyze.Skip) *analyze.Report {
	t.Helper()
	ctx := context.Background()
	s, err := a.NewStream("k", nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range batches {
		if err := s.Add(ctx, b); err != nil {
			t.Fatal(err)
		}
	}
	rep, err := s.Report(ctx, skipped)
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

// TestClusterStreamBatches checks that the Report of a stream given the
// Results shuffled, in batches of random sizes, is Analyze's on all of them
// at once.
func TestClusterStreamBatches(t *testing.T) {
	res := streamFleet(t)
	want := reportJSON(t, analyzeResults(t, res))
	a := analyze.Clustering{Now: func() time.Time { return collectedAt }}
	for seed := range uint64(3) {
		rng := rand.New(rand.NewPCG(seed, 7))
		shuffled := cloneResults(res)
		rng.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
		var batches [][]collect.Result
		for rest := shuffled; len(rest) > 0; {
			k := min(len(rest), 1+rng.IntN(40))
			batches = append(batches, rest[:k])
			rest = rest[k:]
		}
		got := reportJSON(t, streamReport(t, a, batches, nil))
		if diff := cmp.Diff(want, got); diff != "" {
			t.Fatalf("seed %d, %d batches: stream report differs from Analyze's (-want +got):\n%s", seed, len(batches), diff)
		}
	}
	if !strings.Contains(want, "toor") || !strings.Contains(want, "no such table") {
		t.Fatal("the extra row or the failed result is not in the report; the test checks less than it says")
	}
}

// TestClusterStreamNotRetained changes every Result after Add (as a
// caller reusing its buffers does) and checks the Report is unchanged.
func TestClusterStreamNotRetained(t *testing.T) {
	res := streamFleet(t)
	want := reportJSON(t, analyzeResults(t, res))
	a := analyze.Clustering{Now: func() time.Time { return collectedAt }}
	ctx := context.Background()
	s, err := a.NewStream("k", nil)
	if err != nil {
		t.Fatal(err)
	}
	buf := cloneResults(res[:100])
	for start := 0; start < len(res); start += 100 {
		buf = buf[:0]
		buf = append(buf, cloneResults(res[start:min(start+100, len(res))])...)
		if err := s.Add(ctx, buf); err != nil {
			t.Fatal(err)
		}
		for i := range buf {
			for _, row := range buf[i].Rows {
				for c := range row {
					row[c] = "changed"
				}
			}
			buf[i].InstanceID, buf[i].Error = "i-changed", "changed"
		}
	}
	rep, err := s.Report(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, reportJSON(t, rep)); diff != "" {
		t.Fatalf("report changed with the Results after Add (-want +got):\n%s", diff)
	}
	if err := s.Add(ctx, res[:1]); err == nil {
		t.Error("Add after Report: no error")
	}
	if _, err := s.Report(ctx, nil); err == nil {
		t.Error("second Report: no error")
	}
}

// TestClusterStreamSkipped checks that Results without instance_id are
// numbered across batches, after the skips given to Report.
func TestClusterStreamSkipped(t *testing.T) {
	ok := collect.Result{InstanceID: "i-1", CommandID: "users", Status: collect.StatusSuccess, CollectedAt: collectedAt, Rows: []collect.Row{{"username": "root"}}}
	noID := collect.Result{CommandID: "users", Status: collect.StatusSuccess, CollectedAt: collectedAt}
	given := []analyze.Skip{{Source: "a.json", Reason: "not valid JSON"}}
	rep := streamReport(t, analyze.Clustering{}, [][]collect.Result{{ok, noID}, {noID}}, given)
	want := []analyze.Skip{given[0],
		{Source: `result 2 (command "users")`, Reason: "it has no instance_id"},
		{Source: `result 3 (command "users")`, Reason: "it has no instance_id"}}
	if diff := cmp.Diff(want, rep.Skipped); diff != "" {
		t.Errorf("Skipped (-want +got):\n%s", diff)
	}
	if len(rep.Hosts) != 1 || rep.Hosts[0].InstanceID != "i-1" {
		t.Errorf("hosts: %+v", rep.Hosts)
	}
}

// TestClusterStreamCancelled checks that a cancelled Add fails, and that
// the stream stays failed.
func TestClusterStreamCancelled(t *testing.T) {
	res := streamFleet(t)
	s, err := analyze.Clustering{}.NewStream("k", nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	if err := s.Add(ctx, res[:50]); err != nil {
		t.Fatal(err)
	}
	cancel()
	if err := s.Add(ctx, res[50:]); !errors.Is(err, context.Canceled) {
		t.Fatalf("Add after cancel: %v, want context.Canceled", err)
	}
	if err := s.Add(context.Background(), res[50:]); !errors.Is(err, context.Canceled) {
		t.Errorf("Add after a failed Add: %v, want the failure", err)
	}
	if _, err := s.Report(context.Background(), nil); !errors.Is(err, context.Canceled) {
		t.Errorf("Report after a failed Add: %v, want the failure", err)
	}
}
