package fleet

import (
	"math/rand/v2"
	"strings"
)

// packagePlan is FamilyPackages' draw: package upgrades caught half done.
type packagePlan struct {
	// ssmRevs are three successive snap revisions of the SSM agent: a
	// week ago the middle one was refreshing over the oldest, today the
	// newest over the middle one (snapd refreshes each host at its own
	// time of day).
	ssmRevs              [3]string
	ssmNow, ssmThen      float64
	nodeExp              [2]string // node_exporter versions, old and new
	nodeExpNow, nodeThen float64
	// upgraded are binaries a package upgrade replaced under daemons
	// that were not restarted ("/usr/bin/dbus-daemon (deleted)").
	upgraded []upgrade
}

// An upgrade replaced a binary on a share of the hosts.
type upgrade struct {
	path  string // "python" for the image's Python
	share float64
}

// upgradable are the binaries whose daemons outlive an upgrade: dbus is
// never restarted, the others are left to needrestart.
var upgradable = []string{"/usr/bin/dbus-daemon", "polkitd", "/usr/sbin/multipathd", "/usr/libexec/udisks2/udisksd", "/usr/sbin/irqbalance", "python"}

// planPackages draws the revisions and versions and their shares (each in
// [0.1, 0.9], a week ago a share of [0.1, 0.9] of today's), and 1 or 2
// binaries replaced under running daemons on a share of [0.05, 0.6] each;
// without FamilyPackages every host runs the same packages.
func (p *plan) planPackages(r *rand.Rand, on bool) {
	k := &p.packages
	rev := intBetween(r, 7000, 9800)
	for i := range k.ssmRevs {
		rev += intBetween(r, 40, 400)
		k.ssmRevs[i] = itoa(rev)
	}
	k.ssmNow = between(r, 0.1, 0.9)
	k.ssmThen = k.ssmNow * between(r, 0.1, 0.9)
	minor := intBetween(r, 5, 8)
	k.nodeExp = [2]string{"1." + itoa(minor) + "." + itoa(r.IntN(3)), "1." + itoa(minor+1) + ".0"}
	k.nodeExpNow = between(r, 0.1, 0.9)
	k.nodeThen = k.nodeExpNow * between(r, 0.1, 0.9)
	order := r.Perm(len(upgradable))
	for _, i := range order[:intBetween(r, 1, 2)] {
		k.upgraded = append(k.upgraded, upgrade{upgradable[i], between(r, 0.05, 0.6)})
	}
	if !on {
		k.ssmNow, k.ssmThen, k.nodeExpNow, k.nodeThen, k.upgraded = 0, 0, 0, 0, nil
	}
}

// newer reports whether the host has the newer of a rolling package: its
// fixed u under today's (or a week ago's) share.
func (g *hostGen) newer(key uint64, now, then float64) bool {
	share := now
	if g.s.cfg.WeekEarlier {
		share = then
	}
	return unit(g.s.cfg.Seed, uint64(FamilyPackages), g.id.key, key) < share
}

// ssmRevision returns the snap revision of the host's SSM agent.
func (g *hostGen) ssmRevision() string {
	k := &g.s.p.packages
	i := 1
	if g.s.cfg.WeekEarlier {
		i = 0
	}
	if g.newer(1, k.ssmNow, k.ssmThen) {
		i++
	}
	return k.ssmRevs[i]
}

// nodeExporter returns the path node_exporter runs from: with
// FamilyPackages, the versioned directory configuration management
// unpacked and linked /usr/local/bin/node_exporter to.
func (g *hostGen) nodeExporter() string {
	if !g.on(FamilyPackages) {
		return "/usr/local/bin/node_exporter"
	}
	k := &g.s.p.packages
	v := k.nodeExp[0]
	if g.newer(2, k.nodeExpNow, k.nodeThen) {
		v = k.nodeExp[1]
	}
	return "/opt/node_exporter-" + v + ".linux-amd64/node_exporter"
}

// applyUpgrades marks the binaries replaced under running processes: a
// process started before the host's upgrade of its binary runs a deleted
// file, and osquery's path says so.
func (g *hostGen) applyUpgrades() {
	for j, u := range g.s.p.packages.upgraded {
		if unit(g.s.cfg.Seed, uint64(FamilyPackages), g.id.key, 16+uint64(j), boolKey(g.s.cfg.WeekEarlier)) >= u.share {
			continue
		}
		path := u.path
		switch path {
		case "python":
			path = g.python()
		case "polkitd":
			path = g.polkitd()
		}
		when := g.at - int64(g.now(FamilyPackages).IntN(3*86400))
		changed := map[int]bool{}
		for i := range g.procs {
			p := &g.procs[i]
			if p.path == path && p.start < when {
				p.path += " (deleted)"
				changed[p.pid] = true
			}
		}
		if len(changed) == 0 {
			continue
		}
		g.trait("upgraded=" + path)
		for i := range g.lps {
			if changed[atoiOr(g.lps[i].v[4])] {
				g.lps[i].v[3] += " (deleted)"
			}
		}
	}
}

// polkitd returns the path of the image's polkitd.
func (g *hostGen) polkitd() string {
	for _, d := range g.img.daemons {
		if d.name == "polkitd" {
			return d.path
		}
	}
	return ""
}

// undeleted returns path without the mark of a replaced binary: what a
// process started now from that path shows.
func undeleted(path string) string { return strings.TrimSuffix(path, " (deleted)") }
