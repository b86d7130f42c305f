package fleet_test

import (
	"iter"
	"maps"
	"slices"
	"testing"

	"github.com/diffy-dfir/diffy/collect"
	"github.com/diffy-dfir/diffy/diffytest/fleet"
)

// TestRowsBefore: a compromised host's rows before the compromise hold
// none of its planted rows and every genuine row one replaced; every other
// row is unchanged, and a clean host's rows are its Rows.
func TestRowsBefore(t *testing.T) {
	cfg := fleet.Scenario("medium")
	cfg.Seed, cfg.Hosts = 9, 1000
	f := fleet.Generate(cfg)
	t.Run("Generate", func(t *testing.T) {
		checkRowsBefore(t, func(yield func(int, *fleet.Host) bool) {
			for i := range f.Hosts {
				if !yield(i, &f.Hosts[i]) {
					return
				}
			}
		}, false)
	})
	t.Run("Sim", func(t *testing.T) {
		s := fleet.NewSim(fleet.SimConfig{Seed: 9, Hosts: 1000, Families: fleet.AllFamilies,
			Attacks: fleet.Attacks{Kinds: fleet.AttackKinds, Share: 0.02}})
		checkRowsBefore(t, s.All(), true)
	})
}

func checkRowsBefore(t *testing.T, hosts iter.Seq2[int, *fleet.Host], wantReplaced bool) {
	t.Helper()
	compromised, replaced := 0, 0
	for _, h := range hosts {
		before := h.RowsBefore()
		if !h.Compromised {
			for cmd, rows := range h.Rows {
				if len(before[cmd]) != len(rows) {
					t.Fatalf("clean %s: %s has %d rows before, %d now", h.Instance.ID, cmd, len(before[cmd]), len(rows))
				}
			}
			continue
		}
		compromised++
		added := 0
		for _, p := range h.Planted {
			// A planted row may equal a genuine row of the host: one
			// fewer of it before than now, for each time it was planted.
			same := func(r collect.Row) bool { return maps.Equal(r, p.Row) }
			planted := 0
			for _, q := range h.Planted {
				if q.CommandID == p.CommandID && maps.Equal(q.Row, p.Row) {
					planted++
				}
			}
			if b, n := count(before[p.CommandID], same), count(h.Rows[p.CommandID], same); b != n-planted {
				t.Errorf("%s: planted %s row: %d times now, %d before, planted %d times", h.Instance.ID, p.Kind, n, b, planted)
			}
			if p.Replaced != nil {
				replaced++
				added++
				if !slices.ContainsFunc(before[p.CommandID], func(r collect.Row) bool { return maps.Equal(r, p.Replaced) }) {
					t.Errorf("%s: the genuine row replaced by %s is not back", h.Instance.ID, p.Kind)
				}
			}
		}
		n, m := 0, 0
		for cmd := range h.Rows {
			n += len(h.Rows[cmd])
			m += len(before[cmd])
		}
		if m != n-len(h.Planted)+added {
			t.Errorf("%s: %d rows now, %d planted (%d replacing one), %d before", h.Instance.ID, n, len(h.Planted), added, m)
		}
	}
	if compromised == 0 {
		t.Fatal("no compromised host in the fleet")
	}
	if wantReplaced && replaced == 0 {
		t.Fatal("no planted row replaces a genuine one")
	}
	t.Logf("%d compromised hosts, %d planted rows replacing a genuine one", compromised, replaced)
}

func count(rows []collect.Row, f func(collect.Row) bool) int {
	n := 0
	for _, r := range rows {
		if f(r) {
			n++
		}
	}
	return n
}
