package diffy

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/diffy-dfir/diffy/analyze"
	"github.com/diffy-dfir/diffy/internal/jsonv1"
)

// FuzzLoadDifferential holds the reading of result files to the one it
// replaces (internal/jsonv1, encoding/json): the same Results from the
// same files; the same elements skipped as not Results; a file skipped
// whole exactly when the old reader skipped it whole. (The wording of the
// Skips, and the place named for a syntax error, may differ.)
func FuzzLoadDifferential(f *testing.F) {
	for _, s := range []string{
		`[{"instance_id":"i-1","command_id":"processes","status":"Success","collected_at":"2026-11-26T12:00:00Z","stdout":[{"pid":"1","name":"init"}]}]`,
		`[{"instance_id":"i-1","status":"Success","collected_at":"2019-03-01 10:11:12","stdout":"[{\"a\":\"b\"}]"},{"instance_id":"i-2","status":"Failed","stdout":""}]`,
		"{\"instance_id\":\"i-1\",\"command_id\":\"a\"}\n{\"instance_id\":\"i-2\",\"command_id\":\"a\"}\n",
		`[{"instance_id":"i-1","command_id":"a"}][{"instance_id":"i-1","command_id":"a","collected_at":"2030-01-01T00:00:00Z"}]`,
		`[{"instance_id":"i-1"},{"no":"id"},3,{"instance_id":"i-2"},null,[],"x"]`,
		`{"instance_id":"i-1"} 5 [1] "x" null {"instance_id":"i-2"}`, `{"instance_id":"i-1"} ]`, `[] {}`, `[] 5`,
		"\xEF\xBB\xBF [ ]", `[{"instance_id":"i-1","stdout":[{"a":"1"}`, `[`, `]`, `"text"`, ``, " \n\t", `{"instance_id":"i-1"} x`,
		`[{"instance_id":"i-1","stdout":[{"a":{"b":1}}]},{"instance_id":"i-2","stdout":[{"a":"1"}]}]`,
	} {
		f.Add([]byte(s))
	}
	for _, name := range []string{"testdata/original/web-1.json"} {
		if data, err := os.ReadFile(name); err == nil {
			f.Add(data)
		}
	}
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		path := filepath.Join(dir, "results.json")
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		got, gotSkips := new(fileReader).load(path, MaxResultFileBytes)
		want, wantSkips := jsonv1.LoadFile(path, MaxResultFileBytes)
		if diff := cmp.Diff(want, got, cmp.Comparer(func(a, b time.Time) bool { return a.Equal(b) })); diff != "" {
			t.Fatalf("Results of %q differ from the old reader's (-old +new):\n%s", data, diff)
		}
		if g, w := skipShape(gotSkips), skipShape(wantSkips); !slices.Equal(g, w) {
			t.Fatalf("Skips of %q: %v, the old reader's %v (new %+v, old %+v)", data, g, w, gotSkips, wantSkips)
		}
	})
}

// skipShape says which elements of a file the Skips name ("result 3"), or
// "whole" for a file skipped whole.
func skipShape(skips []analyze.Skip) []string {
	var out []string
	for _, s := range skips {
		if n, _, ok := strings.Cut(s.Reason, " at "); ok && strings.HasPrefix(n, "result ") {
			out = append(out, n)
		} else {
			out = append(out, "whole")
		}
	}
	return out
}
