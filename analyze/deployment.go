package analyze

import (
	"path"
	"slices"
	"strconv"
	"strings"

	"github.com/diffy-dfir/diffy/payload"
)

// deployModel is the seventh test of findCampaigns: it tells a service
// that configuration management (or a package) installed on a minority of
// the hosts from an implant spread over them. Built once per analysis
// from the command models.
type deployModel struct {
	cmds []*cmdModel
	// dirs are the directories the fleet's own executables run from: the
	// paths of process rows on more than minority hosts (/usr/local/bin
	// where configuration management puts node_exporter on every host).
	dirs map[string]bool
}

func newDeployModel(cmds []*cmdModel) *deployModel {
	d := &deployModel{cmds: cmds, dirs: map[string]bool{}}
	for _, m := range cmds {
		if m.rows.id != payload.Processes {
			continue
		}
		for f, ft := range m.rows.feats {
			if m.featHosts[f] > m.minority {
				if p, ok := keyValue(ft.key, "path"); ok && installedPath(p) {
					d.dirs[path.Dir(p)] = true
				}
			}
		}
	}
	return d
}

// deployment reports whether every row of g is one a deployment leaves
// (installed): then g, though it passes the other six tests, is a service
// being rolled out, not an implant.
func (d *deployModel) deployment(g []*candidate) bool {
	var keys [][2]string // command ID, RowKey of every feature of g
	gr := group{runAs: map[string]bool{}, exes: map[string]bool{}}
	for _, c := range g {
		m := d.cmds[c.cmd]
		feats := []int32{c.feat}
		switch c.kind {
		case 't':
			feats = m.tmpls[c.id].feats
		case 'p':
			feats = m.tmpls[c.id>>32].feats
		}
		for _, f := range feats {
			key := m.rows.feats[f].key
			keys = append(keys, [2]string{m.rows.id, key})
			if m.rows.id == payload.Processes {
				if uid, ok := keyValue(key, "uid"); ok {
					gr.runAs[uid] = true
				}
			}
			if m.rows.id == payload.Processes || m.rows.id == payload.ListeningPorts {
				p, _ := keyValue(key, "path")
				cl, _ := keyValue(key, "cmdline")
				for _, e := range []string{p, firstWord(cl)} {
					if b := path.Base(e); e != "" && b != "/" {
						gr.exes[b] = true
					}
				}
			}
		}
	}
	for _, k := range keys {
		if !d.installed(k[0], k[1], gr) {
			return false
		}
	}
	return true
}

// group is what installed needs to know of the rows of a group.
type group struct {
	// runAs are the uids its processes run as.
	runAs map[string]bool
	// exes are the base names of its processes' and listeners'
	// executables (path, and the first word of the command line).
	exes map[string]bool
}

// firstWord returns the first word of s, "" when none.
func firstWord(s string) string {
	if f := strings.Fields(s); len(f) > 0 {
		return f[0]
	}
	return ""
}

// installed reports whether a row (command cmd, RowKey key) of group gr
// is one an installed service leaves:
//
//   - a process or a listener whose executable (path) lies under the
//     package trees (packageTrees) or in a directory of the fleet's own
//     executables (dirs), under no hidden name and not deleted, and whose
//     command line names no file where no package writes (namesScratch:
//     scratchTrees, a hidden name), but for its temporary directory;
//   - a kernel module (a sensor's, a file system's);
//   - a package manager's record of an installed package (deb_packages,
//     rpm_packages, when the results carry them): what installing it left;
//   - a system user: a uid of login.defs' system range (1-999, idRange 1;
//     useradd --system) and either a shell one cannot log in with or a
//     uid one of the group's processes runs as: the service's own
//     account, which its package made (Debian's postgres and jenkins
//     have /bin/bash, for their maintainers' su);
//   - a package's crontab line (packageCron): in /etc/cron.d, running
//     installed programs on local files, none of them one the group's
//     processes run (a package's daemon is kept running by its init
//     system; a cron line that starts it again is a watchdog, what an
//     implant needs to survive being killed).
//
// Every other row persists or lets someone in, and no package needs it to
// run: a crontab line of a user's crontab or one that fetches, decodes
// or runs what was dropped, an authorized key, a login account or a
// second uid 0, a row of a command this test does not know.
func (d *deployModel) installed(cmd, key string, gr group) bool {
	switch cmd {
	case payload.Processes, payload.ListeningPorts:
		if p, _ := keyValue(key, "path"); p != "" && !(installedPath(p) && (d.dirs[path.Dir(p)] || packaged(p))) {
			return false
		}
		cl, _ := keyValue(key, "cmdline")
		return !namesScratch(cl)
	case payload.KernelModules, payload.DebPackages, payload.RpmPackages:
		return true
	case payload.Users:
		uid, _ := keyValue(key, "uid")
		shell, _ := keyValue(key, "shell")
		id, err := strconv.ParseInt(uid, 10, 64)
		return err == nil && idRange(id) == 1 && (!loginShell(shell) || gr.runAs[uid])
	case payload.Crontab:
		return packageCron(key, gr.exes)
	}
	return false
}

// packageCron reports whether a crontab row (its RowKey) is a package's
// line, beside processes whose executables' base names are exes: Debian
// Policy 9.5.1 has packages install their jobs as files of /etc/cron.d
// (never in /var/spool/cron/crontabs, a user's crontab), and a package's
// job runs the maintenance programs it installed on local files. So the
// line is in a file of /etc/cron.d, names no file under a scratch tree or
// a hidden name (namesScratch), fetches or decodes nothing to run (no URL
// "://", no socket of bash's /dev/tcp or /dev/udp, no IPv4 address, no
// data piped into a shell or an interpreter: pipedToShell), and names
// none of exes as a word. An attacker's line must bring its code from
// somewhere (a file dropped where anyone can write, the network, a blob
// in the line) or start its implant again.
func packageCron(key string, exes map[string]bool) bool {
	p, _ := keyValue(key, "path")
	cmd, _ := keyValue(key, "command")
	if !strings.HasPrefix(p, "/etc/cron.d/") || path.Clean(p) != p || strings.Contains(p[len("/etc/cron.d/"):], "/") {
		return false
	}
	for _, w := range strings.FieldsFunc(cmd, func(r rune) bool { return strings.ContainsRune(" \t;&|()<>'\"`", r) }) {
		if exes[path.Base(w)] {
			return false
		}
	}
	return !namesScratch(cmd) && !strings.Contains(cmd, "://") && !strings.Contains(cmd, "/dev/tcp/") &&
		!strings.Contains(cmd, "/dev/udp/") && !hasIPv4(cmd) && !pipedToShell(cmd)
}

// shells are the programs that run the code they read: POSIX shells and
// the interpreters every image has.
var shells = []string{"sh", "bash", "dash", "zsh", "ksh", "python", "python2", "python3", "perl", "ruby", "php", "node"}

// pipedToShell reports whether a shell command line pipes something into
// a shell or an interpreter ("| sh", "|bash -s", "| python3 -").
func pipedToShell(cmd string) bool {
	parts := strings.Split(cmd, "|")
	for _, seg := range parts[1:] {
		f := strings.Fields(seg)
		if len(f) > 0 && slices.Contains(shells, path.Base(f[0])) {
			return true
		}
	}
	return false
}

// hasIPv4 reports whether s holds a dotted quad of four numbers of at most
// 255: a host to connect to.
func hasIPv4(s string) bool {
	for _, w := range strings.FieldsFunc(s, func(r rune) bool { return !(r >= '0' && r <= '9' || r == '.') }) {
		q := strings.Split(w, ".")
		if len(q) != 4 {
			continue
		}
		ok := true
		for _, x := range q {
			n, err := strconv.Atoi(x)
			ok = ok && err == nil && len(x) <= 3 && n <= 255
		}
		if ok {
			return true
		}
	}
	return false
}

// packageTrees are where package managers install executables, by the
// Filesystem Hierarchy Standard 3.0: /usr (3.4, 4: shareable read-only
// data) but /usr/local (4.9: the administrator's, "safe from being
// overwritten when the system software is updated"), /bin, /sbin and
// /lib (3.4-3.10, now links into /usr), /opt (3.13: "add-on application
// software packages"), and /snap, where snapd mounts its packages.
// /usr/local counts only where the fleet's own executables run from it
// (deployModel.dirs).
var packageTrees = []string{"/usr/", "/bin/", "/sbin/", "/lib/", "/lib64/", "/opt/", "/snap/"}

// scratchTrees are where anyone may write and no package installs (FHS
// 3.0: /tmp 3.18, /var/tmp 5.15, /dev/shm, a user's /run/user), or a
// person's files (/home 3.8, /root 3.14): a service that names a file
// there runs what someone dropped.
var scratchTrees = []string{"/tmp/", "/var/tmp/", "/dev/shm/", "/run/user/", "/home/", "/root/"}

// installedPath reports whether p can be an installed executable: an
// absolute clean path, no component hidden (a leading dot), not the
// kernel's mark of a deleted file, not under a scratch tree.
func installedPath(p string) bool {
	return strings.HasPrefix(p, "/") && path.Clean(p) == p && !strings.Contains(p, "/.") &&
		!strings.HasSuffix(p, " (deleted)") && !underAny(p, scratchTrees)
}

// packaged reports whether p lies under the package trees.
func packaged(p string) bool {
	return underAny(p, packageTrees) && !strings.HasPrefix(p, "/usr/local/")
}

// namesScratch reports whether a command line names a file under a
// scratch tree or a hidden one: one of its words, or a flag's value
// (--config=/tmp/x), that is an absolute path there once cleaned (a
// kafka-run-class.sh's /opt/kafka/bin/../logs is /opt/kafka/logs; a
// path that climbs out of a tree is judged where it lands), or a
// relative executable (./xmrig: run from wherever it was dropped). A
// flag that names the program's directory for temporary files
// (tmpDirFlag: -Djava.io.tmpdir=/tmp/elasticsearch-N) names where it
// writes, which is what /tmp is for (FHS 3.0, 3.18), not what it runs;
// the directory must still be no hidden name.
func namesScratch(cmdline string) bool {
	for i, w := range strings.Fields(cmdline) {
		if i == 0 && strings.HasPrefix(w, "./") {
			return true
		}
		flag := ""
		if j := strings.IndexByte(w, '='); j >= 0 {
			flag, w = w[:j], w[j+1:]
		}
		if !strings.HasPrefix(w, "/") {
			continue
		}
		w = path.Clean(w)
		if strings.Contains(w, "/.") {
			return true
		}
		if underAny(w+"/", scratchTrees) && !tmpDirFlag(flag) {
			return true
		}
	}
	return false
}

// tmpDirFlag reports whether a flag's name (what precedes its "=")
// declares a directory for temporary files: it ends, its case, dots,
// dashes and underscores aside, in "tmpdir" or "tempdir" (Java's
// -Djava.io.tmpdir, --tmpdir, TMPDIR).
func tmpDirFlag(flag string) bool {
	f := strings.ToLower(strings.NewReplacer(".", "", "-", "", "_", "").Replace(flag))
	return strings.HasSuffix(f, "tmpdir") || strings.HasSuffix(f, "tempdir")
}

// underAny reports whether p lies under one of the trees (each ending in
// a slash).
func underAny(p string, trees []string) bool {
	for _, t := range trees {
		if strings.HasPrefix(p, t) {
			return true
		}
	}
	return false
}
