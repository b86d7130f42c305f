package analyze_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/diffy-dfir/diffy/analyze"
	"github.com/diffy-dfir/diffy/diffytest/fleet"
)

// collectedAt is when the simulated fleets' Results were collected.
var collectedAt = time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)

// scenarioCase is one simulated fleet the cluster analyzer is scored on.
type scenarioCase struct {
	hosts, roles int
	compromised  float64
	plants       int
	seed         int64
}

func (c scenarioCase) config() fleet.Config {
	return fleet.Config{Seed: c.seed, Hosts: c.hosts, Roles: c.roles, CanaryFraction: 0.03,
		CompromisedFraction: c.compromised, PlantsPerHost: c.plants}
}

func (c scenarioCase) String() string {
	return fmt.Sprintf("hosts=%d/roles=%d/compromised=%.3g/plants=%d/seed=%d", c.hosts, c.roles, c.compromised, c.plants, c.seed)
}

// scenarioCases covers every size with compromise from 0.5% to 3% and one
// or two plants, over several seeds.
func scenarioCases(testing.TB) []scenarioCase {
	var cs []scenarioCase
	for seed := int64(1); seed <= 6; seed++ {
		cs = append(cs, scenarioCase{20, 2 + int(seed)%3, 0.03, 1 + int(seed)%2, seed})
	}
	for seed := int64(1); seed <= 4; seed++ {
		cs = append(cs, scenarioCase{200, 3, []float64{0.005, 0.01, 0.02, 0.03}[seed-1], 1 + int(seed)%2, seed})
	}
	for seed := int64(1); seed <= 3; seed++ {
		if raceEnabled && seed > 1 {
			break // one fleet of 2,000 under -race, for time
		}
		cs = append(cs, scenarioCase{2000, 2 + int(seed), []float64{0.005, 0.01, 0.03}[seed-1], 1 + int(seed)%2, seed})
	}
	if !testing.Short() && !raceEnabled {
		cs = append(cs, scenarioCase{10000, 4, 0.005, 2, 1}, scenarioCase{10000, 3, 0.03, 1, 2})
	}
	return cs
}

// TestClusterScenarios scores the analyzer's own decision on simulated
// fleets of every size: host-level precision and recall of the outlier
// flag, and the share of compromised hosts with a planted row among their
// first three findings, must all be at least 0.95. (10,000 hosts run
// without -short and without -race, and two of the three fleets of 2,000
// without -race; bench/cluster gives the figures at 10,000 and 100,000.)
func TestClusterScenarios(t *testing.T) {
	for _, c := range scenarioCases(t) {
		t.Run(c.String(), func(t *testing.T) {
			f := fleet.Generate(c.config())
			rep, err := analyze.Clustering{}.Analyze(context.Background(), analyze.Input{Key: "fleet", Results: f.Results(collectedAt)})
			if err != nil {
				t.Fatal(err)
			}
			ev := f.Evaluate(rep)
			t.Logf("cluster: %v; %d clusters", ev, len(rep.Clusters))
			if ev.Missing > 0 || len(rep.Hosts) != len(f.Hosts) {
				t.Fatalf("%d hosts missing from the report", ev.Missing)
			}
			if ev.Precision < 0.95 || ev.Recall < 0.95 || ev.Top3 < 0.95 {
				t.Errorf("precision %.3f, recall %.3f, top-3 %.3f: each must be at least 0.95", ev.Precision, ev.Recall, ev.Top3)
				for _, h := range rep.Hosts {
					if h.Outlier && len(h.Findings) > 0 {
						t.Logf("outlier %s: %v", h.InstanceID, h.Findings[0])
					}
				}
			}
		})
	}
}

// TestStackingScenarios shows, on the same fleets, why plain 1% stacking
// is not enough: per-host tokens make nearly every host an outlier.
func TestStackingScenarios(t *testing.T) {
	for _, c := range scenarioCases(t) {
		if c.hosts < 200 || c.hosts > 2000 || (testing.Short() || raceEnabled) && c.hosts > 200 {
			continue
		}
		f := fleet.Generate(c.config())
		ev := f.Evaluate(fleet.Stacking(f.Results(collectedAt), 0.01))
		t.Logf("%v: stacking: %v", c, ev)
		if ev.Precision > 0.5 {
			t.Errorf("%v: 1%% stacking reached precision %.3f; the fleet's per-host tokens should defeat it", c, ev.Precision)
		}
	}
}

// TestClusterSpread: when 10% of the hosts share the same planted rows,
// those rows are not rare (they are as common as a small role's), but
// they sit together on the same hosts, across commands, on hosts that
// otherwise look like the rest of their role: a likely campaign. Its
// hosts, and only they, are flagged, and the first note names the planted
// rows.
func TestClusterSpread(t *testing.T) {
	cfg := fleet.Scenario("spread")
	if testing.Short() || raceEnabled {
		cfg.Hosts = 500
	}
	f := fleet.Generate(cfg)
	rep, err := analyze.Clustering{}.Analyze(context.Background(), analyze.Input{Key: "spread", Results: f.Results(collectedAt)})
	if err != nil {
		t.Fatal(err)
	}
	ev := f.Evaluate(rep)
	t.Logf("spread: %v", ev)
	if ev.Precision < 1 || ev.Recall < 1 || ev.Top3 < 1 {
		t.Errorf("spread: %v; want every compromised host flagged, no other, the planted rows first", ev)
	}
	if len(rep.Notes) == 0 || !strings.HasPrefix(rep.Notes[0], "likely campaign on ") {
		t.Fatalf("spread: the first note is not the campaign: %q", rep.Notes)
	}
	for _, p := range f.Hosts[firstCompromised(f)].Planted {
		r := analyze.NormalizeRow(p.CommandID, p.Row)
		if v := r["name"] + r["username"] + r["key"] + r["command"]; !strings.Contains(rep.Notes[0], v) {
			t.Errorf("spread: the campaign note does not name the planted %s row %v: %q", p.Kind, p.Row, rep.Notes[0])
		}
	}
}

func firstCompromised(f *fleet.Fleet) int {
	for i, h := range f.Hosts {
		if h.Compromised {
			return i
		}
	}
	return -1
}
