package fleet

import (
	"math/rand/v2"
	"slices"
)

// usersPlan is FamilyUsers' draw: what configuration management and the
// SSM agent do to /etc/passwd and authorized_keys.
type usersPlan struct {
	ops []opsUser
	// pinned: configuration management gives each operator a fixed uid
	// (2001, 2002, ...); otherwise useradd takes the next free one, so
	// that a user's uid depends on what was created before on that host.
	pinned bool
	// ssmUser is the share of hosts where somebody once opened a Session
	// Manager session, and the agent created ssm-user.
	ssmUser float64
	// The deploy user's key is being rotated: the new key on a share of
	// the hosts (today, and a week ago), the old and new together on
	// another while the change converges.
	deployOld, deployNew simKey
	rotNow, rotThen      float64
	overlap              float64
}

// An opsUser is an operator's account, with the share of hosts it is on,
// today and a week earlier.
type opsUser struct {
	name        string
	alg, key    string
	share, then float64
}

var opsNames = []string{"jsmith", "akumar", "lchen", "mrossi", "tnguyen", "ebrown", "sgarcia", "pwilson", "nkim", "olsen", "dmitri", "rpatel"}

// planUsers draws 2 to 6 operators: most on a share of [0.9, 1] of the
// hosts (a few hosts where configuration management fails), one being
// added ([0.3, 0.9]; a week earlier, [0, 0.6] of that), maybe one being
// removed ([0.02, 0.2]; a week earlier, more); ssm-user on
// [0.05, 0.4]; the deploy key's rotation at [0.1, 0.9] with [0, 0.1] of
// the hosts holding both keys. Without FamilyUsers: no operators, no
// ssm-user, one deploy key.
func (p *plan) planUsers(r *rand.Rand, on bool) {
	u := &p.users
	order := r.Perm(len(opsNames))
	n := intBetween(r, 2, 6)
	for i, j := range order[:n] {
		alg, key := "ssh-ed25519", randEd25519(r)
		if chance(r, 0.3) {
			alg, key = "ssh-rsa", randRSA(r)
		}
		share := between(r, 0.9, 1)
		then := share
		switch {
		case i == n-1: // being added: on fewer hosts a week ago
			share = between(r, 0.3, 0.9)
			then = share * between(r, 0, 0.6)
		case i == n-2 && chance(r, 0.5): // being removed: on more a week ago
			share = between(r, 0.02, 0.2)
			then = between(r, share, 1)
		}
		u.ops = append(u.ops, opsUser{opsNames[j], alg, key, share, then})
	}
	u.pinned = chance(r, 0.5)
	u.ssmUser = between(r, 0.05, 0.4)
	u.deployOld = simKey{"/home/deploy", "ssh-ed25519", randEd25519(r), "authorized_keys"}
	u.deployNew = simKey{"/home/deploy", "ssh-ed25519", randEd25519(r), "authorized_keys"}
	u.rotNow = between(r, 0.1, 0.9)
	u.rotThen = u.rotNow * between(r, 0, 0.5)
	u.overlap = between(r, 0, 0.1)
	if !on {
		u.ops, u.ssmUser, u.rotNow, u.rotThen, u.overlap = nil, 0, 0, 0, 0
	}
}

// extraUsers adds the users packages created, then configuration
// management's operators and ssm-user, in the order they were created on
// this host, with their keys.
func (g *hostGen) extraUsers() {
	// A package's system user takes its usual uid when it is free, the
	// highest free one below 1000 when not (the image's own users decide).
	for _, pu := range g.pkgUsers {
		if slices.ContainsFunc(g.users, func(x simUser) bool { return x.name == pu.name }) {
			continue
		}
		for slices.ContainsFunc(g.users, func(x simUser) bool { return x.uid == pu.uid }) {
			pu.uid--
			if pu.gid != 65534 {
				pu.gid = pu.uid
			}
		}
		g.users = append(g.users, pu)
	}
	u := &g.s.p.users
	ops := g.opsOnHost()
	ssm := g.ssmSession || unit(g.s.cfg.Seed, uint64(FamilyUsers), g.id.key, 100) < u.ssmUser
	// Where ssm-user came in the order of creation on this host.
	at := len(ops)
	if len(ops) > 0 {
		at = g.keep(FamilyUsers).IntN(len(ops) + 1)
	}
	next := 1000
	for _, x := range g.users {
		if x.uid >= 1000 && x.uid < 60000 && x.uid >= next {
			next = x.uid + 1
		}
	}
	take := func() int {
		uid := next
		next++
		return uid
	}
	for i := 0; i <= len(ops); i++ {
		if i == at && ssm {
			uid := take()
			g.users = append(g.users, simUser{uid, uid, "ssm-user", "", "/home/ssm-user", "/bin/sh"})
		}
		if i == len(ops) {
			break
		}
		o := ops[i]
		uid := 2001 + slices.IndexFunc(u.ops, func(x opsUser) bool { return x.name == o.name })
		if !u.pinned {
			uid = take()
		}
		g.users = append(g.users, simUser{uid, uid, o.name, o.name, "/home/" + o.name, "/bin/bash"})
		g.keys = append(g.keys, simKey{"/home/" + o.name, o.alg, o.key, "authorized_keys"})
	}
	if len(ops) > 0 {
		g.trait("ops=" + itoa(len(ops)))
	}
	if ssm {
		g.trait("ssm-user")
	}
}

// opsOnHost returns the operators configuration management created on
// the host (none while it boots).
func (g *hostGen) opsOnHost() []opsUser {
	if g.isBooting() {
		return nil
	}
	var ops []opsUser
	for i, o := range g.s.p.users.ops {
		share := o.share
		if g.s.cfg.WeekEarlier {
			share = o.then
		}
		if unit(g.s.cfg.Seed, uint64(FamilyUsers), g.id.key, uint64(i)) < share {
			ops = append(ops, o)
		}
	}
	return ops
}

// deployKeys returns the deploy user's authorized keys: the old one, the
// new one, or both while the rotation converges.
func (g *hostGen) deployKeys() []simKey {
	u := &g.s.p.users
	if u.rotNow == 0 && u.overlap == 0 {
		return []simKey{u.deployOld}
	}
	share := u.rotNow
	if g.s.cfg.WeekEarlier {
		share = u.rotThen
	}
	x := unit(g.s.cfg.Seed, uint64(FamilyUsers), g.id.key, 101)
	switch {
	case x < share:
		return []simKey{u.deployNew}
	case x < share+u.overlap:
		return []simKey{u.deployOld, u.deployNew}
	}
	return []simKey{u.deployOld}
}
