package analyze

import (
	"path"
	"strconv"
	"strings"

	"github.com/diffy-dfir/diffy/payload"
)

// sessionModel tells an operator's login session from what the fleet does
// not share (markSessions). Built once per analysis from the command
// models: which commands hold processes and users, and the executables
// the fleet runs, the paths of process rows on more than r hosts.
type sessionModel struct {
	cmds         []*cmdModel
	procs, users int // indexes into cmds, -1 when absent
	lps          int // the listening ports' index into cmds, -1 when absent
	known        map[string]bool
	knownDirs    map[string]bool // the directories of known
}

func newSessionModel(cmds []*cmdModel) *sessionModel {
	s := &sessionModel{cmds: cmds, procs: -1, users: -1, lps: -1}
	for i, m := range cmds {
		switch m.rows.id {
		case payload.Processes:
			s.procs = i
		case payload.Users:
			s.users = i
		case payload.ListeningPorts:
			s.lps = i
		}
	}
	if s.procs < 0 || s.users < 0 {
		return s
	}
	m := cmds[s.procs]
	s.known, s.knownDirs = map[string]bool{}, map[string]bool{}
	for f, ft := range m.rows.feats {
		if m.featHosts[f] > m.r {
			if p, ok := keyValue(ft.key, "path"); ok && p != "" {
				s.known[p] = true
				s.knownDirs[path.Dir(p)] = true
			}
		}
	}
	return s
}

// inKnownDir reports whether p is an executable of a directory the
// fleet's known executables run from (/usr/bin, /usr/sbin), under no
// hidden name (a component starting with a dot: /usr/bin/.sshd).
func (s *sessionModel) inKnownDir(p string) bool {
	return s.knownDirs[path.Dir(p)] && !strings.Contains(p, "/.")
}

// keepDeciding undoes, after inheritFromParents, what a session's rows
// made of the findings under them: a process under a session (its parent,
// or its parent's parent and so on, a session's row of markSessions)
// that runs an executable from outside the directories the fleet runs
// from, or under a hidden name, decides as it would have without the
// session: a miner started from /tmp in an operator's shell. What an
// operator runs from the system's directories (top, tail, vim) stays
// part of the session.
func (s *sessionModel) keepDeciding(h int, finds []pendingFinding) {
	ci := int32(s.procs)
	c := s.cmds[s.procs].rows
	byFeat := map[int32]int{}
	for k, p := range finds {
		if p.cmd == ci {
			byFeat[p.feat] = k
		}
	}
	inSession := func(p *pendingFinding) bool {
		for range len(finds) {
			k, ok := byFeat[p.under]
			if p.under < 0 || !ok {
				return false
			}
			p = &finds[k]
			if p.login != "" {
				return true
			}
		}
		return false
	}
	for k := range finds {
		p := &finds[k]
		if p.cmd != ci || p.deciding || p.login != "" || p.under < 0 || p.young || p.v.kind == vVariant || !p.v.decides {
			continue
		}
		if pth, _ := keyValue(c.feats[p.feat].key, "path"); !s.inKnownDir(pth) && inSession(p) {
			p.deciding, p.under = true, -1
		}
	}
}

// keepListeners makes the deciding findings of host h's listening
// sockets non-deciding when they are a session's: the socket's process
// (the process row of h with the socket's path and cmdline) is a
// non-deciding finding of a session (keepDeciding has run), a process
// caught running whose activity youngRule found a session's, or under an
// operator's process that is a session's (hostSessions.session), as the
// python3 -m http.server an operator starts to hand a file over; or
// when its process is placed (buildPlacements: a container's workload,
// from no suspect place), as the port a container's server listens on.
// A listener of a process that decides, or of no process of the
// session nor placed, is judged alone: a shell bound to a port started from an operator's
// shell runs from outside the fleet's directories and decides.
func (s *sessionModel) keepListeners(h int, finds []pendingFinding) {
	if s.procs < 0 || s.lps < 0 {
		return
	}
	ci, li := int32(s.procs), int32(s.lps)
	pc, lc := s.cmds[s.procs].rows, s.cmds[s.lps].rows
	type exe struct{ path, cmdline string }
	session := map[exe]byte{} // 'p' placed, 's' a session's
	exeOf := func(f int32) exe {
		key := pc.feats[f].key
		pth, _ := keyValue(key, "path")
		cmd, _ := keyValue(key, "cmdline")
		return exe{pth, cmd}
	}
	// A placed process's listeners are placed with it.
	for _, p := range finds {
		if p.cmd == ci && p.placed && !p.deciding {
			session[exeOf(p.feat)] = 'p'
		}
	}
	s.sessionExes(h, finds, func(f int32) { session[exeOf(f)] = 's' })
	if len(session) == 0 {
		return
	}
	for k := range finds {
		p := &finds[k]
		if p.cmd != li || !p.deciding || p.campaign {
			continue
		}
		key := lc.feats[p.feat].key
		pth, _ := keyValue(key, "path")
		cmd, _ := keyValue(key, "cmdline")
		if why := session[exe{pth, cmd}]; why != 0 {
			p.deciding, p.listenerOf = false, why
		}
	}
}

// sessionExes calls add with every process feature of host h's findings
// that is a session's (see keepListeners).
func (s *sessionModel) sessionExes(h int, finds []pendingFinding, add func(f int32)) {
	if s.known == nil {
		return
	}
	ci := int32(s.procs)
	pc := s.cmds[s.procs].rows
	hs := hostSessions{s: s, h: h, m: s.cmds[s.procs]}
	if hs.byUID, hs.byName = s.logins(h); hs.byUID == nil {
		return
	}
	byFeat := map[int32]int{}
	for k, p := range finds {
		if p.cmd == ci {
			byFeat[p.feat] = k
		}
	}
	pm := s.cmds[s.procs]
	unusual := func(f int32) bool {
		return pm.tmpls[pc.feats[f].tmpl].hosts <= pm.minority || pm.featHosts[f] <= pm.minority
	}
	// inSession reports whether process finding k is a session's: its
	// own login, or under findings that reach one, none deciding.
	inSession := func(k int) bool {
		for range len(finds) {
			p := &finds[k]
			if p.deciding {
				return false
			}
			if p.login != "" || p.young && p.youngLink == 's' {
				return true
			}
			if p.under < 0 {
				return false
			}
			f := p.under
			var ok bool
			for steps := 0; steps <= len(pc.perHost[h]); steps++ {
				if k, ok = byFeat[f]; ok {
					break
				}
				// A parent that is no finding: a session's row the
				// fleet explains (an operator's shell on a few hosts),
				// or a row of its activity under one, the rows up to
				// the session all unusual (on at most minority
				// hosts): a usual row (sshd, init) ends the activity.
				if hs.session(f) != "" {
					return true
				}
				if !unusual(f) {
					return false
				}
				if f = hs.parentOf(f); f < 0 {
					return false
				}
			}
			if !ok {
				return false
			}
		}
		return false
	}
	for f, k := range byFeat {
		if inSession(k) {
			add(f)
		}
	}
}

// logins returns the operators' accounts of host h, by uid and by name:
// its users rows with a uid in login.defs' range for people (idRange 2:
// 1000-60000) and a shell one can log in with (not nologin, not false).
// A service's user (an application's, uid 1002, /usr/sbin/nologin) is
// none.
func (s *sessionModel) logins(h int) (byUID, byName map[string]string) {
	m := s.cmds[s.users]
	for _, f := range m.rows.perHost[h] {
		key := m.rows.feats[f].key
		uid, _ := keyValue(key, "uid")
		name, _ := keyValue(key, "username")
		shell, _ := keyValue(key, "shell")
		id, err := strconv.ParseInt(uid, 10, 64)
		if err != nil || idRange(id) != 2 || name == "" || !loginShell(shell) {
			continue
		}
		if byUID == nil {
			byUID, byName = map[string]string{}, map[string]string{}
		}
		byUID[uid] = name
		byName[name] = name
	}
	return byUID, byName
}

// loginShell reports whether shell lets its user log in.
func loginShell(shell string) bool {
	switch path.Base(shell) {
	case "", "nologin", "false", "sync", "shutdown", "halt":
		return false
	}
	return true
}

// namedLogin returns the account of byName that cmdline names as a word
// ("sshd: ubuntu [priv]", "sshd: ubuntu@pts/0"), "" when none.
func namedLogin(cmdline string, byName map[string]string) string {
	for _, w := range strings.FieldsFunc(cmdline, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-' || r == '.')
	}) {
		if n, ok := byName[w]; ok {
			return n
		}
	}
	return ""
}

// markSessions makes the deciding findings of processes of host h that
// are an operator's login session non-deciding, and reports whether it
// changed any; it also takes h out of the campaign candidates that are
// such rows on h (a campaign is an implant, not people logging in). An operator logged in at collection time (during an
// incident, people look) leaves rows on the few hosts they are on, rare
// by definition at the 0.5-4% of hosts that have a session, so counts
// cannot clear them; what ties them to a login is on the host itself.
// A row new to the fleet, or whose cmdline alone deviates, is a session's
// when both hold:
//
//   - it is the host's operator's: it runs as the uid of one of the
//     host's operators' accounts (logins: a person's uid range and a
//     login shell; the user's systemd, shell and what it runs), or its
//     cmdline names such an account (sshd's per-login processes, "sshd:
//     ubuntu [priv]"), or it is the parent of such a process (Session
//     Manager's session worker, whose child is ssm-user's shell);
//   - it runs an executable the fleet runs (the path of process rows on
//     more than r hosts: /usr/sbin/sshd, the systemd binary, dash), or
//     one beside its parent's when the parent runs such an executable (a
//     package's own helper: the agent's session worker beside its
//     worker).
//
// What sets an attack apart is not touched: a path, a parent or a uid
// that deviates, a new executable (a miner, a shell bound to a port), a
// process of a service's user (an exploited application's). What runs
// under a session's rows is then part of that activity
// (inheritFromParents), as what runs in a job's shell. What it does not
// tell apart: an attacker logged in with an operator's account who runs
// only what the fleet runs.
func (s *sessionModel) markSessions(h int, d *hostDecision, cs *candidates) bool {
	if s.known == nil {
		return false
	}
	hs := hostSessions{s: s, h: h, m: s.cmds[s.procs]}
	hs.byUID, hs.byName = s.logins(h)
	if hs.byUID == nil {
		return false
	}
	ci := int32(s.procs)
	changed := false
	for k := range d.finds {
		p := &d.finds[k]
		if p.cmd != ci || !p.deciding || (p.v.kind != vNew && p.v.col != "cmdline") {
			continue
		}
		if who := hs.session(p.feat); who != "" {
			p.deciding, p.login = false, who
			changed = true
		}
	}
	if s.accountsInSession(h, &hs, d) {
		changed = true
	}
	kept := d.cands[:0]
	for _, i := range d.cands {
		c := cs.list[i]
		if c.cmd == ci && c.kind != 'p' && (c.v.kind == vNew || c.v.col == "cmdline") {
			if f := hs.feature(c); f >= 0 && hs.session(f) != "" {
				if n := len(c.hosts); n > 0 && c.hosts[n-1] == int32(h) {
					c.hosts = c.hosts[:n-1]
				}
				continue
			}
		}
		kept = append(kept, i)
	}
	d.cands = kept
	return changed
}

// accountsInSession makes the deciding findings of host h's users rows
// non-deciding when the row is new to the fleet and is the account of a
// login session running on h, and reports whether it changed any. The
// account is one of the host's operators' (logins: a uid in login.defs'
// range for people and a login shell) and a process of h is that
// account's session (hostSessions.session: it runs as the account's uid
// or names it, and runs what the fleet runs): the row is that session's
// trace, as Session Manager's agent creates ssm-user on a host the first
// time somebody opens a session there, rare by definition on a fleet
// where few hosts ever had one. An account of uid 0, of a service (no
// login shell) or with no session on the host still decides, as does
// whatever key it carries (its authorized_keys rows are judged apart).
func (s *sessionModel) accountsInSession(h int, hs *hostSessions, d *hostDecision) bool {
	ui := int32(s.users)
	um := s.cmds[s.users].rows
	var live map[string]bool // the accounts of h with a session's process
	changed := false
	for k := range d.finds {
		p := &d.finds[k]
		if p.cmd != ui || !p.deciding || p.v.kind != vNew {
			continue
		}
		name, _ := keyValue(um.feats[p.feat].key, "username")
		uid, _ := keyValue(um.feats[p.feat].key, "uid")
		if name == "" || hs.byName[name] == "" || hs.byUID[uid] != name {
			continue
		}
		if live == nil {
			live = map[string]bool{}
			if hs.kids == nil {
				hs.index()
			}
			for _, f := range hs.m.rows.perHost[h] {
				if who := hs.session(f); who != "" {
					live[who] = true
				}
			}
		}
		if live[name] {
			p.deciding, p.login = false, name
			changed = true
		}
	}
	return changed
}

// hostSessions is markSessions' view of one host.
type hostSessions struct {
	s             *sessionModel
	h             int
	m             *cmdModel // the processes
	byUID, byName map[string]string
	// par and kids, when set (index), are each process feature's parent
	// (as parentOf finds it) and children: lookups in O(1) where the
	// scans of the host's parents would cost O(rows) each.
	par  map[int32]int32
	kids map[int32][]int32
}

// index fills hs.par and hs.kids from the host's parents.
func (hs *hostSessions) index() {
	c := hs.m.rows
	hs.par, hs.kids = map[int32]int32{}, map[int32][]int32{}
	if c.parent == nil {
		return
	}
	fs := c.perHost[hs.h]
	for _, fp := range c.parent[hs.h] {
		if int(fp.i) >= len(fs) || fp.pf < 0 {
			continue
		}
		f := fs[fp.i]
		hs.kids[fp.pf] = append(hs.kids[fp.pf], f)
		if _, ok := hs.par[f]; !ok && fp.pf != f {
			hs.par[f] = fp.pf
		}
	}
}

// session returns the operator's account whose session the host's
// process feature f is part of, "" when none (see markSessions).
func (hs *hostSessions) session(f int32) string {
	c := hs.m.rows
	who := hs.account(f)
	switch {
	case who != "":
	case hs.kids != nil:
		for _, k := range hs.kids[f] {
			if who = hs.account(k); who != "" {
				break
			}
		}
	default:
		// The parent of an operator's process: a session's root.
		for _, fp := range c.parent[hs.h] {
			if fp.pf == f && int(fp.i) < len(c.perHost[hs.h]) {
				if who = hs.account(c.perHost[hs.h][fp.i]); who != "" {
					break
				}
			}
		}
	}
	if who == "" || !hs.runsKnown(f) && !hs.ownInKnownDir(f) && !hs.loginChild(f) {
		return ""
	}
	return who
}

// loginChild reports whether the host's process feature f is what sshd
// starts for a login: its parent is the login's own sshd process (the
// fleet's sshd executable, its cmdline naming the account: "sshd:
// ubuntu@notty"), f runs as that account's uid, and its executable is
// an installed file of the package trees (packaged, installedPath: not
// /usr/local, nothing hidden, no scratch tree). sshd's session process
// execs only the user's shell or a Subsystem of sshd_config, which names
// a file the package installs (openssh-sftp-server's
// /usr/lib/openssh/sftp-server, /usr/libexec/openssh/sftp-server on Red
// Hat): an scp or sftp transfer has no tty and no shell. Writing under
// the package trees takes root, so an operator's login cannot drop a
// file there; what a login drops in /tmp or a home and runs still
// decides.
func (hs *hostSessions) loginChild(f int32) bool {
	key := hs.m.rows.feats[f].key
	uid, _ := keyValue(key, "uid")
	who := hs.byUID[uid]
	p, _ := keyValue(key, "path")
	if who == "" || !packaged(p) || !installedPath(p) {
		return false
	}
	pf := hs.parentOf(f)
	if pf < 0 {
		return false
	}
	pk := hs.m.rows.feats[pf].key
	pp, _ := keyValue(pk, "path")
	pcmd, _ := keyValue(pk, "cmdline")
	return path.Base(pp) == "sshd" && hs.s.known[pp] && namedLogin(pcmd, hs.byName) == who
}

// ownInKnownDir reports whether the host's process feature f runs as an
// operator's uid an executable of the directories the fleet's
// executables run from (inKnownDir): what an operator runs as themselves
// from the system's directories, whether or not other hosts run it (tmux
// or screen's server, daemonized under init; a "sleep 3600" left behind
// with nohup when the operator logged out). Uid 0 and a service's uid
// are no operator's (logins).
func (hs *hostSessions) ownInKnownDir(f int32) bool {
	key := hs.m.rows.feats[f].key
	uid, _ := keyValue(key, "uid")
	if hs.byUID[uid] == "" {
		return false
	}
	p, _ := keyValue(key, "path")
	return hs.s.inKnownDir(p)
}

// account returns the operator's account the host's process feature f
// is of, by its uid or as its cmdline names it; "" when none.
func (hs *hostSessions) account(f int32) string {
	key := hs.m.rows.feats[f].key
	uid, _ := keyValue(key, "uid")
	if n := hs.byUID[uid]; n != "" {
		return n
	}
	cmd, _ := keyValue(key, "cmdline")
	return namedLogin(cmd, hs.byName)
}

// parentOf returns the parent feature of the host's feature f, -1 when
// none is known.
func (hs *hostSessions) parentOf(f int32) int32 {
	if hs.par != nil {
		if p, ok := hs.par[f]; ok {
			return p
		}
		return -1
	}
	c := hs.m.rows
	i := int32(indexOf(c.perHost[hs.h], f))
	for _, fp := range c.parent[hs.h] {
		if fp.i == i && fp.pf >= 0 && fp.pf != f {
			return fp.pf
		}
	}
	return -1
}

// runsKnown reports whether the host's process feature f runs an
// executable the fleet runs, or one beside its parent's that is.
func (hs *hostSessions) runsKnown(f int32) bool {
	c := hs.m.rows
	p, _ := keyValue(c.feats[f].key, "path")
	if hs.s.known[p] {
		return true
	}
	if pf := hs.parentOf(f); pf >= 0 {
		pp, _ := keyValue(c.feats[pf].key, "path")
		return hs.s.known[pp] && path.Dir(pp) == path.Dir(p) && path.Dir(p) != "."
	}
	return false
}

// feature returns the host's feature of candidate c (its feature, or a
// feature of its template), -1 when none.
func (hs *hostSessions) feature(c *candidate) int32 {
	rows := hs.m.rows
	for _, f := range rows.perHost[hs.h] {
		switch {
		case c.kind == 'f' && int64(f) == c.id, c.kind == 't' && int64(rows.feats[f].tmpl) == c.id:
			return f
		}
	}
	return -1
}
