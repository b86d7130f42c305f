package collect

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// Default caps on what one Result may hold. A host under an attacker's
// control can print anything; these keep one host from exhausting the
// collector's memory.
const (
	// DefaultMaxBytes is the most stdout bytes one Result may parse: 64 MiB.
	DefaultMaxBytes = 64 << 20
	// DefaultMaxRows is the most rows one Result may hold: 200,000.
	DefaultMaxRows = 200_000
	// DefaultMaxStderr is the most stderr bytes kept in one Result: 64 KiB.
	DefaultMaxStderr = 64 << 10
)

// Limits caps what one Result may hold. A zero field takes its default
// (DefaultMaxBytes, DefaultMaxRows, DefaultMaxStderr).
type Limits struct {
	// MaxBytes is the most stdout bytes read and parsed per Result.
	MaxBytes int64
	// MaxRows is the most rows kept per Result.
	MaxRows int
	// MaxStderr is the most stderr bytes kept per Result.
	MaxStderr int
}

// WithDefaults returns l with every zero field set to its default.
func (l Limits) WithDefaults() Limits {
	if l.MaxBytes <= 0 {
		l.MaxBytes = DefaultMaxBytes
	}
	if l.MaxRows <= 0 {
		l.MaxRows = DefaultMaxRows
	}
	if l.MaxStderr <= 0 {
		l.MaxStderr = DefaultMaxStderr
	}
	return l
}

// Fill sets r's Status, Rows, Truncated, RawBytes, Stderr and Error from a
// finished command's output. r.CommandID, r.InstanceID and r.ExitCode must
// already be set.
//
// stdout is the output as received; cut says the transport (or the reader,
// at MaxBytes) stopped before its end, and why says how (for instance "SSM
// returns only the first 24,000 characters; set an output bucket to get the
// whole output"). A cut output, or one over MaxBytes or MaxRows, is never
// parsed as if whole: r becomes StatusFailed, Truncated, with no rows.
// A non-zero exit code is StatusFailed keeping stderr; output that is not a
// JSON array of objects is StatusFailed with an Error naming the command
// and the problem. The rows are decoded only up to MaxRows: the rows of an
// output over the cap are checked, counted and dropped, never held.
func (l Limits) Fill(r *Result, stdout []byte, stderr string, cut bool, why string) {
	l.FillShared(nil, r, stdout, stderr, cut, why)
}

// FillShared is Fill with the rows shared through pool (see RowPool): a
// row the pool has is not made again. A nil pool shares nothing.
func (l Limits) FillShared(pool *RowPool, r *Result, stdout []byte, stderr string, cut bool, why string) {
	l = l.WithDefaults()
	r.RawBytes = int64(len(stdout))
	r.Stderr = clip(stderr, l.MaxStderr)
	r.Rows = nil
	name := r.CommandID
	if name == "" {
		name = "(unnamed)"
	}
	switch {
	case cut || int64(len(stdout)) > l.MaxBytes:
		r.Status, r.Truncated = StatusFailed, true
		if why == "" {
			why = fmt.Sprintf("output is over the %d-byte cap", l.MaxBytes)
		}
		r.Error = fmt.Sprintf("command %s: output truncated, not parsed: %s", name, why)
	case r.ExitCode != 0:
		r.Status = StatusFailed
		msg := strings.TrimSpace(r.Stderr)
		if msg == "" {
			msg = "no stderr"
		}
		r.Error = fmt.Sprintf("command %s exited with status %d: %s", name, r.ExitCode, clip(msg, 512))
	default:
		d := getDecoder(pool, l.MaxRows)
		rows, err := d.parseRows(stdout)
		d.put()
		var capped *rowsCapError
		switch {
		case errors.As(err, &capped):
			r.Status, r.Truncated = StatusFailed, true
			r.Error = fmt.Sprintf("command %s: %v", name, err)
		case err != nil:
			r.Status = StatusFailed
			r.Error = fmt.Sprintf("command %s: %v", name, err)
		default:
			r.Status, r.Rows, r.Error = StatusSuccess, rows, ""
		}
	}
}

// clip shortens s to at most n bytes on a rune boundary, marking the cut.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + fmt.Sprintf("... [%d bytes cut]", len(s)-cut)
}
