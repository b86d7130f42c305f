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
	wantCampaignFound(t, fleet.SimConfig{Hosts: 200, Seed: 102, Families: fleet.FamilyUsers, Attacks: fleet.Attacks{Campaign: true}})
}

// TestClusterCampaignSinceBoot: a campaign on 15% of 1,000 hosts, some
// hosts booting (FamilyBoot: launched minutes ago, cloud-init running),
// is found on every one of its hosts. The booting hosts came up after the
// implant spread and carry none of it; their boot's rows were then on no
// campaign host, rarer there beyond chance, and findCampaigns test 6 took
// the campaign for a kind of host (recall 0; 0.004 at 5,000 hosts, every
// family, a campaign on 5% to 15% of them).
func TestClusterCampaignSinceBoot(t *testing.T) {
	wantCampaignFound(t, fleet.SimConfig{Hosts: 1000, Seed: 1, Families: fleet.FamilyBoot, Attacks: fleet.Attacks{Campaign: true, CampaignShare: 0.15}})
}

// wantCampaignFound analyzes the simulated group of cfg, a campaign
// planted, and wants every campaign host flagged, no other, with the
// campaign's rows among their first findings.
func wantCampaignFound(t *testing.T, cfg fleet.SimConfig) {
	t.Helper()
	sim := fleet.NewSim(cfg)
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
