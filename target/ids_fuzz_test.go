package target_test

import (
	"errors"
	"strings"
	"testing"
	"unicode"

	"github.com/diffy-dfir/diffy/diffyerr"
	"github.com/diffy-dfir/diffy/target"
)

// FuzzParseIDs checks ParseIDs, which reads the instance ID list of a key
// given on the command line, against its contract: an accepted list holds
// at least one and at most MaxIDs IDs, each the trimmed text of one
// element, without commas, whitespace or control characters, without
// duplicates and in first-seen order; joining them with commas parses back
// to the same list. Refused keys match diffyerr.ErrInvalidKey.
func FuzzParseIDs(f *testing.F) {
	for _, s := range []string{
		"i-0abc", "i-1,i-2", " i-1 , i-2 ,i-1", "", " ", ",", "i-1,", ",i-1", "i-1,,i-2",
		"i-1 i-2", "i-1\ti-2", "i-1\x00", "i-\x1b[31m", "i-1\u00a0x", "i-\u0085x", "i-\u2028x", "\xff",
		strings.Repeat("i-1,", 10),
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, key string) {
		ids, err := target.ParseIDs(key)
		if err != nil {
			if !errors.Is(err, diffyerr.ErrInvalidKey) {
				t.Fatalf("ParseIDs(%q) = %v, not ErrInvalidKey", key, err)
			}
			if ids != nil {
				t.Fatalf("ParseIDs(%q) returned %q with an error", key, ids)
			}
			return
		}
		if len(ids) == 0 || len(ids) > target.MaxIDs {
			t.Fatalf("ParseIDs(%q) returned %d IDs", key, len(ids))
		}
		// The IDs are the distinct trimmed elements, in first-seen order.
		var want []string
		seen := map[string]bool{}
		for _, p := range strings.Split(key, ",") {
			id := strings.TrimSpace(p)
			if !seen[id] {
				seen[id] = true
				want = append(want, id)
			}
		}
		if strings.Join(want, "\x00") != strings.Join(ids, "\x00") {
			t.Fatalf("ParseIDs(%q) = %q, want %q", key, ids, want)
		}
		for _, id := range ids {
			if id == "" || strings.Contains(id, ",") {
				t.Fatalf("ParseIDs(%q): bad ID %q", key, id)
			}
			for _, r := range id {
				if unicode.IsSpace(r) || unicode.IsControl(r) {
					t.Fatalf("ParseIDs(%q): ID %q contains %U, a space or control character", key, id, r)
				}
			}
		}
		again, err := target.ParseIDs(strings.Join(ids, ","))
		if err != nil || strings.Join(again, "\x00") != strings.Join(ids, "\x00") {
			t.Fatalf("ParseIDs(Join(%q)) = %q, %v; want the same IDs", ids, again, err)
		}
	})
}
