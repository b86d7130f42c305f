package render_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

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
	var buf bytes.Buffer
	if err := render.Table(&buf, hostile()); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	for _, want := range []string{
		"Key:             web-asg",
		"Analyzer:        baseline",
		"Baseline from:   i-0base",
		"Hosts analyzed:  3",
		"Outliers:        1",
		"Note:            only 3 hosts: prevalence is rough",
		"Skipped:         saved/bad.json: not valid JSON at line 3, column 7",
		`i-0bad\x1b[31m  score 2.00  2 findings`,
		"KIND     COMMAND          HOSTS  PREVALENCE  ROW",
		`added    listening_ports  1      0.333       cmdline="nc -l 4444\x1b[2J\x1b[1;1H" name=evil\x00name note=<script>alert(1)</script> path=/tmp/\xff\xfebin port=4444`,
		`removed  crontab          2      0.667       command="run-parts /etc/cron.daily"`,
		`failed: users: Failed: command users exited with status 1: \x1b[5mboom`,
		"FAILED COMMANDS on hosts that are not outliers",
		"i-0ok  processes: TimedOut: slow",
		"2 hosts are not outliers.",
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
}

func utf8Valid(s string) bool { return strings.ToValidUTF8(s, "?") == s }

func TestTableClustersAndLimit(t *testing.T) {
	trait := func(name string) analyze.Finding {
		return analyze.Finding{CommandID: "processes", Kind: analyze.KindRare, Row: collect.Row{"name": name}, HostsWithRow: 18, Prevalence: 0.9}
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
	r.Hosts = []analyze.Host{{InstanceID: "i-1", Outlier: true, Score: 7.25, Cluster: 1, Findings: findings}, {InstanceID: "i-2", Findings: []analyze.Finding{}}}
	var buf bytes.Buffer
	if err := render.Table(&buf, r, render.WithMaxFindings(3), render.WithMaxTraits(2)); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	for _, want := range []string{
		"CLUSTERS\nID  SIZE  TRAITS\n0   18    processes name=nginx (18 hosts, 0.900)\n          processes name=envoy (18 hosts, 0.900)\n          ... 1 more trait\n1   2     -\n",
		"i-1  score 7.25  cluster 1  5 findings",
		"rare  processes  1      0.050       name=c\n",
		"... 2 more findings",
		"1 host is not an outlier.",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q; table:\n%s", want, out)
		}
	}
	if strings.Contains(out, "name=d") {
		t.Errorf("table shows more than 3 findings:\n%s", out)
	}
}

// TestOptions checks what the Options of Table and HTML mean at their
// edges: a negative cap shows everything, a size that cannot be drawn is
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
		"WithMaxPoints(0)":     render.WithMaxPoints(0),
		"WithMapSize(0, 100)":  render.WithMapSize(0, 100),
		"WithMapSize(100, -1)": render.WithMapSize(100, -1),
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
