package collect_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"

	"github.com/diffy-dfir/diffy/collect"
	"github.com/diffy-dfir/diffy/diffyerr"
)

// equalTime compares instants, not locations: a time read back from
// RFC 3339 carries a fixed zone rather than the original *time.Location.
var equalTime = cmp.Comparer(func(a, b time.Time) bool { return a.Equal(b) })

// FuzzResultUnmarshal feeds arbitrary bytes to Result.UnmarshalJSON, as
// `diffy analyze --from` and every Store reader do. An accepted Result must
// marshal and read back to itself; a refused one must say ErrInvalidInput
// and leave the target untouched.
func FuzzResultUnmarshal(f *testing.F) {
	for _, s := range []string{
		`{"instance_id":"i-0abc","command_id":"listening_ports","status":"Success","collected_at":"2026-11-26T12:00:00Z","stdout":[{"port":"22"}],"stderr":"","error":""}`,
		`{"instance_id":"i-1","status":"Success","collected_at":"2019-03-01 10:11:12.123456","stdout":"[{\"a\":\"b\"}]"}`,
		`{"instance_id":"i-1","status":"Failed","collected_at":null,"stdout":"","exit_code":2,"truncated":true,"raw_bytes":24000}`,
		`{"instance_id":"i-1","stdout":[{"a":1,"b":true,"c":null}]}`,
		`{"instance_id":"","status":"Success"}`, `{"status":"Success"}`, `[]`, `null`, `{}`,
		`{"instance_id":"i-1","collected_at":"yesterday"}`, `{"instance_id":"i-1","collected_at":12}`,
		`{"instance_id":"i-1","stdout":"[{\"a\":"}`, `{"instance_id":"i-1","stdout":{"a":"b"}}`,
		`{"instance_id":"i-1","collected_at":"2026-11-26T12:00:00+05:30","exit_code":-1}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		sentinel := collect.Result{InstanceID: "untouched"}
		r := sentinel
		err := json.Unmarshal(data, &r)
		if err != nil {
			// encoding/json reports its own syntax errors before calling
			// UnmarshalJSON; every error that comes from UnmarshalJSON
			// must match ErrInvalidInput.
			var syn *json.SyntaxError
			if !errors.As(err, &syn) && !errors.Is(err, diffyerr.ErrInvalidInput) {
				var ute *json.UnmarshalTypeError
				if !errors.As(err, &ute) {
					t.Fatalf("Unmarshal(%q): error %v is neither a syntax error nor ErrInvalidInput", data, err)
				}
			}
			if r.InstanceID != "untouched" || r.Rows != nil {
				t.Fatalf("Unmarshal(%q) failed (%v) but changed the Result to %+v", data, err, r)
			}
			return
		}
		if string(data) == "null" || strings.TrimSpace(string(data)) == "null" {
			return // null leaves a value alone, by encoding/json's rules
		}
		if r.InstanceID == "" {
			t.Fatalf("Unmarshal(%q) accepted a Result without instance_id", data)
		}
		if r.Truncated && r.Status == collect.StatusSuccess && r.OK() {
			t.Fatalf("Unmarshal(%q): a truncated Result reports OK", data)
		}
		out, err := json.Marshal(r)
		if err != nil {
			// Years outside 0-9999 cannot be written as RFC 3339.
			if y := r.CollectedAt.Year(); y < 0 || y > 9999 {
				return
			}
			t.Fatalf("Marshal(Unmarshal(%q)) = %v", data, err)
		}
		var back collect.Result
		if err := json.Unmarshal(out, &back); err != nil {
			t.Fatalf("Result read from %q, written as %s, does not read back: %v", data, out, err)
		}
		if diff := cmp.Diff(r, back, equalTime); diff != "" {
			t.Fatalf("Result read from %q does not round-trip through %s (-first +second):\n%s", data, out, diff)
		}
	})
}

// FuzzResultRoundTrip builds a Result from fuzzed fields, marshals it and
// reads it back: every Result a collector can produce (a non-empty
// instance ID, rows of strings, a time in years 0-9999) must come back
// equal, byte strings that are not valid UTF-8 coming back with U+FFFD for
// each bad byte, as encoding/json writes them.
func FuzzResultRoundTrip(f *testing.F) {
	f.Add("i-0abc", "listening_ports", "Success", "", int64(1795694400), int64(0), 0, []byte(`[{"port":"22","name":"sshd"}]`), "", "", false, int64(60))
	f.Add("i-1", "", "Failed", "Undeliverable", int64(0), int64(999999999), -1, []byte(`null`), "agent down", "command x: not delivered", false, int64(0))
	f.Add("i-2", "processes", "Failed", "", int64(-62135596800), int64(1), 1, []byte(`[]`), "\x00\xff\x1b[2J", "<b>", true, int64(1<<40))
	f.Fuzz(func(t *testing.T, id, cmd, status, details string, sec, nsec int64, exit int, rowsJSON []byte, stderr, errText string, truncated bool, raw int64) {
		if id == "" {
			return // UnmarshalJSON refuses it, by contract
		}
		at := time.Unix(sec, nsec%1e9).UTC()
		if y := at.Year(); y < 0 || y > 9999 {
			return
		}
		var rows []collect.Row
		if err := json.Unmarshal(rowsJSON, &rows); err != nil {
			return
		}
		for _, row := range rows {
			if row == nil {
				return // a null row is not a row; ParseRows refuses it
			}
		}
		in := collect.Result{
			InstanceID: id, CommandID: cmd, Status: collect.Status(status), StatusDetails: details,
			CollectedAt: at, Rows: rows, Stderr: stderr, ExitCode: exit, Error: errText,
			Truncated: truncated, RawBytes: raw,
		}
		out, err := json.Marshal(in)
		if err != nil {
			t.Fatalf("Marshal(%+v) = %v", in, err)
		}
		var back collect.Result
		if err := json.Unmarshal(out, &back); err != nil {
			t.Fatalf("Unmarshal(Marshal(%+v)) = %v (JSON %s)", in, err, out)
		}
		want := in
		want.InstanceID, want.CommandID, want.StatusDetails = validString(id), validString(cmd), validString(details)
		want.Status = collect.Status(validString(status))
		want.Stderr, want.Error = validString(stderr), validString(errText)
		want.Rows = nil
		if rows != nil {
			want.Rows = make([]collect.Row, 0, len(rows))
			for _, row := range rows {
				w := collect.Row{}
				for k, v := range row {
					w[validString(k)] = validString(v)
				}
				want.Rows = append(want.Rows, w)
			}
		}
		if diff := cmp.Diff(want, back, equalTime); diff != "" {
			t.Fatalf("Result does not round-trip through %s (-want +got):\n%s", out, diff)
		}
	})
}

// validString is s as encoding/json writes it: each invalid UTF-8 byte
// replaced by U+FFFD.
func validString(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n == 1 {
			b.WriteRune(utf8.RuneError)
		} else {
			b.WriteString(s[i : i+n])
		}
		i += n
	}
	return b.String()
}
