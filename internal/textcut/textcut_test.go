package textcut_test

import (
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/diffy-dfir/diffy/internal/textcut"
)

// TestCut: a text within the limit is kept whole; a longer one is kept as
// its first bytes, never splitting a character, and a mark giving the
// whole text's length and SHA-256.
func TestCut(t *testing.T) {
	if kept, sum, cut := textcut.Cut("short", 5); kept != "short" || sum != "" || cut {
		t.Errorf("within the limit: %q, %q, %v", kept, sum, cut)
	}
	long := strings.Repeat("é", 10) // 2 bytes a character
	h := sha256.Sum256([]byte(long))
	want := hex.EncodeToString(h[:])
	for _, limit := range []int{0, 1, 2, 5, 19} {
		kept, sum, cut := textcut.Cut(long, limit)
		head, mark, ok := strings.Cut(kept, "…[cut: ")
		if !cut || sum != want || !ok || len(head) > limit || len(head) < limit-1 || !utf8.ValidString(head) ||
			!strings.HasPrefix(long, head) || mark != "20 bytes in all, sha256 "+want+"]" {
			t.Errorf("limit %d: %q, %q, %v", limit, kept, sum, cut)
		}
	}
}

// TestCutTwice: a text already cut is not cut again (its mark, of the
// whole text, is kept), whatever it begins with; a longer text ending in
// a mark is cut.
func TestCutTwice(t *testing.T) {
	long := strings.Repeat("x", 1000)
	once, sum, _ := textcut.Cut(long, 100)
	if again, _, cut := textcut.Cut(once, 100); cut || again != once {
		t.Errorf("cut twice: %q, %v; want %q", again, cut, once)
	}
	longer := strings.Repeat("y", 200) + once[100:]
	if got, s, cut := textcut.Cut(longer, 100); !cut || s == sum || !strings.HasPrefix(got, strings.Repeat("y", 100)+"…[cut: "+strconv.Itoa(len(longer))+" bytes") {
		t.Errorf("a longer text with a mark: %q, %v", got, cut)
	}
}
