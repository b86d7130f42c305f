package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestAnalyzeFromClusterStreams runs `analyze --from DIR --analyzer
// cluster` (the streamed path, Diffy.AnalyzeFiles) on a directory with a
// malformed file.
func TestAnalyzeFromClusterStreams(t *testing.T) {
	saved, bad := savedResults(t)
	store := t.TempDir()

	code, out, errOut := runCLI(t, "analyze", "--from", saved, "--analyzer", "cluster", "--store", store, "--format", "json")
	if code != 0 {
		t.Fatalf("exit %d, stderr %s", code, errOut)
	}
	if !strings.Contains(errOut, "diffy: skipped input "+bad+": ") {
		t.Errorf("stderr does not name the bad file: %q", errOut)
	}
	r := parseReport(t, out)
	if r.Analyzer != "cluster" || r.Key != "web-asg" || len(r.Hosts) != 3 {
		t.Errorf("report: analyzer %q, key %q, %d hosts; want cluster, web-asg, 3", r.Analyzer, r.Key, len(r.Hosts))
	}
	if len(r.Skipped) != 1 || r.Skipped[0].Source != bad {
		t.Errorf("report skipped = %+v, want %s", r.Skipped, bad)
	}
	if out := r.Outliers(); len(out) != 1 || out[0].InstanceID != "i-3" || out[0].Findings[0].Row["port"] != "4444" {
		t.Errorf("outliers = %+v, want i-3 with the port 4444 row", out)
	}
	if _, err := os.Stat(filepath.Join(store, "analysis", "web-asg.json")); err != nil {
		t.Errorf("report not saved under the key: %v", err)
	}
}
