package fleet

import (
	"fmt"
	"math/rand/v2"
	"strings"
)

// sessionPlan is FamilySessions' draw: how many hosts have an operator
// logged in at collection time (it is an incident: people look).
type sessionPlan struct {
	rate float64
	ssm  float64 // the share of sessions over Session Manager rather than SSH
}

// planSessions draws the rate, in [0.005, 0.04], and the Session Manager
// share, in [0, 0.6]; without FamilySessions, no session.
func (p *plan) planSessions(r *rand.Rand, on bool) {
	p.sessions = sessionPlan{between(r, 0.005, 0.04), between(r, 0, 0.6)}
	if !on {
		p.sessions.rate = 0
	}
}

// A uidFix is a process whose user is only known once the host's users
// are: an operator's, whose uid depends on the order users were created.
type uidFix struct {
	proc int // index in procs
	user string
}

// sessionCommands are what an operator runs: the command, whether it runs
// through sudo, and the process's name and path (an empty path: the
// image's python3). Besides looking (top, tail, less), operators debug
// during an incident: strace or gdb attached to the role's application
// ({pid}), tcpdump, perf, curl to an internal URL, and a python3
// http.server on a high port ({port}) to hand a file to a colleague.
// Those tools are on few hosts and most run from nowhere else in the
// fleet: only the session ties them to what the host is.
var sessionCommands = []struct {
	cmdline    string
	sudo       bool
	name, path string
}{
	{"top", false, "top", "/usr/bin/top"},
	{"htop", false, "htop", "/usr/bin/htop"},
	{"tail -f /var/log/syslog", true, "tail", "/usr/bin/tail"},
	{"journalctl -fu {unit}", true, "journalctl", "/usr/bin/journalctl"},
	{"less /var/log/{app}/app.log", false, "less", "/usr/bin/less"},
	{"watch -n1 ss -tnp", true, "watch", "/usr/bin/watch"},
	{"vim /etc/{app}/config.yaml", true, "vim", "/usr/bin/vim.basic"},
	{"strace -f -tt -p {pid}", true, "strace", "/usr/bin/strace"},
	{"gdb -p {pid}", true, "gdb", "/usr/bin/gdb"},
	{"tcpdump -i eth0 -nn port 443", true, "tcpdump", "/usr/bin/tcpdump"},
	{"perf top", true, "perf", "/usr/bin/perf"},
	{"curl -sv http://{app}.internal:8080/healthz", false, "curl", "/usr/bin/curl"},
	{"python3 -m http.server {port}", false, "python3", ""},
	{"python3", false, "python3", ""}, // a REPL
	{"less +F /var/log/{app}/app.log", true, "less", "/usr/bin/less"},
	{"kubectl -n {app} logs -f deploy/{app}", false, "kubectl", "/usr/local/bin/kubectl"},
	{"docker logs -f --tail 100 {app}", true, "docker", "/usr/bin/docker"},
	{"", false, "", ""}, // an idle shell
}

// sessions starts the processes of an operator's session, when the host
// has one at this collection: sshd's privileged and user processes, the
// user's systemd, a login shell and what it runs; or, over Session
// Manager, the agent's session worker and ssm-user's shell.
func (g *hostGen) sessions() {
	sp := &g.s.p.sessions
	r := g.now(FamilySessions)
	if !chance(r, sp.rate) {
		return
	}
	t := g.at - int64(60+r.IntN(3*3600))
	var shell proc
	var user string
	shape := r.IntN(10) // 0: a file transfer, 1: a leftover, 2: sudo -i, 3: tmux, 4: screen
	if shape == 1 {
		// The operator left: what they started with nohup runs on
		// under init, an operator's process with no session around it.
		g.trait("session=left")
		user = pickOne(r, append(g.opsNames(), "ubuntu")...)
		c := pickOne(r, "sleep 3600", "sleep 7200", "tail -f /var/log/syslog")
		name, _, _ := strings.Cut(c, " ")
		g.spawn(g.pidAt(r, t), name, "/usr/bin/"+name, c, 0, 1, t)
		g.fixUID = append(g.fixUID, uidFix{len(g.procs) - 1, user})
		return
	}
	if chance(r, sp.ssm) {
		g.trait("session=ssm")
		user = "ssm-user"
		g.ssmSession = true
		dir := "/snap/amazon-ssm-agent/" + g.ssmRevision()
		who := pickOne(r, append(g.opsNames(), "admin", "oncall")...)
		cmd := fmt.Sprintf("%s/ssm-session-worker %s-%s", dir, who, randHex(r, 17))
		if g.on(FamilyTokens) {
			cmd += " " + g.id.instance.ID
		}
		w := g.spawn(g.childPid(r, g.agentWorker, t), "ssm-session-wor", dir+"/ssm-session-worker", cmd, 0, g.agentWorker.pid, t)
		shell = g.spawn(g.childPid(r, w, t), "sh", "/usr/bin/dash", "sh", 0, w.pid, t)
	} else {
		g.trait("session=ssh")
		user = pickOne(r, append(g.opsNames(), "ubuntu")...)
		priv := g.spawn(g.childPid(r, g.sshd, t), "sshd", "/usr/sbin/sshd", "sshd: "+user+" [priv]", 0, g.sshd.pid, t)
		if shape == 0 {
			// A file copied in or out: sshd's session without a
			// terminal, and sftp's server or scp's remote end.
			g.trait("session=transfer")
			nt := g.spawn(g.childPid(r, priv, t), "sshd", "/usr/sbin/sshd", "sshd: "+user+"@notty", 0, priv.pid, t)
			g.fixUID = append(g.fixUID, uidFix{len(g.procs) - 1, user})
			if chance(r, 0.5) {
				g.spawn(g.childPid(r, nt, t), "sftp-server", "/usr/lib/openssh/sftp-server", "/usr/lib/openssh/sftp-server", 0, nt.pid, t)
			} else {
				g.spawn(g.childPid(r, nt, t), "scp", "/usr/bin/scp", "scp -t /home/"+user+"/", 0, nt.pid, t)
			}
			g.fixUID = append(g.fixUID, uidFix{len(g.procs) - 1, user})
			return
		}
		sd := g.spawn(g.pidAt(r, t), "systemd", "/usr/lib/systemd/systemd", "/lib/systemd/systemd --user", 0, 1, t)
		g.fixUID = append(g.fixUID, uidFix{len(g.procs) - 1, user})
		g.spawn(g.childPid(r, sd, t), "(sd-pam)", "/usr/lib/systemd/systemd", "(sd-pam)", 0, sd.pid, t)
		g.fixUID = append(g.fixUID, uidFix{len(g.procs) - 1, user})
		pts := g.spawn(g.childPid(r, priv, t), "sshd", "/usr/sbin/sshd", fmt.Sprintf("sshd: %s@pts/%d", user, r.IntN(3)), 0, priv.pid, t)
		g.fixUID = append(g.fixUID, uidFix{len(g.procs) - 1, user})
		shell = g.spawn(g.childPid(r, pts, t), "bash", "/usr/bin/bash", "-bash", 0, pts.pid, t)
	}
	g.fixUID = append(g.fixUID, uidFix{len(g.procs) - 1, user})
	root := false // the shell is root's (sudo -i)
	switch shape {
	case 2:
		g.trait("session=sudo-i")
		su := g.spawn(g.childPid(r, shell, t), "sudo", "/usr/bin/sudo", "sudo -i", 0, shell.pid, t)
		shell = g.spawn(g.childPid(r, su, t), "bash", "/usr/bin/bash", "-bash", 0, su.pid, t)
		root = true
	case 3:
		// tmux's client in the login shell, its server (daemonized,
		// under init) and the shell of its window.
		g.trait("session=tmux")
		g.spawn(g.childPid(r, shell, t), "tmux: client", "/usr/bin/tmux", "tmux new -s ops", 0, shell.pid, t)
		g.fixUID = append(g.fixUID, uidFix{len(g.procs) - 1, user})
		srv := g.spawn(g.pidAt(r, t), "tmux: server", "/usr/bin/tmux", "tmux new -s ops", 0, 1, t)
		g.fixUID = append(g.fixUID, uidFix{len(g.procs) - 1, user})
		shell = g.spawn(g.childPid(r, srv, t), "bash", "/usr/bin/bash", "-bash", 0, srv.pid, t)
		g.fixUID = append(g.fixUID, uidFix{len(g.procs) - 1, user})
	case 4:
		g.trait("session=screen")
		cl := g.spawn(g.childPid(r, shell, t), "screen", "/usr/bin/screen", "screen -S ops", 0, shell.pid, t)
		g.fixUID = append(g.fixUID, uidFix{len(g.procs) - 1, user})
		srv := g.spawn(g.childPid(r, cl, t), "screen", "/usr/bin/screen", "SCREEN -S ops", 0, cl.pid, t)
		g.fixUID = append(g.fixUID, uidFix{len(g.procs) - 1, user})
		shell = g.spawn(g.childPid(r, srv, t), "bash", "/usr/bin/bash", "/bin/bash", 0, srv.pid, t)
		g.fixUID = append(g.fixUID, uidFix{len(g.procs) - 1, user})
	}
	c := sessionCommands[r.IntN(len(sessionCommands))]
	if c.cmdline == "" {
		return
	}
	t += int64(r.IntN(max(int(g.at-t), 1)))
	unit := pickOne(r, "ssh", "cron", "snap.amazon-ssm-agent.amazon-ssm-agent", "systemd-networkd")
	target := g.app.pid
	if target == 0 {
		target = g.sshd.pid
	}
	port := 8000 + r.IntN(1000)
	cmd := strings.NewReplacer("{unit}", unit, "{app}", g.s.p.app, "{pid}", fmt.Sprint(target), "{port}", fmt.Sprint(port)).Replace(c.cmdline)
	exe := c.path
	if exe == "" {
		exe = g.python()
	}
	parent := shell
	if c.sudo && !root {
		parent = g.spawn(g.childPid(r, shell, t), "sudo", "/usr/bin/sudo", "sudo "+cmd, 0, shell.pid, t)
	}
	tool := g.spawn(g.childPid(r, parent, t), c.name, exe, cmd, 0, parent.pid, t)
	if !c.sudo && !root {
		g.fixUID = append(g.fixUID, uidFix{len(g.procs) - 1, user})
	}
	if strings.Contains(c.cmdline, "{port}") {
		g.listen(tool, "0.0.0.0", port, "tcp")
	}
}

// opsNames returns the operators configuration management created on
// this host.
func (g *hostGen) opsNames() []string {
	var out []string
	for _, o := range g.opsOnHost() {
		out = append(out, o.name)
	}
	return out
}

// fixUIDs sets the uids of the processes of operators' sessions.
func (g *hostGen) fixUIDs() {
	for _, f := range g.fixUID {
		for _, u := range g.users {
			if u.name == f.user {
				g.procs[f.proc].uid = u.uid
				break
			}
		}
	}
	g.fixUID = nil
}

// booting starts what runs on a host still booting: cloud-init's final
// stage running the user data, which runs configuration management's
// first pass; the role's services, crontab and the rest are not there
// yet.
func (g *hostGen) booting() {
	r := g.now(FamilyBoot)
	t := g.boot + int64(8+r.IntN(10))
	ci := g.spawn(g.pidAt(r, t), "cloud-init", g.python(), "/usr/bin/python3 /usr/bin/cloud-init modules --mode=final", 0, 1, t)
	g.spawn(g.childPid(r, ci, t), "sh", "/usr/bin/dash", "/bin/sh -c tee -a /var/log/cloud-init-output.log", 0, ci.pid, t)
	part := g.spawn(g.childPid(r, ci, t), "part-001", "/usr/bin/bash", "/bin/bash /var/lib/cloud/instance/scripts/part-001", 0, ci.pid, t+1)
	switch r.IntN(3) {
	case 0:
		g.spawn(g.childPid(r, part, t+2), "puppet", "/opt/puppetlabs/puppet/bin/ruby",
			"/opt/puppetlabs/puppet/bin/ruby /opt/puppetlabs/puppet/bin/puppet agent --test --waitforcert 60", 0, part.pid, t+2)
	case 1:
		a := g.spawn(g.childPid(r, part, t+2), "apt-get", "/usr/bin/apt-get", "apt-get install -y -q nginx-common jq unzip", 0, part.pid, t+2)
		g.spawn(g.childPid(r, a, t+3), "http", "/usr/lib/apt/methods/http", "/usr/lib/apt/methods/http", 105, a.pid, t+3)
	default:
		g.spawn(g.childPid(r, part, t+2), "ansible-pull", g.python(),
			"/usr/bin/python3 /usr/bin/ansible-pull -U https://git.internal/"+g.s.cfg.GroupName+"/ansible.git site.yml", 0, part.pid, t+2)
	}
	g.trait("booting")
}
