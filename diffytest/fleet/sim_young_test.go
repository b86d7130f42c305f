package fleet

import (
	"strconv"
	"testing"

	"github.com/diffy-dfir/diffy/payload"
)

// TestSimYoungAttacks checks Attacks.Young: with it at 1 every planted
// process started 30 seconds to 10 minutes before the collection, with it
// at 0 none did (10 minutes to 5 days), and the planted rows are the same
// but for their start times and pids.
func TestSimYoungAttacks(t *testing.T) {
	base := SimConfig{Seed: 31, Hosts: 300, Families: AllFamilies, Attacks: Attacks{Kinds: AttackKinds, Share: 0.03, Campaign: true, CampaignShare: 0.05}}
	young := base
	young.Attacks.Young = 1
	old, now := NewSim(base), NewSim(young)
	at := now.CollectedAt().Unix()
	ages := func(s *Sim, t *testing.T) (map[int][]Planted, []int64) {
		byHost := map[int][]Planted{}
		var out []int64
		for _, h := range s.Truth().Compromised {
			byHost[h.Index] = h.Planted
			for _, p := range h.Planted {
				if p.CommandID != payload.Processes {
					continue
				}
				st, err := strconv.ParseInt(p.Row["start_time"], 10, 64)
				if err != nil {
					t.Fatalf("host %d: planted %s has start_time %q: %v", h.Index, p.Kind, p.Row["start_time"], err)
				}
				out = append(out, at-st)
			}
		}
		return byHost, out
	}
	oldRows, oldAges := ages(old, t)
	newRows, newAges := ages(now, t)
	if len(oldAges) == 0 || len(oldAges) != len(newAges) {
		t.Fatalf("planted processes: %d with Young 0, %d with Young 1; want the same, above 0", len(oldAges), len(newAges))
	}
	for i, a := range newAges {
		if a < 30 || a >= 600 {
			t.Errorf("Young 1: planted process %d started %d s before the collection, want [30, 600)", i, a)
		}
		if oldAges[i] < 600 {
			t.Errorf("Young 0: planted process %d started %d s before the collection, want at least 600", i, oldAges[i])
		}
	}
	if len(oldRows) != len(newRows) {
		t.Fatalf("compromised hosts: %d with Young 0, %d with Young 1", len(oldRows), len(newRows))
	}
	for h, ps := range oldRows {
		qs := newRows[h]
		if len(ps) != len(qs) {
			t.Errorf("host %d: %d planted rows with Young 0, %d with Young 1", h, len(ps), len(qs))
			continue
		}
		for i := range ps {
			for col, v := range ps[i].Row {
				switch col {
				case "start_time", "pid", "parent":
					continue
				}
				if qs[i].Row[col] != v {
					t.Errorf("host %d planted %s: %s is %q with Young 0, %q with Young 1", h, ps[i].Kind, col, v, qs[i].Row[col])
				}
			}
		}
	}
	// About half the hosts at 0.5, drawn per host.
	half := base
	half.Attacks.Young = 0.5
	_, halfAges := ages(NewSim(half), t)
	youngN := 0
	for _, a := range halfAges {
		if a < 600 {
			youngN++
		}
	}
	if youngN == 0 || youngN == len(halfAges) {
		t.Errorf("Young 0.5: %d of %d planted processes young, want some and not all", youngN, len(halfAges))
	}
}
