package analyze_test

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/diffy-dfir/diffy/analyze"
	"github.com/diffy-dfir/diffy/collect"
	"github.com/diffy-dfir/diffy/diffyerr"
	"github.com/diffy-dfir/diffy/diffytest/fleet"
)

// TestSharesOutOfRange: a RareShare or MinorityShare that is not a share
// is refused by NewStream and Analyze, naming the field.
func TestSharesOutOfRange(t *testing.T) {
	one := []collect.Result{{InstanceID: "i-1", CommandID: "users", Status: collect.StatusSuccess}}
	for _, c := range []struct {
		a     analyze.Analyzer
		field string
	}{
		{analyze.Clustering{RareShare: 1.5}, "RareShare"},
		{analyze.Clustering{RareShare: -0.01}, "RareShare"},
		{analyze.Clustering{MinorityShare: 0.5}, "MinorityShare"},
		{analyze.Baseline{RareShare: 1}, "RareShare"},
		{analyze.Baseline{MinorityShare: -0.2}, "MinorityShare"},
	} {
		_, err := c.a.Analyze(context.Background(), analyze.Input{Key: "k", Results: one, Baseline: one})
		if !errors.Is(err, diffyerr.ErrInvalidInput) || !strings.Contains(fmtErr(err), c.field) {
			t.Errorf("%#v: error %v; want ErrInvalidInput naming %s", c.a, err, c.field)
		}
		_, err = c.a.(analyze.Streamer).NewStream("k", one)
		if !errors.Is(err, diffyerr.ErrInvalidInput) {
			t.Errorf("%#v: NewStream error %v; want ErrInvalidInput", c.a, err)
		}
	}
}

func fmtErr(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// TestSharesDefault: the default shares set explicitly give the zero
// Clustering's Report, and another ρ is the one the decision uses (its
// note states r(n) = ⌊ρ·n⌋).
func TestSharesDefault(t *testing.T) {
	const n = 200
	sim := fleet.NewSim(fleet.SimConfig{Seed: 1, Hosts: n, Families: fleet.AllFamilies, Attacks: fleet.Attacks{Kinds: fleet.AttackKinds}})
	var res []collect.Result
	for i := range n {
		res = append(res, sim.Results(i)...)
	}
	now := func() time.Time { return collectedAt }
	report := func(a analyze.Clustering) *analyze.Report {
		a.Now = now
		return analyzeOK(t, a, analyze.Input{Key: "k", Results: res})
	}
	js := func(r *analyze.Report) string {
		b, err := json.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	zero := report(analyze.Clustering{})
	if got := report(analyze.Clustering{RareShare: analyze.DefaultRareShare, MinorityShare: analyze.DefaultMinorityShare}); js(got) != js(zero) {
		t.Error("the default shares set explicitly give another Report than the zero Clustering")
	}
	wide := report(analyze.Clustering{RareShare: 0.05, MinorityShare: 0.3})
	const want = "at most 10 of the 200 hosts (5%, at least one)"
	if !slices.ContainsFunc(wide.Notes, func(s string) bool {
		return strings.Contains(s, want) && strings.Contains(s, "no more than 30% of the hosts")
	}) {
		t.Errorf("RareShare 0.05, MinorityShare 0.3: no note says %q and 30%%: %q", want, wide.Notes)
	}
}
