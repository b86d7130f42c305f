package fleet

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
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
	// service is the packaged daemon configuration management installs
	// on serviceShare of the hosts (packagedServices), listening on
	// servicePort, or, when that is 0, on a port it draws at start.
	service      int
	serviceShare float64
	servicePort  int
	// installed is the daemon a package installs on installedShare of
	// the hosts, in the shape that package really leaves (one of
	// installedDaemons); installedPort is its group's configured port.
	installed      int
	installedShare float64
	installedPort  int
}

// planDaemons draws which of the two daemons run (both, JMX alone, statd
// alone; statd whenever the group has no JVM role) and their shares, each
// in [0.05, 0.30], and the packaged service (one of packagedServices) on
// [0.05, 0.20] of the hosts, on a port drawn for the group from [10000,
// 60000] or, half the time, on one each host's daemon draws at start;
// without FamilyDaemons, none.
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
	// Drawn after the others: the older draws stay as they were.
	d.service = r.IntN(len(packagedServices))
	d.serviceShare = between(r, 0.05, 0.20)
	if chance(r, 0.5) {
		d.servicePort = intBetween(r, 10000, 60000)
	}
	d.installed = r.IntN(len(installedDaemons))
	d.installedShare = between(r, 0.05, 0.15)
	d.installedPort = intBetween(r, 10000, 60000)
	switch {
	case !on:
		d.jmxShare, d.statdShare, d.serviceShare, d.installedShare = 0, 0, 0, 0
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

// daemonFamily starts the family's daemons: statd's and the packaged
// service.
func (g *hostGen) daemonFamily() {
	g.statd()
	g.packagedService()
	g.installedDaemon()
}

// statd starts rpcbind and rpc.statd on the statd share: on ports drawn
// at boot, the same until the host reboots.
func (g *hostGen) statd() {
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

// A packagedService is a daemon a package installs: its executable, its
// command line (%d: its port, when the command line names it), the system user it runs as (a uid the
// package takes below 1000, no login shell) and its kernel modules.
type packagedService struct {
	name, path, cmdline string
	user                simUser
	modules             []module
}

// packagedServices are daemons configuration management installs with
// their packages on part of a group (a monitoring agent, a cache, a
// service mesh agent, a load balancer): a process, a listener, a
// system user, for the first also its modules.
var packagedServices = []packagedService{
	{"zabbix_agent2", "/usr/sbin/zabbix_agent2", "/usr/sbin/zabbix_agent2 -c /etc/zabbix/zabbix_agent2.conf -p %d",
		simUser{114, 120, "zabbix", "Zabbix Monitoring System", "/var/lib/zabbix", "/usr/sbin/nologin"},
		[]module{{"tcp_diag", 16384, "-"}, {"inet_diag", 28672, "tcp_diag"}}},
	{"memcached", "/usr/bin/memcached", "/usr/bin/memcached -m 64 -p %d -u memcache -l 127.0.0.1 -P /var/run/memcached/memcached.pid",
		simUser{115, 121, "memcache", "Memcached", "/nonexistent", "/bin/false"}, nil},
	{"consul", "/usr/bin/consul", "/usr/bin/consul agent -config-dir=/etc/consul.d/ -http-port=%d",
		simUser{996, 996, "consul", "", "/opt/consul", "/bin/false"}, nil},
	{"haproxy", "/usr/sbin/haproxy", "/usr/sbin/haproxy -Ws -f /etc/haproxy/haproxy.cfg -p /run/haproxy.pid -S /run/haproxy-master.sock",
		simUser{116, 122, "haproxy", "", "/var/lib/haproxy", "/usr/sbin/nologin"}, nil},
	{"telegraf", "/usr/bin/telegraf", "/usr/bin/telegraf -config /etc/telegraf/telegraf.conf -config-directory /etc/telegraf/telegraf.d --pprof-addr localhost:%d",
		simUser{999, 999, "telegraf", "", "/etc/telegraf", "/bin/false"}, nil},
}

// packagedService starts the packaged service on its share of the hosts
// (not on those still booting: configuration management has not run),
// installed some time after boot: its process, its listener, its user and
// modules.
func (g *hostGen) packagedService() {
	d := &g.s.p.daemons
	if g.isBooting() || unit(g.s.cfg.Seed, uint64(FamilyDaemons), g.id.key, 3) >= d.serviceShare {
		return
	}
	sv := packagedServices[d.service]
	g.trait("service=" + sv.name)
	r := g.keep(FamilyDaemons)
	t := max(g.boot+60, g.at-int64(r.IntN(30*86400)))
	port := d.servicePort
	if port == 0 {
		port = ephemeralPort(r)
	}
	cmdline := sv.cmdline
	if strings.Contains(cmdline, "%d") {
		cmdline = fmt.Sprintf(cmdline, port)
	}
	p := g.spawn(g.pidAt(r, t), comm(sv.name), sv.path, cmdline, 0, 1, t)
	g.fixUID = append(g.fixUID, uidFix{len(g.procs) - 1, sv.user.name})
	g.listen(p, "127.0.0.1", port, tcp)
	g.pkgUsers = append(g.pkgUsers, sv.user)
	g.pkgModules = append(g.pkgModules, sv.modules...)
}
