package render_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"html"
	"regexp"
	"strconv"
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
	// No asset from the network: every src and href is a fragment.
	for _, m := range regexp.MustCompile(`(?i)(src|href|action)\s*=\s*"([^"]*)"`).FindAllStringSubmatch(page, -1) {
		if !strings.HasPrefix(m[2], "#") {
			t.Errorf("the page loads %s=%q", m[1], m[2])
		}
	}
	if strings.Contains(page, "@import") || strings.Contains(page, "url(") {
		t.Error("the page imports a style sheet or loads a URL from its CSS")
	}
	// One script and one style sheet, both inline and allowed by the
	// page's Content-Security-Policy by their hashes, and nothing else.
	scripts := regexp.MustCompile(`(?s)<script>(.*?)</script>`).FindAllStringSubmatch(page, -1)
	styles := regexp.MustCompile(`(?s)<style>(.*?)</style>`).FindAllStringSubmatch(page, -1)
	if len(scripts) != 1 || strings.Count(strings.ToLower(page), "<script") != 1 || len(styles) != 1 {
		t.Fatalf("the page has %d scripts and %d style sheets, want one of each", len(scripts), len(styles))
	}
	csp := regexp.MustCompile(`<meta http-equiv="Content-Security-Policy" content="([^"]*)">`).FindStringSubmatch(page)
	if csp == nil {
		t.Fatal("the page has no Content-Security-Policy")
	}
	policy := html.UnescapeString(csp[1])
	for _, want := range []string{"default-src 'none'", "script-src '" + sha(scripts[0][1]) + "'", "style-src '" + sha(styles[0][1]) + "'"} {
		if !strings.Contains(policy, want) {
			t.Errorf("the policy %q lacks %q", policy, want)
		}
	}
	// The map is inline SVG: one dot per host, each a link to the host.
	if n := strings.Count(page, "<a href=\"#h") + strings.Count(page, "<a href=\"#r"); n < len(rep.Hosts) {
		t.Errorf("%d host links, want at least one dot per host (%d)", n, len(rep.Hosts))
	}
	if !strings.Contains(page, `<svg id="map"`) {
		t.Error("the page of 200 hosts has no map")
	}
	// Every outlier has its card, every host its table row.
	outliers := rep.Outliers()
	if len(outliers) == 0 {
		t.Fatal("the fleet report has no outlier to show")
	}
	for _, h := range outliers {
		if !strings.Contains(page, `<b class="id">`+h.InstanceID+"</b>") {
			t.Errorf("outlier %s has no card", h.InstanceID)
		}
	}
	for i, h := range rep.Hosts {
		if !regexp.MustCompile(`<tr id="r` + strconv.Itoa(i) + `"[^>]*><td class="id">(<a [^>]*>)?` + h.InstanceID + `<`).MatchString(page) {
			t.Errorf("host %s has no row in the table", h.InstanceID)
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

func sha(s string) string {
	sum := sha256.Sum256([]byte(s))
	return "sha256-" + base64.StdEncoding.EncodeToString(sum[:])
}

func TestHTMLEscapesHostContent(t *testing.T) {
	for _, minMap := range []int{render.DefaultHTMLMinMapHosts, 1} { // without and with a map
		var buf bytes.Buffer
		if err := render.HTML(&buf, hostileHTMLReport(), render.WithMinMapHosts(minMap)); err != nil {
			t.Fatal(err)
		}
		page := buf.String()
		if got := strings.Contains(page, `<svg id="map"`); got != (minMap == 1) {
			t.Errorf("MinMapHosts %d: map drawn = %v", minMap, got)
		}
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
}

func TestHTMLNoMap(t *testing.T) {
	// A baseline report has no positions and one cluster: no map, and the
	// page says why.
	r := &analyze.Report{Key: "k", Analyzer: "baseline"}
	for i := range 40 {
		h := analyze.Host{InstanceID: fmt.Sprintf("i-%02d", i), Findings: []analyze.Finding{}}
		if i%10 == 0 {
			h.Outlier, h.Score = true, 1
			h.Findings = append(h.Findings, analyze.Finding{CommandID: "users", Kind: analyze.KindAdded, Row: collect.Row{"username": "x" + h.InstanceID}, HostsWithRow: 1, Prevalence: 0.025})
		}
		r.Hosts = append(r.Hosts, h)
	}
	page := renderHTML(t, r)
	if strings.Contains(page, `<svg id="map"`) || !strings.Contains(page, "the baseline analyzer places the hosts on none") {
		t.Error("a baseline report got a map, or no word of why not")
	}
	if !strings.Contains(page, `<b class="id">i-00</b>`) || !strings.Contains(page, "not in the baseline: 1 of 40 hosts (2.5%) has it") {
		t.Error("the baseline report's page lacks its outliers' findings in plain words")
	}
	// A small group gets no map either.
	rep, _ := clusterReport(t)
	rep.Hosts = rep.Hosts[:render.DefaultHTMLMinMapHosts-1]
	if page := renderHTML(t, rep); strings.Contains(page, `<svg id="map"`) || !strings.Contains(page, "No map for 24 hosts") {
		t.Error("a group of 24 hosts got a map")
	}
}

func TestHTMLCutListsSaySo(t *testing.T) {
	var fs []analyze.Finding
	for i := range 5 {
		fs = append(fs, analyze.Finding{CommandID: "processes", Kind: analyze.KindRare, Row: collect.Row{"name": fmt.Sprintf("p%d", i)}, HostsWithRow: 1, Prevalence: 0.5})
	}
	fs[0].Deciding, fs[0].Why, fs[0].Template, fs[0].HostsWithTemplate = true, `name="p0" where 3 of 4 hosts have "init"`, collect.Row{"name": "*"}, 4
	r := &analyze.Report{Key: "k", Analyzer: "cluster", Hosts: []analyze.Host{
		{InstanceID: "i-1", Outlier: true, Score: 9, Rank: 1, Findings: fs, FindingsOmitted: 7},
		{InstanceID: "i-2", Outlier: true, Score: 8, Findings: fs[:1]},
		{InstanceID: "i-3", Outlier: true, Score: 7, Findings: fs[:1]},
		{InstanceID: "i-4", Score: 1, Findings: fs[:1]},
	}}
	var buf bytes.Buffer
	if err := render.HTML(&buf, r, render.WithMaxFindings(2), render.WithMaxHosts(2)); err != nil {
		t.Fatal(err)
	}
	page := buf.String()
	for _, want := range []string{
		"3 more findings not listed here (2 of 5 shown): all are in the JSON report.",
		"The analyzer kept 5 of this host&#39;s 12 findings: 7 more were not kept",
		"#1 · score 9.00</span> · 12 findings",
		`<span class="decides" title="this finding makes the host an outlier">decides</span> processes row: 1 of 4 hosts (50%) has it`,
		`<p class="why">name=&#34;p0&#34; where 3 of 4 hosts have &#34;init&#34;</p>`,
		`template, on 4 hosts: <code>name=*</code>`,
		`<li class="finding context"`,
		"1 more outlier, with lower scores, is not shown here",
		"1 more host with findings, with lower scores, is not shown here",
	} {
		if !strings.Contains(page, want) {
			t.Errorf("the page lacks %q", want)
		}
	}
	if strings.Contains(page, "name=p2") {
		t.Error("the page lists more than MaxFindings findings")
	}
	if !strings.Contains(page, `<b class="id">i-2</b>`) || strings.Contains(page, `<b class="id">i-3</b>`) {
		t.Error("MaxHosts 2 did not keep the two most telling outliers")
	}
}

func TestHTMLNilReport(t *testing.T) {
	if err := render.HTML(&bytes.Buffer{}, nil); err == nil {
		t.Fatal("HTML of a nil report did not fail")
	}
}
