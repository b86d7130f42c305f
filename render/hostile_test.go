package render_test

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/diffy-dfir/diffy/analyze"
	"github.com/diffy-dfir/diffy/collect"
	"github.com/diffy-dfir/diffy/render"
)

// hostileTexts are strings a compromised host can put in its rows, its
// instance's name, its errors: NUL, ANSI escape sequences (clear the
// screen, set the window title, a fake prompt), HTML and script, invalid
// UTF-8, a bidi override, C1 controls, carriage returns, a backslash
// that could fake an escape.
var hostileTexts = map[string]string{
	"nul":      "before\x00after",
	"ansi":     "\x1b[2J\x1b[H\x1b]0;owned\x07$ sudo rm -rf /",
	"html":     `<script>alert(document.cookie)</script><img src=x onerror="alert(1)">&amp;`,
	"badutf8":  "bad \xff\xfe\xc3 utf8",
	"bidi":     "invoice\u202egnp.exe",
	"c1":       "csi\u009b31m red",
	"cr":       "shown\rhidden",
	"fakeesc":  `literal \x1b text`,
	"newlines": "line1\nline2\u2028line3",
}

// hostileReport puts every hostile string in every place of a Report that
// can hold host-controlled text.
func hostileReport() *analyze.Report {
	r := &analyze.Report{Key: "k\x1b[31m", Analyzer: "cluster", CreatedAt: time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)}
	for name, v := range hostileTexts {
		row := collect.Row{"value": v, "col " + v: name}
		f := analyze.Finding{CommandID: "cmd_" + name, Kind: analyze.KindRare, Row: row, HostsWithRow: 1, Prevalence: 0.01}
		r.Hosts = append(r.Hosts, analyze.Host{InstanceID: "i-" + v, Outlier: true, Score: 3, Findings: []analyze.Finding{f},
			Errors: []string{"processes: Failed: " + v}})
		r.Hosts = append(r.Hosts, analyze.Host{InstanceID: "i-quiet-" + v, Findings: []analyze.Finding{}, Errors: []string{"crontab: " + v}})
		r.Clusters = append(r.Clusters, analyze.Cluster{ID: len(r.Clusters), Size: 1, Traits: []analyze.Finding{f}})
		r.Skipped = append(r.Skipped, analyze.Skip{Source: "file-" + v + ".json", Reason: v})
		r.Notes = append(r.Notes, "note "+v)
	}
	return r
}

// checkTerminalSafe fails if out holds anything a terminal would act on
// or that is not valid UTF-8: control characters other than newline (and
// the table's own spaces), C1 controls, format characters such as bidi
// overrides, line separators.
func checkTerminalSafe(t *testing.T, out string) {
	t.Helper()
	if !utf8.ValidString(out) {
		t.Errorf("output is not valid UTF-8")
	}
	for i, r := range out {
		if r == '\n' {
			continue
		}
		if r == utf8.RuneError || !unicode.IsPrint(r) {
			t.Errorf("output byte %d: %U is not printable: %q", i, r, out[max(0, i-30):min(len(out), i+30)])
			return
		}
	}
}

// TestHostileTable: every hostile string comes out of Table escaped, and
// still readable as its escape (nothing dropped).
func TestHostileTable(t *testing.T) {
	var buf bytes.Buffer
	if err := render.Table(&buf, hostileReport()); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	checkTerminalSafe(t, out)
	for _, want := range []string{`before\x00after`, `\x1b[2J\x1b[H\x1b]0;owned\x07`, `bad \xff\xfe\xc3 utf8`,
		`invoice\u202egnp.exe`, `csi\u009b31m`, `shown\rhidden`, `literal \\x1b text`, `line1\nline2\u2028line3`} {
		if !strings.Contains(out, want) {
			t.Errorf("Table output lacks the escaped form %s", want)
		}
	}
}

// TestHostileEscapeEveryByte: Escape of every single byte and of every
// rune class is terminal-safe, and distinct inputs stay distinct.
func TestHostileEscapeEveryByte(t *testing.T) {
	seen := map[string]string{}
	check := func(s string) {
		e := render.Escape(s)
		checkTerminalSafe(t, e)
		if strings.Contains(e, "\n") {
			t.Errorf("Escape(%q) = %q keeps a newline", s, e)
		}
		if prev, ok := seen[e]; ok && prev != s {
			t.Errorf("Escape(%q) = Escape(%q) = %q", s, prev, e)
		}
		seen[e] = s
	}
	for b := 0; b < 256; b++ {
		check(string([]byte{byte(b)}))
	}
	for _, r := range []rune{0x80, 0x9f, 0xa0, 0xad, 0x200b, 0x200e, 0x202a, 0x202e, 0x2028, 0x2029, 0x2066, 0xfeff, 0xe000, 0x10ffff, 0x1f600} {
		check(string(r))
	}
}

// TestHostileJSON: JSON keeps every hostile string intact (invalid UTF-8
// bytes become U+FFFD, as encoding/json writes them), its output holds no
// raw control character or HTML, and it reads back to the same Report.
func TestHostileJSON(t *testing.T) {
	in := hostileReport()
	var buf bytes.Buffer
	if err := render.JSON(&buf, in); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	for i, r := range out {
		if (r < 0x20 && r != '\n') || r == 0x7f || r == utf8.RuneError {
			t.Fatalf("JSON output byte %d is a raw %U", i, r)
		}
	}
	if strings.Contains(out, "<script>") {
		t.Error("JSON output holds a raw <script> tag")
	}
	var back analyze.Report
	if err := json.Unmarshal(buf.Bytes(), &back); err != nil {
		t.Fatalf("JSON output does not read back: %v", err)
	}
	if len(back.Hosts) != len(in.Hosts) {
		t.Fatalf("%d hosts back, want %d", len(back.Hosts), len(in.Hosts))
	}
	byID := map[string]analyze.Host{}
	for _, h := range back.Hosts {
		byID[h.InstanceID] = h
	}
	for _, h := range in.Hosts {
		got, ok := byID[jsonText(h.InstanceID)]
		if !ok {
			t.Errorf("host %q lost", h.InstanceID)
			continue
		}
		for i, f := range h.Findings {
			for k, v := range f.Row {
				k, v = jsonText(k), jsonText(v)
				if got.Findings[i].Row[k] != v {
					t.Errorf("host %q finding %d column %q = %q, want %q", h.InstanceID, i, k, got.Findings[i].Row[k], v)
				}
			}
		}
		if got.Errors[0] != jsonText(h.Errors[0]) {
			t.Errorf("host %q error %q, want %q", h.InstanceID, got.Errors[0], h.Errors[0])
		}
	}
}

// jsonText is s as encoding/json carries it: the one invalid run of
// hostileTexts ("\xff\xfe\xc3", three bad bytes) becomes three U+FFFD.
func jsonText(s string) string { return strings.ToValidUTF8(s, "\ufffd\ufffd\ufffd") }

// benignReport has hostileReport's shape with harmless text, for the
// markup HTML itself writes.
func benignReport() *analyze.Report {
	r := hostileReport()
	clean := func(s string) string {
		var b strings.Builder
		for _, c := range s {
			if c < 0x80 && (c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
				b.WriteRune(c)
			} else {
				b.WriteByte('x')
			}
		}
		return b.String()
	}
	cleanFindings := func(fs []analyze.Finding) {
		for j := range fs {
			row := collect.Row{}
			for k, v := range fs[j].Row {
				row[clean(k)] = clean(v)
			}
			fs[j].Row, fs[j].CommandID = row, clean(fs[j].CommandID)
		}
	}
	r.Key = clean(r.Key)
	for i := range r.Hosts {
		h := &r.Hosts[i]
		h.InstanceID = clean(h.InstanceID)
		cleanFindings(h.Findings)
		for j := range h.Errors {
			h.Errors[j] = clean(h.Errors[j])
		}
	}
	for i := range r.Clusters {
		cleanFindings(r.Clusters[i].Traits)
	}
	for i := range r.Skipped {
		r.Skipped[i] = analyze.Skip{Source: clean(r.Skipped[i].Source), Reason: clean(r.Skipped[i].Reason)}
	}
	for i := range r.Notes {
		r.Notes[i] = clean(r.Notes[i])
	}
	return r
}

// tags counts the element tags in an HTML page by name ("script",
// "/script", "img", "!doctype").
func tags(page string) map[string]int {
	n := map[string]int{}
	for i := 0; i < len(page); i++ {
		if page[i] != '<' {
			continue
		}
		j := i + 1
		for j < len(page) && (page[j] == '/' || page[j] == '!' || page[j] >= 'a' && page[j] <= 'z' || page[j] >= 'A' && page[j] <= 'Z' || page[j] >= '0' && page[j] <= '9') {
			j++
		}
		if j > i+1 {
			n[strings.ToLower(page[i+1:j])]++
		}
	}
	return n
}

// TestHostileHTML: every hostile string in every field comes out of HTML
// as text: the page has no element the benign page of the same shape does
// not have, no raw control byte, and is valid UTF-8.
func TestHostileHTML(t *testing.T) {
	var hostileOut, benignOut bytes.Buffer
	if err := render.HTML(&hostileOut, hostileReport()); err != nil {
		t.Fatal(err)
	}
	if err := render.HTML(&benignOut, benignReport()); err != nil {
		t.Fatal(err)
	}
	page := hostileOut.String()
	if !utf8.ValidString(page) {
		t.Error("HTML page is not valid UTF-8")
	}
	for i, r := range page {
		if (r < 0x20 && r != '\n' && r != '\t' && r != '\r') || r == 0x7f || (r >= 0x80 && r < 0xa0) || r == '\u202e' {
			t.Fatalf("HTML page byte %d: raw %U near %q", i, r, page[max(0, i-40):min(len(page), i+40)])
		}
	}
	got, want := tags(page), tags(benignOut.String())
	for name, n := range got {
		if n > want[name] {
			t.Errorf("hostile page has %d <%s> tags, the benign page %d: host content became markup", n, name, want[name])
		}
	}
	for _, s := range []string{"&lt;script&gt;alert(document.cookie)&lt;/script&gt;", "onerror=&#34;alert(1)&#34;"} {
		if !strings.Contains(page, s) {
			t.Errorf("HTML page lacks the hostile text shown escaped: %s", s)
		}
	}
}
