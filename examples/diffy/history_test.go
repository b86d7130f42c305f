package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/diffy-dfir/diffy"
)

// The history commands on this machine: two analyses and two diffs of
// "local" leave runs that ls lists, show prints in any format, and rm
// deletes.
func TestHistoryCommandsLocal(t *testing.T) {
	store := filepath.Join(t.TempDir(), "store")
	for range 2 {
		if code, _, errOut := runCLI(t, "analyze", "local", "--analyzer", "cluster", "--store", store); code != 0 {
			t.Fatalf("analyze: exit %d, %s", code, errOut)
		}
	}
	code, out, errOut := runCLI(t, "ls", "--store", store)
	if code != 0 {
		t.Fatalf("ls: exit %d, %s", code, errOut)
	}
	if !regexp.MustCompile(`(?m)^KEY +BASELINES +COLLECTIONS +REPORTS +SIZE +NEWEST\nlocal +0 +2 +2 +[0-9.]+ (KiB|MiB) +20\d\d-`).MatchString(out) {
		t.Errorf("ls:\n%s", out)
	}
	code, out, errOut = runCLI(t, "ls", "local", "--store", store, "--format", "json")
	if code != 0 {
		t.Fatalf("ls local: exit %d, %s", code, errOut)
	}
	var runs []diffy.Run
	if err := json.Unmarshal([]byte(out), &runs); err != nil || len(runs) != 4 {
		t.Fatalf("ls local --format json: %v, %d runs\n%s", err, len(runs), out)
	}
	first := runs[0].ID
	code, out, _ = runCLI(t, "ls", "local", "--store", store)
	if code != 0 || strings.Count(out, first) != 2 || strings.Count(out, "latest") != 2 {
		t.Errorf("ls local:\n%s", out)
	}
	// show: the latest, or a run, in every format.
	for _, f := range []struct{ format, starts string }{{"table", "local: "}, {"json", "{"}, {"html", "<!DOCTYPE html>"}, {"csv", "key,"}} {
		code, out, errOut := runCLI(t, "show", "local", "--run", first, "--store", store, "--format", f.format)
		if code != 0 || !strings.HasPrefix(out, f.starts) {
			t.Errorf("show --format %s: exit %d, %.80q, %s", f.format, code, out, errOut)
		}
	}
	code, out, _ = runCLI(t, "show", "local", "--store", store, "--format", "json")
	if r := parseReport(t, out); code != 0 || r.Analyzer != "cluster" {
		t.Errorf("show latest: exit %d, analyzer %q", code, r.Analyzer)
	}
	// diff: each host against its own earlier collection.
	code, out, errOut = runCLI(t, "diff", "local", "--store", store, "--format", "json")
	if r := parseReport(t, out); code != 0 || r.Analyzer != "diff" || len(r.Hosts) != 1 {
		t.Errorf("diff local: exit %d, stderr %s", code, errOut)
	}
	code, out, errOut = runCLI(t, "diff", "local", "--store", store, "--run", first, "--to", "latest", "--format", "json")
	if r := parseReport(t, out); code != 0 || r.Analyzer != "diff" || !strings.Contains(strings.Join(r.Notes, " "), first) {
		t.Errorf("diff --run --to: exit %d, stderr %s", code, errOut)
	}
	// rm --before: the runs before a time; rm: the key.
	code, out, errOut = runCLI(t, "rm", "local", "--store", store, "--before", "2000-01-01")
	if code != 0 || !strings.Contains(out, "local: deleted the runs before 2000-01-01T00:00:00Z: none; 7 left") {
		t.Errorf("rm --before 2000: exit %d, %q, %s", code, out, errOut)
	}
	code, out, errOut = runCLI(t, "rm", "local", "--store", store)
	if code != 0 || !strings.Contains(out, "local: deleted every run: 3 collections, 4 reports; 0 left") {
		t.Errorf("rm: exit %d, %q, %s", code, out, errOut)
	}
	for _, kind := range []string{"collection", "analysis"} {
		if _, err := os.Stat(filepath.Join(store, kind, "local.json")); !os.IsNotExist(err) {
			t.Errorf("%s of local left after rm: %v", kind, err)
		}
	}
	code, _, errOut = runCLI(t, "ls", "local", "--store", store)
	if code != 1 {
		t.Errorf("ls of a removed key: exit %d, want 1", code)
	}
	oneErrorLine(t, errOut, "nothing is stored for local")
	code, _, errOut = runCLI(t, "show", "local", "--store", store)
	if code != 1 {
		t.Errorf("show of a removed key: exit %d, want 1", code)
	}
	oneErrorLine(t, errOut, "no analysis of \"local\" stored as run latest")
}

func TestHistoryCommandsUsage(t *testing.T) {
	store := t.TempDir()
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"ls", "a", "b"}, "ls takes at most one KEY"},
		{[]string{"ls", "--format", "html"}, "ls prints a table or JSON"},
		{[]string{"ls", "--target", "asg"}, "--target does not apply to ls"},
		{[]string{"rm"}, "rm takes one KEY"},
		{[]string{"rm", "k", "--before", "yesterday"}, `--before "yesterday": is not a time`},
		{[]string{"rm", "k", "--run", "x"}, "--run does not apply to rm"},
		{[]string{"show", "k", "--run", "bad"}, `run ID "bad"`},
		{[]string{"show", "k", "--before", "1h"}, "--before does not apply to show"},
		{[]string{"diff"}, "diff takes one KEY"},
		{[]string{"diff", "k", "--since", "1h", "--run", "20261126T120000.000Z-a"}, "give one"},
		{[]string{"diff", "k", "--since", "tomorrow"}, `--since "tomorrow"`},
		{[]string{"diff", "k", "--to", "nope"}, "--to: run ID"},
		{[]string{"diff", "k", "--analyzer", "cluster"}, "--analyzer does not apply to diff"},
		{[]string{"diff", "k", "--to", "latest", "--batch-size", "3"}, "--batch-size does not apply to diff --to"},
		{[]string{"analyze", "k", "--since", "1h"}, "--since does not apply to analyze"},
		{[]string{"baseline", "k", "--run", "20261126T120000.000Z-a"}, "--run does not apply to baseline"},
	} {
		code, _, errOut := runCLI(t, append(c.args, "--store", store)...)
		if code != 2 {
			t.Errorf("%q: exit %d, want 2 (usage)", c.args, code)
		}
		oneErrorLine(t, errOut, c.want)
	}
	for _, cmd := range []string{"ls", "show", "rm", "diff"} {
		code, out, _ := runCLI(t, "help", cmd)
		if code != 0 || !strings.HasPrefix(out, "Usage: diffy "+cmd) {
			t.Errorf("help %s: exit %d, %.60q", cmd, code, out)
		}
	}
}
