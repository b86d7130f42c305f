package render_test

import (
	"encoding/json"
	"io"
	"testing"

	"github.com/diffy-dfir/diffy/analyze"
	"github.com/diffy-dfir/diffy/render"
)

// TestStoredReportOutOfShape: `diffy show` and the server render a stored
// report as it is in the store, which another writer of the store (a
// bucket instances may also write to) could have made: counts that are
// negative or huge, a host's cluster that no cluster has, clusters with
// one ID twice, findings without rows, kinds no analyzer makes (a size of
// 10^12 would be felt if anything allocated by it). Every writer renders
// them without a panic or an error. (This held before; the test keeps
// it.)
func TestStoredReportOutOfShape(t *testing.T) {
	for _, doc := range []string{
		`{"hosts":[{"instance_id":"i-1","cluster":-5,"score":-1e308,"findings":null,"findings_omitted":-3}],"clusters":[{"id":-1,"size":-10,"traits":[{"row":null,"hosts_with_row":-1,"prevalence":1e308}]}]}`,
		`{"hosts":[{"instance_id":"i-1","cluster":9223372036854775807,"outlier":true,"score":1e308,"findings":[{"row":null,"kind":"weird","hosts_with_row":-9,"prevalence":-1e308,"template":{"a":"*"},"hosts_with_template":-1,"usual_hosts":-1,"deciding":true}],"findings_omitted":9223372036854775807}],"baseline_hosts":-1}`,
		`{"hosts":[{"instance_id":"","cluster":0,"outlier":true,"findings":[{"command_id":"","row":{"":""},"column":"nope"}]},{"instance_id":"","cluster":1}],"clusters":[{"id":0,"size":0},{"id":0,"size":0}]}`,
		`{"hosts":[],"clusters":[{"id":1,"size":1000000000000}],"baseline_hosts":1000000000000}`,
		`{"hosts":[{"instance_id":"i-1","tags":{"":""},"cluster":-9223372036854775808,"findings":[]}],"created_at":"0001-01-01T00:00:00Z","skipped":[{"source":"","reason":""}],"notes":[""]}`,
	} {
		var rep analyze.Report
		if err := json.Unmarshal([]byte(doc), &rep); err != nil {
			t.Fatal(err)
		}
		for name, write := range map[string]func() error{
			"table":    func() error { return render.Table(io.Discard, &rep) },
			"table -v": func() error { return render.Table(io.Discard, &rep, render.WithVerbose(true)) },
			"html":     func() error { return render.HTML(io.Discard, &rep) },
			"csv":      func() error { return render.CSV(io.Discard, &rep) },
			"json":     func() error { return render.JSON(io.Discard, &rep) },
		} {
			if err := write(); err != nil {
				t.Errorf("%s of %.60s: %v", name, doc, err)
			}
		}
		if render.Verdict(&rep) == "" {
			t.Errorf("no verdict for %.60s", doc)
		}
	}
}
