package parts

import "testing"

func TestPartKeys(t *testing.T) {
	for _, sk := range []string{"local", "a.b.c", "i-1,i-2", "Name=web%2Fprod"} {
		k := Key(sk, "ir-7", 12)
		gotSK, inc, n, ok := ParseKey(k)
		if !ok || gotSK != sk || inc != "ir-7" || n != 12 {
			t.Errorf("ParseKey(%q) = %q %q %d %v", k, gotSK, inc, n, ok)
		}
	}
	for _, k := range []string{"local", "local.00001", ".ir.00001", "a.ir.x", "a.i r.00001"} {
		if _, _, _, ok := ParseKey(k); ok {
			t.Errorf("ParseKey(%q) accepted a key that is not a part's", k)
		}
	}
}
