package fleet

import (
	"math/rand/v2"
	"strings"
)

// A jobDef is a short-lived job: the processes it runs for seconds or
// minutes, caught by the processes query on the hosts where it happens to
// run at collection time.
type jobDef struct {
	name string
	// run starts the job's processes at t; it reports false when the job
	// cannot run on this host.
	run func(g *hostGen, r *rand.Rand, t int64) bool
}

// cronChild starts what cron forks for an entry: cron's own child, titled
// "/usr/sbin/CRON -f -P", and the shell running the entry's command.
func (g *hostGen) cronChild(r *rand.Rand, t int64, command string) proc {
	child := g.spawn(g.childPid(r, g.cron, t), "cron", "/usr/sbin/cron", "/usr/sbin/CRON -f -P", 0, g.cron.pid, t)
	return g.spawn(g.childPid(r, child, t), "sh", "/usr/bin/dash", "/bin/sh -c "+command, 0, child.pid, t)
}

var jobCatalog = []jobDef{
	{"cron-hourly", func(g *hostGen, r *rand.Rand, t int64) bool {
		sh := g.cronChild(r, t, "   cd / && run-parts --report /etc/cron.hourly")
		g.spawn(g.childPid(r, sh, t), "run-parts", "/usr/bin/run-parts", "run-parts --report /etc/cron.hourly", 0, sh.pid, t)
		return true
	}},
	{"sysstat", func(g *hostGen, r *rand.Rand, t int64) bool {
		sh := g.cronChild(r, t, "command -v debian-sa1 > /dev/null && debian-sa1 1 1")
		sa1 := g.spawn(g.childPid(r, sh, t), "debian-sa1", "/usr/bin/dash", "/bin/sh /usr/lib/sysstat/debian-sa1 1 1", 0, sh.pid, t)
		g.spawn(g.childPid(r, sa1, t), "sadc", "/usr/lib/sysstat/sadc", "/usr/lib/sysstat/sadc -F -L -S DISK 1 1 /var/log/sysstat", 0, sa1.pid, t)
		return true
	}},
	{"logrotate", func(g *hostGen, r *rand.Rand, t int64) bool {
		lr := g.spawn(g.pidAt(r, t), "logrotate", "/usr/sbin/logrotate", "/usr/sbin/logrotate /etc/logrotate.conf", 0, 1, t)
		if chance(r, 0.5) {
			g.spawn(g.childPid(r, lr, t), "sh", "/usr/bin/dash", "sh -c /usr/lib/rsyslog/rsyslog-rotate", 0, lr.pid, t)
		}
		return true
	}},
	{"apt-daily", func(g *hostGen, r *rand.Rand, t int64) bool {
		sh := g.spawn(g.pidAt(r, t), "apt.systemd.dai", "/usr/bin/dash", "/bin/sh /usr/lib/apt/apt.systemd.daily update", 0, 1, t)
		get := g.spawn(g.childPid(r, sh, t), "apt-get", "/usr/bin/apt-get", "apt-get -qq -y update", 0, sh.pid, t)
		for range 1 + r.IntN(3) {
			g.spawn(g.childPid(r, get, t), "http", "/usr/lib/apt/methods/http", "/usr/lib/apt/methods/http", 105, get.pid, t)
		}
		return true
	}},
	{"unattended-upgrade", func(g *hostGen, r *rand.Rand, t int64) bool {
		uu := g.spawn(g.pidAt(r, t), "unattended-upgr", g.python(), "/usr/bin/python3 /usr/bin/unattended-upgrade", 0, 1, t)
		pkg := pickOne(r, "libssl3", "openssl", "libc6", "tzdata", "python3.10-minimal", "linux-libc-dev", "libnss3", "curl", "libsystemd0")
		g.spawn(g.childPid(r, uu, t), "dpkg", "/usr/bin/dpkg", "/usr/bin/dpkg --status-fd 10 --no-triggers --unpack --auto-deconfigure /var/cache/apt/archives/"+pkg+".deb", 0, uu.pid, t)
		return true
	}},
	{"man-db", func(g *hostGen, r *rand.Rand, t int64) bool {
		g.spawn(g.pidAt(r, t), "mandb", "/usr/bin/mandb", "/usr/bin/mandb --quiet", 6, 1, t)
		return true
	}},
	{"fstrim", func(g *hostGen, r *rand.Rand, t int64) bool {
		g.spawn(g.pidAt(r, t), "fstrim", "/usr/sbin/fstrim", "/sbin/fstrim --listed-in /etc/fstab:/proc/self/mountinfo --verbose --quiet-unsupported", 0, 1, t)
		return true
	}},
	{"tmpfiles-clean", func(g *hostGen, r *rand.Rand, t int64) bool {
		g.spawn(g.pidAt(r, t), "systemd-tmpfile", "/usr/bin/systemd-tmpfiles", "/usr/bin/systemd-tmpfiles --clean", 0, 1, t)
		return true
	}},
	{"release-check", func(g *hostGen, r *rand.Rand, t int64) bool {
		g.spawn(g.pidAt(r, t), "check-new-relea", g.python(), "/usr/bin/python3 -Es /usr/lib/ubuntu-release-upgrader/check-new-release -q", 0, 1, t)
		return true
	}},
	{"imds-token", func(g *hostGen, r *rand.Rand, t int64) bool {
		sh := g.spawn(g.pidAt(r, t), "health-report", "/usr/bin/bash", "/bin/bash /usr/local/bin/health-report", 0, 1, t)
		g.spawn(g.childPid(r, sh, t), "curl", "/usr/bin/curl",
			"curl -fsS -m 5 -X PUT -H X-aws-ec2-metadata-token-ttl-seconds: 60 http://169.254.169.254/latest/api/token", 0, sh.pid, t)
		return true
	}},
	{"role-cron", func(g *hostGen, r *rand.Rand, t int64) bool {
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
	{"config-run", func(g *hostGen, r *rand.Rand, t int64) bool {
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
	{"backup-upload", func(g *hostGen, r *rand.Rand, t int64) bool {
		dest := "s3://" + g.s.cfg.GroupName + "-config-backups/etc/"
		if g.on(FamilyTokens) {
			dest += g.id.hostname + "/"
		}
		g.spawn(g.pidAt(r, t), "aws", g.python(), "/usr/bin/python3 /usr/bin/aws s3 cp /var/backups/etc.tar.gz "+dest+" --only-show-errors", 0, 1, t)
		return true
	}},
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

// jobs starts the jobs running on the host at this collection.
func (g *hostGen) jobs() {
	r := g.now(FamilyJobs)
	for _, jp := range g.s.p.jobs {
		if !chance(r, jp.rate) {
			continue
		}
		j := jobCatalog[jp.job]
		if j.run(g, r, g.at-int64(r.IntN(90))) {
			g.trait("job=" + j.name)
		}
	}
}
