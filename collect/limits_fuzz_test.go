package collect_test

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/diffy-dfir/diffy/collect"
)

// FuzzLimitsFill checks Limits.Fill, the one place that turns a host's raw
// stdout into a Result, against its contract for arbitrary output, stderr,
// exit codes and caps: a cut or oversized output is Truncated, Failed and
// never has rows; a Result has rows only when it is Success, and then
// exactly ParseRows' rows; stderr is kept up to its cap, as a prefix.
func FuzzLimitsFill(f *testing.F) {
	f.Add([]byte(`[{"a":"1"}]`), "", false, 0, int64(0), 0, 0)
	f.Add([]byte(`[{"a":"1"},{"a":"2"}]`), "", false, 0, int64(0), 1, 0)
	f.Add([]byte(`[{"a":"1"}]`), "", false, 0, int64(5), 0, 0)
	f.Add([]byte(`[{"a":"1"}]`), "", true, 0, int64(0), 0, 0)
	f.Add([]byte(`[{"a":"1"`), "", false, 0, int64(0), 0, 0)
	f.Add([]byte(``), "osqueryi: not found", false, 127, int64(0), 0, 4)
	f.Add([]byte("\x00\xff"), "héllo wörld", false, 0, int64(0), 0, 2)
	f.Fuzz(func(t *testing.T, stdout []byte, stderr string, cut bool, exit int, maxBytes int64, maxRows, maxStderr int) {
		l := collect.Limits{MaxBytes: maxBytes, MaxRows: maxRows, MaxStderr: maxStderr}
		eff := l.WithDefaults()
		r := collect.Result{InstanceID: "i-fuzz", CommandID: "cmd", ExitCode: exit,
			Rows: []collect.Row{{"stale": "row"}}} // Fill must not keep stale rows
		l.Fill(&r, stdout, stderr, cut, "")

		if r.RawBytes != int64(len(stdout)) {
			t.Errorf("RawBytes = %d, want %d", r.RawBytes, len(stdout))
		}
		if !r.Status.Done() {
			t.Errorf("Status %q is not a final status", r.Status)
		}
		over := int64(len(stdout)) > eff.MaxBytes
		if (cut || over) && !r.Truncated {
			t.Errorf("cut=%v, %d bytes over cap %d: Truncated not set", cut, len(stdout), eff.MaxBytes)
		}
		if r.Truncated && (r.Rows != nil || r.Status != collect.StatusFailed || r.OK()) {
			t.Errorf("Truncated Result has Status %q and %d rows; want Failed and no rows", r.Status, len(r.Rows))
		}
		if r.Status != collect.StatusSuccess {
			if r.Rows != nil {
				t.Errorf("Status %q with %d rows; rows only on Success", r.Status, len(r.Rows))
			}
			if !strings.Contains(r.Error, "cmd") {
				t.Errorf("Error %q does not name the command", r.Error)
			}
		}
		rows, perr := collect.ParseRows(stdout)
		wantOK := !cut && !over && exit == 0 && perr == nil && len(rows) <= eff.MaxRows
		if r.OK() != wantOK {
			t.Fatalf("OK() = %v, want %v (cut=%v over=%v exit=%d parse=%v rows=%d cap=%d); Result %+v",
				r.OK(), wantOK, cut, over, exit, perr, len(rows), eff.MaxRows, r)
		}
		if wantOK {
			if r.Error != "" {
				t.Errorf("Success with Error %q", r.Error)
			}
			if diff := cmp.Diff(rows, r.Rows); diff != "" {
				t.Errorf("rows differ from ParseRows (-want +got):\n%s", diff)
			}
		}
		if !cut && !over && exit == 0 && perr == nil && len(rows) > eff.MaxRows && !r.Truncated {
			t.Errorf("%d rows over the %d-row cap but not Truncated", len(rows), eff.MaxRows)
		}
		if perr != nil && !cut && !over && exit == 0 && !strings.Contains(r.Error, "cmd") {
			t.Errorf("unparsable output: Error %q does not name the command", r.Error)
		}
		// Stderr is kept whole up to the cap, else a prefix plus a marker.
		if len(stderr) <= eff.MaxStderr {
			if r.Stderr != stderr {
				t.Errorf("Stderr = %q, want it whole %q", r.Stderr, stderr)
			}
		} else {
			i := strings.LastIndex(r.Stderr, "... [")
			if i < 0 || !strings.HasPrefix(stderr, r.Stderr[:i]) || i > eff.MaxStderr {
				t.Errorf("Stderr clipped to %q: not a prefix of at most %d bytes plus a marker", r.Stderr, eff.MaxStderr)
			}
		}
	})
}
