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
