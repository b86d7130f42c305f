package diffy_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/diffy-dfir/diffy"
	"github.com/diffy-dfir/diffy/analyze"
	"github.com/diffy-dfir/diffy/collect"
	"github.com/diffy-dfir/diffy/payload"
	"github.com/diffy-dfir/diffy/persist"
	"github.com/diffy-dfir/diffy/target"
)

// findingsOf returns host id's findings in rep as "kind command port|user".
func findingsOf(rep *analyze.Report, id string) []string {
	var out []string
	for _, h := range rep.Hosts {
		if h.InstanceID != id {
			continue
		}
		for _, f := range h.Findings {
			out = append(out, f.Kind+" "+f.CommandID+" "+f.Row["port"]+f.Row["username"])
		}
	}
	return out
}

// Diff compares each host with its own earlier collection: the one
// before, the one of a run, or the newest at or before a time; the first
// Diff of a key stores its collection and says there is nothing to compare.
func TestDiff(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		st := persist.NewMemory()
		f := newFleet(4, "")
		d := historyDiffy(t, st, f, 4)
		day0 := time.Now()
		_, err := d.Diff(ctx, "web", diffy.Earlier{})
		if !errors.Is(err, diffy.ErrNoEarlier) || !errors.Is(err, diffy.ErrNotFound) {
			t.Fatalf("first Diff: %v, want ErrNoEarlier", err)
		}
		runs, _ := d.Runs(ctx, "web")
		if len(runs) != 1 || runs[0].Kind != persist.KindCollection || !strings.Contains(err.Error(), runs[0].ID) {
			t.Fatalf("after the first Diff: runs %+v, error %v; want its collection stored and named", runs, err)
		}
		first := runs[0].ID

		// Day 1: i-3 listens on 4444, i-1 lost its user; i-2's sshd
		// restarted (a new pid: no change).
		time.Sleep(24 * time.Hour)
		f.rows["i-3"][payload.ListeningPorts] = append(slices.Clone(f.rows["i-3"][payload.ListeningPorts]),
			collect.Row{"address": "0.0.0.0", "port": "4444", "protocol": "6", "name": "nc", "pid": "31337"})
		f.rows["i-1"][payload.Users] = []collect.Row{}
		f.rows["i-2"][payload.ListeningPorts] = []collect.Row{{"address": "0.0.0.0", "port": "22", "protocol": "6", "name": "sshd", "pid": "9999"}}
		rep, err := d.Diff(ctx, "web", diffy.Earlier{})
		if err != nil {
			t.Fatal(err)
		}
		if rep.Analyzer != "diff" {
			t.Errorf("analyzer %q", rep.Analyzer)
		}
		if got := findingsOf(rep, "i-3"); !slices.Equal(got, []string{"added listening_ports 4444"}) {
			t.Errorf("i-3: %q, want the port added", got)
		}
		if got := findingsOf(rep, "i-1"); !slices.Equal(got, []string{"removed users root"}) {
			t.Errorf("i-1: %q, want root removed", got)
		}
		for _, id := range []string{"i-2", "i-4"} {
			if got := findingsOf(rep, id); len(got) != 0 {
				t.Errorf("%s: %q, want no change", id, got)
			}
		}
		if len(rep.Notes) == 0 || !strings.Contains(rep.Notes[len(rep.Notes)-1], "collection of run "+first) || !strings.Contains(rep.Notes[len(rep.Notes)-1], "24h0m0s earlier") {
			t.Errorf("notes %q, want the run compared with, a day earlier", rep.Notes)
		}
		// The report is the run's, beside its collection.
		runs, _ = d.Runs(ctx, "web")
		if len(runs) != 3 || runs[1].ID != runs[2].ID || runs[2].Kind != persist.KindAnalysis {
			t.Fatalf("runs %+v, want the first collection, then the second and its report as one run", runs)
		}
		second := runs[1].ID

		// Day 2: nothing changes. Against the day before: nothing; since
		// 36h ago (the first collection): day 1's changes; against run
		// first: the same.
		time.Sleep(24 * time.Hour)
		rep, err = d.Diff(ctx, "web", diffy.Earlier{})
		if err != nil {
			t.Fatal(err)
		}
		if len(rep.Outliers()) != 0 {
			t.Errorf("a day without change: outliers %v", rep.Outliers())
		}
		for _, e := range []diffy.Earlier{{Since: time.Now().Add(-36 * time.Hour)}, {Run: first}, {Since: day0}} {
			rep, err = d.Diff(ctx, "web", e)
			if err != nil {
				t.Fatal(err)
			}
			if got := findingsOf(rep, "i-3"); !slices.Equal(got, []string{"added listening_ports 4444"}) {
				t.Errorf("against %+v: i-3 %q, want the port added", e, got)
			}
		}
		// Two stored runs, without collecting.
		calls := len(f.asked())
		rep, err = d.DiffRuns(ctx, "web", diffy.Earlier{Run: first}, second)
		if err != nil {
			t.Fatal(err)
		}
		if got := findingsOf(rep, "i-3"); !slices.Equal(got, []string{"added listening_ports 4444"}) || len(f.asked()) != calls {
			t.Errorf("DiffRuns(first, second): i-3 %q, %d collector calls; want the port added and no collection", got, len(f.asked())-calls)
		}
		rep, err = d.DiffRuns(ctx, "web", diffy.Earlier{}, second)
		if err != nil || len(findingsOf(rep, "i-3")) != 1 {
			t.Errorf("DiffRuns(before second, second): %v, %v", rep, err)
		}
		if _, err := d.DiffRuns(ctx, "web", diffy.Earlier{}, first); !errors.Is(err, diffy.ErrNotFound) {
			t.Errorf("DiffRuns of the first run: %v, want ErrNotFound (nothing before it)", err)
		}

		// Wrong choices fail before anything is collected.
		calls = len(f.asked())
		for _, c := range []struct {
			e    diffy.Earlier
			want error
			says string
		}{
			{diffy.Earlier{Run: "20000101T000000.000Z-none"}, diffy.ErrNotFound, "20000101T000000.000Z-none"},
			{diffy.Earlier{Run: "yesterday"}, diffy.ErrInvalidInput, "yesterday"},
			{diffy.Earlier{Since: day0.Add(-time.Hour)}, diffy.ErrNotFound, "the earliest stored began " + day0.UTC().Format(time.RFC3339)},
			{diffy.Earlier{Run: first, Since: day0}, diffy.ErrInvalidInput, "not both"},
		} {
			_, err := d.Diff(ctx, "web", c.e)
			if !errors.Is(err, c.want) || !strings.Contains(err.Error(), c.says) {
				t.Errorf("Diff(%+v): %v, want %v saying %q", c.e, err, c.want, c.says)
			}
		}
		if n := len(f.asked()); n != calls {
			t.Errorf("%d collector calls for Diffs that could not compare", n-calls)
		}
	})
}

// A host that is new since the earlier collection is reported without
// findings; one that is gone, as skipped.
func TestDiffNewAndGoneHosts(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		st := persist.NewMemory()
		f := newFleet(3, "")
		if _, err := historyDiffy(t, st, f, 2).Collect(ctx, "web"); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Hour)
		d := mustNew(t, diffy.WithTarget(target.StaticIDs("web", "i-2", "i-3")), diffy.WithPayload(twoCommands), diffy.WithCollector(f), diffy.WithStore(st))
		rep, err := d.Diff(ctx, "web", diffy.Earlier{})
		if err != nil {
			t.Fatal(err)
		}
		if len(rep.Hosts) != 2 || rep.Hosts[1].InstanceID != "i-3" || len(rep.Hosts[1].Errors) != 1 || !strings.Contains(rep.Hosts[1].Errors[0], "new since") {
			t.Errorf("hosts %+v, want i-2 and i-3 (new, not compared)", rep.Hosts)
		}
		if len(rep.Skipped) != 1 || rep.Skipped[0].Source != "i-1" {
			t.Errorf("skipped %+v, want i-1 (gone)", rep.Skipped)
		}
	})
}
