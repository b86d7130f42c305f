package render_test

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/diffy-dfir/diffy/collect"
	"github.com/diffy-dfir/diffy/diffyerr"
	"github.com/diffy-dfir/diffy/render"
)

// TestCSV: one record per finding and one per host without findings,
// every host present, rows intact as JSON, and host text that a
// spreadsheet would run as a formula quoted.
func TestCSV(t *testing.T) {
	r := hostile()
	r.Hosts[1].FindingsOmitted = 3
	r.Hosts[1].InstanceID = "=HYPERLINK(\"http://evil\")"
	r.Hosts[0].Tags = map[string]string{"Role": "web"}
	f := &r.Hosts[1].Findings[0]
	f.Why, f.Template, f.HostsWithTemplate, f.Column, f.Usual, f.UsualHosts, f.Deciding =
		`port="4444" where 2 of 3 hosts have "22"`, collect.Row{"port": "*"}, 3, "port", "22", 2, true
	var buf bytes.Buffer
	if err := render.CSV(&buf, r); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	recs, err := csv.NewReader(&buf).ReadAll()
	if err != nil {
		t.Fatalf("not CSV: %v", err)
	}
	head := recs[0]
	col := map[string]int{}
	for i, c := range head {
		col[c] = i
	}
	for _, c := range []string{"instance_id", "outlier", "score", "cluster", "findings", "findings_omitted", "kind", "command_id", "hosts_with_row", "prevalence", "row", "tags", "errors"} {
		if _, ok := col[c]; !ok {
			t.Errorf("no column %s in %v", c, head)
		}
	}
	// hostile(): i-0base (no finding), the outlier (2 findings), i-0ok (none).
	if len(recs) != 1+1+2+1 {
		t.Fatalf("%d records, want a header and 4", len(recs))
	}
	base, out1, out2, ok := recs[1], recs[2], recs[3], recs[4]
	if base[col["instance_id"]] != "i-0base" || base[col["finding"]] != "" || base[col["kind"]] != "" || base[col["tags"]] != `{"Role":"web"}` {
		t.Errorf("host without findings: %q", base)
	}
	if out1[col["instance_id"]] != `'=HYPERLINK("http://evil")` {
		t.Errorf("a formula-like instance ID came out as %q", out1[col["instance_id"]])
	}
	if out1[col["findings"]] != "5" || out1[col["findings_omitted"]] != "3" || out1[col["finding"]] != "1" || out2[col["finding"]] != "2" {
		t.Errorf("finding counts: %q / %q", out1, out2)
	}
	var row collect.Row
	if err := json.Unmarshal([]byte(out1[col["row"]]), &row); err != nil {
		t.Fatalf("row %q is not JSON: %v", out1[col["row"]], err)
	}
	if row["cmdline"] != r.Hosts[1].Findings[0].Row["cmdline"] || row["name"] != "evil\x00name" {
		t.Errorf("row changed through CSV: %q", row)
	}
	for c, want := range map[string]string{"why": `port="4444" where 2 of 3 hosts have "22"`, "template": `{"port":"*"}`,
		"hosts_with_template": "3", "column": "port", "usual": "22", "usual_hosts": "2", "deciding": "true"} {
		if out1[col[c]] != want {
			t.Errorf("column %s = %q, want %q", c, out1[col[c]], want)
		}
	}
	if out2[col["kind"]] != "removed" || out2[col["command_id"]] != "crontab" || out2[col["hosts_with_row"]] != "2" {
		t.Errorf("second finding: %q", out2)
	}
	if ok[col["errors"]] != "processes: TimedOut: slow" || ok[col["outlier"]] != "false" {
		t.Errorf("host with an error: %q", ok)
	}
	checkTerminalSafe(t, out)
	if !strings.Contains(out, `\x1b[5mboom`) {
		t.Error("an error with an escape is not shown escaped")
	}
	if err := render.CSV(&buf, nil); !errors.Is(err, diffyerr.ErrInvalidInput) {
		t.Errorf("CSV(nil) = %v", err)
	}
}
