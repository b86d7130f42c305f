package fleet

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"time"
)

// A jobDef is a short-lived job: the processes it runs for seconds or
// minutes, caught by the processes query on the hosts where it happens to
// run at collection time.
type jobDef struct {
	name string
	// run starts the job's processes at t; it reports false when the job
	// cannot run on this host.
	run func(g *hostGen, r *rand.Rand, t int64) bool
	// cron is the crontab line that starts the job (a package's or
	// configuration management's cron.d file), on every host but those
	// still booting when the fleet has the job; none when cron's own
	// lines or a systemd timer start it.
	cron *cronLine
}

// cronChild starts what cron forks for an entry: cron's own child, titled
// "/usr/sbin/CRON -f -P", and the shell running the entry's command.
func (g *hostGen) cronChild(r *rand.Rand, t int64, command string) proc {
	child := g.spawn(g.childPid(r, g.cron, t), "cron", "/usr/sbin/cron", "/usr/sbin/CRON -f -P", 0, g.cron.pid, t)
	return g.spawn(g.childPid(r, child, t), "sh", "/usr/bin/dash", "/bin/sh -c "+command, 0, child.pid, t)
}

var jobCatalog = []jobDef{
	{name: "cron-hourly", run: func(g *hostGen, r *rand.Rand, t int64) bool {
		sh := g.cronChild(r, t, "   cd / && run-parts --report /etc/cron.hourly")
		g.spawn(g.childPid(r, sh, t), "run-parts", "/usr/bin/run-parts", "run-parts --report /etc/cron.hourly", 0, sh.pid, t)
		return true
	}},
	{name: "sysstat", run: func(g *hostGen, r *rand.Rand, t int64) bool {
		sh := g.cronChild(r, t, "command -v debian-sa1 > /dev/null && debian-sa1 1 1")
		sa1 := g.spawn(g.childPid(r, sh, t), "debian-sa1", "/usr/bin/dash", "/bin/sh /usr/lib/sysstat/debian-sa1 1 1", 0, sh.pid, t)
		g.spawn(g.childPid(r, sa1, t), "sadc", "/usr/lib/sysstat/sadc", "/usr/lib/sysstat/sadc -F -L -S DISK 1 1 /var/log/sysstat", 0, sa1.pid, t)
		return true
	}},
	{name: "logrotate", run: func(g *hostGen, r *rand.Rand, t int64) bool {
		lr := g.spawn(g.pidAt(r, t), "logrotate", "/usr/sbin/logrotate", "/usr/sbin/logrotate /etc/logrotate.conf", 0, 1, t)
		if chance(r, 0.5) {
			g.spawn(g.childPid(r, lr, t), "sh", "/usr/bin/dash", "sh -c /usr/lib/rsyslog/rsyslog-rotate", 0, lr.pid, t)
		}
		return true
	}},
	{name: "apt-daily", run: func(g *hostGen, r *rand.Rand, t int64) bool {
		sh := g.spawn(g.pidAt(r, t), "apt.systemd.dai", "/usr/bin/dash", "/bin/sh /usr/lib/apt/apt.systemd.daily update", 0, 1, t)
		get := g.spawn(g.childPid(r, sh, t), "apt-get", "/usr/bin/apt-get", "apt-get -qq -y update", 0, sh.pid, t)
		for range 1 + r.IntN(3) {
			g.spawn(g.childPid(r, get, t), "http", "/usr/lib/apt/methods/http", "/usr/lib/apt/methods/http", 105, get.pid, t)
		}
		return true
	}},
	{name: "unattended-upgrade", run: func(g *hostGen, r *rand.Rand, t int64) bool {
		uu := g.spawn(g.pidAt(r, t), "unattended-upgr", g.python(), "/usr/bin/python3 /usr/bin/unattended-upgrade", 0, 1, t)
		pkg := pickOne(r, "libssl3", "openssl", "libc6", "tzdata", "python3.10-minimal", "linux-libc-dev", "libnss3", "curl", "libsystemd0")
		g.spawn(g.childPid(r, uu, t), "dpkg", "/usr/bin/dpkg", "/usr/bin/dpkg --status-fd 10 --no-triggers --unpack --auto-deconfigure /var/cache/apt/archives/"+pkg+".deb", 0, uu.pid, t)
		return true
	}},
	{name: "man-db", run: func(g *hostGen, r *rand.Rand, t int64) bool {
		g.spawn(g.pidAt(r, t), "mandb", "/usr/bin/mandb", "/usr/bin/mandb --quiet", 6, 1, t)
		return true
	}},
	{name: "fstrim", run: func(g *hostGen, r *rand.Rand, t int64) bool {
		g.spawn(g.pidAt(r, t), "fstrim", "/usr/sbin/fstrim", "/sbin/fstrim --listed-in /etc/fstab:/proc/self/mountinfo --verbose --quiet-unsupported", 0, 1, t)
		return true
	}},
	{name: "tmpfiles-clean", run: func(g *hostGen, r *rand.Rand, t int64) bool {
		g.spawn(g.pidAt(r, t), "systemd-tmpfile", "/usr/bin/systemd-tmpfiles", "/usr/bin/systemd-tmpfiles --clean", 0, 1, t)
		return true
	}},
	{name: "release-check", run: func(g *hostGen, r *rand.Rand, t int64) bool {
		g.spawn(g.pidAt(r, t), "check-new-relea", g.python(), "/usr/bin/python3 -Es /usr/lib/ubuntu-release-upgrader/check-new-release -q", 0, 1, t)
		return true
	}},
	{name: "imds-token", run: func(g *hostGen, r *rand.Rand, t int64) bool {
		sh := g.spawn(g.pidAt(r, t), "health-report", "/usr/bin/bash", "/bin/bash /usr/local/bin/health-report", 0, 1, t)
		g.spawn(g.childPid(r, sh, t), "curl", "/usr/bin/curl",
			"curl -fsS -m 5 -X PUT -H X-aws-ec2-metadata-token-ttl-seconds: 60 http://169.254.169.254/latest/api/token", 0, sh.pid, t)
		return true
	}},
	{name: "role-cron", run: func(g *hostGen, r *rand.Rand, t int64) bool {
		lines := g.roleCron()
		if len(lines) == 0 {
			return false
		}
		user, command, _ := strings.Cut(lines[0].command, " ")
		sh := g.cronChild(r, t, command)
		uid := g.appUser().uid
		if user == "root" {
			uid = 0
		}
		script, _, _ := strings.Cut(command, " ")
		interp := "/usr/bin/bash"
		if strings.Contains(script, "python") {
			interp = g.python()
		}
		g.spawn(g.childPid(r, sh, t), comm(script[strings.LastIndexByte(script, '/')+1:]), interp, command, uid, sh.pid, t)
		return true
	}},
	{name: "config-run", run: func(g *hostGen, r *rand.Rand, t int64) bool {
		// What cron runs is the host's own line (its splayed sleep).
		for i, l := range g.s.p.splay {
			command := strings.TrimPrefix(g.splayLine(i).command, "root ")
			switch l.path {
			case "/etc/cron.d/puppet":
				sh := g.cronChild(r, t, command)
				g.spawn(g.childPid(r, sh, t), "puppet", "/opt/puppetlabs/puppet/bin/ruby",
					"/opt/puppetlabs/puppet/bin/ruby /opt/puppetlabs/puppet/bin/puppet agent --onetime --no-daemonize --no-usecacheonfailure --no-splay --verbose", 0, sh.pid, t)
				return true
			case "/etc/cron.d/chef-client":
				sh := g.cronChild(r, t, command)
				g.spawn(g.childPid(r, sh, t), "chef-client", "/opt/chef/embedded/bin/ruby",
					"/opt/chef/embedded/bin/ruby --disable-gems /usr/bin/chef-client -c /etc/chef/client.rb -L /var/log/chef/client.log", 0, sh.pid, t)
				return true
			}
		}
		return false
	}},
	{name: "backup-upload", run: func(g *hostGen, r *rand.Rand, t int64) bool {
		dest := "s3://" + g.s.cfg.GroupName + "-config-backups/etc/"
		if g.on(FamilyTokens) {
			dest += g.id.hostname + "/"
		}
		g.spawn(g.pidAt(r, t), "aws", g.python(), "/usr/bin/python3 /usr/bin/aws s3 cp /var/backups/etc.tar.gz "+dest+" --only-show-errors", 0, 1, t)
		return true
	}},
	{name: "cron-daily", run: func(g *hostGen, r *rand.Rand, t int64) bool {
		// /etc/crontab's cron.daily line: its shell, the subshell of
		// "( ... )", run-parts and one of the scripts with its children.
		sh := g.cronChild(r, t, "   test -x /usr/sbin/anacron || ( cd / && run-parts --report /etc/cron.daily )")
		sub := g.spawn(g.childPid(r, sh, t), "sh", "/usr/bin/dash", sh.cmdline, 0, sh.pid, t)
		rp := g.spawn(g.childPid(r, sub, t), "run-parts", "/usr/bin/run-parts", "run-parts --report /etc/cron.daily", 0, sub.pid, t)
		script := func(name string) proc {
			return g.spawn(g.childPid(r, rp, t), name, "/usr/bin/dash", "/bin/sh /etc/cron.daily/"+name, 0, rp.pid, t)
		}
		switch r.IntN(5) {
		case 0:
			s := script("logrotate")
			lr := g.spawn(g.childPid(r, s, t), "logrotate", "/usr/sbin/logrotate", "/usr/sbin/logrotate /etc/logrotate.conf", 0, s.pid, t)
			g.spawn(g.childPid(r, lr, t), "gzip", "/usr/bin/gzip", "/bin/gzip", 0, lr.pid, t)
		case 1:
			s := script("man-db")
			g.spawn(g.childPid(r, s, t), "mandb", "/usr/bin/mandb", "/usr/bin/mandb --quiet", 6, s.pid, t)
		case 2:
			s := script("dpkg")
			b := g.spawn(g.childPid(r, s, t), "dpkg-db-backup", "/usr/bin/dash", "/bin/sh /usr/libexec/dpkg/dpkg-db-backup", 0, s.pid, t)
			g.spawn(g.childPid(r, b, t), "tar", "/usr/bin/tar", "tar -cf /var/backups/alternatives.tar.0 -C /var/lib/dpkg alternatives", 0, b.pid, t)
		case 3:
			s := script("plocate")
			f := g.spawn(g.childPid(r, s, t), "flock", "/usr/bin/flock", "flock --nonblock /run/plocate.daily.lock nice -n 19 ionice -c 3 /usr/sbin/updatedb.plocate", 0, s.pid, t)
			g.spawn(g.childPid(r, f, t), "updatedb.plocat", "/usr/sbin/updatedb.plocate", "/usr/sbin/updatedb.plocate", 0, f.pid, t)
		default:
			s := script("cleanup-logs")
			f := g.spawn(g.childPid(r, s, t), "find", "/usr/bin/find", "find /var/log/"+g.s.p.app+" -name *.gz -mtime +14 -delete", 0, s.pid, t)
			if chance(r, 0.5) {
				g.spawn(g.childPid(r, f, t), "sort", "/usr/bin/sort", "sort -u", 0, s.pid, t)
			}
		}
		return true
	}},
	{name: "e2scrub_all", run: func(g *hostGen, r *rand.Rand, t int64) bool {
		// e2scrub_all.timer's service: a bash script listing the
		// volumes it could check.
		sh := g.spawn(g.pidAt(r, t), "e2scrub_all", "/usr/bin/bash", "/bin/bash /sbin/e2scrub_all -A -r", 0, 1, t)
		g.spawn(g.childPid(r, sh, t), "lsblk", "/usr/bin/lsblk", "lsblk -o NAME,FSTYPE,MOUNTPOINT -p -P -n", 0, sh.pid, t)
		return true
	}},
	{name: "sysstat-summary", run: func(g *hostGen, r *rand.Rand, t int64) bool {
		// sysstat-summary.timer: sa2 writes the day's report with sar.
		day := time.Unix(g.at, 0).UTC().Format("02")
		sa2 := g.spawn(g.pidAt(r, t), "sa2", "/usr/bin/dash", "/bin/sh /usr/lib/sysstat/sa2 -A", 0, 1, t)
		g.spawn(g.childPid(r, sa2, t), "sar.sysstat", "/usr/bin/sar.sysstat", "/usr/bin/sar -A -f /var/log/sysstat/sa"+day, 0, sa2.pid, t)
		return true
	}},
	{name: "certbot", run: func(g *hostGen, r *rand.Rand, t int64) bool {
		g.spawn(g.pidAt(r, t), "certbot", g.python(), "/usr/bin/python3 /usr/bin/certbot -q renew --no-random-sleep-on-renew", 0, 1, t)
		return true
	}},
	{name: "motd-news", run: func(g *hostGen, r *rand.Rand, t int64) bool {
		sh := g.spawn(g.pidAt(r, t), "50-motd-news", "/usr/bin/dash", "/bin/sh /etc/update-motd.d/50-motd-news --force", 0, 1, t)
		g.spawn(g.childPid(r, sh, t), "curl", "/usr/bin/curl",
			"curl --connect-timeout 3 --max-time 30 -A curl/7.81.0 Ubuntu/"+g.img.release+"/LTS GNU/Linux -o- https://motd.ubuntu.com", 0, sh.pid, t)
		return true
	}},
	{name: "update-notifier", run: func(g *hostGen, r *rand.Rand, t int64) bool {
		g.spawn(g.pidAt(r, t), "package-data-do", g.python(), "/usr/bin/python3 /usr/lib/update-notifier/package-data-downloader", 0, 1, t)
		return true
	}},
	{name: "nightly-backup", run: func(g *hostGen, r *rand.Rand, t int64) bool {
		// A backup script of the fleet's cron.d, dated file names, and
		// what it runs; half the time caught long after it started (a
		// nightly dump running 20-90 minutes).
		if chance(r, 0.5) {
			t = g.at - int64(20*60+r.IntN(70*60))
		}
		stamp := time.Unix(t, 0).UTC().Format("20060102")
		app := g.s.p.app
		sh := g.cronChild(r, t, "/usr/local/sbin/backup-"+app+".sh >> /var/log/backup.log 2>&1")
		b := g.spawn(g.childPid(r, sh, t), "backup-"+app+".sh", "/usr/bin/bash", "/bin/bash /usr/local/sbin/backup-"+app+".sh", 0, sh.pid, t)
		file := "/var/backups/" + app + "-" + stamp + ".tar.gz"
		switch r.IntN(4) {
		case 0:
			tar := g.spawn(g.childPid(r, b, t), "tar", "/usr/bin/tar", "tar -czf "+file+" /etc /srv/"+app+"/config", 0, b.pid, t)
			g.spawn(g.childPid(r, tar, t), "gzip", "/usr/bin/gzip", "gzip", 0, tar.pid, t)
		case 1:
			file = "/var/backups/" + app + "-" + stamp + "T0230.dump"
			g.spawn(g.childPid(r, b, t), "pg_dump", "/usr/lib/postgresql/14/bin/pg_dump",
				"/usr/lib/postgresql/14/bin/pg_dump -Fc -h db.internal -U "+app+" -f "+file+" "+app, 0, b.pid, t)
		case 2:
			rs := g.spawn(g.childPid(r, b, t), "rsync", "/usr/bin/rsync", "rsync -a --delete -e ssh /srv/"+app+"/data/ backup@backup.internal:/backups/"+g.id.hostname+"/", 0, b.pid, t)
			g.spawn(g.childPid(r, rs, t), "ssh", "/usr/bin/ssh", "ssh -l backup backup.internal rsync --server -logDtpre.iLsfxCIvu --delete . /backups/"+g.id.hostname+"/", 0, rs.pid, t)
		default:
			g.spawn(g.childPid(r, b, t), "aws", g.python(),
				"/usr/bin/python3 /usr/bin/aws s3 cp "+file+" s3://"+g.s.cfg.GroupName+"-backups/"+g.id.hostname+"/ --only-show-errors", 0, b.pid, t)
		}
		return true
	}, cron: &cronLine{"", "30", "2", "*", "*", "*", "root /usr/local/sbin/backup-{app}.sh >> /var/log/backup.log 2>&1", "/etc/cron.d/backup"}},
	{name: "salt-call", run: func(g *hostGen, r *rand.Rand, t int64) bool {
		sh := g.cronChild(r, t, "/usr/bin/salt-call state.apply --state-output=terse -l quiet")
		py := "/opt/saltstack/salt/bin/python3.10"
		sc := g.spawn(g.childPid(r, sh, t), "salt-call", py, py+" /usr/bin/salt-call state.apply --state-output=terse -l quiet", 0, sh.pid, t)
		if chance(r, 0.5) {
			g.spawn(g.childPid(r, sc, t), "systemctl", "/usr/bin/systemctl", "systemctl is-active "+g.s.p.app, 0, sc.pid, t)
		}
		return true
	}, cron: &cronLine{"", "*/30", "*", "*", "*", "*", "root /usr/bin/salt-call state.apply --state-output=terse -l quiet", "/etc/cron.d/salt-call"}},
	{name: "ansible-pull", run: func(g *hostGen, r *rand.Rand, t int64) bool {
		cmd := "/usr/bin/ansible-pull -q -U https://git.internal/" + g.s.cfg.GroupName + "/ansible.git -C main site.yml"
		sh := g.cronChild(r, t, cmd)
		ap := g.spawn(g.childPid(r, sh, t), "ansible-pull", g.python(), "/usr/bin/python3 "+cmd, 0, sh.pid, t)
		if chance(r, 0.4) {
			g.spawn(g.childPid(r, ap, t), "git", "/usr/bin/git", "/usr/bin/git fetch --tags --force origin", 0, ap.pid, t)
			return true
		}
		pb := g.spawn(g.childPid(r, ap, t), "ansible-playboo", g.python(), "/usr/bin/python3 /usr/bin/ansible-playbook -c local --limit localhost,"+g.id.hostname+" site.yml", 0, ap.pid, t)
		// A module run: ansible's temporary directory in root's home.
		tmp := fmt.Sprintf("/root/.ansible/tmp/ansible-tmp-%d.%02d-%d-%d", t, r.IntN(100), 1000+r.IntN(60000), r.Int64N(1e14))
		mod := pickOne(r, "apt", "systemd", "copy", "template", "stat", "command")
		w := g.spawn(g.childPid(r, pb, t), "sh", "/usr/bin/dash", "/bin/sh -c /usr/bin/python3 "+tmp+"/AnsiballZ_"+mod+".py && sleep 0", 0, pb.pid, t)
		g.spawn(g.childPid(r, w, t), "python3", g.python(), "/usr/bin/python3 "+tmp+"/AnsiballZ_"+mod+".py", 0, w.pid, t)
		return true
	}, cron: &cronLine{"", "*/30", "*", "*", "*", "*", "root /usr/bin/ansible-pull -q -U https://git.internal/{group}/ansible.git -C main site.yml", "/etc/cron.d/ansible-pull"}},
	{name: "ship-journal", run: func(g *hostGen, r *rand.Rand, t int64) bool {
		// A log shipper's one-shot, from a systemd timer: journalctl's
		// export piped to curl.
		sh := g.spawn(g.pidAt(r, t), "ship-journal", "/usr/bin/bash", "/bin/bash /usr/local/bin/ship-journal", 0, 1, t)
		g.spawn(g.childPid(r, sh, t), "journalctl", "/usr/bin/journalctl", "journalctl --since -5min -o json --no-pager", 0, sh.pid, t)
		g.spawn(g.childPid(r, sh, t), "curl", "/usr/bin/curl", "curl -fsS -m 20 --data-binary @- https://logs.internal/ingest/"+g.s.cfg.GroupName, 0, sh.pid, t)
		return true
	}},
	{name: "health-check", run: func(g *hostGen, r *rand.Rand, t int64) bool {
		sh := g.spawn(g.pidAt(r, t), "healthcheck.sh", "/usr/bin/bash", "/bin/bash /usr/local/bin/healthcheck.sh", 0, 1, t)
		g.spawn(g.childPid(r, sh, t), "curl", "/usr/bin/curl", "curl -fsS -m 5 -o /dev/null http://127.0.0.1:9100/metrics", 0, sh.pid, t)
		return true
	}},
	{name: "k8s-cronjob", run: func(g *hostGen, r *rand.Rand, t int64) bool {
		// A Kubernetes CronJob's pod on this node: its shim, pause,
		// the job's shell and program, in the image's paths.
		if !g.s.p.containers.k8s || !g.runs("containerd") {
			return false
		}
		shim := g.spawn(g.pidAt(r, t), "containerd-shim", "/usr/bin/containerd-shim-runc-v2",
			"/usr/bin/containerd-shim-runc-v2 -namespace k8s.io -id "+randHex(r, 64)+" -address /run/containerd/containerd.sock", 0, 1, t)
		g.spawn(g.childPid(r, shim, t), "pause", "/pause", "/pause", 65535, shim.pid, t)
		sh := g.spawn(g.childPid(r, shim, t), "sh", "/bin/busybox", "/bin/sh -c /app/bin/"+g.s.p.app+"-cleanup --older-than 7d", 1000, shim.pid, t)
		g.spawn(g.childPid(r, sh, t), g.s.p.app+"-cleanup", "/app/bin/"+g.s.p.app+"-cleanup", "/app/bin/"+g.s.p.app+"-cleanup --older-than 7d", 1000, sh.pid, t)
		return true
	}},
	{name: "needrestart", run: func(g *hostGen, r *rand.Rand, t int64) bool {
		// unattended-upgrade's dpkg run ends with apt's
		// DPkg::Post-Invoke hooks (/etc/apt/apt.conf.d/99needrestart):
		// the hook's shell and needrestart, a Perl script, reading
		// /proc for processes still on deleted libraries.
		uu := g.spawn(g.pidAt(r, t), "unattended-upgr", g.python(), "/usr/bin/python3 /usr/bin/unattended-upgrade", 0, 1, t)
		sh := g.spawn(g.childPid(r, uu, t), "sh", "/usr/bin/dash",
			"sh -c test -x /usr/lib/needrestart/apt-pinvoke && /usr/lib/needrestart/apt-pinvoke -m u || true", 0, uu.pid, t)
		g.spawn(g.childPid(r, sh, t), "needrestart", "/usr/bin/perl", "/usr/bin/perl /usr/sbin/needrestart -m u", 0, sh.pid, t)
		return true
	}},
	{name: "dpkg-preinst", run: func(g *hostGen, r *rand.Rand, t int64) bool {
		// dpkg unpacking a package runs its maintainer script from the
		// control area it extracted to /var/lib/dpkg/tmp.ci (dpkg's
		// DPKGTEMPEXT), under unattended-upgrade's dpkg.
		uu := g.spawn(g.pidAt(r, t), "unattended-upgr", g.python(), "/usr/bin/python3 /usr/bin/unattended-upgrade", 0, 1, t)
		pkg := pickOne(r, "openssl", "libc6", "tzdata", "curl", "libsystemd0")
		d := g.spawn(g.childPid(r, uu, t), "dpkg", "/usr/bin/dpkg", "/usr/bin/dpkg --status-fd 10 --no-triggers --unpack --auto-deconfigure /var/cache/apt/archives/"+pkg+".deb", 0, uu.pid, t)
		g.spawn(g.childPid(r, d, t), "preinst", "/usr/bin/dash", "/bin/sh /var/lib/dpkg/tmp.ci/preinst upgrade", 0, d.pid, t)
		return true
	}},
	{name: "snapd-refresh", run: func(g *hostGen, r *rand.Rand, t int64) bool {
		// snapd (a daemon up since boot) refreshing a snap: it compiles
		// the snap's seccomp filter and loads its AppArmor profile,
		// children of the old daemon.
		snapd, ok := g.procNamed("snapd")
		if !ok {
			return false
		}
		app := "snap.amazon-ssm-agent.amazon-ssm-agent"
		if chance(r, 0.5) {
			g.spawn(g.childPid(r, snapd, t), "snap-seccomp", "/usr/lib/snapd/snap-seccomp",
				"/usr/lib/snapd/snap-seccomp compile /var/lib/snapd/seccomp/bpf/"+app+".src /var/lib/snapd/seccomp/bpf/"+app+".bin2", 0, snapd.pid, t)
		} else {
			g.spawn(g.childPid(r, snapd, t), "apparmor_parser", "/usr/sbin/apparmor_parser",
				"apparmor_parser --replace --write-cache -O no-expr-simplify --cache-loc=/var/cache/apparmor/snap --quiet /var/lib/snapd/apparmor/profiles/"+app, 0, snapd.pid, t)
		}
		return true
	}},
	{name: "ssm-run-command", run: func(g *hostGen, r *rand.Rand, t int64) bool {
		// A Run Command of State Manager (AWS-GatherSoftwareInventory,
		// AWS-RunPatchBaseline) under the agent's old worker: the
		// document worker with the command's and the instance's IDs.
		if g.agentWorker.pid == 0 {
			return false
		}
		dir := "/snap/amazon-ssm-agent/" + g.ssmRevision()
		id := fmt.Sprintf("%08x-%04x-%04x-%04x-%012x", r.Uint32(), r.IntN(1<<16), r.IntN(1<<16), r.IntN(1<<16), r.Int64N(1<<48))
		if g.on(FamilyTokens) {
			id += " " + g.id.instance.ID
		}
		g.spawn(g.childPid(r, g.agentWorker, t), "ssm-document-wo", dir+"/ssm-document-worker",
			dir+"/ssm-document-worker "+id, 0, g.agentWorker.pid, t)
		return true
	}},
}

// procNamed returns the host's process of this name, if any.
func (g *hostGen) procNamed(name string) (proc, bool) {
	for _, p := range g.procs {
		if p.name == name {
			return p.proc, true
		}
	}
	return proc{}, false
}

// runs reports whether the host runs a process of this name.
func (g *hostGen) runs(name string) bool {
	for _, p := range g.procs {
		if p.name == name {
			return true
		}
	}
	return false
}

// jobPlan is one job of the fleet and its rate.
type jobPlan struct {
	job  int
	rate float64
}

// planJobs draws 5 to 9 jobs of the catalog, each caught on a share of
// [0.005, 0.05] of the hosts at a collection; without FamilyJobs, none.
func (p *plan) planJobs(r *rand.Rand, on bool) {
	order := r.Perm(len(jobCatalog))
	for _, j := range order[:intBetween(r, 5, 9)] {
		p.jobs = append(p.jobs, jobPlan{j, between(r, 0.005, 0.05)})
	}
	if !on {
		p.jobs = nil
	}
}

// jobs adds the crontab lines of the fleet's jobs and starts the jobs
// running on the host at this collection.
func (g *hostGen) jobs() {
	r := g.now(FamilyJobs)
	for _, jp := range g.s.p.jobs {
		if c := jobCatalog[jp.job].cron; c != nil && !g.isBooting() {
			l := *c
			l.command = strings.NewReplacer("{group}", g.s.cfg.GroupName, "{app}", g.s.p.app).Replace(l.command)
			g.crons = append(g.crons, l)
		}
	}
	for _, jp := range g.s.p.jobs {
		if !chance(r, jp.rate) {
			continue
		}
		j := jobCatalog[jp.job]
		if j.cron != nil && g.isBooting() {
			continue // no cron.d file yet
		}
		if j.run(g, r, g.at-int64(r.IntN(90))) {
			g.trait("job=" + j.name)
		}
	}
}
