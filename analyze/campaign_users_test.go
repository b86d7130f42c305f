package analyze_test

import (
	"context"
	"testing"
	"time"

	"github.com/diffy-dfir/diffy/analyze"
	"github.com/diffy-dfir/diffy/collect"
	"github.com/diffy-dfir/diffy/diffytest/fleet"
)

// TestClusterCampaignAcrossKinds: a campaign on 9% of 200 hosts whose
// only other variation is the operators' accounts (one being added, on
// part of the hosts: two kinds of host) is found on every one of its
// hosts. Its hosts make a cluster of their own; drawn at random, some
// lack the account being added and some have it, so no one other cluster
// is the reference of all of them (findCampaigns test 5 failed on the
// hosts that lack what the nearest cluster has: recall 0.61).
func TestClusterCampaignAcrossKinds(t *testing.T) {
	sim := fleet.NewSim(fleet.SimConfig{Hosts: 200, Seed: 102, Families: fleet.FamilyUsers, Attacks: fleet.Attacks{Campaign: true}})
	var res []collect.Result
	for i := range sim.Len() {
		res = append(res, sim.Results(i)...)
	}
	rep, err := analyze.Clustering{Now: func() time.Time { return collectedAt }}.Analyze(context.Background(), analyze.Input{Results: res})
	if err != nil {
		t.Fatal(err)
	}
	if ev := sim.Truth().Evaluate(rep); ev.Precision < 1 || ev.Recall < 1 || ev.Top3 < 1 {
		t.Errorf("%v: want every campaign host and no other, its rows first", ev)
	}
}
