package analyze_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/diffy-dfir/diffy/analyze"
	"github.com/diffy-dfir/diffy/collect"
)

// TestClusterLoginSessions: an operator logged in over SSH on 1 host of
// 200 (rare by definition) makes no outlier, nor the http.server it
// listens with (keepListeners): sshd's per-login processes
// name the host's operator's account, the user's systemd and shell run as
// it, and what the shell runs is part of that session. What an attacker
// does still decides: a miner from /tmp in the same session (an
// executable the fleet does not run), and a usual binary with a new
// command line run by a service's user (uid 1002, no login shell) or by
// root with no login behind it.
func TestClusterLoginSessions(t *testing.T) {
	const n = 200
	session := func(i int, h varHost, user, uid string) {
		sshd := fmt.Sprint(600 + i%50)
		h.add("processes",
			collect.Row{"pid": "5000", "name": "sshd", "path": "/usr/sbin/sshd", "cmdline": "sshd: " + user + " [priv]", "uid": "0", "parent": sshd, "start_time": "9"},
			collect.Row{"pid": "5001", "name": "systemd", "path": "/usr/lib/systemd/systemd", "cmdline": "/lib/systemd/systemd --user", "uid": uid, "parent": "1", "start_time": "9"},
			collect.Row{"pid": "5002", "name": "(sd-pam)", "path": "/usr/lib/systemd/systemd", "cmdline": "(sd-pam)", "uid": uid, "parent": "5001", "start_time": "9"},
			collect.Row{"pid": "5003", "name": "sshd", "path": "/usr/sbin/sshd", "cmdline": "sshd: " + user + "@pts/0", "uid": uid, "parent": "5000", "start_time": "9"},
			collect.Row{"pid": "5004", "name": "bash", "path": "/usr/bin/bash", "cmdline": "-bash", "uid": uid, "parent": "5003", "start_time": "9"},
			collect.Row{"pid": "5005", "name": "sudo", "path": "/usr/bin/sudo", "cmdline": "sudo tail -f /var/log/syslog", "uid": "0", "parent": "5004", "start_time": "9"},
			collect.Row{"pid": "5006", "name": "tail", "path": "/usr/bin/tail", "cmdline": "tail -f /var/log/syslog", "uid": "0", "parent": "5005", "start_time": "9"})
	}
	hosts := make([]varHost, n)
	for i := range hosts {
		hosts[i] = baseHost(i).add("users", collect.Row{"uid": "1002", "gid": "1002", "username": "shop", "description": "shop application",
			"directory": "/srv/shop", "shell": "/usr/sbin/nologin"},
			collect.Row{"uid": "1001", "gid": "1001", "username": "jsmith", "description": "jsmith",
				"directory": "/home/jsmith", "shell": "/bin/bash"})
		hosts[i].add("processes", collect.Row{"pid": fmt.Sprint(900 + i%50), "name": "dbus-daemon", "path": "/usr/bin/dbus-daemon",
			"cmdline": "@dbus-daemon --system --nofork", "uid": "102", "parent": "1", "start_time": "2"})
	}
	session(7, hosts[7], "ubuntu", "1000")
	// The operator hands a file over: python3's http.server on a high
	// port, its listener a session's row too.
	hosts[7].add("processes", collect.Row{"pid": "5010", "name": "python3", "path": "/usr/bin/python3.12", "cmdline": "python3 -m http.server 8731",
		"uid": "1000", "parent": "5004", "start_time": "9"})
	hosts[7].add("listening_ports", collect.Row{"pid": "5010", "name": "python3", "path": "/usr/bin/python3.12", "cmdline": "python3 -m http.server 8731",
		"address": "0.0.0.0", "port": "8731", "protocol": "6"})
	session(8, hosts[8], "jsmith", "1001")
	hosts[8].add("processes", collect.Row{"pid": "5100", "name": "kswapd0", "path": "/tmp/.x/kswapd0", "cmdline": "/tmp/.x/kswapd0 -o pool.example:443",
		"uid": "1001", "parent": "5004", "start_time": "9"})
	hosts[9].add("processes", collect.Row{"pid": "5200", "name": "cron", "path": "/usr/sbin/cron", "cmdline": "/usr/sbin/cron -f -L 0",
		"uid": "1002", "parent": "1", "start_time": "9"})
	hosts[10].add("processes", collect.Row{"pid": "5300", "name": "sshd", "path": "/usr/sbin/sshd", "cmdline": "sshd: backdoor [net]",
		"uid": "0", "parent": "1", "start_time": "9"})
	rep, err := analyze.Clustering{Now: func() time.Time { return collectedAt }}.Analyze(context.Background(), analyze.Input{Results: varResults(hosts)})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := outlierIDs(rep), []string{hostID(8), hostID(9), hostID(10)}; !slices.Equal(got, want) {
		t.Fatalf("outliers %v, want %v (the session alone on %s is none)", got, want, hostID(7))
	}
	for _, h := range rep.Hosts {
		if h.InstanceID != hostID(7) {
			continue
		}
		if len(h.Findings) == 0 {
			t.Fatal("the session's rows are not listed")
		}
		for _, f := range h.Findings {
			if f.Deciding {
				t.Errorf("%v decides", f.Row)
			}
			if f.Row["cmdline"] == "sshd: ubuntu [priv]" && !strings.Contains(f.Why, "login session of ubuntu") {
				t.Errorf("sshd's per-login process: why %q does not name the session", f.Why)
			}
		}
	}
}

// TestClusterSessionAccount: an account new to the fleet on 1 host of
// 200 makes no outlier when a login session of it runs on that host (the
// SSM agent creates ssm-user when somebody first opens a session there:
// the agent's session worker, ssm-user's shell). The same row decides
// when no session of it runs, when it has no login shell (a service's)
// and when it is of uid 0 with a session behind it.
func TestClusterSessionAccount(t *testing.T) {
	const n = 200
	worker := "/snap/amazon-ssm-agent/7628/ssm-agent-worker"
	ssm := func(h varHost, user, uid string) {
		h.add("processes",
			collect.Row{"pid": "5000", "name": "ssm-session-wor", "path": "/snap/amazon-ssm-agent/7628/ssm-session-worker",
				"cmdline": "/snap/amazon-ssm-agent/7628/ssm-session-worker admin-0ec14ba213ed6f4d1", "uid": "0", "parent": "650", "start_time": "9"},
			collect.Row{"pid": "5001", "name": "sh", "path": "/usr/bin/dash", "cmdline": "sh", "uid": uid, "parent": "5000", "start_time": "9"},
			collect.Row{"pid": "5002", "name": "top", "path": "/usr/bin/top", "cmdline": "top", "uid": uid, "parent": "5001", "start_time": "9"})
	}
	account := func(h varHost, user, uid, shell string) {
		h.add("users", collect.Row{"uid": uid, "gid": uid, "username": user, "description": "", "directory": "/home/" + user, "shell": shell})
	}
	hosts := make([]varHost, n)
	for i := range hosts {
		hosts[i] = baseHost(i)
		hosts[i].add("processes",
			collect.Row{"pid": "650", "name": "ssm-agent-worke", "path": worker, "cmdline": worker, "uid": "0", "parent": "1", "start_time": "2"},
			collect.Row{"pid": fmt.Sprint(900 + i%50), "name": "sh", "path": "/usr/bin/dash", "cmdline": "/bin/sh /usr/local/bin/agent-health",
				"uid": "0", "parent": "1", "start_time": "2"})
	}
	account(hosts[7], "ssm-user", "1003", "/bin/sh")
	ssm(hosts[7], "ssm-user", "1003")
	account(hosts[8], "support", "1004", "/bin/bash") // no session
	account(hosts[9], "svc", "1005", "/usr/sbin/nologin")
	ssm(hosts[9], "svc", "1005")
	account(hosts[10], "toor", "0", "/bin/bash")
	ssm(hosts[10], "toor", "0")
	rep, err := analyze.Clustering{Now: func() time.Time { return collectedAt }}.Analyze(context.Background(), analyze.Input{Results: varResults(hosts)})
	if err != nil {
		t.Fatal(err)
	}
	ids := outlierIDs(rep)
	if want := []string{hostID(8), hostID(9), hostID(10)}; !slices.Equal(ids, want) {
		t.Fatalf("outliers %v, want %v", ids, want)
	}
	for _, h := range rep.Outliers() {
		if f := h.Findings[0]; f.CommandID != "users" || !f.Deciding {
			t.Errorf("host %s: first finding %s %v (deciding %v), want its users row deciding", h.InstanceID, f.CommandID, f.Row, f.Deciding)
		}
	}
	for _, host := range rep.Hosts {
		if host.InstanceID != hostID(7) {
			continue
		}
		if !slices.ContainsFunc(host.Findings, func(f analyze.Finding) bool {
			return f.CommandID == "users" && !f.Deciding && strings.Contains(f.Why, "the account of a login session of ssm-user running on this host")
		}) {
			t.Errorf("host %s: no users finding says it is a session's account: %v", hostID(7), host.Findings)
		}
	}
}

// TestClusterOperatorProcesses: what an operator runs as themselves from
// the system's directories, on 1 host of 200, makes no outlier though no
// other host runs it and no login session is around it: tmux's server
// daemonized under init with the shell of its window, a "sleep 3600"
// left behind with nohup. The same shapes decide from a directory every
// user may write to, as a service's user (no login shell), or as root.
func TestClusterOperatorProcesses(t *testing.T) {
	const n = 200
	hosts := make([]varHost, n)
	for i := range hosts {
		hosts[i] = baseHost(i).add("users", collect.Row{"uid": "1002", "gid": "1002", "username": "shop", "description": "shop application",
			"directory": "/srv/shop", "shell": "/usr/sbin/nologin"})
		hosts[i].add("processes", collect.Row{"pid": fmt.Sprint(900 + i%50), "name": "bash", "path": "/usr/bin/bash",
			"cmdline": "/bin/bash /usr/local/bin/agent-health", "uid": "0", "parent": "1", "start_time": "2"})
	}
	hosts[7].add("processes",
		collect.Row{"pid": "5000", "name": "tmux: server", "path": "/usr/bin/tmux", "cmdline": "tmux new -s ops", "uid": "1000", "parent": "1", "start_time": "9"},
		collect.Row{"pid": "5001", "name": "bash", "path": "/usr/bin/bash", "cmdline": "-bash", "uid": "1000", "parent": "5000", "start_time": "9"},
		collect.Row{"pid": "5002", "name": "htop", "path": "/usr/bin/htop", "cmdline": "htop", "uid": "1000", "parent": "5001", "start_time": "9"})
	hosts[8].add("processes", collect.Row{"pid": "5100", "name": "sleep", "path": "/usr/bin/sleep", "cmdline": "sleep 3600", "uid": "1000", "parent": "1", "start_time": "9"})
	hosts[9].add("processes", collect.Row{"pid": "5200", "name": "sleep", "path": "/tmp/sleep", "cmdline": "sleep 3600", "uid": "1000", "parent": "1", "start_time": "9"})
	hosts[10].add("processes", collect.Row{"pid": "5300", "name": "tmux: server", "path": "/usr/bin/tmux", "cmdline": "tmux new -s ops", "uid": "1002", "parent": "1", "start_time": "9"})
	hosts[11].add("processes", collect.Row{"pid": "5400", "name": "sleep", "path": "/usr/bin/sleep", "cmdline": "sleep 3600", "uid": "0", "parent": "1", "start_time": "9"})
	rep, err := analyze.Clustering{Now: func() time.Time { return collectedAt }}.Analyze(context.Background(), analyze.Input{Results: varResults(hosts)})
	if err != nil {
		t.Fatal(err)
	}
	if ids, want := outlierIDs(rep), []string{hostID(9), hostID(10), hostID(11)}; !slices.Equal(ids, want) {
		t.Fatalf("outliers %v, want %v", ids, want)
	}
	for _, h := range rep.Outliers() {
		if f := h.Findings[0]; f.CommandID != "processes" || !f.Deciding {
			t.Errorf("host %s: first finding %s %v (deciding %v), want its process deciding", h.InstanceID, f.CommandID, f.Row, f.Deciding)
		}
	}
}

// TestClusterSessionListenerCaughtRunning: an operator's python3 -m
// http.server started minutes before the collection, on hosts where
// operators log in over SSH (5 of 200, each another account), listens
// with a row of its own; the listener is the session's, as its process
// is (youngRule: a session's activity; or it runs under the session's
// shell, an unusual row), and makes no outlier. The same
// server started by a shell of the role's application's user (an
// account without a login shell: an exploit's shell) decides, as does a
// bind shell init started on a host with an operator's session.
func TestClusterSessionListenerCaughtRunning(t *testing.T) {
	const n = 200
	young := fmt.Sprint(collectedAt.Unix() - 90)
	session := func(h varHost, user, uid, start string) {
		h.add("processes",
			collect.Row{"pid": "5000", "name": "sshd", "path": "/usr/sbin/sshd", "cmdline": "sshd: " + user + " [priv]", "uid": "0", "parent": h["processes"][1]["pid"], "start_time": start},
			collect.Row{"pid": "5003", "name": "sshd", "path": "/usr/sbin/sshd", "cmdline": "sshd: " + user + "@pts/0", "uid": uid, "parent": "5000", "start_time": start},
			collect.Row{"pid": "5004", "name": "bash", "path": "/usr/bin/bash", "cmdline": "-bash", "uid": uid, "parent": "5003", "start_time": start})
	}
	hosts := roleHosts(n)
	for i, h := range hosts {
		// The operators' accounts, on every host.
		h.add("users", collect.Row{"uid": "1002", "gid": "1002", "username": "shop", "description": "shop application",
			"directory": "/srv/shop", "shell": "/usr/sbin/nologin"},
			collect.Row{"uid": "2001", "gid": "2001", "username": "olsen", "description": "olsen", "directory": "/home/olsen", "shell": "/bin/bash"})
		for k := 3; k < n; k += 40 {
			user := fmt.Sprintf("ops%d", k)
			h.add("users", collect.Row{"uid": fmt.Sprint(2001 + k), "gid": fmt.Sprint(2001 + k), "username": user, "description": user,
				"directory": "/home/" + user, "shell": "/bin/bash"})
		}
		if i%40 == 3 {
			session(h, fmt.Sprintf("ops%d", i), fmt.Sprint(2001+i), "9")
		}
	}
	server := func(h varHost, pid, parent, uid, port, start string) {
		cmd := "python3 -m http.server " + port
		if start != young {
			cmd = "python3 -m http.server -b 0.0.0.0 " + port
		}
		h.add("processes", collect.Row{"pid": pid, "name": "python3", "path": "/usr/bin/python3.10", "cmdline": cmd, "uid": uid, "parent": parent, "start_time": start})
		h.add("listening_ports", collect.Row{"pid": pid, "name": "python3", "path": "/usr/bin/python3.10", "cmdline": cmd, "address": "0.0.0.0", "port": port, "protocol": "6"})
	}
	session(hosts[5], "olsen", "2001", young)
	server(hosts[5], "5010", "5004", "2001", "8122", young)
	// Started an hour ago, in a session whose shell the fleet's sessions
	// explain (no finding of its own).
	session(hosts[25], "ops43", "2044", "9")
	server(hosts[25], "5010", "5004", "2044", "8197", "9")
	// A bind shell init started minutes ago, on a host with an
	// operator's session: not the session's (init is the parent of the
	// operator's user systemd, not a session's row).
	hosts[43].add("processes", collect.Row{"pid": "7000", "name": "socat", "path": "/usr/bin/socat",
		"cmdline": "socat TCP-LISTEN:6666,reuseaddr,fork EXEC:/bin/bash", "uid": "0", "parent": "1", "start_time": young},
		collect.Row{"pid": "5001", "name": "systemd", "path": "/usr/lib/systemd/systemd", "cmdline": "/lib/systemd/systemd --user", "uid": "2044", "parent": "1", "start_time": "9"})
	hosts[43].add("listening_ports", collect.Row{"pid": "7000", "name": "socat", "path": "/usr/bin/socat",
		"cmdline": "socat TCP-LISTEN:6666,reuseaddr,fork EXEC:/bin/bash", "address": "::", "port": "6666", "protocol": "6"})
	hosts[17].add("processes", collect.Row{"pid": "6000", "name": "sh", "path": "/usr/bin/dash", "cmdline": "sh", "uid": "1002", "parent": "4500", "start_time": young})
	server(hosts[17], "6001", "6000", "1002", "8825", young)
	rep := analyzeResults(t, varResults(hosts))
	if got, want := outlierIDs(rep), []string{hostID(17), hostID(43)}; !slices.Equal(got, want) {
		t.Fatalf("outliers %v, want %v (the sessions' servers on %s and %s are none)", got, want, hostID(5), hostID(25))
	}
	for _, h := range rep.Hosts {
		if h.InstanceID != hostID(5) && h.InstanceID != hostID(25) {
			continue
		}
		lp := slices.IndexFunc(h.Findings, func(f analyze.Finding) bool { return f.CommandID == "listening_ports" })
		if lp < 0 || h.Findings[lp].Deciding || !strings.Contains(h.Findings[lp].Why, "part of an operator's session") {
			t.Errorf("%s: the server's listener is not listed as a session's, not deciding: %v", h.InstanceID, h.Findings)
		}
	}
}

// TestClusterSessionFileTransfer: an operator's scp or sftp transfer on
// 1 host of 200 makes no outlier: sshd's session process "sshd:
// ubuntu@notty" (no tty) execs the Subsystem of sshd_config,
// openssh-sftp-server's /usr/lib/openssh/sftp-server, as ubuntu; no
// other host runs it (loginChild). Counter-test: sftp-server running as
// root under no login's sshd decides. (A child of the same login run
// from /tmp or a hidden name is not flagged here, with or without
// loginChild: a gap of keepDeciding left for later.)
func TestClusterSessionFileTransfer(t *testing.T) {
	const n = 200
	transfer := func(i int, h varHost, exe, uid, parentCmd string) {
		sshd := fmt.Sprint(600 + i%50)
		h.add("processes",
			collect.Row{"pid": "5000", "name": "sshd", "path": "/usr/sbin/sshd", "cmdline": "sshd: ubuntu [priv]", "uid": "0", "parent": sshd, "start_time": "9"},
			collect.Row{"pid": "5003", "name": "sshd", "path": "/usr/sbin/sshd", "cmdline": parentCmd, "uid": "1000", "parent": "5000", "start_time": "9"},
			collect.Row{"pid": "5004", "name": "sftp-server", "path": exe, "cmdline": exe, "uid": uid, "parent": "5003", "start_time": "9"})
	}
	hosts := make([]varHost, n)
	for i := range hosts {
		hosts[i] = baseHost(i).add("users", collect.Row{"uid": "1000", "gid": "1000", "username": "ubuntu", "description": "Ubuntu",
			"directory": "/home/ubuntu", "shell": "/bin/bash"})
	}
	transfer(7, hosts[7], "/usr/lib/openssh/sftp-server", "1000", "sshd: ubuntu@notty")
	hosts[10].add("processes", collect.Row{"pid": "5300", "name": "sftp-server", "path": "/usr/lib/openssh/sftp-server", "cmdline": "/usr/lib/openssh/sftp-server",
		"uid": "0", "parent": fmt.Sprint(600 + 10%50), "start_time": "9"})
	rep, err := analyze.Clustering{Now: func() time.Time { return collectedAt }}.Analyze(context.Background(), analyze.Input{Results: varResults(hosts)})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := outlierIDs(rep), []string{hostID(10)}; !slices.Equal(got, want) {
		t.Fatalf("outliers %v, want %v (the transfer on %s is none)", got, want, hostID(7))
	}
}
