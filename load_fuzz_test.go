package diffy_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/diffy-dfir/diffy"
	"github.com/diffy-dfir/diffy/analyze"
	"github.com/diffy-dfir/diffy/collect"
)

// FuzzLoadResults feeds LoadResults (what `diffy analyze --from` reads)
// arbitrary file contents, and cuts of them:
//   - it never panics; it returns Results or an error matching
//     ErrInvalidInput, never neither; every Skip names the file;
//   - every Result has an instance ID, and no instance and command comes
//     twice;
//   - a file holding one JSON array, cut anywhere before its closing ']',
//     gives no Result at all: nothing cut is taken as whole;
//   - what it loads from a file it reads without a Skip, written back as a
//     JSON array, loads again to the same Results.
func FuzzLoadResults(f *testing.F) {
	for _, s := range []string{
		`[{"instance_id":"i-1","command_id":"processes","status":"Success","collected_at":"2026-11-26T12:00:00Z","stdout":[{"pid":"1","name":"init"}]}]`,
		`[{"instance_id":"i-1","status":"Success","collected_at":"2019-03-01 10:11:12","stdout":"[{\"a\":\"b\"}]"},{"instance_id":"i-2","status":"Failed","stdout":""}]`,
		"{\"instance_id\":\"i-1\",\"command_id\":\"a\"}\n{\"instance_id\":\"i-2\",\"command_id\":\"a\"}\n",
		`[{"instance_id":"i-1","command_id":"a"}][{"instance_id":"i-1","command_id":"a","collected_at":"2030-01-01T00:00:00Z"}]`,
		`[{"instance_id":"i-1"},{"no":"id"},3,{"instance_id":"i-2"}]`,
		"\xEF\xBB\xBF [ ]", `[{"instance_id":"i-1","stdout":[{"a":"1"}`, `[`, `]`, `"text"`, ``, `{"instance_id":"i-1"} x`,
	} {
		f.Add([]byte(s), uint16(0))
	}
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte, cut uint16) {
		path := filepath.Join(dir, "results.json")
		rs, skips := load(t, path, data)
		seen := map[[2]string]bool{}
		for _, r := range rs {
			if r.InstanceID == "" {
				t.Fatalf("Result without instance ID loaded from %q", data)
			}
			k := [2]string{r.InstanceID, r.CommandID}
			if seen[k] {
				t.Fatalf("instance %q command %q loaded twice from %q", k[0], k[1], data)
			}
			seen[k] = true
		}

		// A single array cut before its closing bracket gives nothing.
		trimmed := bytes.TrimSpace(bytes.TrimPrefix(data, []byte("\xEF\xBB\xBF")))
		if json.Valid(data) && len(trimmed) > 0 && trimmed[0] == '[' {
			end := bytes.LastIndexByte(data, ']')
			n := int(cut) % (end + 1)
			if got, _ := load(t, path, data[:n]); len(got) != 0 {
				t.Fatalf("file %q cut to %q gave %d Results; a cut file must give none", data, data[:n], len(got))
			}
		}

		// Loaded cleanly: write back, load again, same Results.
		if len(rs) > 0 && len(skips) == 0 {
			out, err := json.Marshal(rs)
			if err != nil {
				t.Fatalf("marshal Results loaded from %q: %v", data, err)
			}
			back, skips2 := load(t, path, out)
			if len(skips2) != 0 {
				t.Fatalf("Results written back (%s) load with skips %v", out, skips2)
			}
			if diff := cmp.Diff(rs, back, cmp.Comparer(func(a, b collect.Result) bool {
				ja, _ := json.Marshal(a)
				jb, _ := json.Marshal(b)
				return bytes.Equal(ja, jb)
			})); diff != "" {
				t.Fatalf("Results of %q do not survive being written back (-first +second):\n%s", data, diff)
			}
		}
	})
}

// load writes data to path and loads it, checking what holds for any
// input; it returns the Results and Skips.
func load(t *testing.T, path string, data []byte) ([]collect.Result, []analyze.Skip) {
	t.Helper()
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	rs, skips, err := diffy.LoadResults(path)
	if (err != nil) != (len(rs) == 0) {
		t.Fatalf("LoadResults(%q): %d Results with error %v", data, len(rs), err)
	}
	if err != nil && !errors.Is(err, diffy.ErrInvalidInput) {
		t.Fatalf("LoadResults(%q): error %v does not match ErrInvalidInput", data, err)
	}
	for _, s := range skips {
		if s.Source != path || s.Reason == "" {
			t.Fatalf("LoadResults(%q): Skip %+v does not name the file and a reason", data, s)
		}
	}
	return rs, skips
}
