package fleet

import (
	"math/rand/v2"
)

// laterPlan holds the draws of the families that add packages, users and
// kernel objects around the base system.
type laterPlan struct {
	ssmRevision string
	shipper     int // index into logShippers
	deployKey   simKey
}

func planLater(s *Sim) laterPlan {
	var lp laterPlan
	rp := s.famRand(FamilyPackages)
	lp.ssmRevision = itoa(intBetween(rp, 7500, 9900))
	rl := s.famRand(FamilyLogShippers)
	lp.shipper = rl.IntN(len(logShippers))
	ru := s.famRand(FamilyUsers)
	lp.deployKey = simKey{"/home/deploy", "ssh-ed25519", randEd25519(ru), "authorized_keys"}
	return lp
}

// ssmRevision returns the snap revision of the host's SSM agent.
func (g *hostGen) ssmRevision() string { return g.s.p.later.ssmRevision }

// A logShipper is a log shipping agent.
type logShipper struct {
	name, path, cmdline string
	uid                 int
	listen              []listen
}

var logShippers = []logShipper{
	{"fluent-bit", "/opt/fluent-bit/bin/fluent-bit", "/opt/fluent-bit/bin/fluent-bit -c //etc/fluent-bit/fluent-bit.conf", 0,
		[]listen{{"0.0.0.0", 2020, tcp}}},
	{"filebeat", "/usr/share/filebeat/bin/filebeat", "/usr/share/filebeat/bin/filebeat --environment systemd -c /etc/filebeat/filebeat.yml --path.home /usr/share/filebeat --path.config /etc/filebeat --path.data /var/lib/filebeat --path.logs /var/log/filebeat", 0, nil},
	{"vector", "/usr/bin/vector", "/usr/bin/vector --config /etc/vector/vector.yaml", 997, []listen{{"127.0.0.1", 8686, tcp}}},
}

// logShipper starts the host's log shipper.
func (g *hostGen) logShipper(r *rand.Rand, start int64) {
	l := logShippers[g.s.p.later.shipper]
	p := g.spawn(g.nextBootPid(r, 10), comm(l.name), l.path, l.cmdline, l.uid, 1, start)
	for _, a := range l.listen {
		g.listen(p, a.addr, a.port, a.proto)
	}
	if l.uid == 997 {
		g.pkgUsers = append(g.pkgUsers, simUser{997, 997, "vector", "", "/var/lib/vector", "/usr/sbin/nologin"})
	}
}

// extraUsers adds the users of packages and of configuration management.
func (g *hostGen) extraUsers() { g.users = append(g.users, g.pkgUsers...) }

// deployKey returns the deploy user's authorized key.
func (p *plan) deployKey(_ *hostGen) simKey { return p.later.deployKey }

// moduleFamilies adds the modules the families' software loads.
func (g *hostGen) moduleFamilies() {
	for _, m := range g.pkgModules {
		g.mods = append(g.mods, modLine{m.name, g.img.kernel.size(m), m.usedBy})
	}
}

// volumeThreads adds the kernel threads of the host's file systems.
func (g *hostGen) volumeThreads(kt func(string)) {
	if g.hasStatd() {
		for _, n := range []string{"rpciod", "xprtiod", "nfsiod"} {
			kt(g.img.kernel.wq(n))
		}
	}
}
