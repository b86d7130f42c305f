package fleet

import (
	"fmt"
	"math/rand/v2"
	"strconv"
)

// An installedShape is a daemon as its package really installs it on a
// host: its processes (forked workers, a process name that is not its
// binary's), its listeners (on 0.0.0.0 and ::, a port of the group's
// configuration or one drawn at start), its system user (Debian's
// postgres and jenkins have a login shell), its package's cron.d line.
// start adds them to g: installed at t, configured with port.
type installedShape struct {
	name  string
	start func(g *hostGen, r *rand.Rand, t int64, port int)
}

// installedDaemons are the shapes of FamilyDaemons' installed daemon, one
// drawn per group:
//
//   - postgres (Debian's postgresql-16): the postmaster under its own
//     user (a login shell, /bin/bash), its background workers with
//     process titles ("postgres: 16/main: checkpointer"), listening on
//     127.0.0.1 and ::1 on the group's port;
//   - jenkins (Debian's package): a JVM run as /usr/bin/java (the
//     alternatives link; its path is the JDK's), remote JMX on the
//     group's port and the RMI server on a port drawn at start, all on
//     ::, its user with /bin/bash;
//   - kafka (the Apache tarball under /opt): a JVM whose command line
//     names its files through bin/.. (kafka-run-class.sh's base_dir),
//     JMX as jenkins', a system user without a shell;
//   - munin-node: a Perl daemon (process name munin-node, executable
//     /usr/bin/perl) run as root on 0.0.0.0 and ::, its package's user
//     and cron.d line;
//   - uwsgi: a master and 2-8 forked workers, all listening on the same
//     port drawn at start, as www-data;
//   - elasticsearch (the deb): its JDK's java with a per-start temporary
//     directory under /tmp (-Djava.io.tmpdir=/tmp/elasticsearch-N, as
//     the package's launcher makes it), the heap of the instance size,
//     the ML controller it forks, listening on :: 9200 and 9300.
var installedDaemons = []installedShape{
	{"postgres", (*hostGen).postgres},
	{"jenkins", (*hostGen).jenkins},
	{"kafka", (*hostGen).kafka},
	{"munin-node", (*hostGen).muninNode},
	{"uwsgi", (*hostGen).uwsgi},
	{"elasticsearch", (*hostGen).elasticsearch},
}

// installedDaemon starts the group's installed daemon on its share of the
// hosts (not those still booting), installed some time after boot.
func (g *hostGen) installedDaemon() {
	d := &g.s.p.daemons
	if g.isBooting() || unit(g.s.cfg.Seed, uint64(FamilyDaemons), g.id.key, 4) >= d.installedShare {
		return
	}
	sh := installedDaemons[d.installed]
	g.trait("installed=" + sh.name)
	r := g.keep(FamilyDaemons)
	t := max(g.boot+60, g.at-int64(r.IntN(30*86400)))
	sh.start(g, r, t, d.installedPort)
}

// runAs spawns a process of user (a name the host's users resolve).
func (g *hostGen) runAs(r *rand.Rand, user, name, path, cmdline string, parent proc, t int64) proc {
	pid := g.pidAt(r, t)
	pp := 1
	if parent.pid != 0 {
		pid, pp = g.childPid(r, parent, t), parent.pid
	}
	p := g.spawn(pid, comm(name), path, cmdline, 0, pp, t)
	if user != "root" {
		g.fixUID = append(g.fixUID, uidFix{len(g.procs) - 1, user})
	}
	return p
}

func (g *hostGen) postgres(r *rand.Rand, t int64, port int) {
	const bin = "/usr/lib/postgresql/16/bin/postgres"
	pm := g.runAs(r, "postgres", "postgres", bin, bin+" -D /var/lib/postgresql/16/main -c config_file=/etc/postgresql/16/main/postgresql.conf", proc{}, t)
	g.listen(pm, "127.0.0.1", port, tcp)
	g.listen(pm, "::1", port, tcp)
	for _, w := range []string{"checkpointer", "background writer", "walwriter", "autovacuum launcher", "logical replication launcher"} {
		g.runAs(r, "postgres", "postgres", bin, "postgres: 16/main: "+w, pm, t)
	}
	g.pkgUsers = append(g.pkgUsers, simUser{113, 120, "postgres", "PostgreSQL administrator,,,", "/var/lib/postgresql", "/bin/bash"})
}

// jmxRemote are the JVM flags of remote JMX on port.
func jmxRemote(port int) string {
	return " -Dcom.sun.management.jmxremote -Dcom.sun.management.jmxremote.port=" + strconv.Itoa(port) +
		" -Dcom.sun.management.jmxremote.authenticate=false -Dcom.sun.management.jmxremote.ssl=false"
}

const openJDK = "/usr/lib/jvm/java-17-openjdk-amd64/bin/java"

func (g *hostGen) jenkins(r *rand.Rand, t int64, port int) {
	j := g.runAs(r, "jenkins", "java", openJDK, "/usr/bin/java -Djava.awt.headless=true"+jmxRemote(port)+
		" -jar /usr/share/java/jenkins.war --webroot=/var/cache/jenkins/war --httpPort=8080", proc{}, t)
	for _, p := range []int{8080, port, ephemeralPort(r)} {
		g.listen(j, "::", p, tcp)
	}
	g.pkgUsers = append(g.pkgUsers, simUser{114, 121, "jenkins", "Jenkins,,,", "/var/lib/jenkins", "/bin/bash"})
}

func (g *hostGen) kafka(r *rand.Rand, t int64, port int) {
	const base = "/opt/kafka/bin/.."
	k := g.runAs(r, "kafka", "java", openJDK, "java -Xmx1G -Xms1G -server -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -Djava.awt.headless=true"+
		" -Xlog:gc*:file="+base+"/logs/kafkaServer-gc.log:time,tags:filecount=10,filesize=100M"+jmxRemote(port)+
		" -Dkafka.logs.dir="+base+"/logs -Dlog4j.configuration=file:"+base+"/config/log4j.properties"+
		" -cp "+base+"/libs/kafka-clients-3.6.1.jar:"+base+"/libs/kafka_2.13-3.6.1.jar kafka.Kafka /opt/kafka/config/server.properties", proc{}, t)
	for _, p := range []int{9092, port, ephemeralPort(r)} {
		g.listen(k, "::", p, tcp)
	}
	g.pkgUsers = append(g.pkgUsers, simUser{997, 997, "kafka", "", "/opt/kafka", "/usr/sbin/nologin"})
}

func (g *hostGen) muninNode(r *rand.Rand, t int64, port int) {
	m := g.runAs(r, "root", "munin-node", "/usr/bin/perl", "/usr/bin/perl -wT /usr/sbin/munin-node --foreground", proc{}, t)
	g.listen(m, "0.0.0.0", port, tcp)
	g.listen(m, "::", port, tcp)
	g.crons = append(g.crons, cronLine{"", "*/5", "*", "*", "*", "*",
		"root if [ -x /etc/munin/plugins/apt_all ]; then munin-run apt_all update 7200 12 >/dev/null; fi", "/etc/cron.d/munin-node"})
	g.pkgUsers = append(g.pkgUsers, simUser{115, 122, "munin", "munin application user,,,", "/var/lib/munin", "/usr/sbin/nologin"})
}

func (g *hostGen) uwsgi(r *rand.Rand, t int64, _ int) {
	const cmd = "/usr/bin/uwsgi --ini /usr/share/uwsgi/conf/default.ini --ini /etc/uwsgi/apps-enabled/app.ini --daemonize /var/log/uwsgi/app/app.log"
	port := ephemeralPort(r)
	m := g.runAs(r, "www-data", "uwsgi", "/usr/bin/uwsgi-core", cmd, proc{}, t)
	g.listen(m, "0.0.0.0", port, tcp)
	for range min(8, max(2, g.ncpu)) {
		w := g.runAs(r, "www-data", "uwsgi", "/usr/bin/uwsgi-core", cmd, m, t)
		g.listen(w, "0.0.0.0", port, tcp)
	}
}

func (g *hostGen) elasticsearch(r *rand.Rand, t int64, _ int) {
	const home = "/usr/share/elasticsearch"
	heap := max(512, g.ramGiB*1024/2)
	tmp := fmt.Sprintf("/tmp/elasticsearch-%d", r.Int64N(1e18)+1e18)
	es := g.runAs(r, "elasticsearch", "java", home+"/jdk/bin/java", home+"/jdk/bin/java -Des.networkaddress.cache.ttl=60 -Xss1m -Djava.awt.headless=true -Dfile.encoding=UTF-8"+
		" -XX:+UseG1GC -Djava.io.tmpdir="+tmp+" -XX:+HeapDumpOnOutOfMemoryError -XX:HeapDumpPath=/var/lib/elasticsearch"+
		" -XX:ErrorFile=/var/log/elasticsearch/hs_err_pid%p.log -Xms"+strconv.Itoa(heap)+"m -Xmx"+strconv.Itoa(heap)+"m"+
		" -Des.distribution.type=deb --module-path "+home+"/lib -m org.elasticsearch.server/org.elasticsearch.bootstrap.Elasticsearch", proc{}, t)
	g.listen(es, "::", 9200, tcp)
	g.listen(es, "::", 9300, tcp)
	ctl := home + "/modules/x-pack-ml/platform/linux-x86_64/bin/controller"
	g.runAs(r, "elasticsearch", "controller", ctl, ctl, es, t+20)
	g.pkgUsers = append(g.pkgUsers, simUser{116, 123, "elasticsearch", "", "/nonexistent", "/bin/false"})
}
