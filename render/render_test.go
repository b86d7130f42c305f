package render_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"

	"github.com/diffy-dfir/diffy/analyze"
	"github.com/diffy-dfir/diffy/collect"
	"github.com/diffy-dfir/diffy/diffyerr"
	"github.com/diffy-dfir/diffy/render"
)

// hostile is a report whose row content tries every trick a compromised
// host can play on a terminal.
func hostile() *analyze.Report {
	row := collect.Row{
		"cmdline": "nc -l 4444\x1b[2J\x1b[1;1H",
		"name":    "evil\x00name",
		"path":    "/tmp/\xff\xfebin",
		"note":    "<script>alert(1)</script>",
		"port":    "4444",
	}
	return &analyze.Report{
		Key: "web-asg", Analyzer: "baseline",
		CreatedAt:        time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC),
		BaselineInstance: "i-0base",
		Hosts: []analyze.Host{
			{InstanceID: "i-0base", Findings: []analyze.Finding{}},
			{InstanceID: "i-0bad\x1b[31m", Outlier: true, Score: 2, Findings: []analyze.Finding{
				{CommandID: "listening_ports", Kind: analyze.KindAdded, Row: row, HostsWithRow: 1, Prevalence: 1.0 / 3},
				{CommandID: "crontab", Kind: analyze.KindRemoved, Row: collect.Row{"command": "run-parts /etc/cron.daily"}, HostsWithRow: 2, Prevalence: 2.0 / 3},
			}, Errors: []string{"users: Failed: command users exited with status 1: \x1b[5mboom"}},
			{InstanceID: "i-0ok", Findings: []analyze.Finding{}, Errors: []string{"processes: TimedOut: slow"}},
		},
		Skipped: []analyze.Skip{{Source: "saved/bad.json", Reason: "not valid JSON at line 3, column 7"}},
		Notes:   []string{"only 3 hosts: prevalence is rough"},
	}
}

func TestTable(t *testing.T) {
	r := hostile()
	r.Hosts[1].Findings[1].Why = "the baseline runs run-parts daily, this host does not: " + strings.Repeat("long reason ", 12) + "end"
	var buf bytes.Buffer
	if err := render.Table(&buf, r); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	checkWidth(t, out, render.DefaultWidth)
	for _, want := range []string{
		"      why: the baseline runs run-parts daily, this host does not: long reason long reason long\n           reason long",
		"reason end\n",
		"web-asg: 1 of 3 hosts is an outlier (baseline analysis against i-0base; 2 hosts had commands fail; 1\ninput skipped).\n",
		"made 2026-11-26T12:00:00Z\n",
		"Note: only 3 hosts: prevalence is rough\n",
		"Skipped: saved/bad.json: not valid JSON at line 3, column 7\n",
		"OUTLIERS, most telling first\n",
		`i-0bad\x1b[31m  score 2.00  2 findings`,
		"  KIND     COMMAND          HOSTS               ROW\n",
		`  added    listening_ports  1 of 3 hosts (33%)  cmdline="nc -l 4444\x1b[2J\x1b[1;1H" name=evil\x00n…` + "\n",
		`  removed  crontab          2 of 3 hosts (67%)  command="run-parts /etc/cron.daily"` + "\n",
		`  failed: users: Failed: command users exited with status 1: \x1b[5mboom`,
		"FAILED COMMANDS on hosts that are not outliers\n",
		"i-0ok  processes: TimedOut: slow\n",
		"2 hosts are not outliers.\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q; table:\n%s", want, out)
		}
	}
	if strings.ContainsAny(out, "\x1b\x00") || !utf8Valid(out) {
		t.Errorf("table holds raw control bytes or invalid UTF-8:\n%q", out)
	}
	if strings.Contains(out, "CLUSTERS") {
		t.Error("table shows a clusters section for a report without clusters")
	}
	if i, j := strings.Index(out, "OUTLIERS"), strings.Index(out, "FAILED COMMANDS"); i < 0 || j < i {
		t.Error("the outliers do not come first")
	}
}

func utf8Valid(s string) bool { return strings.ToValidUTF8(s, "?") == s }

// checkWidth fails if a line of out is wider than cols columns.
func checkWidth(t *testing.T, out string, cols int) {
	t.Helper()
	for i, l := range strings.Split(out, "\n") {
		if w := utf8.RuneCountInString(l); w > cols {
			t.Errorf("line %d is %d columns wide, more than %d: %q", i+1, w, cols, l)
		}
	}
}

// TestTableWidth: every line of a real report fits a 100-column terminal
// (and a narrower one when asked), long rows cut with an ellipsis; with
// WithVerbose they are folded, whole, onto more lines.
func TestTableWidth(t *testing.T) {
	rep, _ := clusterReport(t)
	for _, cols := range []int{render.DefaultWidth, 60, render.MinWidth} {
		var buf bytes.Buffer
		if err := render.Table(&buf, rep, render.WithWidth(cols)); err != nil {
			t.Fatal(err)
		}
		checkWidth(t, buf.String(), cols)
		if !strings.Contains(buf.String(), "…\n") {
			t.Errorf("width %d: no row was cut", cols)
		}
		var clusters int
		for _, l := range strings.Split(buf.String(), "\n") {
			if strings.Contains(l, " hosts  ") && strings.Contains(l, "trait") {
				clusters++
			}
		}
		if clusters != len(rep.Clusters) {
			t.Errorf("width %d: %d cluster lines, want one per cluster (%d)", cols, clusters, len(rep.Clusters))
		}
	}
	var buf bytes.Buffer
	if err := render.Table(&buf, rep, render.WithVerbose(true), render.WithMaxTraits(-1)); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	checkWidth(t, out, render.DefaultWidth)
	if strings.Contains(out, "…") {
		t.Error("WithVerbose cut a row")
	}
	// Every row of every finding and trait is there whole, once the
	// folding is undone (spaces aside: a fold at a space drops it).
	squash := func(s string) string { return strings.Join(strings.Fields(s), "") }
	flat := squash(out)
	for _, h := range rep.Outliers() {
		for _, f := range h.Findings {
			if !strings.Contains(flat, squash(render.FormatRow(f.Row))) {
				t.Errorf("verbose table lacks the row %s", render.FormatRow(f.Row))
			}
		}
	}
	for _, c := range rep.Clusters {
		for _, f := range c.Traits {
			if !strings.Contains(flat, squash(render.FormatRow(f.Row))) {
				t.Errorf("verbose table lacks the trait %s", render.FormatRow(f.Row))
			}
		}
	}
	// Wide characters count as two columns.
	wide := &analyze.Report{Key: "k", Hosts: []analyze.Host{{InstanceID: "i-1", Outlier: true, Score: 1,
		Findings: []analyze.Finding{{CommandID: "users", Kind: analyze.KindAdded, Row: collect.Row{"description": strings.Repeat("漢字", 60)}, HostsWithRow: 1, Prevalence: 1}}}}}
	buf.Reset()
	if err := render.Table(&buf, wide); err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(buf.String(), "\n") {
		cols := 0
		for _, r := range l {
			if r >= 0x4e00 && r <= 0x9fff {
				cols += 2
			} else {
				cols++
			}
		}
		if cols > render.DefaultWidth {
			t.Errorf("line of %d columns: %q", cols, l)
		}
	}
}

func TestTableClustersAndLimit(t *testing.T) {
	trait := func(name string) analyze.Finding {
		return analyze.Finding{CommandID: "processes", Kind: analyze.KindTrait, Row: collect.Row{"name": name}, HostsWithRow: 18, Prevalence: 0.9}
	}
	r := &analyze.Report{Key: "fleet", Analyzer: "cluster",
		Clusters: []analyze.Cluster{
			{ID: 0, Size: 18, Traits: []analyze.Finding{trait("nginx"), trait("envoy"), trait("node")}},
			{ID: 1, Size: 2},
		},
	}
	var findings []analyze.Finding
	for i := 0; i < 5; i++ {
		findings = append(findings, analyze.Finding{CommandID: "processes", Kind: analyze.KindRare, Row: collect.Row{"name": string(rune('a' + i))}, HostsWithRow: 1, Prevalence: 0.05})
	}
	r.Hosts = []analyze.Host{{InstanceID: "i-1", Outlier: true, Score: 7.25, Cluster: 1, Findings: findings, FindingsOmitted: 4}, {InstanceID: "i-2", Findings: []analyze.Finding{}}}
	var buf bytes.Buffer
	if err := render.Table(&buf, r, render.WithMaxFindings(3)); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	for _, want := range []string{
		"CLUSTERS (-v for what sets each apart)\n0  18 hosts  0 outliers  3 traits: processes name=nginx\n1   2 hosts  1 outlier   nothing sets it apart\n",
		"i-1  score 7.25  cluster 1  9 findings\n",
		"  rare  processes  1 of 2 hosts (5%)  name=c\n",
		"  ... 2 more findings (all are in the JSON report)\n",
		"  ... and 4 more the analyzer did not keep (its MaxFindings)\n",
		"1 host is not an outlier.",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q; table:\n%s", want, out)
		}
	}
	if strings.Contains(out, "name=d") || strings.Contains(out, "name=envoy") {
		t.Errorf("table shows more than 3 findings, or a cluster's second trait without -v:\n%s", out)
	}
	buf.Reset()
	if err := render.Table(&buf, r, render.WithVerbose(true), render.WithMaxTraits(2)); err != nil {
		t.Fatal(err)
	}
	if want := "CLUSTERS\n0  18 hosts  0 outliers\n  KIND   COMMAND    HOSTS                ROW\n  trait  processes  18 of 2 hosts (90%)  name=nginx\n  trait  processes  18 of 2 hosts (90%)  name=envoy\n  ... 1 more trait\n"; !strings.Contains(buf.String(), want) {
		t.Errorf("verbose table lacks %q:\n%s", want, buf.String())
	}
}

// TestOptions checks what the Options of Table and HTML mean at their
// edges: a negative cap shows everything, a setting out of its range is
// refused before anything is written.
func TestOptions(t *testing.T) {
	var findings []analyze.Finding
	for i := 0; i < render.DefaultMaxFindings+5; i++ {
		findings = append(findings, analyze.Finding{CommandID: "processes", Kind: analyze.KindRare, Row: collect.Row{"name": fmt.Sprintf("p%02d", i)}, HostsWithRow: 1})
	}
	r := &analyze.Report{Key: "fleet", Analyzer: "cluster", Hosts: []analyze.Host{{InstanceID: "i-1", Outlier: true, Score: 3, Findings: findings}}}
	var buf bytes.Buffer
	if err := render.Table(&buf, r, render.WithMaxFindings(-1)); err != nil {
		t.Fatal(err)
	}
	if last := fmt.Sprintf("name=p%02d", len(findings)-1); !strings.Contains(buf.String(), last) || strings.Contains(buf.String(), "more finding") {
		t.Errorf("WithMaxFindings(-1): table does not show all %d findings:\n%s", len(findings), buf.String())
	}
	buf.Reset()
	if err := render.Table(&buf, r); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), "... 5 more findings") {
		t.Errorf("default table does not cut at DefaultMaxFindings (%d):\n%s", render.DefaultMaxFindings, buf.String())
	}
	for name, opt := range map[string]render.Option{
		"WithOpen(-1)":          render.WithOpen(-1),
		"WithMinMapHosts(0)":    render.WithMinMapHosts(0),
		"WithWidth(MinWidth-1)": render.WithWidth(render.MinWidth - 1),
	} {
		buf.Reset()
		if err := render.HTML(&buf, r, opt); !errors.Is(err, diffyerr.ErrInvalidInput) || buf.Len() != 0 {
			t.Errorf("HTML with %s = %v after writing %d bytes; want ErrInvalidInput and nothing written", name, err, buf.Len())
		}
		if err := render.Table(&buf, r, opt); !errors.Is(err, diffyerr.ErrInvalidInput) || buf.Len() != 0 {
			t.Errorf("Table with %s = %v after writing %d bytes; want ErrInvalidInput and nothing written", name, err, buf.Len())
		}
	}
}

func TestJSONKeepsContentIntact(t *testing.T) {
	in := hostile()
	// encoding/json turns invalid UTF-8 into U+FFFD; everything else must
	// come back exactly.
	in.Hosts[1].Findings[0].Row["path"] = "/tmp/bin"
	var buf bytes.Buffer
	if err := render.JSON(&buf, in); err != nil {
		t.Fatal(err)
	}
	if !json.Valid(buf.Bytes()) || !strings.HasSuffix(buf.String(), "}\n") || !strings.Contains(buf.String(), "\n  \"key\": \"web-asg\"") {
		t.Fatalf("not indented JSON:\n%s", buf.String())
	}
	if strings.ContainsAny(buf.String(), "\x1b\x00") || strings.Contains(buf.String(), "<script>") {
		t.Errorf("JSON holds raw control bytes or HTML:\n%s", buf.String())
	}
	var out analyze.Report
	if err := json.Unmarshal(buf.Bytes(), &out); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(in, &out); diff != "" {
		t.Errorf("report changed through JSON (-in +out):\n%s", diff)
	}
	var again bytes.Buffer
	if err := render.JSON(&again, &out); err != nil || again.String() != buf.String() {
		t.Errorf("JSON is not stable: second rendering differs (%v)", err)
	}
	for _, field := range []string{`"key"`, `"analyzer"`, `"created_at"`, `"hosts"`, `"instance_id"`, `"outlier"`, `"score"`, `"cluster"`, `"findings"`, `"command_id"`, `"kind"`, `"row"`, `"hosts_with_row"`, `"prevalence"`} {
		if !strings.Contains(buf.String(), field) {
			t.Errorf("JSON lacks the field %s of docs/design.md", field)
		}
	}
}

func TestNilReport(t *testing.T) {
	var buf bytes.Buffer
	if err := render.Table(&buf, nil); !errors.Is(err, diffyerr.ErrInvalidInput) {
		t.Errorf("Table(nil) = %v", err)
	}
	if err := render.JSON(&buf, nil); !errors.Is(err, diffyerr.ErrInvalidInput) {
		t.Errorf("JSON(nil) = %v", err)
	}
}

type failWriter struct{ n int }

func (f *failWriter) Write(p []byte) (int, error) {
	if f.n <= 0 {
		return 0, errors.New("disk full")
	}
	f.n--
	return len(p), nil
}

func TestTableReturnsWriteError(t *testing.T) {
	if err := render.Table(&failWriter{n: 1}, hostile()); err == nil || err.Error() != "disk full" {
		t.Errorf("Table to a failing writer = %v, want disk full", err)
	}
}
