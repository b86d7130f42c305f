package fleet_test

import (
	"fmt"
	"time"

	"github.com/diffy-dfir/diffy/diffytest/fleet"
	"github.com/diffy-dfir/diffy/payload"
)

// Generate a small fleet, look at what was planted, and turn it into the
// Results a collector would return.
func Example() {
	f := fleet.Generate(fleet.Scenario("medium"))
	compromised := 0
	for _, h := range f.Hosts {
		if h.Compromised {
			compromised++
		}
	}
	fmt.Println("hosts:", len(f.Hosts), "compromised:", compromised)
	fmt.Println("group:", f.Hosts[0].Instance.Tags["aws:autoscaling:groupName"])

	results := f.Results(time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC))
	fmt.Println("results:", len(results))

	out, ok := f.Hosts[0].Output(payload.Users)
	fmt.Println("osqueryi output:", ok, string(out[:2]) == "[\n")
	// Output:
	// hosts: 200 compromised: 4
	// group: shop-prod
	// results: 1200
	// osqueryi output: true true
}
