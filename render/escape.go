package render

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Escape makes s safe to print on a terminal and unambiguous to read:
//
//   - invalid UTF-8 bytes become \xNN;
//   - ASCII control characters (NUL, ESC, DEL, ...) become \xNN (ESC is
//     \x1b), except tab, newline and carriage return, which become \t, \n
//     and \r;
//   - other characters that are not printable (C1 controls, bidirectional
//     overrides, zero-width and other format characters, line and
//     paragraph separators, spaces other than U+0020) become \uNNNN or
//     \UNNNNNNNN;
//   - a backslash becomes \\, so that an escape in the output always
//     stands for an escaped byte, never for the host's own text;
//   - everything else, printable Unicode included, is kept as it is.
//
// A string that needs no escape is returned unchanged.
func Escape(s string) string {
	if plain(s) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 16)
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case r == '\\':
			b.WriteString(`\\`)
		case r == '\t':
			b.WriteString(`\t`)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, `\x%02x`, r)
		case r == ' ' || (r > 0x7f && unicode.IsPrint(r)):
			b.WriteRune(r)
		case r < 0x7f:
			b.WriteByte(byte(r))
		case r <= 0xffff:
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			fmt.Fprintf(&b, `\U%08x`, r)
		}
		i += size
	}
	return b.String()
}

// plain reports whether s is printable ASCII without a backslash.
func plain(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f || c == '\\' {
			return false
		}
	}
	return true
}
