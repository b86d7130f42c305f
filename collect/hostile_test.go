//go:build linux

package collect_test

import (
	"context"
	"encoding/json"
	"fmt"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/diffy-dfir/diffy/collect"
	"github.com/diffy-dfir/diffy/payload"
	"github.com/diffy-dfir/diffy/target"
)

// The tests in this file play a compromised host: its commands print
// whatever the attacker wants. The output comes from real processes run by
// collect.Local; memory is measured on this test process.

// peakRSS returns the process's peak resident set size so far, in bytes
// (getrusage's ru_maxrss, KiB on Linux).
func hostilePeakRSS(t *testing.T) int64 {
	t.Helper()
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		t.Fatalf("getrusage: %v", err)
	}
	return ru.Maxrss << 10
}

// collectOne runs one shell command through Local on this machine.
func hostileRun(t *testing.T, l collect.Local, id, shell string) collect.Result {
	t.Helper()
	l.NoOsquery = true
	res, err := l.Collect(context.Background(), []target.Instance{{ID: target.LocalID}},
		[]payload.Command{{ID: id, Shell: shell}})
	if err != nil {
		t.Fatalf("Collect(%s): %v", id, err)
	}
	if len(res) != 1 {
		t.Fatalf("Collect(%s) gave %d Results, want 1", id, len(res))
	}
	return res[0]
}

// assertTruncated checks the contract for output that was cut: Failed,
// Truncated, no rows, an error naming the command.
func hostileTruncated(t *testing.T, r collect.Result) {
	t.Helper()
	if !r.Truncated || r.Status != collect.StatusFailed || r.Rows != nil || r.OK() {
		t.Errorf("Result %s: Truncated=%v Status=%s rows=%d; want a truncated, failed Result without rows",
			r.CommandID, r.Truncated, r.Status, len(r.Rows))
	}
	if !strings.Contains(r.Error, r.CommandID) {
		t.Errorf("Result %s: Error %q does not name the command", r.CommandID, r.Error)
	}
}

// TestHostileGigabytesOfStdout: a host answers with 3 GiB of output (the
// first command) or with output that never ends (the second). With the
// default caps Local stops reading at DefaultMaxBytes, kills the command,
// and marks the Result truncated; the collector's peak memory grows by a
// small multiple of the cap, never by the size of the output.
func TestHostileGigabytesOfStdout(t *testing.T) {
	const outputSize = 3 << 30
	runtime.GC()
	before := hostilePeakRSS(t)

	r := hostileRun(t, collect.Local{}, "zeros", fmt.Sprintf("head -c %d /dev/zero", outputSize))
	hostileTruncated(t, r)
	if r.RawBytes > collect.DefaultMaxBytes+1 {
		t.Errorf("RawBytes = %d: read past the %d-byte cap", r.RawBytes, collect.DefaultMaxBytes)
	}

	// An endless stream of "y\n", as a JSON array that never closes.
	r = hostileRun(t, collect.Local{}, "endless", `printf '['; yes '{"a":"y"},'`)
	hostileTruncated(t, r)

	growth := hostilePeakRSS(t) - before
	t.Logf("peak RSS grew by %d MiB reading a %d MiB output and an endless one (cap %d MiB)",
		growth>>20, outputSize>>20, collect.DefaultMaxBytes>>20)
	// A small multiple of the cap (hostileRSSFactor) is still far below
	// the output.
	if limit := int64(hostileRSSFactor * collect.DefaultMaxBytes); growth > limit {
		t.Errorf("peak RSS grew by %d MiB, over %d MiB: memory follows the host's output", growth>>20, limit>>20)
	}
}

// TestHostileEndlessStderr: a host that floods stderr is stopped by the
// command's time limit, and only DefaultMaxStderr bytes of stderr are kept.
func TestHostileEndlessStderr(t *testing.T) {
	runtime.GC()
	before := hostilePeakRSS(t)
	// Timeout is the collector's documented per-command limit; it is what
	// stops a command that never ends, not a limit on this test.
	r := hostileRun(t, collect.Local{Timeout: 2 * time.Second}, "stderr_flood", `echo '[]'; yes 'noise noise noise' >&2`)
	if r.Status != collect.StatusTimedOut || r.Rows != nil {
		t.Errorf("Status %s with %d rows, want TimedOut and no rows", r.Status, len(r.Rows))
	}
	if max := collect.DefaultMaxStderr + 64; len(r.Stderr) > max {
		t.Errorf("kept %d bytes of stderr, want at most %d", len(r.Stderr), max)
	}
	if !strings.HasPrefix(r.Stderr, "noise noise noise\n") || !strings.Contains(r.Stderr, "bytes cut]") {
		t.Errorf("stderr %q...: want the start of the flood and a cut marker", r.Stderr[:min(len(r.Stderr), 80)])
	}
	growth := hostilePeakRSS(t) - before
	t.Logf("peak RSS grew by %d MiB under a stderr flood", growth>>20)
	if growth > 256<<20 {
		t.Errorf("peak RSS grew by %d MiB under a stderr flood", growth>>20)
	}
}

// TestHostileRowsAndCuts: output over the row cap, output whose first
// MaxBytes bytes are a valid array (so a careless reader would parse the
// prefix), and output that is not flat rows: none is taken as rows.
func TestHostileRowsAndCuts(t *testing.T) {
	manyRows := `awk 'BEGIN{printf "["; for(i=1;i<=300000;i++) printf "%s{\"a\":\"%d\"}", (i>1?",":""), i; print "]"}'`
	r := hostileRun(t, collect.Local{}, "many_rows", manyRows)
	hostileTruncated(t, r)
	if !strings.Contains(r.Error, "row") {
		t.Errorf("Error %q does not say the row cap was hit", r.Error)
	}

	// The first 64 bytes are `[{"a":"1"}]` and spaces: valid JSON. The
	// whole output is 1 MiB: it was cut, so it is not parsed.
	r = hostileRun(t, collect.Local{Limits: collect.Limits{MaxBytes: 64}}, "valid_prefix",
		`printf '[{"a":"1"}]'; head -c 1048576 /dev/zero | tr '\0' ' '`)
	hostileTruncated(t, r)

	for _, c := range []struct{ id, shell string }{
		{"nested", `echo '[{"a":{"b":"c"}}]'`},
		{"object", `echo '{"a":"b"}'`},
		{"two_arrays", `echo '[{"a":"1"}][{"a":"2"}]'`},
		{"binary", `head -c 4096 /dev/urandom`},
		{"nothing", `true`},
	} {
		r := hostileRun(t, collect.Local{}, c.id, c.shell)
		if r.Status != collect.StatusFailed || r.Rows != nil || !strings.Contains(r.Error, c.id) {
			t.Errorf("%s: Status %s, %d rows, Error %q; want Failed, no rows, an error naming the command",
				c.id, r.Status, len(r.Rows), r.Error)
		}
	}
}

// hostileValues are row values an attacker controls: NUL, ANSI escape
// sequences (clear screen, retitle the terminal, a fake prompt), HTML and
// script, invalid UTF-8, a bidi override, carriage returns.
var hostileValues = []string{
	"nul\x00byte",
	"\x1b[2J\x1b[H\x1b]0;pwned\x07fake prompt $ ",
	`<script>alert(document.cookie)</script><img src=x onerror=alert(1)>`,
	"bad utf8 \xff\xfe\xc3",
	"bidi \u202egnp.exe",
	"cr\roverwrite\r\n",
}

// TestHostileRowValuesKept: hostile bytes in row values come through
// collection intact (valid UTF-8 as JSON delivers it, invalid bytes as
// U+FFFD) and survive a JSON round trip of the Result byte for byte;
// escaping is the renderers' job (render's hostile tests).
func TestHostileRowValuesKept(t *testing.T) {
	rows := make([]collect.Row, len(hostileValues))
	for i, v := range hostileValues {
		rows[i] = collect.Row{"value": v, fmt.Sprintf("col%d\x1b[31m", i): "k"}
	}
	out, err := json.Marshal(rows) // a real host's osqueryi escapes the same way
	if err != nil {
		t.Fatal(err)
	}
	r := hostileRun(t, collect.Local{}, "hostile_rows", "cat <<'EOF'\n"+string(out)+"\nEOF")
	if !r.OK() {
		t.Fatalf("Result %s: %s", r.Status, r.Error)
	}
	if len(r.Rows) != len(hostileValues) {
		t.Fatalf("%d rows, want %d", len(r.Rows), len(hostileValues))
	}
	for i, v := range hostileValues {
		want := strings.ToValidUTF8(v, "\ufffd\ufffd\ufffd") // json.Marshal: one U+FFFD per bad byte; here 3 bad bytes in one run
		if got := r.Rows[i]["value"]; got != want {
			t.Errorf("row %d: value %q, want %q", i, got, want)
		}
		if r.Rows[i][fmt.Sprintf("col%d\x1b[31m", i)] != "k" {
			t.Errorf("row %d: hostile column name lost: %q", i, r.Rows[i])
		}
	}
	doc, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	var back collect.Result
	if err := json.Unmarshal(doc, &back); err != nil {
		t.Fatalf("Result with hostile rows does not read back: %v", err)
	}
	for i := range r.Rows {
		for k, v := range r.Rows[i] {
			if back.Rows[i][k] != v {
				t.Errorf("row %d column %q: %q after a JSON round trip, want %q", i, k, back.Rows[i][k], v)
			}
		}
	}
}
