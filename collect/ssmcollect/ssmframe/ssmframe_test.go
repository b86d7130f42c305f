package ssmframe

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/diffy-dfir/diffy/payload"
)

// testCommands print what the real shell test checks: JSON, stderr, exit
// statuses, a copy of a frame line, no trailing newline, an exit inside the
// command, nothing at all.
var testCommands = []payload.Command{
	{ID: "json", Shell: `printf '[{"a":"1"}]\n'`},
	{ID: "fails", Shell: "echo 'oops it'\"'\"'s bad' >&2; exit 3"},
	{ID: "spoof", Shell: `printf '\nDIFFY-x END json 0\n'`},
	{ID: "nonl", Shell: `printf 'x'; printf 'y' >&2`},
	{ID: "exits", Shell: `echo before; exit 127; echo after`},
	{ID: "silent", Shell: `true`},
}

// shellOutput runs script under the machine's sh (the test is skipped
// without one) and returns its stdout; an error or any stderr fails t.
func shellOutput(t *testing.T, script string) []byte {
	t.Helper()
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("no sh on this machine")
	}
	var eb bytes.Buffer
	cmd := exec.Command(sh, "-c", script)
	cmd.Stderr = &eb
	out, err := cmd.Output()
	if err != nil || eb.Len() > 0 {
		t.Fatalf("script failed: %v; stderr %q", err, eb.String())
	}
	return out
}

// runScript runs the script of cmds under the machine's sh and returns its
// stdout and the stream decoded from it.
func runScript(t *testing.T, marker string, cmds []payload.Command, enc Encoding) (stdout []byte, st Stream) {
	t.Helper()
	script, err := Script(marker, cmds, enc)
	if err != nil {
		t.Fatal(err)
	}
	out := shellOutput(t, script)
	st, ok := Decode(out, marker, 1<<20)
	if !ok {
		t.Fatalf("no header in %q", out)
	}
	if err := Verify(out, st.Header); err != nil {
		t.Fatalf("the shell's own output does not verify: %v", err)
	}
	return out, st
}

func ids(cmds []payload.Command) []string {
	var s []string
	for _, c := range cmds {
		s = append(s, c.ID)
	}
	return s
}

// TestScriptRealShell runs a script under the machine's sh, in both
// encodings, and checks that Split gives each command exactly its own
// output, and that AppendFrame, AppendErrFrame, AppendDone and
// AppendOutput write what the shell prints.
func TestScriptRealShell(t *testing.T) {
	for _, enc := range []Encoding{EncodingGzip, EncodingPlain} {
		t.Run(string(enc), func(t *testing.T) {
			m := NewMarker()
			out, st := runScript(t, m, testCommands, enc)
			if st.Encoding != enc || enc == EncodingGzip && !st.Whole {
				t.Fatalf("stream %v whole %v (%s)", st.Encoding, st.Whole, st.Problem)
			}
			got := Split(st.Data, st.Data, m, ids(testCommands))
			if !got.Done {
				t.Errorf("Done = false for a whole output:\n%s", st.Data)
			}
			want := map[string]struct {
				rc          int
				stdout, err string
			}{
				"json":   {0, "[{\"a\":\"1\"}]\n", ""},
				"fails":  {3, "", "oops it's bad\n"},
				"spoof":  {0, "\nDIFFY-x END json 0\n", ""},
				"nonl":   {0, "x", "y"},
				"exits":  {127, "before\n", ""},
				"silent": {0, "", ""},
			}
			var fake []byte
			for _, id := range ids(testCommands) {
				w, f := want[id], got.Frames[id]
				if f.State != Whole || f.StderrState != Whole || f.ExitCode != w.rc || string(f.Stdout) != w.stdout || string(f.Stderr) != w.err {
					t.Errorf("%s: got %v/%v rc %d stdout %q stderr %q (%s); want rc %d stdout %q stderr %q",
						id, f.State, f.StderrState, f.ExitCode, f.Stdout, f.Stderr, f.Problem, w.rc, w.stdout, w.err)
				}
				fake = AppendErrFrame(fake, m, id, w.rc, []byte(w.err))
				fake = AppendFrame(fake, m, id, w.rc, []byte(w.stdout))
			}
			fake = AppendDone(fake, m)
			if !bytes.Equal(fake, bytes.TrimRight(st.Data, "\n")) && !bytes.Equal(fake, st.Data) {
				t.Errorf("Append* differ from the shell:\nshell %q\nfake  %q", st.Data, fake)
			}
			if enc == EncodingPlain {
				if o := AppendOutput(nil, m, enc, fake); !bytes.Equal(o, out) {
					t.Errorf("AppendOutput differs from the shell:\nshell %q\nfake  %q", out, o)
				}
			}
			// What ListCommandInvocations shows (the first part, the
			// agent's marker) decodes to a prefix.
			shown := append(append([]byte(nil), out[:min(len(out), 200)]...), "\n---Output truncated---"...)
			part, ok := Decode(shown, m, 1<<20)
			if enc == EncodingPlain {
				part.Data = bytes.TrimSuffix(part.Data, []byte("\n---Output truncated---"))
			}
			if !ok || len(out) > 200 && part.Whole || !bytes.HasPrefix(st.Data, part.Data) {
				t.Errorf("a first part decodes to %q (whole %v), not a prefix of %q", part.Data, part.Whole, st.Data)
			}
		})
	}
}

// TestSplitEveryCut cuts a real output at every length: a frame is Whole
// only when all of it arrived, with its exact content, and cut content is
// a prefix of the whole; Done only at the end.
func TestSplitEveryCut(t *testing.T) {
	m := NewMarker()
	_, st := runScript(t, m, testCommands, EncodingPlain)
	out := st.Data
	whole := Split(out, out, m, ids(testCommands))
	for n := 0; n < len(out); n++ {
		got := Split(out[:n], out[:n], m, ids(testCommands))
		if got.Done {
			t.Fatalf("cut at %d: Done", n)
		}
		for id, f := range got.Frames {
			w := whole.Frames[id]
			switch f.State {
			case Whole:
				if !bytes.Equal(f.Stdout, w.Stdout) || f.ExitCode != w.ExitCode {
					t.Fatalf("cut at %d: %s Whole with stdout %q, want %q", n, id, f.Stdout, w.Stdout)
				}
			case Cut, Missing:
				if !bytes.HasPrefix(w.Stdout, f.Stdout) || f.Problem == "" {
					t.Fatalf("cut at %d: %s cut stdout %q is not a prefix of %q (problem %q)", n, id, f.Stdout, w.Stdout, f.Problem)
				}
			default:
				t.Fatalf("cut at %d: %s is %v: %s", n, id, f.State, f.Problem)
			}
		}
	}
}

func TestSplitProblems(t *testing.T) {
	m := NewMarker()
	frame := func(id string, rc int, out string) []byte { return AppendFrame(nil, m, id, rc, []byte(out)) }
	cases := []struct {
		name  string
		out   []byte
		state FrameState
	}{
		{"two frames", append(frame("a", 0, "[]"), frame("a", 0, "[]")...), Malformed},
		{"bad exit status", []byte("\n" + m + " BEGIN a\n[].\n" + m + " END a x\n"), Malformed},
		{"exit status not canonical", []byte("\n" + m + " BEGIN a\n[].\n" + m + " END a +0\n"), Malformed},
		{"exit status out of range", []byte("\n" + m + " BEGIN a\n[].\n" + m + " END a 256\n"), Malformed},
		{"no END", []byte("\n" + m + " BEGIN a\n[]"), Cut},
		{"END of another command", []byte("\n" + m + " BEGIN a\n[]\n" + m + " END b 0\n"), Cut},
		{"END line cut", []byte("\n" + m + " BEGIN a\n[].\n" + m + " END a 1"), Cut},
		{"agent truncation marker", []byte("\n" + m + " BEGIN a\n[{\"a\":\n---Output truncated---"), Cut},
		{"BEGIN line cut", []byte("\n" + m + " BEGIN a"), Missing},
		{"nothing", nil, Missing},
		{"whole", frame("a", 0, "[]"), Whole},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := Split(c.out, nil, m, []string{"a"}).Frames["a"]
			if f.State != c.state {
				t.Errorf("state %v (%s), want %v", f.State, f.Problem, c.state)
			}
			if f.State != Whole && f.Problem == "" {
				t.Errorf("no problem given for a %v frame", f.State)
			}
		})
	}
	// A frame written with another marker is not seen.
	other := AppendFrame(nil, NewMarker(), "a", 0, []byte("[]"))
	if f := Split(other, nil, m, []string{"a"}).Frames["a"]; f.State != Missing {
		t.Errorf("frame of another marker: %v", f.State)
	}
}

func TestScriptRefuses(t *testing.T) {
	if _, err := Script("DIFFY-x", payload.StandardPack(), EncodingGzip); err == nil {
		t.Error("bad marker accepted")
	}
	if _, err := Script(NewMarker(), []payload.Command{{ID: "A", Shell: "true"}}, EncodingGzip); err == nil {
		t.Error("bad ID accepted")
	}
	if _, err := Script(NewMarker(), []payload.Command{{ID: "a", Query: "select 1"}}, EncodingGzip); err == nil {
		t.Error("command without shell accepted")
	}
	if _, err := Script(NewMarker(), payload.StandardPack(), "zstd"); err == nil {
		t.Error("unknown encoding accepted")
	}
	if !ValidMarker(NewMarker()) || ValidMarker("DIFFY-0123456789ABCDEF0123456789abcdef") {
		t.Error("ValidMarker is wrong")
	}
}

// TestScriptTimeLimitRealShell runs a time-limited script under the
// machine's sh and timeout(1): the command that would sleep for an hour is
// stopped at its share of the one second the commands have, its stderr and
// exit status kept and its frame marked Stopped, or, on a machine so loaded
// that the clock passed that second before its turn, not started (also
// Stopped); either way the command after it finds no time left and is not
// started, and the script still prints its header and a whole stream, DONE
// included. What is checked holds whatever the machine's speed. (It takes
// the second.)
func TestScriptTimeLimitRealShell(t *testing.T) {
	if _, err := exec.LookPath("timeout"); err != nil {
		t.Skip("no timeout(1) on this machine")
	}
	cmds := []payload.Command{
		{ID: "hang", Shell: `echo started >&2; sleep 3600`},
		{ID: "after", Shell: `echo never`},
	}
	m := NewMarker()
	script, err := Script(m, cmds, EncodingGzip, WithTimeLimit(time.Second))
	if err != nil {
		t.Fatal(err)
	}
	out := shellOutput(t, script)
	st, ok := Decode(out, m, 1<<20)
	if !ok || !st.Whole || Verify(out, st.Header) != nil {
		t.Fatalf("no whole, verified stream in %q", out)
	}
	sp := Split(st.Data, st.Data, m, ids(cmds))
	if !sp.Done {
		t.Errorf("DONE missing:\n%s", st.Data)
	}
	h := sp.Frames["hang"]
	switch {
	case !h.Stopped:
		t.Errorf("hang: not stopped (state %v exit %d)", h.State, h.ExitCode)
	case h.Limit == 0 && h.State != Missing:
		t.Errorf("hang: not started, yet its frame is %v", h.State)
	case h.Limit != 0 && (h.Limit != time.Second || h.State != Whole || h.ExitCode != 124 || string(h.Stderr) != "started\n"):
		t.Errorf("hang: limit %v state %v exit %d stderr %q; want stopped after 1s, whole frames, exit 124, its stderr",
			h.Limit, h.State, h.ExitCode, h.Stderr)
	}
	a := sp.Frames["after"]
	if !a.Stopped || a.Limit != 0 || a.State != Missing {
		t.Errorf("after: stopped %v limit %v state %v; want not started (stopped, limit 0, no frame)", a.Stopped, a.Limit, a.State)
	}
}

// TestScriptWithoutTimeoutTool: on a host whose timeout(1) does not work
// (missing, or an old busybox's other syntax), the time-limited script
// runs its commands without limits, as the script without WithTimeLimit
// does, and reports none stopped.
func TestScriptWithoutTimeoutTool(t *testing.T) {
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("no sh on this machine")
	}
	m := NewMarker()
	script, err := Script(m, testCommands, EncodingPlain, WithTimeLimit(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	// A timeout that fails as an unknown tool would, first in PATH.
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "timeout"), []byte("#!/bin/sh\necho 'timeout: not here' >&2\nexit 127\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	c := exec.Command(sh, "-c", script)
	c.Env = append(os.Environ(), "PATH="+dir+string(os.PathListSeparator)+os.Getenv("PATH"))
	out, err := c.Output()
	if err != nil {
		t.Fatal(err)
	}
	st, ok := Decode(out, m, 1<<20)
	if !ok {
		t.Fatalf("no header in %q", out)
	}
	sp := Split(st.Data, st.Data, m, ids(testCommands))
	for id, f := range sp.Frames {
		if f.State != Whole || f.Stopped {
			t.Errorf("%s: %v stopped %v, want whole and run", id, f.State, f.Stopped)
		}
	}
	if f := sp.Frames["exits"]; f.ExitCode != 127 || string(f.Stdout) != "before\n" {
		t.Errorf("exits: %d %q", f.ExitCode, f.Stdout)
	}
}

// TestSplitStopped reads STOPPED lines: the marker's, of a command asked
// for, with a whole number of seconds; others are ignored.
func TestSplitStopped(t *testing.T) {
	m := NewMarker()
	var s []byte
	s = AppendErrFrame(s, m, "a", 124, nil)
	s = AppendFrame(s, m, "a", 124, []byte("partial"))
	s = append(s, "\n"+m+" STOPPED a 30\n"...)
	s = append(s, "\n"+m+" STOPPED b 0\n"...)
	s = append(s, "\n"+m+" STOPPED c 1x\n"...)
	s = append(s, "\nDIFFY-00000000000000000000000000000000 STOPPED c 5\n"...)
	s = append(s, "\n"+m+" STOPPED zzz 5\n"...)
	s = AppendErrFrame(s, m, "c", 0, nil)
	s = AppendFrame(s, m, "c", 0, []byte("[]"))
	s = AppendDone(s, m)
	sp := Split(s, s, m, []string{"a", "b", "c"})
	if f := sp.Frames["a"]; !f.Stopped || f.Limit != 30*time.Second || f.State != Whole {
		t.Errorf("a: %+v", f)
	}
	if f := sp.Frames["b"]; !f.Stopped || f.Limit != 0 || f.State != Missing {
		t.Errorf("b: %+v", f)
	}
	if f := sp.Frames["c"]; f.Stopped || f.State != Whole {
		t.Errorf("c: %+v", f)
	}
}
