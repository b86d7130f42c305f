package render

import (
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

func TestEscape(t *testing.T) {
	for _, tc := range []struct{ name, in, want string }{
		{"plain", "/usr/sbin/sshd -D", "/usr/sbin/sshd -D"},
		{"empty", "", ""},
		{"printable unicode", "café 日本 ✓", "café 日本 ✓"},
		{"ansi clear screen", "\x1b[2J\x1b[1;31mred", `\x1b[2J\x1b[1;31mred`},
		{"nul", "a\x00b", `a\x00b`},
		{"del and bell", "\x7f\x07", `\x7f\x07`},
		{"tab newline cr", "a\tb\nc\rd", `a\tb\nc\rd`},
		{"invalid utf8", "ok\xff\xfe!", `ok\xff\xfe!`},
		{"cut utf8 sequence", "\xe6\x97", `\xe6\x97`},
		{"backslash", `C:\x1b`, `C:\\x1b`},
		{"c1 control (CSI)", "\u009b31m", `\u009b31m`},
		{"bidi override", "abc\u202edef", `abc\u202edef`},
		{"zero width space", "a\u200bb", `a\u200bb`},
		{"line separator", "a\u2028b", `a\u2028b`},
		{"no-break space", "a\u00a0b", `a\u00a0b`},
		{"html kept", "<script>&", "<script>&"},
		{"astral non-printable", "\U000e0001", `\U000e0001`},
	} {
		if got := Escape(tc.in); got != tc.want {
			t.Errorf("%s: Escape(%q) = %q, want %q", tc.name, tc.in, got, tc.want)
		}
	}
}

// TestEscapeIsTerminalSafe checks every single byte and a range of runes:
// the output is valid UTF-8 with no control or non-printable character.
func TestEscapeIsTerminalSafe(t *testing.T) {
	check := func(in string) {
		out := Escape(in)
		if !utf8.ValidString(out) {
			t.Errorf("Escape(%q) = %q is not valid UTF-8", in, out)
		}
		for _, r := range out {
			if r != ' ' && !unicode.IsPrint(r) {
				t.Errorf("Escape(%q) = %q holds non-printable %U", in, out, r)
			}
		}
	}
	for b := 0; b < 256; b++ {
		check(string([]byte{byte(b)}))
	}
	for r := rune(0); r < 0x3000; r++ {
		check(string(r))
	}
	check(strings.Repeat("\x1b]0;title\x07", 10))
}
