package diffy_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/diffy-dfir/diffy"
	"github.com/diffy-dfir/diffy/analyze"
	"github.com/diffy-dfir/diffy/collect"
	"github.com/diffy-dfir/diffy/payload"
	"github.com/diffy-dfir/diffy/persist"
	"github.com/diffy-dfir/diffy/render"
	"github.com/diffy-dfir/diffy/target"
)

// TestHostileTextReportSize: what a Report quotes of a host's error or
// of a skipped input stays small whatever the host sent. A host that
// fails a command with 8 MiB of stderr, collected by collect.Local, has
// an error of at most 512 bytes of it (collect's cap); but a results file
// is anyone's, and one whose Results carry an 8 MiB error, an 8 MiB
// instance ID and time (quoted in a Skip's reason) and an 8 MiB command
// ID (quoted in a note), with a caller's 8 MiB Skip, made reports of
// 42-50 MB. Each Host.Errors entry and each Skip's Source and Reason are
// now at most analyze.MaxValueBytes and a mark giving the whole text's
// length, and a Result with an ID over collect.MaxIDBytes is skipped,
// saying so.
func TestHostileTextReportSize(t *testing.T) {
	const eightMiB = 8 << 20
	big := strings.Repeat("E", eightMiB)
	limit := analyze.MaxValueBytes + 128

	// A host's stderr, through a real collector.
	res, err := collect.Local{NoOsquery: true}.Collect(context.Background(), []target.Instance{{ID: target.LocalID}},
		[]payload.Command{{ID: "noisy", Shell: `head -c 8388608 /dev/zero | tr '\0' E >&2; exit 3`}})
	if err != nil || len(res) != 1 {
		t.Fatalf("Collect: %v, %v", res, err)
	}
	if r := res[0]; r.OK() || len(r.Error) > 1024 || !strings.Contains(r.Error, "status 3") {
		t.Errorf("a command failing with 8 MiB of stderr: error of %d bytes %.100q", len(r.Error), r.Error)
	}

	// A results file.
	dir, _ := fleetDir(t, 12)
	rs := []map[string]any{
		{"instance_id": "i-bad1", "command_id": "processes", "status": "Failed", "exit_code": 1, "error": big, "stderr": "x"},
		{"instance_id": "i-bad2" + big, "command_id": "processes", "status": "Success", "collected_at": "not a time"},
		{"instance_id": "i-bad3", "command_id": "processes", "status": "Success", "collected_at": big},
		{"instance_id": "i-bad4", "command_id": "c" + big, "status": "Success", "stdout": []any{}},
		{"instance_id": "i-bad4", "command_id": "c" + big, "status": "Success", "stdout": []any{}},
	}
	data, err := json.Marshal(rs)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "hostile.json"), data, 0o600); err != nil {
		t.Fatal(err)
	}
	checkSkips := func(what string, skips []analyze.Skip, want int) {
		t.Helper()
		var cut, long int
		for _, s := range skips {
			if strings.Contains(s.Reason, "_id is 8388") && strings.Contains(s.Reason, "over the 4096-byte limit for an ID") {
				long++
			}
			if len(s.Source) > limit || len(s.Reason) > limit {
				t.Errorf("%s: a Skip of %d and %d bytes: %.100q, %.100q", what, len(s.Source), len(s.Reason), s.Source, s.Reason)
			}
			if strings.Contains(s.Source+s.Reason, " bytes in all, sha256 ") {
				cut++
			}
		}
		if long != 3 { // i-bad2's instance ID, i-bad4's two command IDs
			t.Errorf("%s: %d Skips say an ID is too long, want 3: %.300q", what, long, skips)
		}
		if cut < want {
			t.Errorf("%s: %d Skips say they were cut, want %d: %.300q", what, cut, want, skips)
		}
	}
	loaded, _, err := diffy.LoadResults(dir)
	if err != nil {
		t.Fatal(err)
	}
	bigSkip := []analyze.Skip{{Source: "caller" + big, Reason: "given by the caller" + big}}
	for _, name := range []string{"cluster", "baseline", "diff"} {
		var rep *analyze.Report
		switch name {
		case "diff": // Changes has no stream: Analyze, the file's Skips given by the caller
			_, skips, _ := diffy.LoadResults(dir)
			rep, err = analyze.Changes{}.Analyze(context.Background(), analyze.Input{Key: "fleet", Results: loaded, Baseline: loaded, Skipped: append(skips, bigSkip...)})
		default:
			a, baseline := analyze.Analyzer(analyze.Clustering{}), []collect.Result(nil)
			if name == "baseline" {
				a, baseline = analyze.Baseline{}, firstHost(loaded)
			}
			var skips []analyze.Skip
			d := mustNew(t, diffy.WithAnalyzer(a), diffy.WithStore(persist.NewMemory()))
			rep, skips, err = d.AnalyzeFiles(context.Background(), "fleet", []string{dir}, baseline, bigSkip)
			checkSkips(name+": AnalyzeFiles' Skips", skips, 1) // the time's
		}
		if err != nil {
			t.Fatal(err)
		}
		checkSkips(name+": Report.Skipped", rep.Skipped, 2) // and the caller's
		var cutErrs int
		for _, h := range rep.Hosts {
			for _, e := range h.Errors {
				if strings.Contains(e, "8388") {
					cutErrs++
				}
				if len(e) > limit+64 {
					t.Errorf("%s: host %s: error of %d bytes %.100q...", name, h.InstanceID, len(e), e)
				}
			}
		}
		if cutErrs == 0 {
			t.Errorf("%s: no host has the 8 MiB error", name)
		}
		var b bytes.Buffer
		if err := render.JSON(&b, rep); err != nil {
			t.Fatal(err)
		}
		t.Logf("%s: JSON report %d bytes", name, b.Len())
		if b.Len() > 1<<20 {
			t.Errorf("%s: JSON report of 13 hosts: %d bytes", name, b.Len())
		}
	}
}
