package render_test

import (
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/diffy-dfir/diffy/analyze"
	"github.com/diffy-dfir/diffy/collect"
	"github.com/diffy-dfir/diffy/render"
)

func ExampleTable() {
	r := &analyze.Report{
		Key: "web-asg", Analyzer: "baseline", BaselineInstance: "i-0a",
		CreatedAt: time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC),
		Hosts: []analyze.Host{
			{InstanceID: "i-0a", Findings: []analyze.Finding{}},
			{InstanceID: "i-0b", Outlier: true, Score: 1, Findings: []analyze.Finding{{
				CommandID: "listening_ports", Kind: analyze.KindAdded,
				Row:          collect.Row{"address": "0.0.0.0", "port": "4444", "name": "nc"},
				HostsWithRow: 1, Prevalence: 0.5,
			}}},
		},
	}
	if err := render.Table(os.Stdout, r); err != nil {
		fmt.Println(err)
	}
	// Output:
	// web-asg: 1 of 2 hosts is an outlier (baseline analysis against i-0a).
	// made 2026-11-26T12:00:00Z
	//
	// OUTLIERS, most telling first
	// i-0b  score 1.00  1 finding
	//   KIND   COMMAND          HOSTS               ROW
	//   added  listening_ports  1 of 2 hosts (50%)  address=0.0.0.0 name=nc port=4444
	//
	// 1 host is not an outlier.
}

func ExampleEscape() {
	fmt.Println(render.Escape("nc\x1b[2J -l\x00 4444 \xff café"))
	// Output: nc\x1b[2J -l\x00 4444 \xff café
}

func ExampleJSON() {
	r := &analyze.Report{Key: "local", Analyzer: "baseline", Hosts: []analyze.Host{{InstanceID: "local", Findings: []analyze.Finding{}}}}
	if err := render.JSON(os.Stdout, r); err != nil {
		fmt.Println(err)
	}
	// Output:
	// {
	//   "key": "local",
	//   "analyzer": "baseline",
	//   "created_at": "0001-01-01T00:00:00Z",
	//   "hosts": [
	//     {
	//       "instance_id": "local",
	//       "outlier": false,
	//       "score": 0,
	//       "cluster": 0,
	//       "findings": []
	//     }
	//   ]
	// }
}

// CSV writes one record per finding, and one per host without findings,
// for a spreadsheet or a script.
func ExampleCSV() {
	r := &analyze.Report{
		Key: "web-asg", Analyzer: "baseline",
		Hosts: []analyze.Host{
			{InstanceID: "i-0a", Findings: []analyze.Finding{}},
			{InstanceID: "i-0b", Outlier: true, Score: 1, Rank: 1, Findings: []analyze.Finding{{
				CommandID: "listening_ports", Kind: analyze.KindAdded,
				Row: collect.Row{"port": "4444", "name": "nc"}, HostsWithRow: 1, Prevalence: 0.5,
			}}},
		},
	}
	if err := render.CSV(os.Stdout, r); err != nil {
		fmt.Println(err)
	}
	// Output:
	// key,analyzer,instance_id,name,private_ip,tags,outlier,score,rank,cluster,findings,findings_omitted,errors,finding,kind,command_id,hosts_with_row,prevalence,row,why,template,hosts_with_template,column,usual,usual_hosts,deciding
	// web-asg,baseline,i-0a,,,,false,0,0,0,0,0,,,,,,,,,,,,,,
	// web-asg,baseline,i-0b,,,,true,1,1,0,1,0,,1,added,listening_ports,1,0.5,"{""name"":""nc"",""port"":""4444""}",,,0,,,0,false
}

// HTML writes one page an investigator opens from a file: the verdict,
// the outliers and their findings, a map and a table of every host.
func ExampleHTML() {
	r := &analyze.Report{Key: "web-asg", Analyzer: "baseline", Hosts: []analyze.Host{
		{InstanceID: "i-0a", Findings: []analyze.Finding{}},
		{InstanceID: "i-0b", Outlier: true, Score: 1, Findings: []analyze.Finding{{
			CommandID: "users", Kind: analyze.KindAdded, Row: collect.Row{"username": "toor", "uid": "0"}, HostsWithRow: 1, Prevalence: 0.5,
		}}},
	}}
	var page strings.Builder
	if err := render.HTML(&page, r, render.WithTitle("web-asg, incident IR-7"), render.WithOpen(1)); err != nil {
		fmt.Println(err)
	}
	fmt.Println(render.Verdict(r))
	fmt.Println(strings.Contains(page.String(), "users row, not in the baseline: 1 of 2 hosts (50%) has it"))
	// Output:
	// 1 of 2 hosts is an outlier (baseline analysis).
	// true
}
