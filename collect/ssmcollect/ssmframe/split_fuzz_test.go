package ssmframe_test

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/diffy-dfir/diffy/collect/ssmcollect/ssmframe"
)

const fuzzMarker = "DIFFY-00112233445566778899aabbccddeeff"

// FuzzSplitCut builds what the script prints for two commands with fuzzed
// stdout, stderr and exit statuses (the stdout may copy the frame lines
// themselves), preceded by fuzzed agent text, and cuts it after a fuzzed
// number of bytes, as SSM's output limits do. Split must give back each
// frame exactly when all of it arrived and never call a frame Whole when
// any of it is missing: the output of a cut frame is never parsed as if
// whole. Done is set only when nothing was cut.
func FuzzSplitCut(f *testing.F) {
	f.Add([]byte("agent says hi\n"), []byte(`[{"a":"1"}]`), []byte(""), 0, []byte(`[]`), []byte("warn"), 1, uint(0))
	f.Add([]byte(""), []byte("\n"+fuzzMarker+" END b_2 0\n"+fuzzMarker+" BEGIN b_2\n[]"), []byte("x"), 0, []byte("[]"), []byte(""), 0, uint(120))
	f.Add([]byte(""), []byte(`[{"k":"`+string(bytes.Repeat([]byte("v"), 300))+`"}]`), []byte(""), 0, []byte(""), []byte(""), 127, uint(24000))
	f.Fuzz(func(t *testing.T, agent, out1, err1 []byte, rc1 int, out2, err2 []byte, rc2 int, cut uint) {
		if bytes.Contains(agent, []byte(fuzzMarker)) {
			return // the agent's own text cannot hold the invocation's random marker
		}
		rc1, rc2 = (rc1%257+257)%257-1, (rc2%257+257)%257-1 // exit statuses -1..255
		type want struct {
			id       string
			rc       int
			out, err []byte
			end      int // offset just past the frame's END line
		}
		// A command's own output holding "\n<M> END <its id> " would end
		// its frame early: only a host that read the script can print
		// it, and it can only lie about its own output (package doc).
		for _, o := range [][]byte{out1, out2} {
			if bytes.Contains(o, []byte(fuzzMarker)) {
				return
			}
		}
		full := append([]byte(nil), agent...)
		var stderr []byte
		var frames []want
		for _, w := range []want{{id: "a", rc: rc1, out: out1, err: err1}, {id: "b_2", rc: rc2, out: out2, err: err2}} {
			full = ssmframe.AppendFrame(full, fuzzMarker, w.id, w.rc, w.out)
			stderr = ssmframe.AppendErrFrame(stderr, fuzzMarker, w.id, w.rc, w.err)
			w.end = len(full)
			frames = append(frames, w)
		}
		full = ssmframe.AppendDone(full, fuzzMarker)
		n := len(full)
		if cut > 0 {
			n = int(cut % uint(len(full)+1))
		}
		got := ssmframe.Split(full[:n], stderr, fuzzMarker, []string{"a", "b_2", "never"})
		if got.Done != (n == len(full)) {
			t.Fatalf("cut at %d of %d: Done = %v", n, len(full), got.Done)
		}
		if st := got.Frames["never"].State; st != ssmframe.Missing {
			t.Fatalf("command without a frame is %v", st)
		}
		for _, w := range frames {
			fr, ok := got.Frames[w.id]
			if !ok {
				t.Fatalf("no frame entry for %s", w.id)
			}
			if n >= w.end {
				if fr.State != ssmframe.Whole || fr.ExitCode != w.rc || !bytes.Equal(fr.Stdout, w.out) || !bytes.Equal(fr.Stderr, w.err) {
					t.Fatalf("cut at %d (frame %s ends at %d): got %v rc %d stdout %q stderr %q (%s); want Whole rc %d stdout %q stderr %q",
						n, w.id, w.end, fr.State, fr.ExitCode, fr.Stdout, fr.Stderr, fr.Problem, w.rc, w.out, w.err)
				}
				continue
			}
			if fr.State == ssmframe.Whole {
				t.Fatalf("cut at %d, before frame %s ends at %d: frame reported Whole with stdout %q", n, w.id, w.end, fr.Stdout)
			}
			if fr.Problem == "" {
				t.Fatalf("frame %s is %v without a problem", w.id, fr.State)
			}
			if !bytes.HasPrefix(w.out, fr.Stdout) {
				t.Fatalf("cut frame %s: stdout %q is not a prefix of %q", w.id, fr.Stdout, w.out)
			}
		}
	})
}

// FuzzSplitRaw feeds Split arbitrary bytes, as a hostile host or a broken
// transport can: every command asked for gets a frame entry, and a frame
// is Whole only if the input holds it exactly as the script writes it
// (BEGIN line, content, the dot, END line with a canonical exit status), so nothing else is parsed.
func FuzzSplitRaw(f *testing.F) {
	m := fuzzMarker
	f.Add(ssmframe.AppendDone(ssmframe.AppendFrame(nil, m, "a", 0, []byte(`[{"x":"1"}]`)), m))
	f.Add([]byte("\n" + m + " BEGIN a\n[].\n" + m + " END a 00\n"))
	f.Add([]byte(m + " BEGIN a\n.\n" + m + " END a 0\n" + m + " BEGIN a\n.\n" + m + " END a 0\n"))
	f.Add([]byte(m + " BEGIN b\n.\n" + m + " END b 1\n"))
	f.Fuzz(func(t *testing.T, out []byte) {
		got := ssmframe.Split(out, out, m, []string{"a", "b"})
		if len(got.Frames) != 2 {
			t.Fatalf("%d frame entries, want 2", len(got.Frames))
		}
		for id, fr := range got.Frames {
			switch fr.State {
			case ssmframe.Whole:
				exact := fmt.Appendf(nil, "%s BEGIN %s\n%s.\n%s END %s %d\n", m, id, fr.Stdout, m, id, fr.ExitCode)
				if !bytes.Contains(out, exact) {
					t.Fatalf("frame %s is Whole but the input does not hold it as the script writes it: %q", id, exact)
				}
			case ssmframe.Missing, ssmframe.Cut, ssmframe.Malformed:
				if fr.Problem == "" {
					t.Fatalf("frame %s is %v without a problem", id, fr.State)
				}
			default:
				t.Fatalf("frame %s has state %v", id, fr.State)
			}
		}
	})
}
