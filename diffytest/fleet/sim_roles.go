package fleet

import (
	"fmt"
	"strings"
)

// A roleDef is a role a group's hosts can have: the services it runs,
// the users, crontab lines and kernel modules it adds.
type roleDef struct {
	name string
	// versioned roles run the group's own application or configuration,
	// deployed in versions (FamilyRollout); the others run packaged
	// software only.
	versioned bool
	// appUser roles run the application as the application's user.
	appUser bool
	// users are the role's service users, added after the image's.
	users []simUser
	// modules are kernel modules the role's software loads.
	modules []module
	// start adds the role's processes and sockets.
	start func(g *hostGen, a appCtx)
	// cron returns the role's crontab lines.
	cron func(g *hostGen, a appCtx) []cronLine
}

// appCtx is what a role's services are started with.
type appCtx struct {
	app     string // the group's application name ("shop")
	user    simUser
	ver     string // the version deployed on this host
	step    int    // the version's index in the role's rollout
	started int64  // when the application was last (re)started
	ports   []int  // ports the version opens beyond the role's own
}

// roleDefs is the catalog of roles. A group draws its roles from it.
var roleDefs = []roleDef{
	{name: "web", versioned: true, appUser: true, start: startWeb, cron: cronWeb},
	{name: "api", versioned: true, appUser: true, start: startAPI, cron: cronAPI},
	{name: "worker", versioned: true, appUser: true, start: startWorker, cron: cronWorker},
	{name: "cache", start: startCache,
		users: []simUser{{115, 122, "redis", "", "/var/lib/redis", "/usr/sbin/nologin"}}},
	{name: "gateway", versioned: true, start: startGateway,
		users: []simUser{{1337, 1337, "envoy", "envoy proxy", "/var/lib/envoy", "/usr/sbin/nologin"}}},
	{name: "pgbouncer", start: startPgbouncer,
		users: []simUser{{116, 123, "postgres", "PostgreSQL administrator,,,", "/var/lib/postgresql", "/bin/bash"}}},
}

// appUser is the user the group's application runs as.
func (g *hostGen) appUser() simUser {
	app := g.s.p.app
	return simUser{1002, 1002, app, app + " application", "/srv/" + app, "/usr/sbin/nologin"}
}

// roleServices starts the role's services.
func (g *hostGen) roleServices() {
	a := appCtx{app: g.s.p.app, user: g.appUser()}
	a.ver, a.step = g.version()
	a.started = g.appStart(a.step)
	a.ports = g.versionPorts(a.step)
	if g.role.versioned {
		g.trait("version=" + a.ver)
	}
	g.role.start(g, a)
}

// roleCron returns the role's crontab lines.
func (g *hostGen) roleCron() []cronLine {
	if g.role.cron == nil {
		return nil
	}
	a := appCtx{app: g.s.p.app, user: g.appUser()}
	a.ver, a.step = g.version()
	return g.role.cron(g, a)
}

// python returns the system Python of the host's image, as a process's
// path shows it (a virtualenv's python is a symlink to it).
func (g *hostGen) python() string {
	if g.img.release == "24.04" {
		return "/usr/bin/python3.12"
	}
	return "/usr/bin/python3.10"
}

const corretto = "/usr/lib/jvm/java-17-amazon-corretto/bin/java"

func startWeb(g *hostGen, a appCtx) {
	r := g.keep(FamilyRoles)
	nginx := "/usr/sbin/nginx"
	master := g.spawn(g.nextBootPid(r, 20), "nginx", nginx, "nginx: master process /usr/sbin/nginx -g daemon on; master_process on;", 0, 1, g.boot+8)
	for _, l := range []listen{{"0.0.0.0", 80, tcp}, {"0.0.0.0", 443, tcp}, {"::", 80, tcp}, {"::", 443, tcp}} {
		g.listen(master, l.addr, l.port, l.proto)
	}
	// Workers restart at the daily log rotation's reload.
	rn := g.now(FamilyRoles)
	reload := g.at - int64(rn.IntN(86400))
	if reload < g.boot {
		reload = g.boot + 8
	}
	for w := 0; w < g.workers(1); w++ {
		p := g.spawn(g.pidAt(rn, reload), "nginx", nginx, "nginx: worker process", 33, master.pid, reload)
		g.appWorkers = append(g.appWorkers, p)
	}
	// The application runs under pm2 in cluster mode: the God daemon
	// holds the sockets, one node process per CPU serves.
	pm2 := "PM2 v5.3.1: God Daemon (/srv/" + a.app + "/.pm2)"
	god := g.spawn(g.pidAt(rn, a.started), comm(pm2), "/usr/bin/node", pm2, a.user.uid, 1, a.started)
	g.listen(god, "::", 3000, tcp)
	for _, port := range a.ports {
		g.listen(god, "::", port, tcp)
	}
	cmd := fmt.Sprintf("node /srv/%s/releases/%s/server.js", a.app, a.ver)
	if g.on(FamilyTokens) {
		cmd += fmt.Sprintf(" --instance-id %s --advertise %s:3000", g.id.instance.ID, g.id.instance.PrivateIP)
	}
	for w := 0; w < g.workers(1); w++ {
		p := g.spawn(g.pidAt(rn, a.started+1), "node", "/usr/bin/node", cmd, a.user.uid, god.pid, a.started+1)
		if w == 0 {
			g.app = p
		}
	}
}

func cronWeb(_ *hostGen, a appCtx) []cronLine {
	return []cronLine{{"", "*/10", "*", "*", "*", "*",
		fmt.Sprintf("%s /srv/%s/releases/%s/bin/purge-cache --quiet", a.app, a.app, a.ver), "/etc/cron.d/" + a.app + "-web"}}
}

func startAPI(g *hostGen, a appCtx) {
	rn := g.now(FamilyRoles)
	heap := g.heapMiB(0.6)
	var b strings.Builder
	fmt.Fprintf(&b, "%s -Xms%dm -Xmx%dm -XX:+UseG1GC -XX:MaxGCPauseMillis=200 -XX:+HeapDumpOnOutOfMemoryError -XX:HeapDumpPath=/var/log/%s/ -Dspring.profiles.active=prod",
		corretto, heap, heap, a.app)
	if g.on(FamilyTokens) {
		fmt.Fprintf(&b, " -Dapp.instance-id=%s -Dapp.node-id=%s", g.id.instance.ID, randUUID(rn))
	}
	jmx := g.jmxFlags(rn)
	b.WriteString(jmx.flags)
	fmt.Fprintf(&b, " -jar /opt/%s/%s-api-%s.jar", a.app, a.app, a.ver)
	java := g.spawn(g.pidAt(rn, a.started), "java", corretto, b.String(), a.user.uid, 1, a.started)
	g.app = java
	// A JVM binding one address makes a dual-stack socket: a loopback
	// bind shows as ::ffff:127.0.0.1.
	g.listen(java, "::", 8080, tcp)
	g.listen(java, "::ffff:127.0.0.1", 8081, tcp)
	for _, port := range a.ports {
		g.listen(java, "::", port, tcp)
	}
	jmx.listen(g, java)
}

func cronAPI(_ *hostGen, a appCtx) []cronLine {
	return []cronLine{{"", "0", "3", "*", "*", "*",
		fmt.Sprintf("%s find /var/log/%s -name '*.hprof' -mtime +7 -delete", a.app, a.app), "/etc/cron.d/" + a.app + "-api"}}
}

func startWorker(g *hostGen, a appCtx) {
	rn := g.now(FamilyRoles)
	venv := fmt.Sprintf("/srv/%s/releases/%s/venv/bin/", a.app, a.ver)
	n := g.workers(2)
	cmd := fmt.Sprintf("%spython3 %scelery -A %s.tasks worker --concurrency=%d --loglevel=INFO --max-tasks-per-child=500", venv, venv, a.app, n)
	if g.on(FamilyTokens) {
		cmd += " --hostname=celery@" + g.id.hostname
	}
	main := g.spawn(g.pidAt(rn, a.started), "celery", g.python(), cmd, a.user.uid, 1, a.started)
	g.app = main
	// The metrics endpoint: a port the kernel picks, advertised to
	// service discovery; a fixed one without per-host tokens.
	port := 9808
	if g.on(FamilyTokens) {
		port = ephemeralPort(rn)
	}
	g.listen(main, "0.0.0.0", port, tcp)
	for _, p := range a.ports {
		g.listen(main, "0.0.0.0", p, tcp)
	}
	// Pool children are replaced every 500 tasks.
	for w := 0; w < n; w++ {
		t := max(a.started+2, g.at-int64(rn.IntN(3600)))
		p := g.spawn(g.pidAt(rn, t), "celery", g.python(), cmd, a.user.uid, main.pid, t)
		g.appWorkers = append(g.appWorkers, p)
	}
}

func cronWorker(g *hostGen, a appCtx) []cronLine {
	return []cronLine{{"", "*/5", "*", "*", "*", "*",
		fmt.Sprintf("%s /srv/%s/releases/%s/venv/bin/python3 -m %s.jobs.requeue_stale --older-than 10m", a.app, a.app, a.ver, a.app),
		"/etc/cron.d/" + a.app + "-worker"}}
}

func startCache(g *hostGen, _ appCtx) {
	r := g.keep(FamilyRoles)
	bind := "0.0.0.0"
	if g.on(FamilyTokens) {
		bind = g.id.instance.PrivateIP
	}
	redis := g.spawn(g.nextBootPid(r, 20), "redis-server", "/usr/bin/redis-check-rdb", "/usr/bin/redis-server "+bind+":6379", 115, 1, g.boot+7)
	g.app = redis
	g.listen(redis, bind, 6379, tcp)
	g.listen(redis, "127.0.0.1", 6379, tcp)
	sentinel := g.spawn(g.nextBootPid(r, 5), "redis-sentinel", "/usr/bin/redis-check-rdb", "/usr/bin/redis-sentinel *:26379 [sentinel]", 115, 1, g.boot+7)
	g.listen(sentinel, "0.0.0.0", 26379, tcp)
	g.listen(sentinel, "::", 26379, tcp)
	exp := "/usr/local/bin/redis_exporter"
	e := g.spawn(g.nextBootPid(r, 5), "redis_exporter", exp, exp+" -redis.addr redis://localhost:6379 -web.listen-address :9121", 65534, 1, g.boot+9)
	g.listen(e, "::", 9121, tcp)
}

func startGateway(g *hostGen, a appCtx) {
	rn := g.now(FamilyRoles)
	cmd := fmt.Sprintf("/usr/local/bin/envoy -c /etc/envoy/releases/%s/envoy.yaml --concurrency %d --service-cluster %s-gateway",
		a.ver, g.workers(1), a.app)
	if g.on(FamilyTokens) {
		cmd += " --service-node " + g.id.instance.ID
	}
	cmd += " --drain-time-s 30 --log-level info"
	envoy := g.spawn(g.pidAt(rn, a.started), "envoy", "/usr/local/bin/envoy", cmd, 1337, 1, a.started)
	g.app = envoy
	g.listen(envoy, "0.0.0.0", 443, tcp)
	g.listen(envoy, "0.0.0.0", 80, tcp)
	g.listen(envoy, "127.0.0.1", 9901, tcp)
	for _, p := range a.ports {
		g.listen(envoy, "0.0.0.0", p, tcp)
	}
}

func startPgbouncer(g *hostGen, _ appCtx) {
	r := g.keep(FamilyRoles)
	pgb := g.spawn(g.nextBootPid(r, 20), "pgbouncer", "/usr/sbin/pgbouncer", "/usr/sbin/pgbouncer /etc/pgbouncer/pgbouncer.ini", 116, 1, g.boot+7)
	g.app = pgb
	g.listen(pgb, "0.0.0.0", 6432, tcp)
	g.listen(pgb, "::", 6432, tcp)
	exp := "/usr/local/bin/pgbouncer_exporter"
	e := g.spawn(g.nextBootPid(r, 5), "pgbouncer_expor", exp,
		exp+" --pgBouncer.connectionString=postgres://pgbouncer_exporter@127.0.0.1:6432/pgbouncer?sslmode=disable --web.listen-address=:9127", 65534, 1, g.boot+9)
	g.listen(e, "::", 9127, tcp)
}

// ephemeralPort returns a port of Linux's default ephemeral range.
func ephemeralPort(r interface{ IntN(int) int }) int { return 32768 + r.IntN(60999-32768+1) }
