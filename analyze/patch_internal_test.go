package analyze

import (
	"testing"

	"github.com/diffy-dfir/diffy/collect"
)

// TestPatch checks that unpatch makes again the values appendPatch was
// given, whatever they share with their normalized form.
func TestPatch(t *testing.T) {
	pairs := [][2]string{
		{"/usr/bin/java -jar a.jar --port 38321", "/usr/bin/java -jar a.jar --port <port>"},
		{"10.0.3.4", "<ip>"},
		{"ip-10-0-1-2.ec2.internal:8080", "<host>:8080"},
		{"aaa", "aaaa"},
		{"aaaa", "aaa"},
		{"", "<x>"},
		{"x", ""},
		{"abcabc", "abc"},
		{"<num> 123456", "<num> <num>"},
	}
	for _, p := range pairs {
		for _, wrapped := range []bool{false, true} {
			value, norm := p[0], p[1]
			if wrapped {
				value, norm = "pre "+value+" post", "pre "+norm+" post"
			}
			patch := appendPatch(nil, "cmdline", value, norm)
			patch = appendPatch(patch, "address", "1.2.3.4", "<ip>")
			row := collect.Row{"cmdline": norm, "address": "<ip>", "name": "x"}
			unpatch(row, string(patch))
			if row["cmdline"] != value || row["address"] != "1.2.3.4" || row["name"] != "x" || len(row) != 3 {
				t.Errorf("appendPatch(%q, %q), unpatch: %q", value, norm, row)
			}
		}
	}
}

// TestPatchArena checks that every patch comes back as it was added,
// empty ones, ones filling a block's end and ones larger than a block.
func TestPatchArena(t *testing.T) {
	var a patchArena
	var want []string
	var refs []patchRef
	for i := range 3000 {
		n := (i * 37) % 200
		if i%500 == 7 {
			n = patchBlock + i // a block of its own
		}
		p := make([]byte, n)
		for j := range p {
			p[j] = byte(i + j)
		}
		want = append(want, string(p))
		refs = append(refs, a.add(p))
	}
	if len(a.blocks) < 2 {
		t.Fatalf("%d blocks: the test does not cross a block", len(a.blocks))
	}
	for i, ref := range refs {
		if got := a.get(ref); got != want[i] {
			t.Fatalf("patch %d: got %d bytes, want %d", i, len(got), len(want[i]))
		}
	}
}

// TestSharer checks that equal slices get one array, others their own
// copy, and empty ones nil.
func TestSharer(t *testing.T) {
	var s sharer[featParent]
	buf := []featParent{{1, 2, 3}, {4, 5, 6}}
	a := s.share(buf)
	buf[1].pf = 7
	b := s.share(buf)
	buf[1].pf = 6
	c := s.share(buf)
	if &a[0] == &buf[0] || &a[0] != &c[0] || &a[0] == &b[0] {
		t.Fatalf("arrays: a %p, b %p, c %p, given %p: want a == c, and neither b nor the given one", &a[0], &b[0], &c[0], &buf[0])
	}
	if a[1].pf != 6 || b[1].pf != 7 {
		t.Fatalf("values: a %v, b %v", a, b)
	}
	if got := s.share(buf[:0]); got != nil {
		t.Fatalf("empty: got %v, want nil", got)
	}
}
