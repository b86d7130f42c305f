package analyze_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/diffy-dfir/diffy/analyze"
	"github.com/diffy-dfir/diffy/collect"
	"github.com/diffy-dfir/diffy/diffytest/fleet"
	"github.com/diffy-dfir/diffy/payload"
)

// agentFleet is design seed 8 at 200 hosts with FamilyAgents alone: the
// kernel-mode EDR sensor (falcond, falcon-sensor, three modules) rolled
// out on 21 of the 200 hosts, which findCampaigns' first six tests took
// for an implant (every one flagged as a likely campaign). add, when not
// nil, gives rows to add to each of the sensor's hosts.
func agentFleet(t *testing.T, add map[string][]collect.Row) (res []collect.Result, agentHosts []string) {
	t.Helper()
	sim := fleet.NewSim(fleet.SimConfig{Hosts: 200, Seed: 8, Families: fleet.FamilyAgents})
	res, agentHosts = addRows(sim, func(i int) bool { return slices.Contains(sim.Host(i).Traits, "agent=falcon") }, add)
	if len(agentHosts) != 21 {
		t.Fatalf("the sensor runs on %d hosts, want the 21 of seed 8", len(agentHosts))
	}
	return res, agentHosts
}

// addRows returns the Results of every host of sim, with the rows of add
// (by command ID) added on the hosts where on is true, and those hosts' IDs.
func addRows(sim *fleet.Sim, on func(i int) bool, add map[string][]collect.Row) (res []collect.Result, hosts []string) {
	for i := range sim.Len() {
		rs := sim.Results(i)
		if on(i) {
			hosts = append(hosts, rs[0].InstanceID)
			for j := range rs {
				rs[j].Rows = append(slices.Clone(rs[j].Rows), add[rs[j].CommandID]...)
			}
		}
		res = append(res, rs...)
	}
	return res, hosts
}

func analyzeAll(t *testing.T, res []collect.Result) *analyze.Report {
	t.Helper()
	rep, err := analyze.Clustering{Now: func() time.Time { return collectedAt }}.Analyze(context.Background(), analyze.Input{Results: res})
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

// TestClusterDeploymentNoted: an agent rolled out on 21 of 200 hosts
// (processes run from /opt, kernel modules, nothing that persists or
// lets anyone in) is a deployment (findCampaigns test 7): no host is
// flagged, and a note names it with its rows.
func TestClusterDeploymentNoted(t *testing.T) {
	res, _ := agentFleet(t, nil)
	rep := analyzeAll(t, res)
	wantAgentDeployment(t, rep, "falcon_kal", "/opt/CrowdStrike/falcond")
	for _, n := range rep.Notes {
		if strings.Contains(n, "likely campaign") {
			t.Errorf("a note calls something a campaign: %s", n)
		}
	}
}

// TestClusterDeploymentPersists: the same group with one row that
// persists or lets someone in, the same on each of its hosts, is a
// campaign again: every one of its 21 hosts flagged, no other, and the
// first note names it.
func TestClusterDeploymentPersists(t *testing.T) {
	for _, c := range []struct {
		name string
		add  map[string][]collect.Row
	}{
		{"crontab line", map[string][]collect.Row{payload.Crontab: {{"event": "", "minute": "*/10", "hour": "*", "day_of_month": "*", "month": "*", "day_of_week": "*",
			"command": "root /opt/CrowdStrike/falcond --check >/dev/null 2>&1", "path": "/etc/cron.d/falcon-check"}}}},
		{"authorized key", map[string][]collect.Row{payload.AuthorizedKeys: {{"username": "root", "algorithm": "ssh-ed25519",
			"key": "AAAAC3NzaC1lZDI1NTE5AAAAIHq0e5mPZkqRkS1L0xH3m9WfQkH2v3y4z5a6b7c8d9e0", "key_file": "/root/.ssh/authorized_keys"}}}},
		{"login user", map[string][]collect.Row{payload.Users: {{"username": "falcon", "uid": "1017", "gid": "1017", "description": "",
			"directory": "/home/falcon", "shell": "/bin/bash"}}}},
		{"binary in /tmp", map[string][]collect.Row{payload.Processes: {{"name": "falcon-upd", "path": "/tmp/falcon-upd", "cmdline": "/tmp/falcon-upd",
			"uid": "0", "pid": "31337", "parent": "1", "start_time": "1794365080"}}}},
	} {
		t.Run(c.name, func(t *testing.T) {
			res, hosts := agentFleet(t, c.add)
			rep := analyzeAll(t, res)
			wantOutliersExactly(t, rep, hosts)
			if len(rep.Notes) == 0 || !strings.HasPrefix(rep.Notes[0], "likely campaign on 21 of the 200 hosts") {
				t.Errorf("first note %q, want the likely campaign on the 21 hosts", rep.Notes)
			}
		})
	}
}

// TestClusterSmallRoleDeployment: a small role, 6 of 200 hosts (3%,
// beyond r = 2) that run a cache besides what every host runs (its
// process from /usr/bin, its listener, its system user), is a deployment:
// noted, no host flagged.
func TestClusterSmallRoleDeployment(t *testing.T) {
	sim := fleet.NewSim(fleet.SimConfig{Hosts: 200, Seed: 101, Families: fleet.FamilyTokens})
	const cmdline = "/usr/bin/redis-server 127.0.0.1:6379"
	res, _ := addRows(sim, func(i int) bool { return i%33 == 5 }, map[string][]collect.Row{
		payload.Processes: {{"name": "redis-server", "path": "/usr/bin/redis-server", "cmdline": cmdline, "uid": "113",
			"pid": "2471", "parent": "1", "start_time": "1794365180"}},
		payload.ListeningPorts: {{"address": "127.0.0.1", "port": "6379", "protocol": "6", "name": "redis-server",
			"path": "/usr/bin/redis-server", "cmdline": cmdline, "pid": "2471"}},
		payload.Users: {{"username": "redis", "uid": "113", "gid": "119", "description": "", "directory": "/var/lib/redis",
			"shell": "/usr/sbin/nologin"}},
	})
	rep := analyzeAll(t, res)
	if out := rep.Outliers(); len(out) != 0 {
		t.Errorf("%d outliers (the first %s), want none: the role's cache is no compromise", len(out), out[0].InstanceID)
	}
	if !slices.ContainsFunc(rep.Notes, func(n string) bool { return strings.HasPrefix(n, "a deployment on 6 of the 200 hosts, not flagged") }) {
		t.Errorf("no note names the deployment on the 6 hosts; notes:\n%s", strings.Join(rep.Notes, "\n"))
	}
}

// TestClusterDeploymentPackaged: results that also carry the package
// manager's records (a deb_packages Result on every host, as other packs
// collect) keep the agent's rollout a deployment: its package's record on
// the 21 hosts is what installing it left, not a row that persists.
func TestClusterDeploymentPackaged(t *testing.T) {
	res, hosts := agentFleet(t, nil)
	base := []collect.Row{
		{"name": "bash", "version": "5.2.21-2ubuntu4", "arch": "amd64", "source": "bash"},
		{"name": "openssh-server", "version": "1:9.6p1-3ubuntu13.5", "arch": "amd64", "source": "openssh"},
	}
	agent := collect.Row{"name": "falcon-sensor", "version": "7.18.0-17106", "arch": "amd64", "source": "falcon-sensor"}
	var withPkgs []collect.Result
	seen := map[string]bool{}
	for _, r := range res {
		withPkgs = append(withPkgs, r)
		if seen[r.InstanceID] {
			continue
		}
		seen[r.InstanceID] = true
		p := r
		p.CommandID = payload.DebPackages
		p.Rows = slices.Clone(base)
		if slices.Contains(hosts, r.InstanceID) {
			p.Rows = append(p.Rows, agent)
		}
		withPkgs = append(withPkgs, p)
	}
	wantAgentDeployment(t, analyzeAll(t, withPkgs), "falcon-sensor")
}

// wantAgentDeployment checks that rep flags no host and that a note names
// the agent's deployment on its 21 of the 200 hosts with each of rows.
func wantAgentDeployment(t *testing.T, rep *analyze.Report, rows ...string) {
	t.Helper()
	if out := rep.Outliers(); len(out) != 0 {
		t.Errorf("%d outliers (the first %s), want none: the agent's rollout is no compromise", len(out), out[0].InstanceID)
	}
	i := slices.IndexFunc(rep.Notes, func(n string) bool { return strings.HasPrefix(n, "a deployment on 21 of the 200 hosts, not flagged") })
	if i < 0 {
		t.Fatalf("no note names the deployment on the 21 hosts; notes:\n%s", strings.Join(rep.Notes, "\n"))
	}
	for _, want := range rows {
		if !strings.Contains(rep.Notes[i], want) {
			t.Errorf("the deployment's note names no %s: %s", want, rep.Notes[i])
		}
	}
}

// wantOutliersExactly wants rep's outliers to be exactly hosts (a
// campaign's group), in any order.
func wantOutliersExactly(t *testing.T, rep *analyze.Report, hosts []string) {
	t.Helper()
	var got []string
	for _, h := range rep.Outliers() {
		got = append(got, h.InstanceID)
	}
	slices.Sort(got)
	slices.Sort(hosts)
	if !slices.Equal(got, hosts) {
		t.Errorf("outliers %v, want the %d hosts of the group %v", got, len(hosts), hosts)
	}
}
