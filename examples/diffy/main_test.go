package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/diffy-dfir/diffy"
	"github.com/diffy-dfir/diffy/analyze"
)

// runCLI runs the command line in-process and returns its exit status,
// stdout and stderr.
func runCLI(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := run(context.Background(), args, &out, &errOut)
	return code, out.String(), errOut.String()
}

// parseReport parses stdout as a Report and checks every host appears
// once.
func parseReport(t *testing.T, stdout string) *analyze.Report {
	t.Helper()
	var r analyze.Report
	if err := json.Unmarshal([]byte(stdout), &r); err != nil {
		t.Fatalf("stdout is not a JSON Report: %v\n%s", err, stdout)
	}
	seen := map[string]int{}
	for _, h := range r.Hosts {
		seen[h.InstanceID]++
		if seen[h.InstanceID] > 1 {
			t.Errorf("host %s appears %d times in the report", h.InstanceID, seen[h.InstanceID])
		}
	}
	return &r
}

// oneErrorLine checks stderr is one line "diffy: ..." containing want.
func oneErrorLine(t *testing.T, stderr, want string) {
	t.Helper()
	if strings.Count(stderr, "\n") != 1 || !strings.HasPrefix(stderr, "diffy: ") || !strings.Contains(stderr, want) {
		t.Errorf("stderr = %q, want one line \"diffy: ...\" containing %q", stderr, want)
	}
}

func TestBaselineThenAnalyzeLocal(t *testing.T) {
	store := t.TempDir()
	code, out, errOut := runCLI(t, "baseline", "local", "--store", store)
	if code != 0 {
		t.Fatalf("baseline local: exit %d, stderr %s", code, errOut)
	}
	if !strings.Contains(out, "baseline of local saved from instance local") {
		t.Errorf("baseline stdout = %q", out)
	}
	// Flags before the command, and after the key.
	code, out, errOut = runCLI(t, "--store", store, "analyze", "local", "--format", "json")
	if code != 0 {
		t.Fatalf("analyze local: exit %d, stderr %s", code, errOut)
	}
	r := parseReport(t, out)
	if r.Key != "local" || r.Analyzer != "baseline" || len(r.Hosts) != 1 || r.Hosts[0].InstanceID != "local" {
		t.Errorf("report = key %q analyzer %q hosts %+v; want local, baseline, one host local", r.Key, r.Analyzer, r.Hosts)
	}
	for _, kind := range []string{"baseline", "collection", "analysis"} {
		if _, err := os.Stat(filepath.Join(store, kind, "local.json")); err != nil {
			t.Errorf("%s of local not in the store: %v", kind, err)
		}
	}
	// The table format, to a file.
	report := filepath.Join(t.TempDir(), "report.txt")
	code, out, errOut = runCLI(t, "analyze", "localhost", "--store", store, "-o", report)
	if code == 0 {
		t.Errorf("analyze localhost (never baselined) succeeded: %s", out)
	}
	oneErrorLine(t, errOut, "run `diffy baseline localhost`")
	if _, err := os.Stat(report); !os.IsNotExist(err) {
		t.Errorf("a failed run wrote %s", report)
	}
	code, out, errOut = runCLI(t, "analyze", "local", "--store", store, "-o", report)
	if code != 0 {
		t.Fatalf("analyze -o: exit %d, stderr %s", code, errOut)
	}
	data, err := os.ReadFile(report)
	if err != nil || !strings.HasPrefix(string(data), "local: ") {
		t.Errorf("report file = %q, %v", data, err)
	}
	if fi, _ := os.Stat(report); fi.Mode().Perm() != 0o600 {
		t.Errorf("report file mode %v, want 0600", fi.Mode().Perm())
	}
	if !strings.Contains(out, "report written to "+report) {
		t.Errorf("stdout with -o = %q", out)
	}
}

// result returns one Result as JSON.
func result(inst, cmd string, rows ...string) string {
	return fmt.Sprintf(`{"instance_id":%q,"command_id":%q,"status":"Success","collected_at":"2026-11-26T12:00:00Z","stdout":[%s]}`,
		inst, cmd, strings.Join(rows, ","))
}

func port(p, pid string) string {
	return fmt.Sprintf(`{"address":"0.0.0.0","port":%q,"protocol":"6","name":"svc%s","pid":%q}`, p, p, pid)
}

func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// savedResults writes a directory "web-asg" of saved Result files: hosts
// i-1 and i-2 with sshd only, i-3 also listening on 4444, and a cut file
// (bad) holding i-4.
func savedResults(t *testing.T) (saved, bad string) {
	t.Helper()
	saved = filepath.Join(t.TempDir(), "web-asg")
	if err := os.Mkdir(saved, 0o700); err != nil {
		t.Fatal(err)
	}
	writeFile(t, saved, "part1.json", "["+result("i-1", "listening_ports", port("22", "601"))+","+
		result("i-2", "listening_ports", port("22", "602"))+"]")
	writeFile(t, saved, "part2.json", "["+result("i-3", "listening_ports", port("22", "603"), port("4444", "31337"))+"]")
	bad = writeFile(t, saved, "part3.json", `[{"instance_id": "i-4", "command_id": "listening_ports", "status": "Succ`)
	return saved, bad
}

func TestAnalyzeFromDirWithMalformedFile(t *testing.T) {
	saved, bad := savedResults(t)
	base := writeFile(t, t.TempDir(), "baseline.json", "["+result("i-1", "listening_ports", port("22", "100"))+"]")
	store := t.TempDir()

	code, out, errOut := runCLI(t, "analyze", "--from", saved, "--baseline-from", base, "--store", store, "--format", "json")
	if code != 0 {
		t.Fatalf("exit %d, stderr %s", code, errOut)
	}
	if !strings.Contains(errOut, "diffy: skipped input "+bad+": ") || !strings.Contains(errOut, "line 1, column") {
		t.Errorf("stderr does not name the bad file with its position: %q", errOut)
	}
	r := parseReport(t, out)
	if r.Key != "web-asg" {
		t.Errorf("key = %q, want the directory's name web-asg", r.Key)
	}
	if len(r.Hosts) != 3 {
		t.Errorf("report has %d hosts, want i-1, i-2, i-3", len(r.Hosts))
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

	// A KEY argument names the report; the table shows the skipped file.
	code, out, errOut = runCLI(t, "analyze", "--from", saved, "incident-7", "--baseline-from", base, "--store", store)
	if code != 0 || !strings.HasPrefix(out, "incident-7: ") || !strings.Contains(out, "Skipped: "+bad) {
		t.Errorf("table: exit %d, stdout:\n%s\nstderr: %s", code, out, errOut)
	}
}

// TestAnalyzeFromFleetBaseline: --baseline-from DIR with the saved
// Results of several hosts (as --from reads them) is a fleet baseline:
// the baseline analyzer compares each host with it as a whole, and no
// instance of it is taken as the clean one.
func TestAnalyzeFromFleetBaseline(t *testing.T) {
	saved, bad := savedResults(t)
	base := t.TempDir()
	for i := range 4 {
		writeFile(t, base, fmt.Sprintf("b-%d.json", i), "["+result(fmt.Sprintf("b-%d", i), "listening_ports", port("22", fmt.Sprint(500+i)))+"]")
	}
	code, out, errOut := runCLI(t, "analyze", "--from", saved, "--baseline-from", base, "--store", t.TempDir(), "--format", "json")
	if code != 0 {
		t.Fatalf("exit %d, stderr %s", code, errOut)
	}
	if !strings.Contains(errOut, "diffy: skipped input "+bad+": ") {
		t.Errorf("stderr does not name the bad input: %q", errOut)
	}
	r := parseReport(t, out)
	if r.Analyzer != "baseline" || r.BaselineHosts != 4 || r.BaselineInstance != "" {
		t.Errorf("analyzer %q against %d baseline hosts (instance %q), want baseline, 4, none", r.Analyzer, r.BaselineHosts, r.BaselineInstance)
	}
	if out := r.Outliers(); len(out) != 1 || out[0].InstanceID != "i-3" || out[0].Findings[0].Row["port"] != "4444" {
		t.Errorf("outliers = %+v, want i-3 with the port 4444 row", out)
	}
}

func TestAnalyzeFromOriginalFormat(t *testing.T) {
	dir := t.TempDir()
	// The original Diffy's files: no command_id, stdout a string of JSON.
	writeFile(t, dir, "collection.json", `[
 {"instance_id": "i-a", "status": "Success", "collected_at": "2018-04-12 17:53:06.541286",
  "stdout": "[{\"address\":\"0.0.0.0\",\"port\":\"22\",\"name\":\"sshd\",\"pid\":\"1043\"}]"},
 {"instance_id": "i-b", "status": "Success", "collected_at": "2018-04-12 17:53:07.1",
  "stdout": "[{\"address\":\"0.0.0.0\",\"port\":\"22\",\"name\":\"sshd\",\"pid\":\"988\"},{\"address\":\"0.0.0.0\",\"port\":\"6667\",\"name\":\"ircd\",\"pid\":\"4242\"}]"}
]`)
	base := writeFile(t, t.TempDir(), "baseline.json", `[{"instance_id": "i-clean", "status": "Success",
  "collected_at": "2018-04-12 17:50:00", "stdout": "[{\"address\":\"0.0.0.0\",\"port\":\"22\",\"name\":\"sshd\",\"pid\":\"1\"}]"}]`)
	code, out, errOut := runCLI(t, "analyze", "--from", dir, "old", "--baseline-from", base, "--store", t.TempDir(), "--format", "json")
	if code != 0 {
		t.Fatalf("exit %d, stderr %s", code, errOut)
	}
	r := parseReport(t, out)
	if len(r.Hosts) != 2 {
		t.Fatalf("hosts = %+v, want i-a and i-b", r.Hosts)
	}
	if out := r.Outliers(); len(out) != 1 || out[0].InstanceID != "i-b" || out[0].Findings[0].Row["port"] != "6667" {
		t.Errorf("outliers = %+v, want i-b with port 6667", out)
	}
}

func TestBadCommandLines(t *testing.T) {
	store := t.TempDir()
	for _, tc := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"unknown flag", []string{"analyze", "local", "--frobnicate"}, 2, "flag provided but not defined: -frobnicate"},
		{"unknown analyzer", []string{"analyze", "local", "--analyzer", "magic"}, 2, `unknown --analyzer "magic"`},
		{"unknown format", []string{"analyze", "local", "--format", "xml"}, 2, `unknown --format "xml"`},
		{"unknown target", []string{"analyze", "local", "--target", "gcp"}, 2, `unknown --target "gcp"`},
		{"unknown collector", []string{"baseline", "local", "--collector", "ssh"}, 2, `unknown --collector "ssh"`},
		{"unknown command", []string{"frob"}, 2, `unknown command "frob"`},
		{"no command", nil, 2, "no command given"},
		{"missing key", []string{"analyze"}, 2, "analyze takes one KEY"},
		{"two keys", []string{"baseline", "a", "b"}, 2, "baseline takes one KEY"},
		{"bad batch size", []string{"analyze", "local", "--batch-size", "0"}, 2, "--batch-size 0"},
		{"flag for another command", []string{"baseline", "local", "--from", "x"}, 2, "--from does not apply to baseline"},
		{"unknown key", []string{"baseline", "web-asg", "--store", store}, 1, `"web-asg"`},
		{"unknown key to analyze", []string{"analyze", "web-asg", "--store", store}, 1, `target "web-asg"`},
		{"unknown instance", []string{"baseline", "local", "--instance", "i-nope", "--store", store}, 1, `"i-nope"`},
		{"missing from dir", []string{"analyze", "--from", filepath.Join(store, "nothing"), "--store", store}, 1, "no result could be loaded"},
		{"bad incident", []string{"analyze", "local", "--incident", "a/b", "--store", store}, 1, "incident ID"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errOut := runCLI(t, tc.args...)
			if code != tc.code {
				t.Errorf("exit %d, want %d (stdout %q)", code, tc.code, out)
			}
			if tc.name == "missing from dir" {
				// The skipped path is told first, then the error.
				lines := strings.Split(strings.TrimSpace(errOut), "\n")
				errOut = lines[len(lines)-1] + "\n"
			}
			oneErrorLine(t, errOut, tc.want)
			if strings.Contains(errOut, "goroutine ") || strings.Contains(errOut, "panic") {
				t.Errorf("stack trace on stderr: %s", errOut)
			}
		})
	}
}

// TestDemoIsItsOwnProgram checks that `diffy demo` points to the demo's
// program, which this one does not link (see examples/diffy-demo).
func TestDemoIsItsOwnProgram(t *testing.T) {
	for _, args := range [][]string{{"demo"}, {"--format", "json", "demo"}} {
		code, _, errOut := runCLI(t, args...)
		if code != 2 || !strings.Contains(errOut, "go run ./examples/diffy-demo") || strings.Count(errOut, "\n") != 1 {
			t.Errorf("%q: exit %d, stderr %q; want 2 and one line naming examples/diffy-demo", args, code, errOut)
		}
	}
}

func TestHelpAndPlugins(t *testing.T) {
	code, out, _ := runCLI(t, "-h")
	if code != 0 || !strings.Contains(out, "diffy analyze --from DIR [KEY]") {
		t.Errorf("-h: exit %d, stdout %q", code, out)
	}
	code, out, errOut := runCLI(t, "plugins")
	if code != 0 {
		t.Fatalf("plugins: exit %d, %s", code, errOut)
	}
	for _, want := range []string{"KIND", "target     local", "target     asg", "collector  ssm", "analyzer   baseline", "analyzer   cluster", "format     json", "payload    osquery", "store      s3://bucket/prefix"} {
		if !strings.Contains(out, want) {
			t.Errorf("plugins lacks %q:\n%s", want, out)
		}
	}
}

func TestParseArgsInterspersed(t *testing.T) {
	c, pos, err := parseArgs([]string{"--format", "json", "analyze", "--store", "/s", "key", "-o", "f", "--", "--not-a-flag"})
	if err != nil {
		t.Fatal(err)
	}
	if c.format != "json" || c.store != "/s" || c.output != "f" {
		t.Errorf("flags = %+v", c)
	}
	if want := []string{"analyze", "key", "--not-a-flag"}; strings.Join(pos, " ") != strings.Join(want, " ") {
		t.Errorf("positional = %q, want %q", pos, want)
	}
}

// TestInterruptedRunNoteAndResume leaves in the store the part an
// interrupted run of local would have left, and checks that analyze tells
// about it, and resumes it with --incident.
func TestInterruptedRunNoteAndResume(t *testing.T) {
	store := t.TempDir()
	if code, _, errOut := runCLI(t, "baseline", "local", "--store", store); code != 0 {
		t.Fatalf("baseline: %s", errOut)
	}
	// The part: the baseline's own Results, marked so they can be told
	// apart from a new collection.
	doc, err := os.ReadFile(filepath.Join(store, "baseline", "local.json"))
	if err != nil {
		t.Fatal(err)
	}
	var rs []map[string]any
	if err := json.Unmarshal(doc, &rs); err != nil {
		t.Fatal(err)
	}
	for _, r := range rs {
		r["collected_at"] = "2001-02-03T04:05:06Z"
	}
	part, _ := json.Marshal(rs)
	if err := os.MkdirAll(filepath.Join(store, "partial"), 0o700); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(store, "partial"), "local.IR-7.00000.json", string(part))

	code, _, errOut := runCLI(t, "analyze", "local", "--store", store, "--format", "json")
	if code != 0 || !strings.Contains(errOut, "an interrupted run of local (incident IR-7) left results of 1 instances") ||
		!strings.Contains(errOut, "add --incident IR-7 to resume it") {
		t.Errorf("exit %d, stderr %q; want a note about incident IR-7", code, errOut)
	}
	code, out, errOut := runCLI(t, "analyze", "local", "--store", store, "--incident", "IR-7")
	if code != 0 || !strings.Contains(errOut, "resuming incident IR-7: 1 instances of local already collected") {
		t.Errorf("exit %d, stderr %q; want the resume said", code, errOut)
	}
	if !strings.Contains(out, "Note: 1 instances were collected by an earlier, interrupted run of incident IR-7") {
		t.Errorf("the report does not note the resume:\n%s", out)
	}
	// The resumed run used the part's Results, stored the whole
	// collection, and removed the part.
	coll, err := os.ReadFile(filepath.Join(store, "collection", "local.json"))
	if err != nil || !strings.Contains(string(coll), "2001-02-03T04:05:06Z") {
		t.Errorf("collection does not hold the resumed part's results (%v)", err)
	}
	if _, err := os.Stat(filepath.Join(store, "partial", "local.IR-7.00000.json")); !os.IsNotExist(err) {
		t.Errorf("the part is still there after the resumed run completed: %v", err)
	}
}

func TestProgressLine(t *testing.T) {
	var buf bytes.Buffer
	if l := newProgressLine(&buf, "web"); l != nil {
		t.Fatal("a progress line on a writer that is not a terminal")
	}
	l := &progressLine{w: &buf, key: "web"}
	l.update(diffy.Progress{Stage: "collect", Done: 500, Total: 2000})
	l.update(diffy.Progress{Stage: "collect", Done: 2000, Total: 2000})
	l.update(diffy.Progress{Stage: "analyze", Done: 0, Total: 1})
	l.clear()
	long, short := "diffy: web: collected 2000 of 2000 instances", "diffy: web: analyzing"
	want := "\rdiffy: web: collected 500 of 2000 instances" +
		"\r" + long +
		"\r" + short + strings.Repeat(" ", len(long)-len(short)) + // covers the longer line
		"\r" + strings.Repeat(" ", len(long)) + "\r"
	if buf.String() != want {
		t.Errorf("progress output = %q, want %q", buf.String(), want)
	}
	var none *progressLine
	none.update(diffy.Progress{Stage: "collect"}) // nil-safe
	none.clear()
}

func TestOutputFileError(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "r.json", "["+result("i-1", "users")+"]")
	missing := filepath.Join(dir, "no", "such", "dir", "report.json")
	code, _, errOut := runCLI(t, "analyze", "--from", dir, "--baseline-from", filepath.Join(dir, "r.json"), "--store", t.TempDir(), "-o", missing)
	if code != 1 {
		t.Errorf("exit %d, want 1", code)
	}
	oneErrorLine(t, errOut, "-o "+missing)
}

func TestPanicIsOneLine(t *testing.T) {
	var errOut bytes.Buffer
	code := run(context.Background(), []string{"plugins"}, panicWriter{}, &errOut)
	if code != 1 {
		t.Errorf("exit %d, want 1", code)
	}
	oneErrorLine(t, errOut.String(), "internal error: ")
	if _, path, ok := strings.Cut(strings.TrimSpace(errOut.String()), "stack trace in "); ok {
		path, _, _ = strings.Cut(path, ";")
		data, err := os.ReadFile(path)
		if err != nil || !strings.Contains(string(data), "goroutine") {
			t.Errorf("crash file %s: %v", path, err)
		}
		os.Remove(path)
	}
}

// panicWriter panics on write, standing in for a bug.
type panicWriter struct{}

func (panicWriter) Write([]byte) (int, error) { panic("boom") }

func TestAnalyzeFromHTML(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "r.json", "["+result("i-1", "listening_ports", port("22", "1"))+","+
		result("i-2", "listening_ports", port("22", "2"), `{"port":"4444","name":"\u001b[31m<script>alert(1)</script>"}`)+"]")
	base := writeFile(t, t.TempDir(), "base.json", "["+result("i-1", "listening_ports", port("22", "1"))+"]")
	page := filepath.Join(t.TempDir(), "report.html")
	code, out, errOut := runCLI(t, "analyze", "--from", dir, "--baseline-from", base, "--store", t.TempDir(), "--format", "html", "-o", page)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	data, err := os.ReadFile(page)
	if err != nil || !strings.Contains(strings.ToLower(string(data)), "<html") {
		t.Fatalf("report file is not an HTML page (%v)", err)
	}
	if strings.Contains(string(data), "<script>alert(1)") || strings.Contains(string(data), "\x1b") {
		t.Error("the host's row reached the page unescaped")
	}
	if !strings.Contains(out, "2 hosts analyzed, 1 outliers") {
		t.Errorf("stdout = %q", out)
	}
}

// TestFormatCSV: --format csv writes one record per finding and one per
// host without findings, with the header README documents.
func TestFormatCSV(t *testing.T) {
	saved, _ := savedResults(t)
	base := writeFile(t, t.TempDir(), "baseline.json", "["+result("i-1", "listening_ports", port("22", "100"))+"]")
	code, out, errOut := runCLI(t, "analyze", "--from", saved, "--baseline-from", base, "--store", t.TempDir(), "--format", "csv")
	if code != 0 {
		t.Fatalf("exit %d, stderr %s", code, errOut)
	}
	recs, err := csv.NewReader(strings.NewReader(out)).ReadAll()
	if err != nil {
		t.Fatalf("stdout is not CSV: %v\n%s", err, out)
	}
	if want := "key,analyzer,instance_id,name,private_ip,tags,outlier,score,rank,cluster,findings,findings_omitted,errors,finding,kind,command_id,hosts_with_row,prevalence,row,why,template,hosts_with_template,column,usual,usual_hosts,deciding"; strings.Join(recs[0], ",") != want {
		t.Errorf("header %q, want %q", strings.Join(recs[0], ","), want)
	}
	// i-1 and i-2 without findings, i-3 with one added row.
	if len(recs) != 4 || recs[3][2] != "i-3" || recs[3][14] != "added" || !strings.Contains(recs[3][18], `"port":"4444"`) {
		t.Errorf("records:\n%q", recs[1:])
	}
}

// TestVersion: --version prints the module's version and path and the Go
// version, and exits 0, whatever else the line holds.
func TestVersion(t *testing.T) {
	for _, args := range [][]string{{"--version"}, {"analyze", "local", "--version"}} {
		code, out, errOut := runCLI(t, args...)
		if code != 0 || !strings.HasPrefix(out, "diffy ") || !strings.Contains(out, "(github.com/diffy-dfir/diffy)") ||
			!strings.Contains(out, ", go1.") || strings.Count(out, "\n") != 1 || errOut != "" {
			t.Errorf("%v: exit %d, stdout %q, stderr %q", args, code, out, errOut)
		}
	}
}

// TestHelpCommand: `diffy help COMMAND` and `diffy COMMAND --help` print
// that command's usage and exit 0; an unknown command is a usage error.
func TestHelpCommand(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"help"}, "diffy finds the machines of a group"},
		{[]string{"-h"}, "diffy finds the machines of a group"},
		{[]string{"help", "analyze"}, "Usage: diffy analyze KEY [flags]\n"},
		{[]string{"analyze", "--help"}, "Usage: diffy analyze KEY [flags]\n"},
		{[]string{"analyze", "local", "-h"}, "Usage: diffy analyze KEY [flags]\n"},
		{[]string{"help", "baseline"}, "Usage: diffy baseline KEY [--instance ID|--all] [flags]\n"},
		{[]string{"baseline", "-help"}, "Usage: diffy baseline KEY [--instance ID|--all] [flags]\n"},
		{[]string{"help", "plugins"}, "Usage: diffy plugins\n"},
		{[]string{"plugins", "--help"}, "Usage: diffy plugins\n"},
		{[]string{"help", "help"}, "Usage: diffy help [COMMAND]\n"},
	} {
		code, out, errOut := runCLI(t, tc.args...)
		if code != 0 || !strings.HasPrefix(out, tc.want) || errOut != "" {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want 0 and a usage starting %q", tc.args, code, out, errOut, tc.want)
		}
	}
	code, _, errOut := runCLI(t, "help", "nope")
	if code != 2 {
		t.Errorf("help nope: exit %d, want 2", code)
	}
	oneErrorLine(t, errOut, `unknown command "nope"`)
}

// TestOutputCheckedFirst: a report file that cannot be written is refused
// before anything is collected: nothing reaches the store.
func TestOutputCheckedFirst(t *testing.T) {
	store := t.TempDir()
	for _, o := range []string{filepath.Join(t.TempDir(), "no", "such", "x.html"), t.TempDir()} {
		code, _, errOut := runCLI(t, "analyze", "local", "--analyzer", "cluster", "--store", store, "--format", "html", "-o", o)
		if code != 1 {
			t.Errorf("-o %s: exit %d, want 1", o, code)
		}
		oneErrorLine(t, errOut, "-o "+o)
	}
	if entries, _ := os.ReadDir(store); len(entries) != 0 {
		t.Errorf("the store holds %v: the run collected before finding that -o cannot be written", entries)
	}
}

// TestFlagsThatDoNotApply: a flag that the chosen command, target,
// collector or store does not use is a usage error naming it, not ignored.
func TestFlagsThatDoNotApply(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"analyze", "local", "--region", "us-east-1"}, "--region applies to AWS"},
		{[]string{"analyze", "local", "--profile", "ir"}, "--profile applies to AWS"},
		{[]string{"baseline", "local", "--role-arn", "arn:aws:iam::1:role/x"}, "--role-arn applies to AWS"},
		{[]string{"analyze", "web", "--target", "asg", "--output-bucket", "b"}, "--output-bucket applies to --collector ssm"},
		{[]string{"analyze", "local", "--collector", "ssm"}, "give an EC2 target"},
		{[]string{"plugins", "--format", "json"}, "--format does not apply to plugins"},
		{[]string{"baseline", "local", "--format", "json"}, "--format does not apply to baseline"},
		{[]string{"analyze", "local", "--instance", "i-1"}, "--instance does not apply to analyze"},
		{[]string{"analyze", "--from", "dir", "--target", "asg"}, "--target does not apply to analyze --from"},
		{[]string{"analyze", "--from", "dir", "--analyzer", "cluster", "--baseline-from", "base"}, "--baseline-from does not apply to --analyzer cluster"},
	} {
		code, _, errOut := runCLI(t, append(tc.args, "--store", t.TempDir())...)
		if code != 2 {
			t.Errorf("%v: exit %d, want 2", tc.args, code)
		}
		oneErrorLine(t, errOut, tc.want)
	}
	// The AWS settings are taken where AWS is used: an S3 store.
	if err := check(&config{target: "local", collector: "local", analyzer: "baseline", format: "table", store: "s3://b/p",
		aws: awsFlags{Region: "us-east-1"}, set: map[string]bool{"region": true}}); err != nil {
		t.Errorf("--region with an S3 store: %v", err)
	}
}
