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

// A group of 1,000 hosts with every family of variation, the single-host
// attacks and the campaign; what was planted; the same group a week
// earlier, as a fleet baseline.
func ExampleNewSim() {
	s := fleet.NewSim(fleet.SimConfig{Seed: 42, Hosts: 1000, Families: fleet.AllFamilies,
		Attacks: fleet.Attacks{Kinds: fleet.AttackKinds, Share: 0.01, Campaign: true, CampaignShare: 0.07}})
	truth := s.Truth()
	campaign := 0
	for _, h := range truth.Compromised {
		if h.Kinds[0] == fleet.AttackCampaign {
			campaign++
		}
	}
	fmt.Println("compromised:", len(truth.Compromised), "campaign:", campaign)

	h := s.Host(truth.Compromised[0].Index)
	fmt.Println("collected:", s.CollectedAt().Format(time.RFC3339), "results:", len(h.Results(s.CollectedAt())))

	earlier := s.WeekEarlier()
	fmt.Println("a week earlier:", len(earlier.Truth().Compromised), "compromised")
	// Output:
	// compromised: 80 campaign: 70
	// collected: 2026-11-26T12:00:00Z results: 6
	// a week earlier: 0 compromised
}
