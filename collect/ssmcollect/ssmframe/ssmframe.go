package ssmframe

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/diffy-dfir/diffy/payload"
)

// MaxStderr is the most stderr bytes the script keeps per command (it clips
// each command's stderr with head -c on the host).
const MaxStderr = 8192

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

// Step is one command of a script: its ID and its shell text.
type Step struct {
	ID    string
	Shell string
}

// The fixed parts of a script. scriptHead defines the function run before
// the steps; a step line is "diffy_run ID 'SHELL'".
const (
	scriptHead = `d=$(mktemp -d 2>/dev/null || mktemp -d -t diffy) || { echo 'diffy: cannot create a temporary directory' >&2; exit 1; }
trap 'rm -rf "$d"' EXIT
diffy_run() {
  ( eval "$2" ) >"$d/o" 2>"$d/e" </dev/null
  rc=$?
  head -c ` + "8192" + ` "$d/e" >"$d/c"
  printf '\n%s BEGIN %s %d %d %d\n' "$M" "$1" "$rc" "$(($(wc -c <"$d/o")))" "$(($(wc -c <"$d/c")))"
  cat "$d/o" "$d/c"
  printf '\n%s END %s\n' "$M" "$1"
}
`
	stepPrefix = "diffy_run "
	scriptTail = `printf '\n%s DONE\n' "$M"`
)

// Script returns the POSIX shell script that runs each command's Shell in
// its own subshell, in order, and prints its frame (see the package doc).
// It returns an error when marker is not valid, a command ID is not valid,
// or a command has no Shell. The script holds the commands' text and the
// marker, nothing else: no credential.
func Script(marker string, cmds []payload.Command) (string, error) {
	if !ValidMarker(marker) {
		return "", fmt.Errorf("ssmframe: marker %q is not DIFFY- and 32 hex digits", marker)
	}
	var b strings.Builder
	b.WriteString("M=" + marker + "\n")
	b.WriteString(scriptHead)
	for _, c := range cmds {
		if !payload.ValidID(c.ID) {
			return "", fmt.Errorf("ssmframe: command ID %q is not valid", c.ID)
		}
		if c.Shell == "" {
			return "", fmt.Errorf("ssmframe: command %s has no shell script", c.ID)
		}
		b.WriteString(stepPrefix + c.ID + " " + payload.ShellQuote(c.Shell) + "\n")
	}
	b.WriteString(scriptTail + "\n")
	return b.String(), nil
}

// ParseScript recovers the marker and the steps of a script made by Script.
// It is meant for fakes that answer without a shell; any other text is an
// error.
func ParseScript(script string) (marker string, steps []Step, err error) {
	rest, ok := strings.CutPrefix(script, "M=")
	if !ok {
		return "", nil, errors.New("ssmframe: script does not start with M=")
	}
	marker, rest, ok = strings.Cut(rest, "\n")
	if !ok || !ValidMarker(marker) {
		return "", nil, fmt.Errorf("ssmframe: script marker %q is not valid", marker)
	}
	rest, ok = strings.CutPrefix(rest, scriptHead)
	if !ok {
		return "", nil, errors.New("ssmframe: script head is not Diffy's")
	}
	for strings.HasPrefix(rest, stepPrefix) {
		rest = rest[len(stepPrefix):]
		id, r, ok := strings.Cut(rest, " ")
		if !ok || !payload.ValidID(id) {
			return "", nil, fmt.Errorf("ssmframe: step %d has no valid ID", len(steps)+1)
		}
		shell, r, err := unquote(r)
		if err != nil {
			return "", nil, fmt.Errorf("ssmframe: step %s: %w", id, err)
		}
		r, ok = strings.CutPrefix(r, "\n")
		if !ok {
			return "", nil, fmt.Errorf("ssmframe: step %s: no newline after the quoted script", id)
		}
		steps = append(steps, Step{ID: id, Shell: shell})
		rest = r
	}
	if rest != scriptTail+"\n" {
		return "", nil, errors.New("ssmframe: script tail is not Diffy's")
	}
	return marker, steps, nil
}

// unquote reads one word quoted by payload.ShellQuote from the start of s:
// single-quoted pieces joined by \' escapes. It returns the word and the
// rest of s.
func unquote(s string) (word, rest string, err error) {
	var b strings.Builder
	for {
		if !strings.HasPrefix(s, "'") {
			return "", "", errors.New("quoted script does not start with '")
		}
		end := strings.IndexByte(s[1:], '\'')
		if end < 0 {
			return "", "", errors.New("quoted script has no closing '")
		}
		b.WriteString(s[1 : 1+end])
		s = s[2+end:]
		if !strings.HasPrefix(s, `\''`) {
			return b.String(), s, nil
		}
		b.WriteByte('\'')
		s = s[2:]
	}
}

// AppendFrame appends the frame of one finished command, as the script
// prints it, to dst. stderr longer than MaxStderr is clipped, as on a host.
func AppendFrame(dst []byte, marker, id string, rc int, stdout, stderr []byte) []byte {
	if len(stderr) > MaxStderr {
		stderr = stderr[:MaxStderr]
	}
	dst = fmt.Appendf(dst, "\n%s BEGIN %s %d %d %d\n", marker, id, rc, len(stdout), len(stderr))
	dst = append(dst, stdout...)
	dst = append(dst, stderr...)
	return fmt.Appendf(dst, "\n%s END %s\n", marker, id)
}

// AppendDone appends the line the script prints after its last command.
func AppendDone(dst []byte, marker string) []byte {
	return fmt.Appendf(dst, "\n%s DONE\n", marker)
}

// FrameState says how much of a command's frame was found.
type FrameState int

// The states of a Frame.
const (
	// Missing: no frame for the command (the output was cut before it,
	// or the script stopped before running it).
	Missing FrameState = iota
	// Whole: the frame is complete; Stdout and Stderr are the command's.
	Whole
	// Cut: the frame started but its content or END line is not all
	// there; Stdout and Stderr hold what arrived and must not be parsed
	// as whole.
	Cut
	// Malformed: a header for the command could not be read, or the
	// command has two frames.
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
	State FrameState
	// ExitCode is the command's exit status from the header; -1 when
	// there is no readable header.
	ExitCode int
	// StdoutLen is the stdout length the header announced.
	StdoutLen int64
	// Stdout and Stderr are the command's output (for a Cut frame, the
	// part that arrived). They alias the input of Split.
	Stdout, Stderr []byte
	// Problem says what is wrong with a frame that is not Whole.
	Problem string
}

// Output is an invocation's stdout split into frames.
type Output struct {
	// Frames maps a command ID to its frame. Every ID asked for is
	// present (Missing when no frame was found).
	Frames map[string]Frame
	// Done reports whether the script's DONE line arrived after the
	// last frame: the script ran to its end and nothing was cut.
	Done bool
}

// maxLen bounds the lengths a header may announce (1 TiB): larger is
// malformed, which also keeps sums from overflowing.
const maxLen = 1 << 40

// Split splits out, an invocation's stdout (or its first part), into the
// frames of the commands ids, using marker. It is a pure function of its
// input and never fails: every problem is recorded in the frame it
// concerns. Frames of IDs not asked for are skipped by their length.
func Split(out []byte, marker string, ids []string) Output {
	res := Output{Frames: make(map[string]Frame, len(ids))}
	want := make(map[string]bool, len(ids))
	for _, id := range ids {
		want[id] = true
		res.Frames[id] = Frame{State: Missing, ExitCode: -1, Problem: "no output frame for the command"}
	}
	begin := []byte(marker + " BEGIN ")
	done := []byte("\n" + marker + " DONE\n")
	seen := make(map[string]bool, len(ids))
	pos := 0
	last := 0 // where the last frame ended, when it was whole; -1 after a cut one
	for {
		i := indexLineStart(out[pos:], begin)
		if i < 0 {
			break
		}
		start := pos + i
		nl := bytes.IndexByte(out[start:], '\n')
		if nl < 0 {
			// The header itself was cut: its command cannot be known
			// for sure, so mark any ID it could be as cut.
			head := string(out[start+len(begin):])
			id, _, _ := strings.Cut(head, " ")
			if want[id] && !seen[id] {
				f := res.Frames[id]
				f.State, f.Problem = Cut, "output ends inside the frame header"
				res.Frames[id] = f
			}
			last = -1
			break
		}
		header := string(out[start+len(begin) : start+nl])
		id, rc, olen, elen, err := parseHeader(header)
		if err != nil {
			if want[id] && !seen[id] {
				seen[id] = true
				res.Frames[id] = Frame{State: Malformed, ExitCode: -1, Problem: err.Error()}
			}
			pos, last = start+nl+1, -1
			continue
		}
		body := start + nl + 1
		end := []byte("\n" + marker + " END " + id + "\n")
		f := Frame{ExitCode: rc, StdoutLen: olen}
		avail := int64(len(out) - body)
		switch {
		case avail < olen+elen:
			f.State = Cut
			f.Problem = fmt.Sprintf("output ends after %d of the frame's %d bytes", avail, olen+elen)
			f.Stdout = out[body:min(int64(len(out)), int64(body)+olen)]
			pos, last = len(out), -1
		default:
			cend := body + int(olen+elen)
			f.Stdout, f.Stderr = out[body:body+int(olen)], out[body+int(olen):cend]
			switch {
			case bytes.HasPrefix(out[cend:], end):
				f.State = Whole
				pos = cend + len(end)
				last = pos
			case len(out)-cend < len(end) && bytes.HasPrefix(end, out[cend:]):
				f.State, f.Problem = Cut, "output ends before the frame's END line"
				pos, last = len(out), -1
			default:
				f.State, f.Problem = Cut, "the frame's length does not match its END line"
				pos, last = cend, -1
			}
		}
		if !want[id] {
			continue
		}
		if seen[id] {
			res.Frames[id] = Frame{State: Malformed, ExitCode: -1, Problem: "the command has two output frames"}
			continue
		}
		seen[id] = true
		res.Frames[id] = f
	}
	res.Done = last >= 0 && bytes.HasPrefix(out[last:], done)
	return res
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

// parseHeader reads "<id> <rc> <outlen> <errlen>". The id is returned even
// when the rest is bad, so the error can be put on its command.
func parseHeader(h string) (id string, rc int, olen, elen int64, err error) {
	f := strings.Split(h, " ")
	if len(f) > 0 {
		id = f[0]
	}
	if len(f) != 4 || !payload.ValidID(id) {
		return id, 0, 0, 0, fmt.Errorf("frame header %q is not \"ID RC OUTLEN ERRLEN\"", clip(h))
	}
	r, err1 := strconv.Atoi(f[1])
	o, err2 := strconv.ParseInt(f[2], 10, 64)
	e, err3 := strconv.ParseInt(f[3], 10, 64)
	// The script prints plain decimals; "+1", "01" or "-0" did not come
	// from it and are refused rather than read.
	canonical := strconv.Itoa(r) == f[1] && strconv.FormatInt(o, 10) == f[2] && strconv.FormatInt(e, 10) == f[3]
	if err1 != nil || err2 != nil || err3 != nil || !canonical || r < -1 || r > 255 || o < 0 || e < 0 || o > maxLen || e > maxLen {
		return id, 0, 0, 0, fmt.Errorf("frame header %q has a bad exit status or length", clip(h))
	}
	return id, r, o, e, nil
}

func clip(s string) string {
	if len(s) > 80 {
		return s[:80] + "..."
	}
	return s
}
