package ssmframe

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/diffy-dfir/diffy/payload"
)

// markerPrefix starts every marker.
const markerPrefix = "DIFFY-"

// NewMarker returns a fresh random marker, "DIFFY-" and 32 hex digits.
func NewMarker() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go 1.24+)
	return markerPrefix + hex.EncodeToString(b[:])
}

// ValidMarker reports whether m is a marker as NewMarker makes them.
func ValidMarker(m string) bool {
	if len(m) != len(markerPrefix)+32 || !strings.HasPrefix(m, markerPrefix) {
		return false
	}
	for _, c := range m[len(markerPrefix):] {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

// ScriptOption configures Script.
type ScriptOption func(*scriptOptions)

type scriptOptions struct {
	limit time.Duration
}

// WithTimeLimit keeps the script's commands within limit in all (whole
// seconds, at least one; less is no limit), so that the script ends, and
// prints what it collected, before the agent kills it at its execution
// timeout (see the package doc, Time limits): each command in turn gets
// its share of the time left, (left) / (commands left), enforced with
// timeout(1); a command stopped at its share, or not started because no
// time was left, is reported with a STOPPED line (Frame.Stopped), and the
// others keep their output. After limit the script still needs up to
// KillAfter (for a stopped command to end) and the time to encode and
// print its output.
func WithTimeLimit(limit time.Duration) ScriptOption {
	return func(o *scriptOptions) { o.limit = limit }
}

// KillAfter is how long a command stopped at its time limit has between
// SIGTERM and SIGKILL (timeout -k).
const KillAfter = 5 * time.Second

// Script returns the POSIX shell script that runs each command's Shell with
// sh -c, in order, framing its stdout and stderr into one stream (see the
// package doc), and prints the stream encoded as enc (EncodingGzip falls
// back to EncodingPlain on a host without gzip or base64) after a Header
// line that carries its SHA-256 digest. It returns an error when marker is
// not valid, a command ID is not valid, a command has no Shell, or enc is
// unknown. The script holds the commands' text and the marker, nothing
// else: no credential.
func Script(marker string, cmds []payload.Command, enc Encoding, opts ...ScriptOption) (string, error) {
	var o scriptOptions
	for _, opt := range opts {
		if opt != nil {
			opt(&o)
		}
	}
	if !ValidMarker(marker) {
		return "", fmt.Errorf("ssmframe: marker %q is not DIFFY- and 32 hex digits", marker)
	}
	if enc != EncodingGzip && enc != EncodingPlain {
		return "", fmt.Errorf("ssmframe: unknown encoding %q", enc)
	}
	var b strings.Builder
	b.WriteString("M=" + marker + "\n")
	limit := int64(o.limit / time.Second)
	if limit >= 1 {
		// T runs a command under timeout(1) when the host has it (GNU's
		// and busybox's take -k; an old busybox takes neither form and
		// gets no limit) and date +%s reads the clock; else T is empty
		// and the commands run without limits, as the script did before.
		fmt.Fprintf(&b, `T=; S=$(date +%%s 2>/dev/null); D=
case $S in
''|*[!0-9]*) ;;
*) D=$((S + %d))
  if timeout -k %d 5 true >/dev/null 2>&1; then T="timeout -k %d"; elif timeout 5 true >/dev/null 2>&1; then T=timeout; fi ;;
esac
`, limit, int64(KillAfter/time.Second), int64(KillAfter/time.Second))
	}
	// f prints the stream: for each command, its stderr as it comes,
	// between the ERRBEGIN and ERREND lines, then its stdout, captured in
	// a variable (a pipe, not a file; the dot and exit status after it
	// keep its trailing newlines), between BEGIN and END. Only the
	// standard descriptors are used. With a time limit, l is the
	// command's share of the time left.
	b.WriteString("f() {\n")
	for i, c := range cmds {
		if !payload.ValidID(c.ID) {
			return "", fmt.Errorf("ssmframe: command ID %q is not valid", c.ID)
		}
		if c.Shell == "" {
			return "", fmt.Errorf("ssmframe: command %s has no shell script", c.ID)
		}
		run := fmt.Sprintf("{ printf '\\n%%s ERRBEGIN %%s\\n' \"$M\" %s; o=$(sh -c %s; r=$?; printf .; exit $r); } 2>&1\n", c.ID, payload.ShellQuote(c.Shell))
		frames := fmt.Sprintf("printf '\\n%%s ERREND %%s %%d\\n\\n%%s BEGIN %%s\\n%%s\\n%%s END %%s %%d\\n' \"$M\" %s \"$r\" \"$M\" %s \"$o\" \"$M\" %s \"$r\"\n", c.ID, c.ID, c.ID)
		if limit < 1 {
			b.WriteString(run + "r=$?; " + frames)
			continue
		}
		// n: now; l: the command's share of what is left. A command
		// that ends with timeout's status (124, or killed by a signal)
		// at or past its share was stopped there.
		fmt.Fprintf(&b, "l=; if [ -n \"$T\" ]; then n=$(date +%%s); l=$(( (D - n) / %d )); [ \"$l\" -lt 1 ] && [ \"$n\" -lt \"$D\" ] && l=1; fi\n", len(cmds)-i)
		fmt.Fprintf(&b, "if [ -n \"$T\" ] && [ \"$l\" -lt 1 ]; then printf '\\n%%s STOPPED %%s 0\\n' \"$M\" %s; else\n", c.ID)
		b.WriteString(strings.Replace(run, "o=$(sh -c", "o=$($T ${T:+\"$l\"} sh -c", 1))
		b.WriteString("r=$?; " + frames)
		fmt.Fprintf(&b, "if [ -n \"$T\" ] && { [ \"$r\" -eq 124 ] || [ \"$r\" -ge 128 ]; } && [ \"$(date +%%s)\" -ge $((n + l)) ]; then printf '\\n%%s STOPPED %%s %%d\\n' \"$M\" %s \"$l\"; fi\nfi\n", c.ID)
	}
	b.WriteString("printf '\\n%s DONE\\n' \"$M\"\n}\n")
	// The stream is encoded through pipes, into a variable: its digest
	// must come first, and nothing is written on the host's disk.
	if enc == EncodingGzip {
		b.WriteString(`if command -v gzip >/dev/null 2>&1 && command -v base64 >/dev/null 2>&1; then
  E=` + string(EncodingGzip) + `; o=$(f | gzip -c | base64)
else
  E=` + string(EncodingPlain) + `; o=$(f)
fi
`)
	} else {
		b.WriteString("E=" + string(EncodingPlain) + "; o=$(f)\n")
	}
	b.WriteString(`if command -v sha256sum >/dev/null 2>&1; then h=$(printf '%s\n' "$o" | sha256sum); h=${h%% *}; else h=-; fi
printf '%s OUTPUT %s %s\n%s\n' "$M" "$E" "$h" "$o"
`)
	return b.String(), nil
}

// AppendFrame appends to dst the stdout frame of one finished command, as
// the script puts it in its stream (after the command's AppendErrFrame).
func AppendFrame(dst []byte, marker, id string, rc int, stdout []byte) []byte {
	dst = fmt.Appendf(dst, "\n%s BEGIN %s\n", marker, id)
	dst = append(dst, stdout...)
	return fmt.Appendf(dst, ".\n%s END %s %d\n", marker, id, rc)
}

// AppendErrFrame appends to dst the stderr frame of one finished command,
// as the script puts it in its stream (before the command's AppendFrame).
func AppendErrFrame(dst []byte, marker, id string, rc int, stderr []byte) []byte {
	dst = fmt.Appendf(dst, "\n%s ERRBEGIN %s\n", marker, id)
	dst = append(dst, stderr...)
	return fmt.Appendf(dst, "\n%s ERREND %s %d\n", marker, id, rc)
}

// AppendDone appends the line that ends the script's stream, after its
// last command.
func AppendDone(dst []byte, marker string) []byte {
	return fmt.Appendf(dst, "\n%s DONE\n", marker)
}

// FrameState says how much of a command's frame was found.
type FrameState int

// The states of a frame.
const (
	// Missing: no frame for the command (the output was cut before it,
	// or the script stopped before running it).
	Missing FrameState = iota
	// Whole: the frame is complete.
	Whole
	// Cut: the frame started but its END line did not arrive; what
	// arrived must not be parsed as whole.
	Cut
	// Malformed: the END line could not be read, or the command has two
	// frames.
	Malformed
)

// String returns the state's name.
func (s FrameState) String() string {
	switch s {
	case Missing:
		return "missing"
	case Whole:
		return "whole"
	case Cut:
		return "cut"
	case Malformed:
		return "malformed"
	}
	return "FrameState(" + strconv.Itoa(int(s)) + ")"
}

// Frame is one command's part of an invocation's output.
type Frame struct {
	// State is the state of the stdout frame, which decides the result.
	State FrameState
	// ExitCode is the command's exit status from the stdout END line
	// (else the stderr one); -1 when neither was read.
	ExitCode int
	// Stdout is the command's stdout (for a Cut frame, what arrived). It
	// aliases the input of Split.
	Stdout []byte
	// StderrState is the state of the stderr frame, and Stderr what it
	// holds (aliasing the input).
	StderrState FrameState
	Stderr      []byte
	// Problem says what is wrong with a stdout frame that is not Whole.
	Problem string
	// Stopped reports that the script's time limit (WithTimeLimit)
	// stopped the command at Limit, its share of the time, or, with
	// Limit 0, kept it from starting (State Missing) because no time was
	// left. A stopped command's output is not whole, whatever State says.
	Stopped bool
	Limit   time.Duration
}

// Output is an invocation's output split into frames.
type Output struct {
	// Frames maps every command ID asked for to its frame (Missing when
	// none was found).
	Frames map[string]Frame
	// Done reports whether the script's DONE line arrived on stdout: the
	// script ran to its end.
	Done bool
}

// Split splits an invocation's stream (Stream.Data, given as both stdout
// and stderr; or its first part) into the frames of the commands ids,
// using marker. It is a pure function of its input and never fails: every
// problem is recorded in the frame it concerns.
func Split(stdout, stderr []byte, marker string, ids []string) Output {
	res := Output{Frames: make(map[string]Frame, len(ids))}
	outs := scan(stdout, marker, "BEGIN", ".\n", "END", ids)
	errs := scan(stderr, marker, "ERRBEGIN", "\n", "ERREND", ids)
	for _, id := range ids {
		o, e := outs[id], errs[id]
		f := Frame{State: o.state, ExitCode: o.rc, Stdout: o.content, StderrState: e.state, Stderr: e.content, Problem: o.problem}
		if o.state != Whole && e.state == Whole {
			f.ExitCode = e.rc
		}
		res.Frames[id] = f
	}
	for id, limit := range stopped(stdout, marker, ids) {
		f := res.Frames[id]
		f.Stopped, f.Limit = true, limit
		if f.State == Missing {
			f.Problem = "the script's time limit was reached before the command started"
		}
		res.Frames[id] = f
	}
	res.Done = indexLineStart(stdout, []byte(marker+" DONE\n")) >= 0
	return res
}

// maxLimitSeconds is the largest limit a STOPPED line may give: SSM's
// longest executionTimeout, 48 hours.
const maxLimitSeconds = 172800

// stopped finds the lines "<M> STOPPED <id> <seconds>" of the commands
// ids: the script's time limit stopped the command after that many
// seconds, or (0) kept it from starting.
func stopped(b []byte, marker string, ids []string) map[string]time.Duration {
	var out map[string]time.Duration
	pat := []byte(marker + " STOPPED ")
	for pos := 0; pos < len(b); {
		i := indexLineStart(b[pos:], pat)
		if i < 0 {
			break
		}
		start := pos + i + len(pat)
		nl := bytes.IndexByte(b[start:], '\n')
		if nl < 0 {
			break // cut: a stopped command also has no whole frame
		}
		pos = start + nl + 1
		id, secs, ok := strings.Cut(string(b[start:start+nl]), " ")
		n, err := strconv.Atoi(secs)
		if !ok || err != nil || n < 0 || n > maxLimitSeconds || strconv.Itoa(n) != secs || !slices.Contains(ids, id) {
			continue
		}
		if out == nil {
			out = map[string]time.Duration{}
		}
		out[id] = time.Duration(n) * time.Second
	}
	return out
}

// part is one stream's frame of one command.
type part struct {
	state   FrameState
	rc      int
	content []byte
	problem string
}

// scan finds, in one stream, the frame of each id: a line "<M> <begin> <id>"
// and, after it, a line "<M> <end> <id> <rc>" preceded by the frame's
// newline.
func scan(b []byte, marker, begin, before, end string, ids []string) map[string]part {
	out := make(map[string]part, len(ids))
	want := make(map[string]bool, len(ids))
	for _, id := range ids {
		want[id] = true
		out[id] = part{state: Missing, rc: -1, problem: "no output frame for the command"}
	}
	beginPat := []byte(marker + " " + begin + " ")
	pos := 0
	for pos < len(b) {
		i := indexLineStart(b[pos:], beginPat)
		if i < 0 {
			break
		}
		start := pos + i + len(beginPat)
		nl := bytes.IndexByte(b[start:], '\n')
		if nl < 0 {
			break // the BEGIN line itself was cut
		}
		id := string(b[start : start+nl])
		body := start + nl + 1
		pos = body
		if !want[id] {
			continue
		}
		if p := out[id]; p.state != Missing {
			out[id] = part{state: Malformed, rc: -1, problem: "the command has two output frames"}
			continue
		}
		endPat := []byte(before + marker + " " + end + " " + id + " ")
		j := bytes.Index(b[body:], endPat)
		if j < 0 {
			out[id] = part{state: Cut, rc: -1, content: trimPartial(b[body:], endPat), problem: "output ends before the command's END line"}
			break
		}
		cend := body + j
		content := b[body:cend]
		rcStart := cend + len(endPat)
		rnl := bytes.IndexByte(b[rcStart:], '\n')
		if rnl < 0 {
			out[id] = part{state: Cut, rc: -1, content: content, problem: "output ends inside the command's END line"}
			break
		}
		rcText := string(b[rcStart : rcStart+rnl])
		rc, err := strconv.Atoi(rcText)
		if err != nil || strconv.Itoa(rc) != rcText || rc < -1 || rc > 255 {
			out[id] = part{state: Malformed, rc: -1, content: content, problem: fmt.Sprintf("END line has exit status %q, not -1 to 255", clip(rcText))}
		} else {
			out[id] = part{state: Whole, rc: rc, content: content}
		}
		pos = rcStart + rnl + 1
	}
	return out
}

// trimPartial drops from the end of b the longest tail that is a prefix of
// pat (the start of an END line that was cut), so that cut content is a
// prefix of the command's output.
func trimPartial(b, pat []byte) []byte {
	for k := min(len(pat)-1, len(b)); k > 0; k-- {
		if bytes.HasSuffix(b, pat[:k]) {
			return b[:len(b)-k]
		}
	}
	return b
}

// indexLineStart returns the index of the first occurrence of pat in b that
// starts a line (at 0 or after '\n'), or -1.
func indexLineStart(b, pat []byte) int {
	off := 0
	for {
		i := bytes.Index(b[off:], pat)
		if i < 0 {
			return -1
		}
		if off+i == 0 || b[off+i-1] == '\n' {
			return off + i
		}
		off += i + 1
	}
}

func clip(s string) string {
	if len(s) > 40 {
		return s[:40] + "..."
	}
	return s
}
