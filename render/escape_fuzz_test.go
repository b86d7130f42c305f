package render_test

import (
	"strconv"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/diffy-dfir/diffy/render"
)

// unescape inverts render.Escape, as a reader of the table would.
func unescape(t *testing.T, e string) string {
	var b strings.Builder
	for i := 0; i < len(e); i++ {
		if e[i] != '\\' {
			b.WriteByte(e[i])
			continue
		}
		i++
		if i >= len(e) {
			t.Fatalf("escape %q ends in a lone backslash", e)
		}
		hex := func(n int) uint64 {
			if i+1+n > len(e) {
				t.Fatalf("escape %q: short \\%c sequence", e, e[i])
			}
			v, err := strconv.ParseUint(e[i+1:i+1+n], 16, 32)
			if err != nil {
				t.Fatalf("escape %q: bad \\%c sequence: %v", e, e[i], err)
			}
			i += n
			return v
		}
		switch e[i] {
		case '\\':
			b.WriteByte('\\')
		case 't':
			b.WriteByte('\t')
		case 'n':
			b.WriteByte('\n')
		case 'r':
			b.WriteByte('\r')
		case 'x':
			b.WriteByte(byte(hex(2)))
		case 'u':
			b.WriteRune(rune(hex(4)))
		case 'U':
			b.WriteRune(rune(hex(8)))
		default:
			t.Fatalf("escape %q: unknown \\%c", e, e[i])
		}
	}
	return b.String()
}

// FuzzEscape checks render.Escape, which stands between a compromised
// host's output and the investigator's terminal: its output is valid UTF-8
// of printable characters only (no ESC, NUL, C1 control, bidi override or
// line separator), and it loses nothing: unescaping gives the input back
// byte for byte, so two different host strings never print the same.
func FuzzEscape(f *testing.F) {
	for _, s := range []string{"", "plain", "\x1b[2J", "a\x00b", "\xff\xfe", `back\slash`, "\u202e", "\u0085", "\U0001F600", "tab\there", "é"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		e := render.Escape(s)
		if !utf8.ValidString(e) {
			t.Fatalf("Escape(%q) = %q is not valid UTF-8", s, e)
		}
		for _, r := range e {
			if !unicode.IsPrint(r) {
				t.Fatalf("Escape(%q) = %q holds %U", s, e, r)
			}
		}
		if back := unescape(t, e); back != s {
			t.Fatalf("Escape(%q) = %q unescapes to %q", s, e, back)
		}
	})
}
