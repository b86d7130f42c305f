package analyze

import (
	"path"
	"strings"

	"github.com/diffy-dfir/diffy/payload"
)

// youngRule decides whether a process caught running (young: started
// less than transientAge before its collection) is evidence. A job or a
// session caught at collection time leaves rows on the few hosts it
// happens to run on, rare by definition, so its age alone kept it from
// deciding; but an attacker at work during an investigation is caught
// young too. What tells them apart is on the host.
//
// A young process belongs to an activity: its root is the oldest young
// process of its chain of parents below the root of the host's process
// tree (init), and what started the root is older than the collection's
// window. The activity is the host's own work when
//
//   - cron's: a process of the activity, or of the root's chain of
//     parents, runs a command of one of the host's crontab rows (cron's
//     shell, "/bin/sh -c <command>", or the command itself);
//   - the boot's: init itself is young (the host booted minutes ago, its
//     user data and configuration management running);
//   - a session's: a process of the activity, or of the root's chain of
//     parents, is one of the host's operators' session
//     (hostSessions.session);
//   - init's: init started the root, and the root's row is new to the
//     fleet or deviates in its command line alone (a timer's job:
//     logrotate, apt's daily run, an interpreter's other program), not a
//     daemon from another path, under another name or uid, or under an
//     odd parent.
//
// A young process row decides (when its verdict would make an old one
// decide) when its executable is suspect wherever it runs: a hidden name
// (a path component starting with a dot), a file deleted since it started
// ("(deleted)": a program that removes itself; the usual path so marked
// under a running daemon is a variant, which never decides), a
// world-writable directory (worldWritable: /tmp, /var/tmp, /dev/shm,
// where any user may put a program, no package does), or a pose as a
// kernel thread (it runs an executable, which a kernel thread has none
// of, yet its command line is a name in brackets, "[kworker/0:1]", as ps
// shows a thread, or its name is that of a process row without an
// executable on more than r hosts). Beyond that it decides when its
// activity is none of the host's own work, or is a session's and it runs
// an executable from outside the directories of the fleet's executables
// (inKnownDir, as keepDeciding does for a session's rows), or init's and
// what init started does so (what the unit runs, an apt method in
// /usr/lib/apt/methods, is its own): what a crontab line or the boot's
// user data names is the host's own configuration and may run from
// anywhere (/opt/chef/embedded/bin/ruby), what merely looks like a job
// must run what the fleet runs.
type youngRule struct {
	s       *sessionModel
	crons   int             // the crontab's index into the command models, -1 when absent
	threads map[string]bool // names of the fleet's process rows without an executable on more than r hosts
	// verdict, when set, gives the verdict of a process feature that
	// initStarted asks for (a fleet baseline's, refModel.judge); nil
	// means verdictOf, the cluster analysis's.
	verdict func(f int32) verdict

	// The activities of host h (prepare): each young process feature's
	// root, and each root's link to the host's own work.
	h        int
	root     map[int32]int32
	link     map[int32]byte // 'c' cron's, 's' a session's
	up       map[int32]byte // linkAbove's memo
	boot     bool
	init     int32 // the host's init (prepare), -1 when none
	hs       hostSessions
	cronCmds []string
}

// worldWritable are the directories of a Linux system every user may
// write to (the sticky temporary directories and POSIX shared memory).
var worldWritable = []string{"/tmp/", "/var/tmp/", "/dev/shm/", "/run/shm/"}

func newYoungRule(s *sessionModel) *youngRule {
	y := &youngRule{s: s, crons: -1, h: -1}
	if s.procs < 0 {
		return y
	}
	for i, m := range s.cmds {
		if m.rows.id == payload.Crontab {
			y.crons = i
		}
	}
	m := s.cmds[s.procs]
	y.threads = map[string]bool{}
	for f, ft := range m.rows.feats {
		if m.featHosts[f] <= m.r {
			continue
		}
		if p, _ := keyValue(ft.key, "path"); p == "" {
			if name, _ := keyValue(ft.key, "name"); name != "" {
				y.threads[name] = true
			}
		}
	}
	return y
}

// decides reports whether host h's young process feature f, of verdict
// v, decides, and why in words ("" when it does not).
func (y *youngRule) decides(h int, f int32, v verdict) (bool, string) {
	if y == nil || y.s.procs < 0 || y.s.cmds[y.s.procs].rows.parent == nil {
		return false, ""
	}
	key := y.s.cmds[y.s.procs].rows.feats[f].key
	p, _ := keyValue(key, "path")
	name, _ := keyValue(key, "name")
	cmd, _ := keyValue(key, "cmdline")
	if p == "" {
		return false, "" // a kernel thread, or a process whose executable is unknown
	}
	if why := suspectExecutable(p, name, cmd, y.threads); why != "" {
		return true, why
	}
	y.prepare(h)
	root := y.root[f]
	switch link := y.link[root]; {
	case y.boot || link == 'c':
		return false, ""
	case link == 's':
		if y.s.knownDirs != nil && !y.s.inKnownDir(p) {
			return true, "it runs from outside the directories the fleet's executables run from"
		}
		return false, ""
	case y.initStarted(root, v, f):
		// What the unit runs is its own: only the root, what init
		// started, must run what the fleet runs.
		rp, _ := keyValue(y.s.cmds[y.s.procs].rows.feats[root].key, "path")
		if y.s.knownDirs != nil && !y.s.inKnownDir(rp) {
			return true, "init started it (or what it runs under) from outside the directories the fleet's executables run from"
		}
		return false, ""
	case y.daemonHelper(root):
		return false, ""
	}
	return true, "it is part of none of the host's own work (cron's, init's, the boot's) nor of a session"
}

// pathDirs are the directories of a Linux system's search path, where
// packages put the programs anyone may run (FHS 3.0, 4.4 and 4.9).
var pathDirs = map[string]bool{"/bin": true, "/sbin": true, "/usr/bin": true, "/usr/sbin": true, "/usr/local/bin": true, "/usr/local/sbin": true}

// daemonHelper reports whether the activity root is a daemon's own
// helper: its parent is a process older than the collection's window
// whose executable the fleet runs (on more than r hosts), and the root
// runs an executable of that executable's own directory, one off the
// search path (pathDirs): a package's private directory (FHS 4.7,
// /usr/lib/<package>; a snap's revision), where the daemon keeps the
// programs it alone starts: snapd's snap-seccomp, the SSM agent's
// document worker. A shell, a downloader or a miner a daemon starts runs
// from the search path or from elsewhere, and stays evidence.
func (y *youngRule) daemonHelper(root int32) bool {
	up := y.hs.parentOf(root)
	if up < 0 || up == y.init || y.s.known == nil {
		return false
	}
	feats := y.s.cmds[y.s.procs].rows.feats
	pp, _ := keyValue(feats[up].key, "path")
	rp, _ := keyValue(feats[root].key, "path")
	if pp == "" || rp == "" || !y.s.known[pp] || strings.Contains(rp, "/.") {
		return false
	}
	d := path.Dir(pp)
	return d == path.Dir(rp) && !pathDirs[d]
}

// linkOf returns the link of host h's young process feature f's
// activity to the host's own work ('s' a session's, 'c' cron's), 0 when
// none. A session's link found only at init (the parent of an
// operator's user systemd, so a session's row by hostSessions.session)
// is none: everything init started would be that session's.
func (y *youngRule) linkOf(h int, f int32) byte {
	if y == nil || y.s.procs < 0 || y.s.cmds[y.s.procs].rows.parent == nil {
		return 0
	}
	y.prepare(h)
	l := y.link[y.root[f]]
	if l != 's' {
		return l
	}
	g := f
	for steps := 0; g >= 0 && g != y.init && steps <= len(y.hs.m.rows.perHost[h]); steps++ {
		if y.hs.session(g) != "" {
			return 's'
		}
		g = y.hs.parentOf(g)
	}
	return 0
}

// initStarted reports whether init started the activity root, a row
// new to the fleet or whose command line alone deviates (another
// program of an interpreter the fleet runs, as markSessions has it), not
// one whose path, name or uid does (v is the verdict of f, the judged
// feature).
func (y *youngRule) initStarted(root int32, v verdict, f int32) bool {
	if up := y.hs.parentOf(root); up < 0 || up != y.init {
		return false
	}
	switch {
	case root == f:
	case y.verdict != nil:
		v = y.verdict(root)
	default:
		v = y.verdictOf(root)
	}
	return v.kind != vDeviation || v.col == "cmdline"
}

// prepare finds the activities of host h's young processes (see
// youngRule), once per host, in O(rows) lookups: each process's root
// and link are found once (memoized), so a host of many young processes
// in one deep chain costs no more than its rows.
func (y *youngRule) prepare(h int) {
	if y.h == h {
		return
	}
	y.h = h
	y.hs = hostSessions{s: y.s, h: h, m: y.s.cmds[y.s.procs]}
	if y.s.known != nil && y.s.users >= 0 {
		y.hs.byUID, y.hs.byName = y.s.logins(h)
	}
	y.hs.index()
	y.cronCmds = y.crontabCommands(h, y.cronCmds[:0])
	if y.root == nil {
		y.root, y.link, y.up = map[int32]int32{}, map[int32]byte{}, map[int32]byte{}
	}
	clear(y.root)
	clear(y.link)
	clear(y.up)
	c := y.hs.m.rows
	isYoung := map[int32]bool{}
	if c.young == nil {
		return
	}
	for _, i := range c.young[h] {
		isYoung[c.perHost[h][i]] = true
	}
	// init: of the processes without a parent, one with an executable
	// (not kthreadd, the kernel threads' parent) and the most children;
	// young, the host is booting.
	y.init = -1
	for _, f := range c.perHost[h] {
		if p, _ := keyValue(c.feats[f].key, "path"); p == "" || y.hs.parentOf(f) >= 0 {
			continue
		}
		if y.init < 0 || len(y.hs.kids[f]) > len(y.hs.kids[y.init]) {
			y.init = f
		}
	}
	y.boot = y.init >= 0 && isYoung[y.init]
	var path []int32
	for _, i := range c.young[h] {
		f := c.perHost[h][i]
		// The root: up through young parents that are not init.
		path = path[:0]
		g := f
		for steps := 0; steps <= len(c.perHost[h]); steps++ {
			if r, ok := y.root[g]; ok {
				g = r
				break
			}
			path = append(path, g)
			p := y.hs.parentOf(g)
			if p < 0 || !isYoung[p] || p == y.init {
				break
			}
			g = p
		}
		for _, q := range path {
			y.root[q] = g
		}
		switch {
		case y.runsCron(f):
			y.link[g] = 'c'
		case y.link[g] == 0 && y.hs.byUID != nil && y.hs.session(f) != "":
			y.link[g] = 's'
		}
	}
	for _, r := range y.root {
		if y.link[r] != 0 {
			continue
		}
		if l := y.linkAbove(y.hs.parentOf(r)); l != 0 {
			y.link[r] = l
		}
	}
}

// linkAbove returns the link to the host's own work of the process
// feature g and its chain of parents: 'c' when one runs a crontab
// command, 's' when one is an operator's session, 0 when none (memoized
// in y.up).
func (y *youngRule) linkAbove(g int32) byte {
	var path []int32
	l := byte(0)
	for steps := 0; g >= 0 && steps <= len(y.hs.m.rows.perHost[y.h]); steps++ {
		if v, ok := y.up[g]; ok {
			l = v
			break
		}
		path = append(path, g)
		if y.runsCron(g) {
			l = 'c'
			break
		}
		if y.hs.byUID != nil && y.hs.session(g) != "" {
			l = 's'
			break
		}
		g = y.hs.parentOf(g)
	}
	for _, q := range path {
		y.up[q] = l
	}
	return l
}

// runsCron reports whether the host's process feature f runs a command
// of the host's crontab (y.cronCmds).
func (y *youngRule) runsCron(f int32) bool {
	cmd, _ := keyValue(y.hs.m.rows.feats[f].key, "cmdline")
	return runsCommand(cmd, y.cronCmds)
}

// verdictOf returns the verdict of the process feature f's template when
// it is new or deviating, the zero verdict otherwise.
func (y *youngRule) verdictOf(f int32) verdict {
	m := y.s.cmds[y.s.procs]
	t := m.rows.feats[f].tmpl
	if m.tmpls[t].hosts <= m.minority {
		return m.tv[t]
	}
	return m.fv[f]
}

// crontabCommands appends to dst the commands of host h's crontab rows,
// each also without its first word (the user of a system crontab's line,
// "root run-parts ..."), their blanks collapsed (collapseBlanks).
func (y *youngRule) crontabCommands(h int, dst []string) []string {
	if y.crons < 0 {
		return dst
	}
	m := y.s.cmds[y.crons]
	for _, f := range m.rows.perHost[h] {
		cmd, _ := keyValue(m.rows.feats[f].key, "command")
		cmd = collapseBlanks(cmd)
		if cmd == "" {
			continue
		}
		dst = append(dst, cmd)
		if _, rest, ok := strings.Cut(cmd, " "); ok && strings.TrimSpace(rest) != "" {
			dst = append(dst, strings.TrimSpace(rest))
		}
	}
	return dst
}

// runsCommand reports whether a process's command line runs one of the
// commands (cron's shell: "/bin/sh -c <command>"), or is one, blanks
// collapsed on both sides: cron hands the shell the line's text as
// written, the blanks after its user field kept ("/bin/sh -c    cd / &&
// run-parts ..." for /etc/crontab's "17 * * * * root    cd / && ..."),
// where osquery's crontab table gives the fields joined by one space.
func runsCommand(cmdline string, cmds []string) bool {
	if cmdline == "" {
		return false
	}
	cmdline = collapseBlanks(cmdline)
	for _, c := range cmds {
		if cmdline == c || strings.HasSuffix(cmdline, " -c "+c) {
			return true
		}
	}
	return false
}

// collapseBlanks returns s without leading and trailing blanks, each run
// of blanks inside it (spaces, tabs) one space; s itself when it has no
// run to collapse.
func collapseBlanks(s string) string {
	s = strings.TrimSpace(s)
	if !strings.Contains(s, "  ") && !strings.ContainsAny(s, "\t\n\r\v\f") {
		return s
	}
	return strings.Join(strings.Fields(s), " ")
}
