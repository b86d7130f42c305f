package fleet

import (
	"cmp"
	"math/bits"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"

	"github.com/diffy-dfir/diffy/collect"
)

// vrow is a row as the Sim holds it: the values of its command's columns,
// in the order of simColumns (sorted, as encoding/json prints a map), so
// that a host's rows are printed without building maps, and turned into
// collect.Rows only when asked.
type vrow struct {
	cmd uint8
	v   [8]string
}

// simColumns are the columns of each command of the standard pack, sorted
// (checked against payload.StandardPack by TestSimColumns).
var simColumns = [6][]string{
	cLP:   {"address", "cmdline", "name", "path", "pid", "port", "protocol"},
	cProc: {"cmdline", "name", "parent", "path", "pid", "start_time", "uid"},
	cCron: {"command", "day_of_month", "day_of_week", "event", "hour", "minute", "month", "path"},
	cMod:  {"address", "name", "size", "status", "used_by"},
	cUser: {"description", "directory", "gid", "shell", "uid", "username"},
	cKey:  {"algorithm", "key", "key_file", "username"},
}

// row turns v into a collect.Row.
func (v *vrow) row() collect.Row {
	cols := simColumns[v.cmd]
	r := make(collect.Row, len(cols))
	for i, c := range cols {
		r[c] = v.v[i]
	}
	return r
}

// proc is a process of a host, as its rows show it.
type proc struct {
	pid                 int
	name, path, cmdline string
	uid                 int
}

// simUser is a user of a host: a line of its passwd.
type simUser struct {
	uid, gid               int
	name, desc, dir, shell string
}

// simKey is an authorized key in a user's home.
type simKey struct {
	dir, alg, key string
	file          string // the file under dir/.ssh
}

// cronLine is a crontab entry before it is printed.
type cronLine struct {
	event, minute, hour, dom, month, dow, command, path string
}

// modLine is a loaded kernel module.
type modLine struct {
	name   string
	size   int
	usedBy string
}

// hostGen builds one host of a Sim.
type hostGen struct {
	s   *Sim
	id  identity
	fam Families

	at, boot int64 // collection and boot time, Unix seconds
	roleIdx  int   // index of the role in the group
	role     *roleDef
	ncpu     int
	ramGiB   int
	img      *imageDef

	procs []running
	lps   []vrow
	crons []cronLine
	mods  []modLine // in load order
	users []simUser
	keys  []simKey

	// Users and modules that families' packages add, after the role's.
	pkgUsers   []simUser
	pkgModules []module

	used       map[int]bool
	bootPid    int // the last pid handed out while booting
	pidRate    int // pids used per hour since boot
	traits     []string
	planted    []Planted
	plantedMod []int // indexes in mods of planted modules
	final      [6][]vrow
	streams    [2 * 32]*rand.Rand

	fixUID     []uidFix
	ssmSession bool // an operator is in over Session Manager

	// What attacks and families refer to.
	init, kthreadd, cron, sshd, agentWorker, networkd proc
	app                                               proc // the role's main application process
	appWorkers                                        []proc
}

// running is a process with its parent and start time.
type running struct {
	proc
	parent int
	start  int64
}

func (s *Sim) newHostGen(i int) *hostGen {
	g := &hostGen{s: s, id: s.identity(i), fam: s.cfg.Families, at: s.at.Unix()}
	g.roleIdx = int(s.roles[i])
	g.role = &roleDefs[s.p.roleCatalog[g.roleIdx]]
	g.img = &s.p.images[s.p.imageOf(g.id.launch)]
	g.used = make(map[int]bool, 256)
	r := g.keep(0)
	g.boot = min(g.id.launch.Unix()+int64(intBetween(r, 14, 40)), g.at-10)
	g.pidRate = intBetween(r, 40, 900)
	return g
}

// keep returns the stream of family f (0: the host's own, no family) for
// what the host keeps from collection to collection.
func (g *hostGen) keep(f Family) *rand.Rand { return g.stream(f, false) }

// now returns the stream of family f for what changes between
// collections.
func (g *hostGen) now(f Family) *rand.Rand { return g.stream(f, true) }

func (g *hostGen) stream(f Family, perCollection bool) *rand.Rand {
	i := 0
	if f != 0 {
		i = bits.TrailingZeros32(uint32(f)) + 1
	}
	if perCollection {
		i += 32
	}
	if g.streams[i] == nil {
		keys := []uint64{uint64(f), g.id.key}
		if perCollection {
			c := uint64(0)
			if g.s.cfg.WeekEarlier {
				c = 1
			}
			keys = append(keys, 0xc011ec7, c)
		}
		g.streams[i] = streamRand(g.s.cfg.Seed, keys...)
	}
	return g.streams[i]
}

// streamKASLR keys the stream of the modules' base address: drawn at
// boot, apart from the host's other draws. It keeps the value it had
// before FamilyModules came (the bit after FamilyBoot), so that the
// addresses stay as they were; FamilyModules draws with unit, never with
// keep or now, whose stream slot it would share.
const streamKASLR = FamilyModules

func (g *hostGen) on(f Family) bool { return g.fam.Has(f) }

// trait records a family's draw for this host (Host.Traits).
func (g *hostGen) trait(t string) { g.traits = append(g.traits, t) }

// pidMax is the kernel's pid_max as systemd sets it on 64-bit hosts.
const pidMax = 4194304

// nextBootPid hands out the pids of processes started while booting, in
// order, with the gaps of short-lived helpers between them.
func (g *hostGen) nextBootPid(r *rand.Rand, gap int) int {
	p := g.bootPid + 1
	if gap > 0 {
		p += r.IntN(gap)
	}
	for g.used[p] {
		p++
	}
	g.bootPid = p
	g.used[p] = true
	return p
}

// pidAt hands out the pid of a process started at t: the host's pid
// counter grows by pidRate an hour from where booting left it, and wraps
// at pidMax.
func (g *hostGen) pidAt(r *rand.Rand, t int64) int {
	base := max(g.bootPid, 1000)
	p := int64(base) + (t-g.boot)*int64(g.pidRate)/3600 + int64(r.IntN(64))
	if p >= pidMax {
		p = 1000 + (p-1000)%(pidMax-1000)
	}
	q := int(p)
	for g.used[q] {
		q++
		if q >= pidMax {
			q = 1000
		}
	}
	g.used[q] = true
	return q
}

// childPid hands out the pid of a process parent forks at t: past the
// parent's, as pids grow between two forks.
func (g *hostGen) childPid(r *rand.Rand, parent proc, t int64) int {
	q := g.pidAt(r, t)
	if q > parent.pid {
		return q
	}
	delete(g.used, q)
	p := parent.pid + 1 + r.IntN(16)
	for g.used[p] {
		p++
	}
	g.used[p] = true
	return p
}

// startOf returns the start time of process pid (the boot time when there
// is none).
func (g *hostGen) startOf(pid int) int64 {
	for _, p := range g.procs {
		if p.pid == pid {
			return p.start
		}
	}
	return g.boot
}

// spawn adds a process. Its start time is kept between boot and the
// collection.
func (g *hostGen) spawn(pid int, name, path, cmdline string, uid, parent int, start int64) proc {
	start = min(max(start, g.boot), g.at)
	p := proc{pid: pid, name: name, path: path, cmdline: cmdline, uid: uid}
	g.procs = append(g.procs, running{proc: p, parent: parent, start: start})
	return p
}

// comm returns a process name as the kernel keeps it: at most 15 bytes.
func comm(name string) string {
	if len(name) > 15 {
		return name[:15]
	}
	return name
}

// listen adds a listening socket of p.
func (g *hostGen) listen(p proc, addr string, port int, proto string) {
	g.lps = append(g.lps, vLP(addr, port, proto, p.name, p.path, p.cmdline, p.pid))
}

func vLP(addr string, port int, proto, name, path, cmdline string, pid int) vrow {
	return vrow{cmd: cLP, v: [8]string{addr, cmdline, name, path, itoa(pid), itoa(port), proto}}
}

func vProc(p running) vrow {
	return vrow{cmd: cProc, v: [8]string{p.cmdline, p.name, itoa(p.parent), p.path, itoa(p.pid),
		strconv.FormatInt(p.start, 10), itoa(p.uid)}}
}

func vCron(c cronLine) vrow {
	return vrow{cmd: cCron, v: [8]string{c.command, c.dom, c.dow, c.event, c.hour, c.minute, c.month, c.path}}
}

func vUser(u simUser) vrow {
	return vrow{cmd: cUser, v: [8]string{u.desc, u.dir, itoa(u.gid), u.shell, itoa(u.uid), u.name}}
}

const (
	tcp = "6"
	udp = "17"
)

// isBooting reports whether the host is still booting (FamilyBoot).
func (g *hostGen) isBooting() bool { return g.id.booting && g.on(FamilyBoot) }

// build generates the host's rows: the base system, then each family's
// and the role's, then the attacks.
func (g *hostGen) build() {
	g.sizeHost()
	g.kernelThreads()
	g.baseDaemons()
	if g.isBooting() {
		g.booting()
	} else {
		g.roleServices()
		g.containers()
		g.agent()
	}
	g.daemonFamily()
	g.volumes()
	g.tokenRows()
	g.sessions()
	g.jobs()
	g.applyUpgrades()
	g.baseTables()
	if !g.isBooting() {
		g.demandModules()
	}
	g.fixUIDs()
	if !g.isBooting() {
		g.splayRows()
	}
	g.plantAttacks()
	g.final = g.rows()
	g.recordModules(g.final[cMod])
}

// host returns the generated host.
func (g *hostGen) host() *Host {
	h := &Host{
		Instance: g.id.instance,
		Hostname: g.id.hostname,
		Role:     g.role.name,
		Canary:   g.isCanary(),
		Traits:   g.traits,
	}
	h.Planted = g.planted
	h.Compromised = len(g.planted) > 0
	h.Rows = make(map[string][]collect.Row, len(commandIDs))
	rs := &g.final
	for c, id := range commandIDs {
		rows := make([]collect.Row, len(rs[c]))
		for j := range rs[c] {
			rows[j] = rs[c][j].row()
		}
		h.Rows[id] = rows
	}
	return h
}

// rows returns the host's rows by command, in the order osquery prints
// them: processes by pid (the order of /proc), listening sockets by pid,
// crontab entries by file (/etc/crontab, /etc/cron.d, the spool) then
// line, kernel modules newest first (as /proc/modules lists them), users
// in passwd order, authorized keys in the order of the users joined.
func (g *hostGen) rows() [6][]vrow {
	var out [6][]vrow
	slices.SortStableFunc(g.procs, func(a, b running) int { return cmp.Compare(a.pid, b.pid) })
	out[cProc] = make([]vrow, len(g.procs))
	for i, p := range g.procs {
		out[cProc][i] = vProc(p)
	}
	slices.SortStableFunc(g.lps, func(a, b vrow) int { return cmp.Compare(atoiOr(a.v[4]), atoiOr(b.v[4])) })
	out[cLP] = g.lps
	slices.SortStableFunc(g.crons, func(a, b cronLine) int { return cmp.Compare(cronFileRank(a.path), cronFileRank(b.path)) })
	out[cCron] = make([]vrow, len(g.crons))
	for i, c := range g.crons {
		out[cCron][i] = vCron(c)
	}
	out[cMod] = g.moduleRows()
	out[cUser] = make([]vrow, len(g.users))
	for i, u := range g.users {
		out[cUser][i] = vUser(u)
	}
	out[cKey] = g.keyRows()
	return out
}

func atoiOr(s string) int {
	n, _ := strconv.Atoi(s)
	return n
}

// cronFileRank orders crontab files as osquery reads them: /etc/crontab,
// the files of /etc/cron.d by name, then the spool's by name.
func cronFileRank(path string) string {
	switch {
	case path == "/etc/crontab":
		return "0"
	case strings.HasPrefix(path, "/etc/cron.d/"):
		return "1" + path
	}
	return "2" + path
}

// moduleRows prints the modules newest first, at consecutive addresses
// from a base the kernel drew at boot (KASLR), in load order.
func (g *hostGen) moduleRows() []vrow {
	r := g.keep(streamKASLR)
	addr := uint64(0xffffffffc0000000) + uint64(r.IntN(1<<14))<<12
	addrs := make([]uint64, len(g.mods))
	for i, m := range g.mods {
		addrs[i] = addr
		addr += uint64(m.size+4095) &^ 4095
	}
	out := make([]vrow, len(g.mods))
	for i := range g.mods {
		j := len(g.mods) - 1 - i
		m := g.mods[j]
		out[i] = vrow{cmd: cMod, v: [8]string{"0x" + strconv.FormatUint(addrs[j], 16), m.name, itoa(m.size), "Live", m.usedBy}}
	}
	return out
}

// keyRows joins the users with their authorized keys as the standard
// pack's query does (users JOIN authorized_keys USING (uid)): each user
// gets the keys of every user of its uid, in passwd order, each file's
// keys in file order.
func (g *hostGen) keyRows() []vrow {
	var out []vrow
	for _, u := range g.users {
		for _, v := range g.users {
			if v.uid != u.uid {
				continue
			}
			for _, k := range g.keys {
				if k.dir == v.dir {
					out = append(out, vrow{cmd: cKey, v: [8]string{k.alg, k.key, k.dir + "/.ssh/" + k.file, u.name}})
				}
			}
		}
	}
	return out
}

// kernelThreads adds kthreadd and its children: the threads every kernel
// runs, the per-CPU ones of each CPU, and kernel workers.
func (g *hostGen) kernelThreads() {
	r := g.keep(0)
	g.init = g.spawn(1, "systemd", "/usr/lib/systemd/systemd", "/sbin/init", 0, 0, g.boot)
	g.used[1] = true
	g.bootPid = 1
	g.kthreadd = g.spawn(g.nextBootPid(r, 0), "kthreadd", "", "", 0, 0, g.boot)
	// A kernel thread's name is cut at 15 bytes like any process's
	// ("jbd2/nvme0n1p1-"); only workers' names carry their workqueue.
	kt := func(name string) {
		if !strings.HasPrefix(name, "kworker/") {
			name = comm(name)
		}
		g.spawn(g.nextBootPid(r, 2), name, "", "", 0, g.kthreadd.pid, g.boot)
	}
	for _, name := range g.img.kernel.early {
		kt(name)
	}
	for c := 0; c < g.ncpu; c++ {
		n := itoa(c)
		kt("cpuhp/" + n)
		kt("idle_inject/" + n)
		kt("migration/" + n)
		kt("ksoftirqd/" + n)
		kt("kworker/" + n + ":0H-events_highpri")
	}
	for _, name := range g.img.kernel.late {
		kt(name)
	}
	g.volumeThreads(kt)
	g.kworkers()
}

// kworkerQueues are the workqueues a kernel worker was last seen working
// for ("" for one that never ran a work item since it was created).
var (
	cpuQueues     = []string{"events", "events", "events", "mm_percpu_wq", "events_power_efficient", "cgroup_destroy", "events_freezable", "rcu_gp", "inet_frag_wq", "ipv6_addrconf", ""}
	cpuHighQueues = []string{"kblockd", "kblockd", "events_highpri", ""}
	unboundQueues = []string{"events_unbound", "events_unbound", "events_unbound", "flush-259:0", "ext4-rsv-conversion", "writeback", "netns", "events_power_efficient", ""}
)

// kworkers adds the kernel's worker threads: a few per CPU and a pool of
// unbound ones, named as the kernel names them ("kworker/1:2-events",
// "kworker/u16:3-events_unbound": the unbound pools are numbered after the
// two pools of each CPU). Which workers exist and what each last ran
// change from collection to collection.
func (g *hostGen) kworkers() {
	r := g.now(FamilySizes)
	withQueue := func(base string, queues []string) string {
		if q := queues[r.IntN(len(queues))]; q != "" {
			return base + "-" + q
		}
		return base
	}
	start := func() int64 { return g.boot + r.Int64N(max(g.at-g.boot, 1)) }
	for c := 0; c < g.ncpu; c++ {
		n := itoa(c)
		for k := 0; k < 1+r.IntN(3); k++ {
			t := start()
			g.spawn(g.pidAt(r, t), withQueue("kworker/"+n+":"+itoa(k+1), cpuQueues), "", "", 0, g.kthreadd.pid, t)
		}
		if chance(r, 0.5) {
			t := start()
			g.spawn(g.pidAt(r, t), withQueue("kworker/"+n+":1H", cpuHighQueues), "", "", 0, g.kthreadd.pid, t)
		}
	}
	pool := "kworker/u" + itoa(2*g.ncpu) + ":"
	unbound := 2 + g.ncpu/2 + r.IntN(3+g.ncpu/2)
	for k := 0; k < unbound; k++ {
		t := start()
		g.spawn(g.pidAt(r, t), withQueue(pool+itoa(k), unboundQueues), "", "", 0, g.kthreadd.pid, t)
	}
	if chance(r, 0.6) {
		t := start()
		g.spawn(g.pidAt(r, t), "kworker/u"+itoa(2*g.ncpu+1)+":"+itoa(r.IntN(3)), "", "", 0, g.kthreadd.pid, t)
	}
}

// baseDaemons starts the system daemons of the image, in boot order.
func (g *hostGen) baseDaemons() {
	r := g.keep(0)
	g.bootPid += 150 + r.IntN(200) // udev's and modprobe's short-lived helpers
	started := g.boot + 2
	start := func() int64 {
		started += int64(r.IntN(3))
		return started
	}
	for _, d := range g.img.daemons {
		if d.name == "" {
			continue
		}
		p := g.spawn(g.nextBootPid(r, 30), d.name, d.path, d.cmdline, d.uid, 1, start())
		for _, l := range d.listen {
			g.listen(p, l.addr, l.port, l.proto)
		}
		switch d.name {
		case "systemd-network":
			g.networkd = p
		case "cron":
			g.cron = p
		case "sshd":
			g.sshd = p
		}
	}
	g.ssmAgent(r, start())
	if !g.isBooting() {
		g.monitoring(r, start())
	}
}

// ssmAgent starts the SSM agent (a snap on Ubuntu) and its worker.
func (g *hostGen) ssmAgent(r *rand.Rand, start int64) {
	dir := "/snap/amazon-ssm-agent/" + g.ssmRevision()
	a := g.spawn(g.nextBootPid(r, 30), "amazon-ssm-agen", dir+"/amazon-ssm-agent", dir+"/amazon-ssm-agent", 0, 1, start)
	g.agentWorker = g.spawn(g.nextBootPid(r, 5), "ssm-agent-worke", dir+"/ssm-agent-worker", dir+"/ssm-agent-worker", 0, a.pid, start+1)
}

// monitoring starts the fleet's monitoring agents, installed everywhere
// by configuration management.
func (g *hostGen) monitoring(r *rand.Rand, start int64) {
	ne := "/usr/local/bin/node_exporter"
	p := g.spawn(g.nextBootPid(r, 10), "node_exporter", g.nodeExporter(), ne+" --collector.systemd --collector.processes --web.listen-address=:9100", 65534, 1, start)
	g.listen(p, "::", 9100, tcp)
	cw := "/opt/aws/amazon-cloudwatch-agent/bin/amazon-cloudwatch-agent"
	g.spawn(g.nextBootPid(r, 10), "amazon-cloudwat", cw, cw+" -config /opt/aws/amazon-cloudwatch-agent/etc/amazon-cloudwatch-agent.toml -envconfig /opt/aws/amazon-cloudwatch-agent/etc/env-config.json -otelconfig /opt/aws/amazon-cloudwatch-agent/etc/amazon-cloudwatch-agent.yaml -pidfile /opt/aws/amazon-cloudwatch-agent/var/amazon-cloudwatch-agent.pid", 0, 1, start+2)
	g.logShipper(r, start+3)
}

// baseTables adds the users, keys, crontab and modules of the image and
// of the role.
func (g *hostGen) baseTables() {
	for _, u := range baseUsers {
		su := simUser{u.uid, u.gid, u.name, u.desc, u.home, u.shell}
		if i := slices.IndexFunc(g.img.users, func(o simUser) bool { return o.name == u.name }); i >= 0 {
			su = g.img.users[i]
		}
		g.users = append(g.users, su)
	}
	for _, o := range g.img.users {
		if !slices.ContainsFunc(g.users, func(u simUser) bool { return u.name == o.name }) {
			g.users = append(g.users, o)
		}
	}
	if !g.isBooting() {
		if g.role.appUser {
			g.users = append(g.users, g.appUser())
		}
		g.users = append(g.users, g.role.users...)
	}
	g.extraUsers()
	// cloud-init writes the launch key pair's key for ubuntu and, behind
	// a command that refuses the login, for root.
	g.keys = append(g.keys, simKey{"/root", g.img.keyAlg, g.img.keyPair, "authorized_keys"},
		simKey{"/home/ubuntu", g.img.keyAlg, g.img.keyPair, "authorized_keys"})
	g.keys = append(g.keys, g.deployKeys()...)
	for _, c := range baseCron {
		g.crons = append(g.crons, cronLine{"", c[0], c[1], c[2], c[3], c[4], c[5], c[6]})
	}
	g.crons = append(g.crons,
		cronLine{"", "5-55/10", "*", "*", "*", "*", "root command -v debian-sa1 > /dev/null && debian-sa1 1 1", "/etc/cron.d/sysstat"},
		cronLine{"", "59", "23", "*", "*", "*", "root command -v debian-sa1 > /dev/null && debian-sa1 60 2", "/etc/cron.d/sysstat"})
	if !g.isBooting() {
		g.crons = append(g.crons, g.roleCron()...)
	}
	for _, m := range g.img.kernel.modules {
		g.mods = append(g.mods, modLine{m.name, g.img.kernel.size(m), m.usedBy})
	}
	for _, m := range g.role.modules {
		g.mods = append(g.mods, modLine{m.name, g.img.kernel.size(m), m.usedBy})
	}
	g.moduleFamilies()
}

// moduleFamilies loads the modules the families' software needs, each
// once (NFS for rpc.statd and for EFS share theirs), after the image's.
func (g *hostGen) moduleFamilies() {
	for _, m := range g.pkgModules {
		if slices.ContainsFunc(g.mods, func(l modLine) bool { return l.name == m.name }) {
			continue
		}
		g.mods = append(g.mods, modLine{m.name, g.img.kernel.size(m), m.usedBy})
	}
}
