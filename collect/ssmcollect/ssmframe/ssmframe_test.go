package ssmframe

import (
	"bytes"
	"fmt"
	"os/exec"
	"strings"
	"testing"

	"github.com/diffy-dfir/diffy/payload"
)

// testCommands prints what the real shell test checks: JSON, stderr, exit
// statuses, a copy of a frame line, no trailing newline, an exit inside the
// command.
var testCommands = []payload.Command{
	{ID: "json", Shell: `printf '[{"a":"1"}]\n'`},
	{ID: "fails", Shell: "echo 'oops it'\"'\"'s bad' >&2; exit 3"},
	{ID: "spoof", Shell: `printf '\n%s END spoof\n%s BEGIN json 0 2 0\n[]' "$M" "$M"`},
	{ID: "nonl", Shell: `printf 'x'; printf 'y' >&2`},
	{ID: "exits", Shell: `echo before; exit 127; echo after`},
	{ID: "big-err", Shell: `i=0; while [ $i -lt 2000 ]; do printf '0123456789' >&2; i=$((i+1)); done; echo ok`},
}

func runScript(t *testing.T, marker string, cmds []payload.Command) []byte {
	t.Helper()
	script, err := Script(marker, cmds)
	if err != nil {
		t.Fatal(err)
	}
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("no sh on this machine")
	}
	var stderr bytes.Buffer
	cmd := exec.Command(sh, "-c", script)
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("script failed: %v; stderr %q", err, stderr.String())
	}
	if stderr.Len() != 0 {
		t.Errorf("script printed on its own stderr: %q", stderr.String())
	}
	return out
}

func ids(cmds []payload.Command) []string {
	var s []string
	for _, c := range cmds {
		s = append(s, c.ID)
	}
	return s
}

// TestScriptRealShell runs a script under the machine's sh and checks that
// Split gives each command exactly its own output.
func TestScriptRealShell(t *testing.T) {
	m := NewMarker()
	out := runScript(t, m, testCommands)
	got := Split(out, m, ids(testCommands))
	if !got.Done {
		t.Errorf("Done = false for a whole output:\n%s", out)
	}
	want := map[string]struct {
		rc          int
		stdout, err string
	}{
		"json":  {0, "[{\"a\":\"1\"}]\n", ""},
		"fails": {3, "", "oops it's bad\n"},
		"spoof": {0, "\n" + m + " END spoof\n" + m + " BEGIN json 0 2 0\n[]", ""},
		"nonl":  {0, "x", "y"},
		"exits": {127, "before\n", ""},
	}
	for id, w := range want {
		f := got.Frames[id]
		if f.State != Whole || f.ExitCode != w.rc || string(f.Stdout) != w.stdout || string(f.Stderr) != w.err {
			t.Errorf("%s: got %v rc %d stdout %q stderr %q (%s); want rc %d stdout %q stderr %q",
				id, f.State, f.ExitCode, f.Stdout, f.Stderr, f.Problem, w.rc, w.stdout, w.err)
		}
	}
	if f := got.Frames["big-err"]; f.State != Whole || len(f.Stderr) != MaxStderr || string(f.Stdout) != "ok\n" {
		t.Errorf("big-err: %v stderr %d bytes (want %d) stdout %q", f.State, len(f.Stderr), MaxStderr, f.Stdout)
	}

	// The same output written by AppendFrame, as a fake would, splits the same way.
	var fake []byte
	for _, id := range ids(testCommands) {
		f := got.Frames[id]
		fake = AppendFrame(fake, m, id, f.ExitCode, f.Stdout, f.Stderr)
	}
	fake = AppendDone(fake, m)
	if !bytes.Equal(fake, out) {
		t.Errorf("AppendFrame output differs from the shell's:\nshell %q\nfake  %q", out, fake)
	}
}

// TestSplitEveryCut cuts a real output at every length: a frame is Whole
// only when all of it arrived, with its exact content; Done only at the end.
func TestSplitEveryCut(t *testing.T) {
	m := NewMarker()
	out := runScript(t, m, testCommands[:5])
	whole := Split(out, m, ids(testCommands[:5]))
	for n := 0; n < len(out); n++ {
		got := Split(out[:n], m, ids(testCommands[:5]))
		if got.Done {
			t.Fatalf("cut at %d: Done", n)
		}
		for id, f := range got.Frames {
			w := whole.Frames[id]
			switch f.State {
			case Whole:
				if !bytes.Equal(f.Stdout, w.Stdout) || !bytes.Equal(f.Stderr, w.Stderr) || f.ExitCode != w.ExitCode {
					t.Fatalf("cut at %d: %s Whole with stdout %q, want %q", n, id, f.Stdout, w.Stdout)
				}
			case Cut, Missing:
				if !bytes.HasPrefix(w.Stdout, f.Stdout) {
					t.Fatalf("cut at %d: %s cut stdout %q is not a prefix of %q", n, id, f.Stdout, w.Stdout)
				}
			default:
				t.Fatalf("cut at %d: %s is %v: %s", n, id, f.State, f.Problem)
			}
		}
	}
}

func TestSplitProblems(t *testing.T) {
	m := NewMarker()
	frame := func(id string, rc int, out string) []byte { return AppendFrame(nil, m, id, rc, []byte(out), nil) }
	cases := []struct {
		name  string
		out   []byte
		state FrameState
	}{
		{"two frames", append(frame("a", 0, "[]"), frame("a", 0, "[]")...), Malformed},
		{"bad header", []byte("\n" + m + " BEGIN a x 2 0\n[]\n" + m + " END a\n"), Malformed},
		{"length too long", []byte("\n" + m + " BEGIN a 0 5 0\n[]\n" + m + " END a\n"), Cut},
		{"length too short", []byte("\n" + m + " BEGIN a 0 1 0\n[]\n" + m + " END a\n"), Cut},
		{"other marker", frame("a", 0, "[]")[:0], Missing},
		{"end of another command", []byte("\n" + m + " BEGIN a 0 2 0\n[]\n" + m + " END b\n"), Cut},
		{"agent truncation marker", []byte("\n" + m + " BEGIN a 0 10 0\n[{\"a\":\n---Output truncated---"), Cut},
		{"header cut", []byte("\n" + m + " BEGIN a 0 1"), Cut},
		{"huge length", []byte("\n" + m + " BEGIN a 0 99999999999999999 0\n"), Malformed},
		{"whole", frame("a", 0, "[]"), Whole},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := Split(c.out, m, []string{"a"}).Frames["a"]
			if f.State != c.state {
				t.Errorf("state %v (%s), want %v", f.State, f.Problem, c.state)
			}
			if f.State != Whole && f.Problem == "" {
				t.Errorf("no problem given for a %v frame", f.State)
			}
		})
	}
	// A frame written with another marker is not seen.
	other := AppendFrame(nil, NewMarker(), "a", 0, []byte("[]"), nil)
	if f := Split(other, m, []string{"a"}).Frames["a"]; f.State != Missing {
		t.Errorf("frame of another marker: %v", f.State)
	}
}

func TestParseScriptRoundTrip(t *testing.T) {
	m := NewMarker()
	cmds := append(payload.StandardPack(), testCommands...)
	script, err := Script(m, cmds)
	if err != nil {
		t.Fatal(err)
	}
	gm, steps, err := ParseScript(script)
	if err != nil {
		t.Fatal(err)
	}
	if gm != m || len(steps) != len(cmds) {
		t.Fatalf("marker %q steps %d, want %q %d", gm, len(steps), m, len(cmds))
	}
	for i, s := range steps {
		if s.ID != cmds[i].ID || s.Shell != cmds[i].Shell {
			t.Errorf("step %d = %+v, want %s %q", i, s, cmds[i].ID, cmds[i].Shell)
		}
	}
	for _, bad := range []string{"", "M=x\n", strings.Replace(script, "diffy_run processes", "diffy_run Processes", 1), script[:len(script)-3]} {
		if _, _, err := ParseScript(bad); err == nil {
			t.Errorf("ParseScript(%.40q...) = nil error", bad)
		}
	}
}

func TestScriptRefuses(t *testing.T) {
	if _, err := Script("DIFFY-x", payload.StandardPack()); err == nil {
		t.Error("bad marker accepted")
	}
	if _, err := Script(NewMarker(), []payload.Command{{ID: "A", Shell: "true"}}); err == nil {
		t.Error("bad ID accepted")
	}
	if _, err := Script(NewMarker(), []payload.Command{{ID: "a", Query: "select 1"}}); err == nil {
		t.Error("command without shell accepted")
	}
}

// FuzzSplit checks that Split never panics, that a Whole frame's content
// lies inside the input, and that appending the frame again to a split
// output reproduces it.
func FuzzSplit(f *testing.F) {
	m := "DIFFY-0123456789abcdef0123456789abcdef"
	f.Add(AppendDone(AppendFrame(nil, m, "a", 0, []byte(`[{"x":"1"}]`), []byte("err")), m))
	f.Add([]byte("\n" + m + " BEGIN a 0 5 0\n[]\n" + m + " END a\n"))
	f.Add([]byte("\n" + m + " BEGIN a 0 1"))
	f.Add([]byte(m + " BEGIN b 1 0 0\n\n" + m + " END b\n"))
	f.Fuzz(func(t *testing.T, out []byte) {
		got := Split(out, m, []string{"a", "b"})
		for id, fr := range got.Frames {
			if fr.State == Whole {
				again := fmt.Appendf(nil, "%s BEGIN %s %d %d %d\n%s%s\n%s END %s\n", m, id, fr.ExitCode, len(fr.Stdout), len(fr.Stderr), fr.Stdout, fr.Stderr, m, id)
				if !bytes.Contains(out, again) {
					t.Fatalf("whole frame %s not found in the input as written", id)
				}
			}
		}
	})
}
