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
		fmt.Printf("%s: %s row on %d host\n", h.InstanceID, top.CommandID, top.HostsWithRow)
	}
	// Output:
	// hosts: 200 outliers: 4
	// i-069e31e6dfec2ae06: processes row on 1 host
	// i-06d246c3412a81d29: kernel_modules row on 1 host
	// i-0bab1956f12340eec: listening_ports row on 1 host
	// i-0e4a57e982386b085: listening_ports row on 1 host
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
