package fleet

import (
	"reflect"
	"testing"

	"github.com/diffy-dfir/diffy/analyze"
	"github.com/diffy-dfir/diffy/collect"
)

// TestStacking checks 1% stacking's decision on hand-made Results: a row
// on fewer than share of the hosts flags its host, whatever its volatile
// columns (pid) say, and a host whose only Result failed still counts.
func TestStacking(t *testing.T) {
	proc := func(id, name, pid string) collect.Result {
		return collect.Result{InstanceID: id, CommandID: "processes", Status: collect.StatusSuccess,
			Rows: []collect.Row{{"name": "sshd", "pid": "1" + pid}, {"name": name, "pid": pid}}}
	}
	res := []collect.Result{
		proc("i-a", "cron", "10"), proc("i-b", "cron", "20"), proc("i-c", "cron", "30"),
		proc("i-d", "xmrig", "40"),
		{InstanceID: "i-e", CommandID: "processes", Status: collect.StatusFailed},
	}
	// 5 hosts: cron on 3 (0.6), xmrig on 1 (0.2), sshd on 4 (0.8).
	rep := Stacking(res, 0.3)
	if len(rep.Hosts) != 5 {
		t.Fatalf("%d hosts in the report, want 5 (the failed one counts)", len(rep.Hosts))
	}
	for _, h := range rep.Hosts {
		if want := h.InstanceID == "i-d"; h.Outlier != want {
			t.Errorf("%s: outlier %v, want %v", h.InstanceID, h.Outlier, want)
		}
	}
	d := rep.Hosts[3]
	want := []analyze.Finding{{CommandID: "processes", Kind: analyze.KindRare, Row: collect.Row{"name": "xmrig"}, HostsWithRow: 1, Prevalence: 0.2}}
	if !reflect.DeepEqual(d.Findings, want) {
		t.Errorf("i-d's findings %+v, want %+v", d.Findings, want)
	}
	if rep := Stacking(res, 0.7); rep.Hosts[0].Outlier != true || len(rep.Hosts[0].Findings) != 1 {
		t.Errorf("share 0.7: i-a's cron on 3 of 5 hosts: outlier %v, findings %+v; want one finding", rep.Hosts[0].Outlier, rep.Hosts[0].Findings)
	}
}

// TestStackerBatches checks that a Stacker fed one Result at a time (a
// host's Results spread over many batches) gives the Report of Stacking
// on the whole group, and that the report finds the planted hosts.
func TestStackerBatches(t *testing.T) {
	cfg := SimConfig{Hosts: 300, Seed: 3, Families: FamilyRoles | FamilySplay, Attacks: Attacks{Kinds: AttackKinds}}
	sim := NewSim(cfg)
	var res []collect.Result
	for i := range cfg.Hosts {
		res = append(res, sim.Results(i)...)
	}
	whole := Stacking(res, 0.01)
	s := NewStacker(0.01)
	for i := range res {
		s.Add(res[i : i+1])
	}
	if got := s.Report(); !reflect.DeepEqual(got, whole) {
		t.Error("a Stacker fed one Result at a time differs from Stacking on the whole group")
	}
	ev := sim.Truth().Evaluate(whole)
	if ev.Hosts != cfg.Hosts || ev.Compromised == 0 || ev.TruePositives == 0 {
		t.Errorf("1%% stacking on roles and splay: %v; want every host, and planted hosts found", ev)
	}
}
