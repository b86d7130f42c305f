package analyze

import (
	"path"
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
			if !d.installed(m.rows.id, m.rows.feats[f].key) {
				return false
			}
		}
	}
	return true
}

// installed reports whether a row (command cmd, RowKey key) is one an
// installed service leaves:
//
//   - a process or a listener whose executable (path) lies under the
//     package trees (packageTrees) or in a directory of the fleet's own
//     executables (dirs), under no hidden name and not deleted, and whose
//     command line names no file where no package writes (scratchTrees, a
//     hidden name);
//   - a kernel module (a sensor's, a file system's);
//   - a package manager's record of an installed package (deb_packages,
//     rpm_packages, when the results carry them): what installing it left;
//   - a system user: a uid of login.defs' system range (1-999, idRange 1;
//     useradd --system) and a shell one cannot log in with.
//
// Every other row persists or lets someone in, and no package needs it to
// run: a crontab line, an authorized key, a login account or a second
// uid 0, a row of a command this test does not know.
func (d *deployModel) installed(cmd, key string) bool {
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
		return err == nil && idRange(id) == 1 && !loginShell(shell)
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
// (--config=/tmp/x), that is an absolute path there, or a relative
// executable (./xmrig: run from wherever it was dropped).
func namesScratch(cmdline string) bool {
	for i, w := range strings.Fields(cmdline) {
		if i == 0 && strings.HasPrefix(w, "./") {
			return true
		}
		if j := strings.IndexByte(w, '='); j >= 0 {
			w = w[j+1:]
		}
		if strings.HasPrefix(w, "/") && (underAny(w, scratchTrees) || strings.Contains(w, "/.")) {
			return true
		}
	}
	return false
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
