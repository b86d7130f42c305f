package diffy_test

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/diffy-dfir/diffy"
	"github.com/diffy-dfir/diffy/analyze"
	"github.com/diffy-dfir/diffy/collect"
)

// writeFiles writes name → content into a new directory and returns it.
func writeFiles(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func pairs(rs []collect.Result) []string {
	var out []string
	for _, r := range rs {
		out = append(out, r.InstanceID+"/"+r.CommandID)
	}
	return out
}

func skipOf(skips []analyze.Skip, source string) (analyze.Skip, bool) {
	for _, s := range skips {
		if s.Source == source {
			return s, true
		}
	}
	return analyze.Skip{}, false
}

func TestLoadResultsShapes(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"a-array.json": `[{"instance_id":"i-1","command_id":"users","status":"Success","collected_at":"2026-11-26T12:00:00Z","stdout":[{"username":"root"}]},
		                  {"instance_id":"i-2","command_id":"users","status":"Success","collected_at":"2026-11-26T12:00:00Z","stdout":[]}]`,
		"b-object.json": "\xEF\xBB\xBF" + `{"instance_id":"i-3","command_id":"users","status":"Success","collected_at":"2026-11-26T12:00:00Z","stdout":[]}`,
		"c-lines.jsonl": `{"instance_id":"i-4","command_id":"users","status":"Failed","collected_at":"2026-11-26T12:00:00Z","stdout":null,"error":"boom"}
{"instance_id":"i-5","command_id":"users","status":"Success","collected_at":"2026-11-26T12:00:00Z","stdout":[]}
`,
		"d-two-arrays.json":  `[{"instance_id":"i-6","command_id":"users","status":"Success","stdout":[]}] [{"instance_id":"i-7","command_id":"users","status":"Success","stdout":[]}]`,
		"e-empty-array.json": `[]`,
		"notes.txt":          `not read: not a .json file`,
	})
	if err := os.Mkdir(filepath.Join(dir, "sub.json"), 0o700); err != nil {
		t.Fatal(err)
	}
	rs, skips, err := diffy.LoadResults(dir)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"i-1/users", "i-2/users", "i-3/users", "i-4/users", "i-5/users", "i-6/users", "i-7/users"}
	if got := pairs(rs); !slices.Equal(got, want) {
		t.Errorf("loaded %v, want %v", got, want)
	}
	if len(skips) != 0 {
		t.Errorf("skips = %+v, want none", skips)
	}
	if rs[3].Error != "boom" || rs[0].Rows[0]["username"] != "root" {
		t.Errorf("content lost: %+v %+v", rs[0], rs[3])
	}
}

func TestLoadResultsBadFiles(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"good.json":      `[{"instance_id":"i-1","command_id":"users","status":"Success","collected_at":"2026-11-26T12:00:00Z","stdout":[]}]`,
		"broken.json":    "[\n  {\"instance_id\": \"i-2\", \"status\": \"Success\"},\n  {\"instance_id\" \"i-3\"}\n]",
		"cut.json":       `[{"instance_id":"i-4","command_id":"users","status":"Success","stdout":[{"a":"b"}]}, {"instance_id":"i-5",`,
		"element.json":   "[\n {\"instance_id\":\"i-6\",\"command_id\":\"users\",\"status\":\"Success\",\"stdout\":[]},\n {\"command_id\":\"users\"},\n 42\n]",
		"empty.json":     "  \n",
		"text.json":      "hello",
		"nested.json":    `[{"instance_id":"i-7","command_id":"users","status":"Success","stdout":[{"a":{"b":"c"}}]}]`,
		"badtime.json":   `{"instance_id":"i-8","command_id":"users","status":"Success","collected_at":"yesterday"}`,
		"trailing.jsonl": `{"instance_id":"i-9","command_id":"users","status":"Success","stdout":[]} }`,
	})
	missing := filepath.Join(dir, "missing.json")
	rs, skips, err := diffy.LoadResults(dir, missing)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := pairs(rs), []string{"i-6/users", "i-1/users"}; !slices.Equal(got, want) {
		t.Errorf("loaded %v, want %v (element.json's good result, then good.json)", got, want)
	}
	for _, tc := range []struct{ file, want string }{
		{"broken.json", "not valid JSON at line 3, column 18"},
		{"cut.json", "cut short"},
		{"element.json", "result 2 at line 3, column 2 is not a Result"},
		{"empty.json", "is empty"},
		{"text.json", `starts with 'h' at line 1, column 1`},
		{"nested.json", "nested"},
		{"badtime.json", "yesterday"},
		{"trailing.jsonl", "whole file was skipped"},
		{"missing.json", "no such file"},
	} {
		s, ok := skipOf(skips, filepath.Join(dir, tc.file))
		if !ok || !strings.Contains(s.Reason, tc.want) {
			t.Errorf("skip of %s = %+v, want a reason containing %q", tc.file, s, tc.want)
		}
	}
	var el []string
	for _, s := range skips {
		if s.Source == filepath.Join(dir, "element.json") {
			el = append(el, s.Reason)
		}
	}
	if len(el) != 2 || !strings.Contains(el[1], "result 3 at line 4, column 2") {
		t.Errorf("element.json skips = %q, want results 2 and 3 named with their lines", el)
	}
}

func TestLoadResultsOriginalFormat(t *testing.T) {
	rs, skips, err := diffy.LoadResults(filepath.Join("testdata", "original", "web-1.json"))
	if err != nil || len(skips) != 0 {
		t.Fatalf("LoadResults: %v, skips %+v", err, skips)
	}
	if len(rs) != 3 || rs[0].CommandID != "" || len(rs[1].Rows) != 3 || rs[1].Rows[2]["port"] != "4444" {
		t.Fatalf("results = %+v, want 3 Results without command ID, the second with the port 4444 row", rs)
	}
	if rs[0].CollectedAt.Year() != 2018 || rs[2].Status != collect.StatusFailed || rs[2].ExitCode != -1 {
		t.Errorf("fields of the original format misread: %+v", rs)
	}
}

func TestLoadResultsDuplicates(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"1.json": `[{"instance_id":"i-1","command_id":"users","status":"Success","collected_at":"2026-11-26T12:00:00Z","stdout":[{"v":"new"}]},
		            {"instance_id":"i-2","command_id":"users","status":"Success","collected_at":"2026-11-26T10:00:00Z","stdout":[{"v":"old"}]}]`,
		"2.json": `[{"instance_id":"i-1","command_id":"users","status":"Success","collected_at":"2026-11-26T11:00:00Z","stdout":[{"v":"old"}]},
		            {"instance_id":"i-2","command_id":"users","status":"Success","collected_at":"2026-11-26T13:00:00Z","stdout":[{"v":"new"}]}]`,
	})
	rs, skips, err := diffy.LoadResults(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(rs) != 2 {
		t.Fatalf("loaded %v, want each instance once", pairs(rs))
	}
	for _, r := range rs {
		if r.Rows[0]["v"] != "new" {
			t.Errorf("%s: kept the older result", r.InstanceID)
		}
	}
	if len(skips) != 2 || !strings.Contains(skips[0].Reason, "duplicate") || !strings.Contains(skips[0].Reason, "later collected_at") {
		t.Errorf("skips = %+v, want the two dropped duplicates noted", skips)
	}
}

func TestLoadResultsNothing(t *testing.T) {
	dir := writeFiles(t, map[string]string{"bad.json": "{"})
	empty := t.TempDir()
	_, skips, err := diffy.LoadResults(dir, empty)
	if !errors.Is(err, diffy.ErrInvalidInput) || !strings.Contains(err.Error(), dir) || !strings.Contains(err.Error(), "bad.json") {
		t.Errorf("error = %v, want ErrInvalidInput naming the paths and the bad file", err)
	}
	if s, ok := skipOf(skips, empty); !ok || !strings.Contains(s.Reason, "no *.json") {
		t.Errorf("empty directory skip = %+v", s)
	}
	if _, _, err := diffy.LoadResults(); !errors.Is(err, diffy.ErrInvalidInput) {
		t.Errorf("LoadResults() = %v, want ErrInvalidInput", err)
	}
}

// TestLoadResultsSharesRows: equal rows of different hosts and files are
// one map (collect.RowPool); different rows keep their values.
func TestLoadResultsSharesRows(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"a.json": `[{"instance_id":"i-1","command_id":"users","status":"Success","stdout":[{"username":"root","uid":"0"},{"username":"app","uid":"1000"}]}]`,
		"b.json": `[{"instance_id":"i-2","command_id":"users","status":"Success","stdout":[{"uid":"0","username":"root"},{"username":"app","uid":"1001"}]}]`,
	})
	rs, _, err := diffy.LoadResults(dir)
	if err != nil {
		t.Fatal(err)
	}
	a, b := rs[0].Rows, rs[1].Rows
	if reflect.ValueOf(a[0]).UnsafePointer() != reflect.ValueOf(b[0]).UnsafePointer() {
		t.Error("the same root row of two hosts is two maps")
	}
	if a[1]["uid"] != "1000" || b[1]["uid"] != "1001" {
		t.Errorf("different rows mixed up: %v %v", a[1], b[1])
	}
}
