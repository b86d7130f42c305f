package render

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/width"
)

// runeWidth is the number of terminal columns r takes: 2 for East Asian
// wide and fullwidth characters, 0 for combining marks, 1 otherwise. Text
// that went through Escape has no control character to count.
func runeWidth(r rune) int {
	switch {
	case r < 0x300:
		return 1
	case unicode.In(r, unicode.Mn, unicode.Me):
		return 0
	}
	switch width.LookupRune(r).Kind() {
	case width.EastAsianWide, width.EastAsianFullwidth:
		return 2
	}
	return 1
}

// textWidth is the number of terminal columns s takes.
func textWidth(s string) int {
	n := 0
	for _, r := range s {
		n += runeWidth(r)
	}
	return n
}

// ellipsis marks text that was cut.
const ellipsis = "…"

// cut returns s when it fits in cols columns, else its head and an
// ellipsis, cols columns in all.
func cut(s string, cols int) string {
	if textWidth(s) <= cols {
		return s
	}
	head, _ := prefix(s, cols-1)
	return strings.TrimRight(head, " ") + ellipsis
}

// prefix splits s after its longest head that fits in cols columns.
func prefix(s string, cols int) (head, rest string) {
	n := 0
	for i, r := range s {
		w := runeWidth(r)
		if n+w > cols {
			return s[:i], s[i:]
		}
		n += w
	}
	return s, ""
}

// splitAt splits s for folding at cols columns: after the last space of
// the head that fits, when that space is in the head's last third, else
// at the width itself (a long word, a path). rest never starts with the
// space it was split at. A head is never empty, so folding ends.
func splitAt(s string, cols int) (head, rest string) {
	head, rest = prefix(s, cols)
	if head == "" {
		_, size := utf8.DecodeRuneInString(s)
		return s[:size], s[size:]
	}
	if rest == "" || rest[0] == ' ' {
		return head, strings.TrimPrefix(rest, " ")
	}
	if i := strings.LastIndexByte(head, ' '); i > 0 && textWidth(head[:i]) >= 2*cols/3 {
		return head[:i], head[i+1:] + rest
	}
	return head, rest
}
