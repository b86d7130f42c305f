// Package textcut keeps the first bytes of a text too long to keep whole
// (a value, an error a host sent), with a mark that says it was cut, the
// whole text's length and its SHA-256: a report quoting what a host sent
// stays small whatever the host sent, and the mark still identifies the
// whole text.
package textcut

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"regexp"
	"strings"
	"unicode/utf8"
)

// markStart begins the mark of a cut.
const markStart = "…[cut: "

// maxMark is the longest mark: markStart, a length of up to 20 digits,
// the words and 64 hex digits.
const maxMark = len(markStart) + 20 + len(" bytes in all, sha256 ") + 64 + len("]")

// mark is the mark of a cut, whole.
var mark = regexp.MustCompile(`^…\[cut: [0-9]{1,20} bytes in all, sha256 [0-9a-f]{64}\]$`)

// Cut returns s when it is at most limit bytes long. Otherwise it returns
// the first bytes of s (at most limit, ending at a character boundary)
// followed by "…[cut: N bytes in all, sha256 H]", with cut set, and sum,
// the hex SHA-256 of the whole of s. A text Cut already cut at limit (at
// most limit bytes and a mark) is returned as it is, not cut: cutting
// twice keeps the mark of the whole text. limit must be at least 0.
func Cut(s string, limit int) (kept, sum string, cut bool) {
	if len(s) <= limit || len(s) <= limit+maxMark && isCut(s, limit) {
		return s, "", false
	}
	h := sha256.Sum256([]byte(s))
	sum = hex.EncodeToString(h[:])
	k := limit
	for k > 0 && !utf8.RuneStart(s[k]) {
		k--
	}
	return s[:k] + fmt.Sprintf("%s%d bytes in all, sha256 %s]", markStart, len(s), sum), sum, true
}

// isCut says whether s is the first bytes of a text, at most limit, and
// a mark.
func isCut(s string, limit int) bool {
	i := strings.LastIndex(s, markStart)
	return i >= 0 && i <= limit && mark.MatchString(s[i:])
}
