package fleet

import (
	"math/rand/v2"
	"strconv"
	"strings"
)

// A splayLine is a crontab line that configuration management writes with
// a schedule derived from the host's name (Puppet's fqdn_rand, Chef's
// splay), so that a fleet's hosts do not all run it at once.
type splayLine struct {
	path    string // the /etc/cron.d file
	command string // with "{sleep}" where a splayed sleep goes
	form    splayForm
	hours   int // the daily window's hours
	sleep   int // the bound of the splayed sleep, in seconds
	// fixed is the schedule every host has without FamilySplay.
	fixed cronLine
}

// How a line is splayed, and how many variants that makes.
type splayForm int

const (
	splayHourly     splayForm = iota // "M * * * *": 60 variants
	splayHalfHourly                  // "M,M+30 * * * *": 30
	splayQuarterly                   // "M,M+15,M+30,M+45 * * * *": 15
	splayDaily                       // "M H * * *", H in a window: 60 × hours
	splayWeekly                      // "M H * * D": up to 10,080
	splaySleep                       // a fixed schedule, the command after "sleep S": sleep
)

// splayCatalog is what a group's configuration management may splay.
var splayCatalog = []splayLine{
	{path: "/etc/cron.d/puppet", form: splayHalfHourly,
		command: "root /opt/puppetlabs/bin/puppet agent --onetime --no-daemonize --no-usecacheonfailure --no-splay --verbose >/dev/null 2>&1"},
	{path: "/etc/cron.d/chef-client", form: splayHourly,
		command: "root /bin/sleep {sleep}; /usr/bin/chef-client -c /etc/chef/client.rb -L /var/log/chef/client.log > /dev/null 2>&1", sleep: 300},
	{path: "/etc/cron.d/backup-etc", form: splayDaily, hours: 5,
		command: "root /usr/local/bin/backup-etc-to-s3 --bucket {group}-config-backups --prefix etc/ --quiet"},
	{path: "/etc/cron.d/ship-logs", form: splayQuarterly,
		command: "root /usr/local/sbin/ship-rotated-logs --older-than 2d --dest s3://{group}-logs/rotated/ >/dev/null 2>&1"},
	{path: "/etc/cron.d/lynis", form: splayWeekly,
		command: "root /usr/bin/nice -n 19 /usr/sbin/lynis audit system --cronjob > /var/log/lynis-cron.log 2>&1"},
	{path: "/etc/cron.d/refresh-ca", form: splaySleep, sleep: 3600,
		command: "root sleep {sleep} && /usr/local/bin/refresh-internal-ca --quiet"},
	{path: "/etc/cron.d/clamav-scan", form: splayDaily, hours: 3,
		command: "root /usr/bin/nice -n 19 /usr/bin/ionice -c3 /usr/bin/clamscan -ri --quiet --exclude-dir=^/sys /home /srv /tmp"},
	{path: "/etc/cron.d/rotate-secrets", form: splayDaily, hours: 24,
		command: "root /usr/local/bin/rotate-host-secrets --region {region} --app {app}"},
}

// planSplay draws 2 to 4 lines of the catalog, and for each the schedule
// all hosts share when FamilySplay is off. The lines are there with the
// family off too: only their schedules stop varying.
func (p *plan) planSplay(r *rand.Rand, _ bool) {
	order := r.Perm(len(splayCatalog))
	n := intBetween(r, 2, 4)
	for _, i := range order[:n] {
		l := splayCatalog[i]
		l.fixed = splaySchedule(l, r)
		p.splay = append(p.splay, l)
	}
}

// splaySchedule draws one schedule of line l (its minute, hour, day or
// sleep from r), the command's placeholders but {sleep} unfilled.
func splaySchedule(l splayLine, r *rand.Rand) cronLine {
	c := cronLine{minute: "*", hour: "*", dom: "*", month: "*", dow: "*", path: l.path, command: l.command}
	m := r.IntN(60)
	switch l.form {
	case splayHourly:
		c.minute = strconv.Itoa(m)
	case splayHalfHourly:
		m %= 30
		c.minute = strconv.Itoa(m) + "," + strconv.Itoa(m+30)
	case splayQuarterly:
		m %= 15
		c.minute = strconv.Itoa(m) + "," + strconv.Itoa(m+15) + "," + strconv.Itoa(m+30) + "," + strconv.Itoa(m+45)
	case splayDaily:
		c.minute, c.hour = strconv.Itoa(m), strconv.Itoa((1+r.IntN(l.hours))%24)
	case splayWeekly:
		c.minute, c.hour, c.dow = strconv.Itoa(m), strconv.Itoa(r.IntN(24)), strconv.Itoa(r.IntN(7))
	case splaySleep:
		c.minute, c.hour = "17", "4"
	}
	if l.sleep > 0 {
		c.command = strings.Replace(c.command, "{sleep}", strconv.Itoa(r.IntN(l.sleep)), 1)
	}
	return c
}

// splayRows adds the splayed lines: with FamilySplay each host's schedule
// is drawn from its name (stable as long as the host lives), without it
// every host has the fleet's.
func (g *hostGen) splayRows() {
	for i := range g.s.p.splay {
		g.crons = append(g.crons, g.splayLine(i))
	}
}

// splayLine returns the host's line i of the fleet's splayed lines.
func (g *hostGen) splayLine(i int) cronLine {
	l := g.s.p.splay[i]
	c := l.fixed
	if g.on(FamilySplay) {
		// fqdn_rand: seeded by the host's name and the line.
		c = splaySchedule(l, streamRand(g.s.cfg.Seed, uint64(FamilySplay), hashString(g.id.hostname), uint64(i)))
	}
	c.command = strings.NewReplacer("{group}", g.s.cfg.GroupName, "{app}", g.s.p.app, "{region}", g.s.cfg.Region).Replace(c.command)
	return c
}
