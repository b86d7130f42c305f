package fleet

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/diffy-dfir/diffy/collect"
)

// rowCounts counts a host's rows of each command, keyed by their stable
// columns (the volatile ones, which a plant may shift, dropped).
func rowCounts(rows map[string][]collect.Row) map[string]int {
	out := map[string]int{}
	for cmd, rs := range rows {
		for _, r := range rs {
			out[cmd+"\x00"+stableKey(cmd, r)]++
		}
	}
	return out
}

// stableKey writes a row's columns that no plant moves: pids, start
// times and module addresses apart.
func stableKey(cmd string, r collect.Row) string {
	var b strings.Builder
	for _, c := range slices.Sorted(maps.Keys(r)) {
		switch c {
		case "pid", "parent", "start_time", "address", "size", "used_by", "fd", "socket":
			continue
		}
		fmt.Fprintf(&b, "%s=%q ", c, r[c])
	}
	return b.String()
}

// TestPlantedIsTheWholeChange: what an attack changes on a host is
// exactly what Planted records. The host's RowsBefore (its rows less the
// planted ones, plus those they replaced) equals the same host generated
// with no attack at all, row for row and as many times (volatile columns
// apart), for every kind, at sizes and seeds where the join of users and
// keys repeats rows (a uid-0 user sharing root's home).
func TestPlantedIsTheWholeChange(t *testing.T) {
	for _, kind := range append(slices.Clone(AttackKinds), AttackCampaign) {
		for _, cfg := range []SimConfig{{Seed: 9, Hosts: 1000}, {Seed: 3, Hosts: 200}, {Seed: 104, Hosts: 200}} {
			cfg.Families = AllFamilies
			cfg.Attacks = Attacks{Kinds: []string{kind}}
			if kind == AttackCampaign {
				cfg.Attacks = Attacks{Campaign: true}
			}
			clean := cfg
			clean.Attacks = Attacks{}
			s, c := NewSim(cfg), NewSim(clean)
			for _, th := range s.Truth().Compromised {
				h := s.Host(th.Index)
				got, want := rowCounts(h.RowsBefore()), rowCounts(c.Host(th.Index).Rows)
				if maps.Equal(got, want) {
					continue
				}
				for k, n := range got {
					if want[k] != n {
						t.Errorf("%s seed %d, %d hosts, %s: before the attack %d times, with no attack %d: %s", kind, cfg.Seed, cfg.Hosts, h.Instance.ID, n, want[k], k)
					}
				}
				for k, n := range want {
					if _, ok := got[k]; !ok {
						t.Errorf("%s seed %d, %d hosts, %s: before the attack 0 times, with no attack %d: %s", kind, cfg.Seed, cfg.Hosts, h.Instance.ID, n, k)
					}
				}
			}
		}
	}
}

// TestRelocatedPathsDiffer: every relocated_binary plant of a Sim runs
// from its own path, as each single-host attack has its own values
// (three plants of one seed drew the same path: a row on 3 hosts is not
// rare at 200), also past the number of (daemon, path) pairs: with only
// that kind planted on 3% of 1,000 hosts, 30 plants for 17 pairs.
func TestRelocatedPathsDiffer(t *testing.T) {
	for _, seed := range []int64{9, 101, 102, 103, 104, 105} {
		for _, share := range []float64{0, 0.03} {
			s := NewSim(SimConfig{Seed: seed, Hosts: 1000, Families: AllFamilies, Attacks: Attacks{Kinds: []string{AttackRelocated}, Share: share}})
			paths := map[string]string{}
			plants := 0
			for _, th := range s.Truth().Compromised {
				for _, p := range th.Planted {
					if p.CommandID != "processes" {
						continue
					}
					plants++
					if other, ok := paths[p.Row["path"]]; ok {
						t.Errorf("seed %d, share %g: %s and %s both run %s from %s", seed, share, other, th.InstanceID, p.Row["name"], p.Row["path"])
					}
					paths[p.Row["path"]] = th.InstanceID
				}
			}
			if share > 0 && plants < 20 {
				t.Errorf("seed %d: %d relocated plants, want at least 20 (more than the pairs)", seed, plants)
			}
		}
	}
}
