package fleet

import (
	"math/rand/v2"
	"strconv"
)

// daemonPlan is FamilyDaemons' draw: which known daemons listening on
// random high ports run, and on what share of the hosts.
type daemonPlan struct {
	// jmxShare of the JVM role's hosts run with remote JMX: the registry
	// on a fixed port, the RMI server on a port the JVM picks at start.
	jmxShare float64
	jmxPort  int
	// statdShare of all hosts mount NFSv3 file systems: rpcbind, and
	// rpc.statd on ports it picks at boot.
	statdShare float64
}

// planDaemons draws which of the two daemons run (both, JMX alone, statd
// alone; statd whenever the group has no JVM role) and their shares, each
// in [0.05, 0.30]; without FamilyDaemons, neither.
func (p *plan) planDaemons(r *rand.Rand, on bool) {
	d := &p.daemons
	d.jmxShare = between(r, 0.05, 0.30)
	d.statdShare = between(r, 0.05, 0.30)
	d.jmxPort = pickOne(r, 9010, 1099, 7199, 9999, 7091)
	which := r.IntN(3)
	hasJVM := false
	for _, i := range p.roleCatalog {
		hasJVM = hasJVM || roleDefs[i].name == "api"
	}
	switch {
	case !on:
		d.jmxShare, d.statdShare = 0, 0
	case which == 1 && hasJVM:
		d.statdShare = 0
	case which == 2:
		d.jmxShare = 0
	}
}

// jmx is a JVM's remote JMX set-up on one host.
type jmx struct {
	flags         string
	registry, rmi int
}

// jmxFlags returns the JMX flags of the host's JVM, none unless the host
// is among the JMX share. The RMI port changes whenever the JVM restarts.
func (g *hostGen) jmxFlags(r *rand.Rand) jmx {
	d := &g.s.p.daemons
	if unit(g.s.cfg.Seed, uint64(FamilyDaemons), g.id.key, 1) >= d.jmxShare {
		return jmx{}
	}
	g.trait("jmx")
	host := "localhost"
	if g.on(FamilyTokens) {
		host = g.id.instance.PrivateIP
	}
	port := strconv.Itoa(d.jmxPort)
	return jmx{
		flags: " -Dcom.sun.management.jmxremote -Dcom.sun.management.jmxremote.port=" + port +
			" -Dcom.sun.management.jmxremote.authenticate=false -Dcom.sun.management.jmxremote.ssl=false -Djava.rmi.server.hostname=" + host,
		registry: d.jmxPort,
		rmi:      ephemeralPort(r),
	}
}

// listen adds the JMX sockets of java.
func (j jmx) listen(g *hostGen, java proc) {
	if j.registry == 0 {
		return
	}
	g.listen(java, "::", j.registry, tcp)
	g.listen(java, "::", j.rmi, tcp)
}

// hasStatd reports whether the host mounts NFSv3 file systems and so runs
// rpc.statd.
func (g *hostGen) hasStatd() bool {
	return unit(g.s.cfg.Seed, uint64(FamilyDaemons), g.id.key, 2) < g.s.p.daemons.statdShare
}

// nfsModules are the modules an NFS client loads.
var nfsModules = []module{
	{"sunrpc", 745472, "nfsv3,auth_rpcgss,lockd,nfs_acl,nfs,rpcsec_gss_krb5"}, {"grace", 16384, "lockd"},
	{"lockd", 139264, "nfsv3,nfs"}, {"nfs_acl", 16384, "nfsv3"}, {"fscache", 389120, "nfs"}, {"netfs", 61440, "fscache,nfs"},
	{"auth_rpcgss", 184320, "rpcsec_gss_krb5"}, {"rpcsec_gss_krb5", 36864, "-"}, {"nfs", 569344, "nfsv3"}, {"nfsv3", 57344, "-"},
}

// daemonFamily starts rpcbind and rpc.statd on the statd share: on ports
// drawn at boot, the same until the host reboots.
func (g *hostGen) daemonFamily() {
	if !g.hasStatd() {
		return
	}
	g.trait("statd")
	r := g.keep(FamilyDaemons)
	rpcbind := g.spawn(g.nextBootPid(r, 20), "rpcbind", "/usr/sbin/rpcbind", "/sbin/rpcbind -f -w", 111, 1, g.boot+5)
	g.fixUID = append(g.fixUID, uidFix{len(g.procs) - 1, "_rpc"})
	for _, a := range []string{"0.0.0.0", "::"} {
		g.listen(rpcbind, a, 111, tcp)
		g.listen(rpcbind, a, 111, udp)
	}
	statd := g.spawn(g.nextBootPid(r, 40), "rpc.statd", "/usr/sbin/rpc.statd", "/sbin/rpc.statd", 112, 1, g.boot+11)
	g.fixUID = append(g.fixUID, uidFix{len(g.procs) - 1, "statd"})
	g.listen(statd, "0.0.0.0", ephemeralPort(r), udp)
	g.listen(statd, "0.0.0.0", ephemeralPort(r), tcp)
	g.listen(statd, "::", ephemeralPort(r), udp)
	g.listen(statd, "::", ephemeralPort(r), tcp)
	g.listen(statd, "0.0.0.0", 600+r.IntN(424), udp) // the privileged port it sends notifications from
	g.pkgUsers = append(g.pkgUsers,
		simUser{111, 65534, "_rpc", "", "/run/rpcbind", "/usr/sbin/nologin"},
		simUser{112, 65534, "statd", "", "/var/lib/nfs", "/usr/sbin/nologin"})
	g.pkgModules = append(g.pkgModules, nfsModules...)
}
