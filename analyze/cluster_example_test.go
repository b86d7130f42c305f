package analyze_test

import (
	"context"
	"fmt"
	"time"

	"github.com/diffy-dfir/diffy/analyze"
	"github.com/diffy-dfir/diffy/collect"
	"github.com/diffy-dfir/diffy/diffytest/fleet"
)

// Analyze a simulated group of 200 hosts (three roles, a canary version, a
// sidecar on half of them, per-host tokens in command lines) of which four
// carry planted rows, with no baseline.
func ExampleClustering() {
	f := fleet.Generate(fleet.Scenario("medium"))
	results := f.Results(time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC))

	rep, err := analyze.Clustering{}.Analyze(context.Background(), analyze.Input{Key: "shop-prod", Results: results})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("hosts:", len(rep.Hosts), "outliers:", len(rep.Outliers()))
	for _, h := range rep.Outliers() {
		top := h.Findings[0]
		fmt.Printf("%s (rank %d): %s: %s\n", h.InstanceID, h.Rank, top.CommandID, top.Why)
	}
	// Output:
	// hosts: 200 outliers: 4
	// i-069e31e6dfec2ae06 (rank 2): processes: no other of the 200 hosts has a processes row like it
	// i-06d246c3412a81d29 (rank 1): kernel_modules: name="nf_eumqnc" on 1 of the 200 hosts with rows like it, whose values are each on most of them (such as "nls_iso8859_1", on 200)
	// i-0bab1956f12340eec (rank 3): processes: no other of the 200 hosts has a processes row like it
	// i-0e4a57e982386b085 (rank 4): users: no other of the 200 hosts has a users row like it
}

// Normalization makes per-host tokens alike and leaves structured columns
// as they are.
func ExampleNormalizeRow() {
	row := collect.Row{
		"address": "10.0.12.7", "port": "8080", "name": "java",
		"cmdline": "java -Dnode=29868d5d-7acf-4834-a7fd-e0f076b9448e -jar app-1.4.2.jar --bind 10.0.12.7 --id i-0c011d015e5734f89",
	}
	n := analyze.NormalizeRow("listening_ports", row)
	fmt.Println(n["address"], n["port"], n["name"])
	fmt.Println(n["cmdline"])
	// Output:
	// <ip> 8080 java
	// java -Dnode=<uuid> -jar app-1.4.2.jar --bind <ip> --id <id>
}
