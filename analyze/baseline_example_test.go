package analyze_test

import (
	"context"
	"fmt"
	"log"

	"github.com/diffy-dfir/diffy/analyze"
	"github.com/diffy-dfir/diffy/collect"
	"github.com/diffy-dfir/diffy/payload"
)

// Three web servers compared with a clean one. They all run sshd under
// different pids, which is not a difference; i-0c also listens on 4444.
func ExampleBaseline() {
	port := func(port, name, pid string) collect.Row {
		return collect.Row{"address": "0.0.0.0", "port": port, "protocol": "6", "name": name,
			"path": "/usr/sbin/" + name, "cmdline": name, "pid": pid}
	}
	result := func(inst string, rows ...collect.Row) collect.Result {
		return collect.Result{InstanceID: inst, CommandID: payload.ListeningPorts, Status: collect.StatusSuccess, Rows: rows}
	}
	baseline := []collect.Result{result("i-clean", port("22", "sshd", "612"))}
	results := []collect.Result{
		result("i-0a", port("22", "sshd", "701")),
		result("i-0b", port("22", "sshd", "688")),
		result("i-0c", port("22", "sshd", "655"), port("4444", "nc", "31337")),
	}

	rep, err := analyze.Baseline{}.Analyze(context.Background(), analyze.Input{Key: "web", Results: results, Baseline: baseline})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("hosts:", len(rep.Hosts), "baseline:", rep.BaselineInstance)
	for _, h := range rep.Outliers() {
		fmt.Println("outlier:", h.InstanceID, "score:", h.Score)
		for _, f := range h.Findings {
			fmt.Printf("  %s %s port %s (%s), on %d of %d hosts\n",
				f.Kind, f.CommandID, f.Row["port"], f.Row["name"], f.HostsWithRow, len(rep.Hosts))
		}
	}
	// Output:
	// hosts: 3 baseline: i-clean
	// outlier: i-0c score: 1
	//   added listening_ports port 4444 (nc), on 1 of 3 hosts
}

// Volatile columns are dropped before rows are compared; RowKey names a
// row for set membership.
func ExampleVolatile() {
	v := analyze.DefaultVolatile()
	a := collect.Row{"pid": "612", "name": "sshd", "path": "/usr/sbin/sshd", "cmdline": "sshd -D", "uid": "0", "parent": "1", "start_time": "1764158400"}
	b := collect.Row{"pid": "701", "name": "sshd", "path": "/usr/sbin/sshd", "cmdline": "sshd -D", "uid": "0", "parent": "1", "start_time": "1764162000"}
	fmt.Println(v.Columns(payload.Processes)[:3])
	fmt.Println(v.Strip(payload.Processes, a))
	fmt.Println(analyze.RowKey(a) == analyze.RowKey(b), v.Key(payload.Processes, a) == v.Key(payload.Processes, b))
	// Output:
	// [pid start_time uptime]
	// map[cmdline:sshd -D name:sshd path:/usr/sbin/sshd uid:0]
	// false true
}
