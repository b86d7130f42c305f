package fleet

import (
	"fmt"
	"sort"
)

// Config describes a simulated fleet. Zero fields take the defaults listed in
// the package doc (see Generate).
type Config struct {
	// Seed makes the fleet reproducible: the same Config gives the same
	// fleet.
	Seed int64
	// Hosts is the number of instances.
	Hosts int
	// Roles is the number of roles sharing the group, 1 to 4.
	Roles int
	// CanaryFraction of the hosts run the next version of their
	// application.
	CanaryFraction float64
	// SidecarFraction of the hosts run a sidecar proxy.
	SidecarFraction float64
	// CompromisedFraction of the hosts carry planted rows; when above zero,
	// at least one host is compromised.
	CompromisedFraction float64
	// PlantsPerHost is the number of planted rows per compromised host, 1
	// or 2.
	PlantsPerHost int
	// Spread gives every compromised host the same planted rows.
	Spread bool
	// GroupName is the Auto Scaling group's name, the value of every
	// instance's "aws:autoscaling:groupName" tag.
	GroupName string
	// Account and Region locate the instances.
	Account, Region string
}

// scenarios are the named configurations of Scenario.
var scenarios = map[string]Config{
	"small":  {Seed: 1, Hosts: 20, Roles: 3, CanaryFraction: 0.03, CompromisedFraction: 0.03, PlantsPerHost: 1},
	"medium": {Seed: 2, Hosts: 200, Roles: 3, CanaryFraction: 0.03, CompromisedFraction: 0.02, PlantsPerHost: 2},
	"large":  {Seed: 3, Hosts: 2000, Roles: 3, CanaryFraction: 0.03, CompromisedFraction: 0.01, PlantsPerHost: 1},
	"xlarge": {Seed: 4, Hosts: 10000, Roles: 4, CanaryFraction: 0.03, CompromisedFraction: 0.005, PlantsPerHost: 2},
	"huge":   {Seed: 5, Hosts: 100000, Roles: 4, CanaryFraction: 0.03, CompromisedFraction: 0.005, PlantsPerHost: 1},
	"spread": {Seed: 6, Hosts: 2000, Roles: 3, CanaryFraction: 0.03, CompromisedFraction: 0.10, PlantsPerHost: 2, Spread: true},
	// The extremes of the compromise range, at 200 and 2,000 hosts.
	"medium-3pct":  {Seed: 7, Hosts: 200, Roles: 3, CanaryFraction: 0.03, CompromisedFraction: 0.03, PlantsPerHost: 1},
	"large-half":   {Seed: 8, Hosts: 2000, Roles: 3, CanaryFraction: 0.03, CompromisedFraction: 0.005, PlantsPerHost: 2},
	"large-3pct":   {Seed: 9, Hosts: 2000, Roles: 4, CanaryFraction: 0.05, CompromisedFraction: 0.03, PlantsPerHost: 1},
	"xlarge-3pct":  {Seed: 10, Hosts: 10000, Roles: 3, CanaryFraction: 0.03, CompromisedFraction: 0.03, PlantsPerHost: 1},
	"small-2plant": {Seed: 11, Hosts: 20, Roles: 2, CanaryFraction: 0.05, CompromisedFraction: 0.01, PlantsPerHost: 2},
}

// Scenarios returns the names Scenario knows, sorted.
func Scenarios() []string {
	names := make([]string, 0, len(scenarios))
	for n := range scenarios {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Scenario returns the named configuration, with the defaults filled:
//
//	small         20 hosts, 3 roles, 3% compromised (1 host), 1 plant
//	small-2plant  20 hosts, 2 roles, 1% compromised (1 host), 2 plants
//	medium        200 hosts, 3 roles, 2% compromised, 2 plants
//	medium-3pct   200 hosts, 3 roles, 3% compromised, 1 plant
//	large         2,000 hosts, 3 roles, 1% compromised, 1 plant
//	large-half    2,000 hosts, 3 roles, 0.5% compromised, 2 plants
//	large-3pct    2,000 hosts, 4 roles, 5% canary, 3% compromised, 1 plant
//	xlarge        10,000 hosts, 4 roles, 0.5% compromised, 2 plants
//	xlarge-3pct   10,000 hosts, 3 roles, 3% compromised, 1 plant
//	huge          100,000 hosts, 4 roles, 0.5% compromised, 1 plant
//	spread        2,000 hosts, 10% compromised, all with the same 2 plants
//
// Every scenario has 3% canary hosts (unless said otherwise) and a sidecar
// on half of the hosts. The seed is part of the scenario; change it on the
// returned Config for another draw. Scenario panics on an unknown name (a
// caller bug): Scenarios lists the names.
func Scenario(name string) Config {
	c, ok := scenarios[name]
	if !ok {
		panic(fmt.Sprintf("fleet: unknown scenario %q (known: %v)", name, Scenarios()))
	}
	return c.withDefaults()
}

// withDefaults returns c with its zero fields set to the documented
// defaults and its counts clamped to what the generator supports.
func (c Config) withDefaults() Config {
	if c.Hosts <= 0 {
		c.Hosts = 200
	}
	if c.Roles <= 0 {
		c.Roles = 3
	}
	if c.Roles > len(roleNames) {
		c.Roles = len(roleNames)
	}
	if c.SidecarFraction == 0 {
		c.SidecarFraction = 0.5
	}
	if c.PlantsPerHost <= 0 {
		c.PlantsPerHost = 1
	}
	if c.PlantsPerHost > 2 {
		c.PlantsPerHost = 2
	}
	defaultPlace(&c.GroupName, &c.Account, &c.Region)
	c.CanaryFraction = clamp01(c.CanaryFraction)
	c.SidecarFraction = clamp01(c.SidecarFraction)
	c.CompromisedFraction = clamp01(c.CompromisedFraction)
	return c
}

// defaultPlace fills the group's name, account and region where empty.
func defaultPlace(group, account, region *string) {
	if *group == "" {
		*group = "shop-prod"
	}
	if *account == "" {
		*account = "123456789012"
	}
	if *region == "" {
		*region = "us-east-1"
	}
}

func clamp01(f float64) float64 {
	if f < 0 || f != f {
		return 0
	}
	if f > 1 {
		return 1
	}
	return f
}

// count returns how many of n hosts a fraction f stands for: f·n rounded,
// at least 1 when f > 0.
func count(f float64, n int) int {
	if f <= 0 {
		return 0
	}
	k := int(f*float64(n) + 0.5)
	if k < 1 {
		k = 1
	}
	if k > n {
		k = n
	}
	return k
}
