package render_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"html"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/diffy-dfir/diffy/analyze"
	"github.com/diffy-dfir/diffy/collect"
	"github.com/diffy-dfir/diffy/diffytest/fleet"
	"github.com/diffy-dfir/diffy/render"
)

// clusterReport analyzes a small simulated fleet with the cluster analyzer.
func clusterReport(t *testing.T) (*analyze.Report, *fleet.Fleet) {
	t.Helper()
	f := fleet.Generate(fleet.Scenario("medium"))
	rep, err := analyze.Clustering{Now: func() time.Time { return time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC) }}.
		Analyze(context.Background(), analyze.Input{Key: "shop-prod", Results: f.Results(time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC))})
	if err != nil {
		t.Fatal(err)
	}
	return rep, f
}

// hostileHTMLReport has host content made to break out of HTML.
func hostileHTMLReport() *analyze.Report {
	evil := collect.Row{
		"cmdline": `<script>alert("row")</script>`,
		"path":    `"><img src=x onerror=alert(1)>`,
		"name":    "\x1b[31mred\x1b[0m\x00nul\xff",
		"port":    "</td></tr></table><h1>injected</h1>",
	}
	return &analyze.Report{
		Key: `<b>key</b>`, Analyzer: "cluster",
		Hosts: []analyze.Host{
			{InstanceID: `i-<script>alert("id")</script>`, Outlier: true, Score: 3, Cluster: 0, Position: []float64{1, 2},
				Findings: []analyze.Finding{{CommandID: "listening_ports", Kind: analyze.KindRare, Row: evil, HostsWithRow: 1, Prevalence: 0.5}},
				Errors:   []string{`processes: Failed: <iframe src="http://example.com">`}},
			{InstanceID: "i-0clean", Cluster: 0, Position: []float64{0, 0}, Findings: []analyze.Finding{}},
		},
		Clusters: []analyze.Cluster{{ID: 0, Size: 2, Traits: []analyze.Finding{{CommandID: "users", Kind: analyze.KindTrait, Row: evil, HostsWithRow: 2, Prevalence: 1}}}},
		Notes:    []string{`note <script>alert("note")</script>`},
		Skipped:  []analyze.Skip{{Source: `<svg onload=alert(1)>`, Reason: "bad"}},
	}
}

func renderHTML(t *testing.T, r *analyze.Report) string {
	t.Helper()
	var buf bytes.Buffer
	if err := render.HTML(&buf, r); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

func TestHTMLSelfContained(t *testing.T) {
	rep, f := clusterReport(t)
	page := renderHTML(t, rep)
	if !strings.Contains(page, `<img id="map-image" src="data:image/svg`) {
		t.Fatal("the page has no inline map image")
	}
	// No asset from the network: every src and href is a data URI or a
	// fragment.
	for _, m := range regexp.MustCompile(`(?i)(src|href)\s*=\s*"([^"]*)"`).FindAllStringSubmatch(page, -1) {
		if !strings.HasPrefix(m[2], "data:") && !strings.HasPrefix(m[2], "#") {
			t.Errorf("the page loads %s=%q", m[1], m[2])
		}
	}
	if strings.Contains(strings.ToLower(page), "<script") || strings.Contains(page, "@import") {
		t.Error("the page has a script or an import")
	}
	// The map is an SVG drawn by gonum plot.
	m := regexp.MustCompile(`src="(data:image/svg[^"]+)"`).FindStringSubmatch(page)
	uri := html.UnescapeString(m[1])
	svg, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(uri, "data:image/svg+xml;base64,"))
	if err != nil || !bytes.Contains(svg, []byte("<svg")) {
		t.Fatalf("the map is not an SVG: %v", err)
	}
	// Every outlier is listed with its first finding.
	outliers := rep.Outliers()
	if len(outliers) == 0 {
		t.Fatal("the fleet report has no outlier to show")
	}
	for _, h := range outliers {
		if !strings.Contains(page, "<h3>"+h.InstanceID+"</h3>") {
			t.Errorf("outlier %s is not listed", h.InstanceID)
		}
	}
	for _, h := range f.Hosts {
		for _, p := range h.Planted {
			if p.CommandID == "kernel_modules" && !strings.Contains(page, p.Row["name"]) {
				t.Errorf("planted module %s is not shown", p.Row["name"])
			}
		}
	}
}

func TestHTMLEscapesHostContent(t *testing.T) {
	page := renderHTML(t, hostileHTMLReport())
	for _, bad := range []string{"<script>alert", "<img src=x", "<h1>injected", "<iframe", "<svg onload", "\x1b", "\x00", "\xff", "<b>key</b>"} {
		if strings.Contains(page, bad) {
			t.Errorf("host content %q reached the page unescaped", bad)
		}
	}
	for _, want := range []string{`&lt;script&gt;alert(\&#34;row\&#34;)&lt;/script&gt;`, `\x1b[31mred`, `\x00nul\xff`, "&lt;h1&gt;injected"} {
		if !strings.Contains(page, want) {
			t.Errorf("the page lacks the escaped form %q", want)
		}
	}
}

func TestHTMLBaselineReportMap(t *testing.T) {
	// A report without positions (a baseline report) gets a PCA map of its
	// findings.
	r := &analyze.Report{Key: "k", Analyzer: "baseline"}
	for i, id := range []string{"i-1", "i-2", "i-3", "i-4"} {
		h := analyze.Host{InstanceID: id, Findings: []analyze.Finding{}}
		if i%2 == 0 {
			h.Outlier = true
			h.Findings = append(h.Findings, analyze.Finding{CommandID: "users", Kind: analyze.KindAdded, Row: collect.Row{"username": "x" + id}})
		}
		h.Findings = append(h.Findings, analyze.Finding{CommandID: "users", Kind: analyze.KindRemoved, Row: collect.Row{"username": "common"}})
		r.Hosts = append(r.Hosts, h)
	}
	page := renderHTML(t, r)
	if !strings.Contains(page, "data:image/svg") || !strings.Contains(page, "<h3>i-1</h3>") {
		t.Fatal("the baseline report's page lacks its map or its outliers")
	}
}

func TestHTMLNilReport(t *testing.T) {
	if err := render.HTML(&bytes.Buffer{}, nil); err == nil {
		t.Fatal("HTML of a nil report did not fail")
	}
}

// chromium returns the path of headless Chromium, or skips the test when
// it is missing outside CI; in CI (CI set) a missing Chromium fails.
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"/usr/bin/chromium", "chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") == "" {
		t.Skip("chromium is not installed (apt-get install chromium; .ci/run installs it); set CI to make this a failure")
	}
	t.Fatal("chromium is not installed, and CI is set: the HTML report must be checked in a browser")
	return ""
}

// runChromium runs headless Chromium on file with the extra arguments and
// returns its stdout.
func runChromium(t *testing.T, bin, file string, args ...string) string {
	t.Helper()
	base := []string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--user-data-dir=" + t.TempDir()}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, append(append(base, args...), "file://"+file)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("chromium: %v\n%s", err, stderr.String())
	}
	return stdout.String()
}

// TestHTMLInChromium loads the report in headless Chromium: the DOM it
// builds holds the map image and every outlier's findings, and a
// screenshot shows the map drawn (pixels of the cluster colours).
func TestHTMLInChromium(t *testing.T) {
	bin := chromium(t)
	rep, _ := clusterReport(t)
	dir := t.TempDir()
	file := filepath.Join(dir, "report.html")
	if err := os.WriteFile(file, []byte(renderHTML(t, rep)), 0o600); err != nil {
		t.Fatal(err)
	}
	dom := runChromium(t, bin, file, "--dump-dom")
	if !strings.Contains(dom, `id="map-image"`) || !strings.Contains(dom, "data:image/svg") {
		t.Fatal("the DOM Chromium built has no map image")
	}
	for _, h := range rep.Outliers() {
		if !strings.Contains(dom, h.InstanceID) {
			t.Errorf("the DOM lacks outlier %s", h.InstanceID)
		}
		if len(h.Findings) > 0 && !strings.Contains(dom, "<code>"+h.Findings[0].CommandID+"</code>") {
			t.Errorf("the DOM lacks the findings of %s", h.InstanceID)
		}
	}
	shot := filepath.Join(dir, "shot.png")
	runChromium(t, bin, file, "--screenshot="+shot, "--window-size=1000,1400", "--hide-scrollbars")
	fh, err := os.Open(shot)
	if err != nil {
		t.Fatalf("no screenshot: %v", err)
	}
	defer fh.Close()
	img, err := png.Decode(fh)
	if err != nil {
		t.Fatal(err)
	}
	// Count pixels near the first cluster colour (31,119,180) and the
	// outlier red (214,39,40): the map was decoded and drawn.
	blue, red := 0, 0
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl, _ := img.At(x, y).RGBA()
			r, g, bl = r>>8, g>>8, bl>>8
			if near(r, 31) && near(g, 119) && near(bl, 180) {
				blue++
			}
			if near(r, 214) && near(g, 39) && near(bl, 40) {
				red++
			}
		}
	}
	if blue < 20 || red < 5 {
		t.Errorf("the screenshot shows %d pixels of cluster blue and %d of outlier red: the map was not drawn", blue, red)
	}
}

func near(v, want uint32) bool { return v+12 >= want && v <= want+12 }

// TestHTMLHostileInChromium loads a report whose rows are made to inject
// markup: Chromium's DOM has them as text, with no element of theirs.
func TestHTMLHostileInChromium(t *testing.T) {
	bin := chromium(t)
	file := filepath.Join(t.TempDir(), "hostile.html")
	if err := os.WriteFile(file, []byte(renderHTML(t, hostileHTMLReport())), 0o600); err != nil {
		t.Fatal(err)
	}
	dom := runChromium(t, bin, file, "--dump-dom")
	for _, bad := range []string{"<script", "<iframe", "<h1>injected", "<img src=\"x\"", "<svg onload"} {
		if strings.Contains(dom, bad) {
			t.Errorf("Chromium's DOM has an element from host content: %q", bad)
		}
	}
	if !strings.Contains(dom, "&lt;script&gt;alert") {
		t.Error("Chromium's DOM lacks the hostile row as text")
	}
}
