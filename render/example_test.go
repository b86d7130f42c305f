package render_test

import (
	"fmt"
	"os"
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
