package fleet

import (
	"slices"
	"strings"
	"testing"

	"github.com/diffy-dfir/diffy/collect"
	"github.com/diffy-dfir/diffy/payload"
)

// TestSimDemandModules: FamilyModules loads each action's modules on a
// few hosts, and every module an added one depends on lists it in its
// used_by: each name it gains is a module the host lists. A host that
// added an iptables rule has xt_conntrack loaded and x_tables held by it.
// Without the family no host has the actions' modules.
func TestSimDemandModules(t *testing.T) {
	const n = 600
	with := hostsOf(NewSim(SimConfig{Seed: 3, Hosts: n, Families: FamilyModules}))
	without := hostsOf(NewSim(SimConfig{Seed: 3, Hosts: n}))
	acted := 0
	for i, h := range with {
		byName := map[string]collect.Row{}
		for _, m := range h.Rows[payload.KernelModules] {
			byName[m["name"]] = m
		}
		for _, m := range without[i].Rows[payload.KernelModules] {
			before := strings.Split(m["used_by"], ",")
			for _, u := range strings.Split(byName[m["name"]]["used_by"], ",") {
				if u != "-" && !slices.Contains(before, u) && byName[u] == nil {
					t.Fatalf("%s: %s gained %q in used_by, which the host does not list", h.Instance.ID, m["name"], u)
				}
			}
		}
		if len(traitsWith(h, "modules=")) > 0 {
			acted++
		}
		if slices.Contains(h.Traits, "modules=iptables-rule") {
			if byName["xt_conntrack"] == nil || !slices.Contains(strings.Split(byName["x_tables"]["used_by"], ","), "xt_conntrack") {
				t.Errorf("%s added an iptables rule: xt_conntrack %v, x_tables %v", h.Instance.ID, byName["xt_conntrack"], byName["x_tables"])
			}
		}
	}
	// 13 actions on [0.3%, 3%] each: between 2% and 39% of the hosts.
	if acted < n/50 || acted > n*2/5 {
		t.Errorf("%d of %d hosts did an action, want a few percent", acted, n)
	}
	for _, h := range hostsOf(NewSim(SimConfig{Seed: 3, Hosts: n / 3, Families: AllFamilies &^ FamilyModules})) {
		for _, m := range h.Rows[payload.KernelModules] {
			if m["name"] == "wireguard" || m["name"] == "loop" || m["name"] == "dm_crypt" {
				t.Fatalf("without FamilyModules, %s has %s", h.Instance.ID, m["name"])
			}
		}
	}
}

// TestFamilyModulesOptIn: "all" leaves FamilyModules out until the
// analyzer has its rule; "every" and its name switch it on.
func TestFamilyModulesOptIn(t *testing.T) {
	for s, want := range map[string]Families{"all": AllFamilies, "every": AllFamilies | FamilyModules, "all,modules": AllFamilies | FamilyModules,
		"modules": FamilyModules, "-boot": AllFamilies &^ FamilyBoot} {
		got, err := ParseFamilies(s)
		if err != nil || got != want {
			t.Errorf("ParseFamilies(%q) = %v, %v; want %v", s, got, err, want)
		}
	}
	if AllFamilies.Has(FamilyModules) {
		t.Error("AllFamilies holds FamilyModules")
	}
}
