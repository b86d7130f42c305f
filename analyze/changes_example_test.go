package analyze_test

import (
	"context"
	"fmt"
	"log"

	"github.com/diffy-dfir/diffy/analyze"
	"github.com/diffy-dfir/diffy/collect"
)

// Changes compares each host with its own earlier Results: web-2 listens
// on a new port since yesterday; sshd's new pid on web-1 is no change.
func ExampleChanges() {
	ok := func(id, pid string, extra ...collect.Row) collect.Result {
		rows := append([]collect.Row{{"address": "0.0.0.0", "port": "22", "name": "sshd", "pid": pid}}, extra...)
		return collect.Result{InstanceID: id, CommandID: "listening_ports", Status: collect.StatusSuccess, Rows: rows}
	}
	yesterday := []collect.Result{ok("web-1", "612"), ok("web-2", "613")}
	today := []collect.Result{ok("web-1", "955"), ok("web-2", "613", collect.Row{"address": "0.0.0.0", "port": "4444", "name": "nc", "pid": "31337"})}
	rep, err := analyze.Changes{}.Analyze(context.Background(), analyze.Input{Key: "web", Results: today, Baseline: yesterday})
	if err != nil {
		log.Fatal(err)
	}
	for _, h := range rep.Hosts {
		for _, f := range h.Findings {
			fmt.Println(h.InstanceID, f.Kind, f.Row["port"], f.Row["name"])
		}
	}
	// Output:
	// web-2 added 4444 nc
}
