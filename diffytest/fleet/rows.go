package fleet

import (
	"fmt"
	"strconv"

	"github.com/diffy-dfir/diffy/collect"
)

// The roles a group can hold, and their shares of the hosts by number of
// roles.
var (
	roleNames  = []string{"web", "api", "worker", "cache"}
	roleShares = [][]float64{{1}, {0.6, 0.4}, {0.5, 0.3, 0.2}, {0.4, 0.3, 0.2, 0.1}}
)

// The application versions: the fleet's and the canary's.
const (
	appVersion    = "1.4.2"
	canaryVersion = "1.5.0-rc.1"
)

// builder collects one host's rows.
type builder struct {
	rows rowset
}

func (b *builder) add(rs rowset) {
	for c := range rs {
		b.rows[c] = append(b.rows[c], rs[c]...)
	}
}

// Row constructors, with the columns of the standard pack's SQL.

func lpRow(addr string, port int, proto, name, path, cmdline string, pid int) collect.Row {
	return collect.Row{"address": addr, "port": strconv.Itoa(port), "protocol": proto,
		"name": name, "path": path, "cmdline": cmdline, "pid": strconv.Itoa(pid)}
}

func procRow(pid int, name, path, cmdline string, uid, parent int, start int64) collect.Row {
	return collect.Row{"pid": strconv.Itoa(pid), "name": name, "path": path, "cmdline": cmdline,
		"uid": strconv.Itoa(uid), "parent": strconv.Itoa(parent), "start_time": strconv.FormatInt(start, 10)}
}

func cronRow(minute, hour, dom, month, dow, command, path string) collect.Row {
	return collect.Row{"event": "", "minute": minute, "hour": hour, "day_of_month": dom,
		"month": month, "day_of_week": dow, "command": command, "path": path}
}

func modRow(name string, size int, usedBy string, addr uint64) collect.Row {
	return collect.Row{"name": name, "size": strconv.Itoa(size), "used_by": usedBy,
		"status": "Live", "address": fmt.Sprintf("0x%x", addr)}
}

func userRow(uid, gid int, name, desc, dir, shell string) collect.Row {
	return collect.Row{"uid": strconv.Itoa(uid), "gid": strconv.Itoa(gid), "username": name,
		"description": desc, "directory": dir, "shell": shell}
}

func keyRow(user, alg, key, file string) collect.Row {
	return collect.Row{"username": user, "algorithm": alg, "key": key, "key_file": file}
}

// A daemon is a process of every host, with the sockets it listens on.
type daemon struct {
	name, path, cmdline string
	uid                 int
	listen              []listen
}

type listen struct {
	addr  string
	port  int
	proto string // "6" TCP, "17" UDP
}

var baseDaemons = []daemon{
	{"systemd-journal", "/usr/lib/systemd/systemd-journald", "/lib/systemd/systemd-journald", 0, nil},
	{"systemd-udevd", "/usr/bin/udevadm", "/lib/systemd/systemd-udevd", 0, nil},
	{"multipathd", "/usr/sbin/multipathd", "/sbin/multipathd -d -s", 0, nil},
	{"systemd-network", "/usr/lib/systemd/systemd-networkd", "/lib/systemd/systemd-networkd", 100, nil},
	{"systemd-resolve", "/usr/lib/systemd/systemd-resolved", "/lib/systemd/systemd-resolved", 101,
		[]listen{{"127.0.0.53", 53, "6"}, {"127.0.0.53", 53, "17"}}},
	{"chronyd", "/usr/sbin/chronyd", "/usr/sbin/chronyd -F 1", 114, []listen{{"127.0.0.1", 323, "17"}, {"::1", 323, "17"}}},
	{"cron", "/usr/sbin/cron", "/usr/sbin/cron -f -P", 0, nil},
	{"dbus-daemon", "/usr/bin/dbus-daemon", "@dbus-daemon --system --address=systemd: --nofork --nopidfile --systemd-activation --syslog-only", 102, nil},
	{"networkd-dispat", "/usr/bin/python3.10", "/usr/bin/python3 /usr/bin/networkd-dispatcher --run-startup-triggers", 0, nil},
	{"rsyslogd", "/usr/sbin/rsyslogd", "/usr/sbin/rsyslogd -n -iNONE", 104, nil},
	{"amazon-ssm-agen", "/usr/bin/amazon-ssm-agent", "/usr/bin/amazon-ssm-agent", 0, nil},
	{"ssm-agent-worke", "/usr/bin/ssm-agent-worker", "/usr/bin/ssm-agent-worker", 0, nil},
	{"systemd-logind", "/usr/lib/systemd/systemd-logind", "/lib/systemd/systemd-logind", 0, nil},
	{"irqbalance", "/usr/sbin/irqbalance", "/usr/sbin/irqbalance --foreground", 0, nil},
	{"polkitd", "/usr/libexec/polkitd", "/usr/libexec/polkitd --no-debug", 0, nil},
	{"unattended-upgr", "/usr/bin/python3.10", "/usr/bin/python3 /usr/share/unattended-upgrades/unattended-upgrade-shutdown --wait-for-signal", 0, nil},
	{"agetty", "/usr/sbin/agetty", "/sbin/agetty -o -p -- \\u --keep-baud 115200,57600,38400,9600 ttyS0 vt220", 0, nil},
	{"agetty", "/usr/sbin/agetty", "/sbin/agetty -o -p -- \\u --noclear tty1 linux", 0, nil},
	{"sshd", "/usr/sbin/sshd", "sshd: /usr/sbin/sshd -D [listener] 0 of 10-100 startups", 0,
		[]listen{{"0.0.0.0", 22, "6"}, {"::", 22, "6"}}},
	{"node_exporter", "/usr/local/bin/node_exporter", "/usr/local/bin/node_exporter --collector.systemd --web.listen-address=:9100", 65534,
		[]listen{{"::", 9100, "6"}}},
	{"amazon-cloudwat", "/opt/aws/amazon-cloudwatch-agent/bin/amazon-cloudwatch-agent",
		"/opt/aws/amazon-cloudwatch-agent/bin/amazon-cloudwatch-agent -config /opt/aws/amazon-cloudwatch-agent/etc/amazon-cloudwatch-agent.toml -envconfig /opt/aws/amazon-cloudwatch-agent/etc/env-config.json -pidfile /opt/aws/amazon-cloudwatch-agent/var/amazon-cloudwatch-agent.pid", 0, nil},
	{"atd", "/usr/sbin/atd", "/usr/sbin/atd -f", 1, nil},
}

// kernelThreads run on every host, with fixed low pids.
var kernelThreads = []string{
	"kthreadd", "rcu_gp", "rcu_par_gp", "slub_flushwq", "netns", "mm_percpu_wq", "rcu_tasks_rude_kthread",
	"rcu_tasks_trace_kthread", "ksoftirqd/0", "rcu_sched", "migration/0", "idle_inject/0", "cpuhp/0",
	"cpuhp/1", "idle_inject/1", "migration/1", "ksoftirqd/1", "kdevtmpfs", "inet_frag_wq", "kauditd",
	"khungtaskd", "oom_reaper", "writeback", "kcompactd0", "ksmd", "khugepaged", "kintegrityd", "kblockd",
	"blkcg_punt_bio", "tpm_dev_wq", "md", "edac-poller", "devfreq_wq", "watchdogd", "kswapd0",
	"ecryptfs-kthread", "kthrotld", "nvme-wq", "nvme-reset-wq", "nvme-delete-wq", "jbd2/nvme0n1p1-8",
	"ext4-rsv-conver", "ena",
}

// kworkers is the vocabulary of kernel worker thread names; each host runs
// its own subset.
var kworkers = []string{
	"kworker/0:0H-events_highpri", "kworker/0:1-events", "kworker/0:2-cgroup_destroy", "kworker/0:3-mm_percpu_wq",
	"kworker/1:0-events", "kworker/1:1-mm_percpu_wq", "kworker/1:1H-kblockd", "kworker/1:2-events_power_efficient",
	"kworker/u4:0-events_unbound", "kworker/u4:1-flush-259:0", "kworker/u4:2-events_unbound", "kworker/u4:3-ext4-rsv-conversion",
	"kworker/u5:0", "kworker/0:1H-kblockd", "kworker/1:3-events", "kworker/u4:4-writeback",
}

// A module is a kernel module of every host.
type module struct {
	name   string
	size   int
	usedBy string
}

var baseModules = []module{
	{"tls", 114688, "-"}, {"nls_iso8859_1", 16384, "-"}, {"dm_multipath", 45056, "-"}, {"scsi_dh_rdac", 20480, "-"},
	{"scsi_dh_emc", 16384, "-"}, {"scsi_dh_alua", 20480, "-"}, {"binfmt_misc", 24576, "-"}, {"ppdev", 24576, "-"},
	{"crct10dif_pclmul", 16384, "-"}, {"crc32_pclmul", 16384, "-"}, {"polyval_clmulni", 16384, "-"},
	{"polyval_generic", 16384, "polyval_clmulni"}, {"ghash_clmulni_intel", 16384, "-"}, {"sha256_ssse3", 32768, "-"},
	{"sha1_ssse3", 32768, "-"}, {"aesni_intel", 376832, "-"}, {"crypto_simd", 16384, "aesni_intel"},
	{"cryptd", 24576, "crypto_simd,ghash_clmulni_intel"}, {"psmouse", 212992, "-"}, {"ena", 143360, "-"},
	{"input_leds", 16384, "-"}, {"serio_raw", 20480, "-"}, {"parport_pc", 53248, "-"},
	{"parport", 77824, "parport_pc,ppdev,lp"}, {"sch_fq_codel", 24576, "-"}, {"lp", 28672, "-"}, {"msr", 16384, "-"},
	{"efi_pstore", 16384, "-"}, {"dmi_sysfs", 20480, "-"}, {"ip_tables", 36864, "-"}, {"x_tables", 65536, "ip_tables"},
	{"autofs4", 57344, "-"}, {"btrfs", 1822720, "-"}, {"blake2b_generic", 24576, "-"}, {"xor", 24576, "btrfs"},
	{"raid6_pq", 122880, "btrfs"}, {"libcrc32c", 16384, "btrfs,raid456"}, {"zstd_compress", 229376, "btrfs"},
	{"drm", 622592, "-"}, {"i2c_core", 98304, "drm,psmouse"}, {"nvme", 57344, "-"}, {"nvme_core", 217088, "nvme"},
	{"ecdh_generic", 16384, "-"}, {"ecc", 40960, "ecdh_generic"},
}

// workerModules are the container runtime's modules of worker hosts.
var workerModules = []module{
	{"overlay", 151552, "-"}, {"br_netfilter", 32768, "-"}, {"bridge", 311296, "br_netfilter"},
	{"stp", 16384, "bridge"}, {"llc", 16384, "bridge,stp"}, {"veth", 36864, "-"}, {"xt_conntrack", 16384, "-"},
	{"nf_conntrack", 176128, "xt_conntrack,nf_nat,xt_MASQUERADE"}, {"nf_nat", 57344, "xt_MASQUERADE"},
	{"xt_MASQUERADE", 20480, "-"},
}

// baseUsers exist on every host.
var baseUsers = []struct {
	uid, gid         int
	name, desc, home string
	shell            string
}{
	{0, 0, "root", "root", "/root", "/bin/bash"},
	{1, 1, "daemon", "daemon", "/usr/sbin", "/usr/sbin/nologin"},
	{2, 2, "bin", "bin", "/bin", "/usr/sbin/nologin"},
	{3, 3, "sys", "sys", "/dev", "/usr/sbin/nologin"},
	{4, 65534, "sync", "sync", "/bin", "/bin/sync"},
	{5, 60, "games", "games", "/usr/games", "/usr/sbin/nologin"},
	{6, 12, "man", "man", "/var/cache/man", "/usr/sbin/nologin"},
	{7, 7, "lp", "lp", "/var/spool/lpd", "/usr/sbin/nologin"},
	{8, 8, "mail", "mail", "/var/mail", "/usr/sbin/nologin"},
	{9, 9, "news", "news", "/var/spool/news", "/usr/sbin/nologin"},
	{10, 10, "uucp", "uucp", "/var/spool/uucp", "/usr/sbin/nologin"},
	{13, 13, "proxy", "proxy", "/bin", "/usr/sbin/nologin"},
	{33, 33, "www-data", "www-data", "/var/www", "/usr/sbin/nologin"},
	{34, 34, "backup", "backup", "/var/backups", "/usr/sbin/nologin"},
	{38, 38, "list", "Mailing List Manager", "/var/list", "/usr/sbin/nologin"},
	{39, 39, "irc", "ircd", "/run/ircd", "/usr/sbin/nologin"},
	{41, 41, "gnats", "Gnats Bug-Reporting System (admin)", "/var/lib/gnats", "/usr/sbin/nologin"},
	{65534, 65534, "nobody", "nobody", "/nonexistent", "/usr/sbin/nologin"},
	{100, 102, "systemd-network", "systemd Network Management,,,", "/run/systemd", "/usr/sbin/nologin"},
	{101, 103, "systemd-resolve", "systemd Resolver,,,", "/run/systemd", "/usr/sbin/nologin"},
	{102, 105, "messagebus", "", "/nonexistent", "/usr/sbin/nologin"},
	{103, 106, "systemd-timesync", "systemd Time Synchronization,,,", "/run/systemd", "/usr/sbin/nologin"},
	{104, 110, "syslog", "", "/home/syslog", "/usr/sbin/nologin"},
	{105, 65534, "_apt", "", "/nonexistent", "/usr/sbin/nologin"},
	{106, 113, "tss", "TPM software stack,,,", "/var/lib/tpm", "/bin/false"},
	{107, 114, "uuidd", "", "/run/uuidd", "/usr/sbin/nologin"},
	{108, 115, "tcpdump", "", "/nonexistent", "/usr/sbin/nologin"},
	{109, 65534, "sshd", "", "/run/sshd", "/usr/sbin/nologin"},
	{110, 1, "pollinate", "", "/var/cache/pollinate", "/bin/false"},
	{114, 121, "_chrony", "Chrony daemon,,,", "/var/lib/chrony", "/usr/sbin/nologin"},
	{1000, 1000, "ubuntu", "Ubuntu", "/home/ubuntu", "/bin/bash"},
	{1001, 1001, "deploy", "deploy", "/home/deploy", "/bin/bash"},
}

// baseCron is the crontab of every host.
var baseCron = [][7]string{
	{"17", "*", "*", "*", "*", "root cd / && run-parts --report /etc/cron.hourly", "/etc/crontab"},
	{"25", "6", "*", "*", "*", "root test -x /usr/sbin/anacron || ( cd / && run-parts --report /etc/cron.daily )", "/etc/crontab"},
	{"47", "6", "*", "*", "7", "root test -x /usr/sbin/anacron || ( cd / && run-parts --report /etc/cron.weekly )", "/etc/crontab"},
	{"52", "6", "1", "*", "*", "root test -x /usr/sbin/anacron || ( cd / && run-parts --report /etc/cron.monthly )", "/etc/crontab"},
	{"30", "3", "*", "*", "0", "root test -e /run/systemd/system || SERVICE_MODE=1 /usr/lib/x86_64-linux-gnu/e2fsprogs/e2scrub_all_cron", "/etc/cron.d/e2scrub_all"},
	{"10", "3", "*", "*", "*", "root test -e /run/systemd/system || SERVICE_MODE=1 /sbin/e2scrub_all -A -r", "/etc/cron.d/e2scrub_all"},
}

// The keys of shared units, and the usual number of rows per command.
var (
	kthreadKeys = prefixed("kthread/", kernelThreads)
	kworkerKeys = prefixed("kworker/", kworkers)
	daemonKeys  = func() []string {
		keys := make([]string, len(baseDaemons))
		for i := range keys {
			keys[i] = fmt.Sprintf("daemon/%d", i)
		}
		return keys
	}()
	rowCaps = [6]int{cLP: 14, cProc: 80, cCron: 10, cMod: 60, cUser: 40, cKey: 3}
)

func prefixed(prefix string, names []string) []string {
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = prefix + n
	}
	return out
}

// host builds the rows of host h of role r.
func (g *gen) host(h *Host, r int) *builder {
	b := &builder{}
	for c, n := range rowCaps {
		b.rows[c] = make([]collect.Row, 0, n)
	}
	id, ip, hn := h.Instance.ID, h.Instance.PrivateIP, h.Hostname
	ver := appVersion
	if h.Canary {
		ver = canaryVersion
	}
	role := roleNames[r]

	// Kernel threads and pid 1.
	b.add(g.shared("systemd", func(_ int, start int64) rowset {
		return rowset{cProc: {procRow(1, "systemd", "/usr/lib/systemd/systemd", "/sbin/init", 0, 0, start)}}
	}))
	for i, name := range kernelThreads {
		pid, parent := 2+3*i, 2
		if i == 0 {
			parent = 0
		}
		b.add(g.shared(kthreadKeys[i], func(_ int, start int64) rowset {
			return rowset{cProc: {procRow(pid+g.r.IntN(3), name, "", "", 0, parent, start)}}
		}))
	}
	for i, name := range kworkers {
		if g.r.IntN(5) < 2 {
			pid := 200 + 12*i
			b.add(g.shared(kworkerKeys[i], func(_ int, start int64) rowset {
				return rowset{cProc: {procRow(pid+g.r.IntN(12), name, "", "", 0, 2, start)}}
			}))
		}
	}

	// System daemons and their sockets.
	for i, d := range baseDaemons {
		b.add(g.shared(daemonKeys[i], func(pid int, start int64) rowset {
			var rs rowset
			rs[cProc] = []collect.Row{procRow(pid, d.name, d.path, d.cmdline, d.uid, 1, start)}
			for _, l := range d.listen {
				rs[cLP] = append(rs[cLP], lpRow(l.addr, l.port, l.proto, d.name, d.path, d.cmdline, pid))
			}
			return rs
		}))
	}

	// Static tables: shared rows, one variant.
	b.add(g.shared("static", func(int, int64) rowset {
		var rs rowset
		for _, c := range baseCron {
			rs[cCron] = append(rs[cCron], cronRow(c[0], c[1], c[2], c[3], c[4], c[5], c[6]))
		}
		for _, u := range baseUsers {
			rs[cUser] = append(rs[cUser], userRow(u.uid, u.gid, u.name, u.desc, u.home, u.shell))
		}
		rs[cKey] = []collect.Row{
			keyRow("ubuntu", "ssh-rsa", g.fleetKey, "/home/ubuntu/.ssh/authorized_keys"),
			keyRow("deploy", "ssh-ed25519", g.deployKey, "/home/deploy/.ssh/authorized_keys"),
		}
		return rs
	}))
	b.add(g.moduleRows("modules/base", baseModules))

	switch role {
	case "web":
		b.add(g.shared("web/nginx", func(pid int, start int64) rowset {
			cmd := "nginx: master process /usr/sbin/nginx -g daemon on; master_process on;"
			rs := rowset{cProc: {procRow(pid, "nginx", "/usr/sbin/nginx", cmd, 0, 1, start)}}
			for _, l := range []listen{{"0.0.0.0", 80, "6"}, {"0.0.0.0", 443, "6"}, {"::", 80, "6"}} {
				rs[cLP] = append(rs[cLP], lpRow(l.addr, l.port, l.proto, "nginx", "/usr/sbin/nginx", cmd, pid))
			}
			for w := 1; w <= 2; w++ {
				rs[cProc] = append(rs[cProc], procRow(pid+w, "nginx", "/usr/sbin/nginx", "nginx: worker process", 33, pid, start+1))
			}
			return rs
		}))
		b.add(g.unique("web/node", func(pid int, start int64) rowset {
			path := "/usr/bin/node"
			cmd := fmt.Sprintf("/usr/bin/node /opt/shop/web-%s/server.js --instance-id %s --hostname %s --advertise %s:3000", ver, id, hn, ip)
			return rowset{
				cProc: {procRow(pid, "node", path, cmd, 1002, 1, start)},
				cLP:   {lpRow("127.0.0.1", 3000, "6", "node", path, cmd, pid)},
			}
		}))
		b.add(rowset{cCron: {cronRow("*/15", "*", "*", "*", "*",
			fmt.Sprintf("shop /opt/shop/web-%s/bin/purge-cache --node %s", ver, id), "/etc/cron.d/shop-web")}})
		b.add(g.shared("users/shop", func(int, int64) rowset {
			return rowset{cUser: {userRow(1002, 1002, "shop", "shop application", "/opt/shop", "/usr/sbin/nologin")}}
		}))
	case "api":
		b.add(g.unique("api/java", func(pid int, start int64) rowset {
			path := "/usr/lib/jvm/java-17-amazon-corretto/bin/java"
			cmd := fmt.Sprintf("%s -Xms2g -Xmx2g -Dshop.node=%s -Dshop.host=%s -jar /opt/shop/api-%s/shop-api-%s.jar --server.address=%s --trace.id=%s",
				path, g.uuid(), hn, ver, ver, ip, g.hex(24))
			return rowset{
				cProc: {procRow(pid, "java", path, cmd, 1002, 1, start)},
				cLP: {lpRow("0.0.0.0", 8080, "6", "java", path, cmd, pid),
					lpRow("127.0.0.1", 8081, "6", "java", path, cmd, pid)},
			}
		}))
		b.add(rowset{cCron: {cronRow("0", "3", "*", "*", "*",
			fmt.Sprintf("shop /opt/shop/api-%s/bin/compact-logs --older-than 7d", ver), "/etc/cron.d/shop-api")}})
		b.add(g.shared("users/shop", func(int, int64) rowset {
			return rowset{cUser: {userRow(1002, 1002, "shop", "shop application", "/opt/shop", "/usr/sbin/nologin")}}
		}))
	case "worker":
		b.add(g.shared("worker/supervisord", func(pid int, start int64) rowset {
			return rowset{cProc: {procRow(pid, "supervisord", "/usr/bin/python3.10",
				"/usr/bin/python3 /usr/bin/supervisord -n -c /etc/supervisor/supervisord.conf", 0, 1, start)}}
		}))
		for w := 0; w < 4; w++ {
			b.add(g.unique(fmt.Sprintf("worker/%d", w), func(pid int, start int64) rowset {
				cmd := fmt.Sprintf("/usr/bin/python3 /opt/shop/worker-%s/worker.py --queue orders --port %d --worker-id %s --host %s",
					ver, 32768+g.r.IntN(28000), g.hex(16), hn)
				return rowset{cProc: {procRow(pid, "python3", "/usr/bin/python3.10", cmd, 1003, 1, start)}}
			}))
		}
		b.add(g.shared("worker/redis", func(pid int, start int64) rowset {
			cmd := "/usr/bin/redis-server 127.0.0.1:6379"
			return rowset{
				cProc: {procRow(pid, "redis-server", "/usr/bin/redis-check-rdb", cmd, 112, 1, start)},
				cLP:   {lpRow("127.0.0.1", 6379, "6", "redis-server", "/usr/bin/redis-check-rdb", cmd, pid)},
			}
		}))
		b.add(rowset{cCron: {cronRow("*/5", "*", "*", "*", "*",
			fmt.Sprintf("worker /opt/shop/worker-%s/bin/requeue --stale 10m --host %s", ver, hn), "/etc/cron.d/shop-worker")}})
		b.add(g.shared("users/worker", func(int, int64) rowset {
			return rowset{cUser: {userRow(1003, 1003, "worker", "queue worker", "/opt/shop", "/usr/sbin/nologin"),
				userRow(112, 119, "redis", "", "/var/lib/redis", "/usr/sbin/nologin")}}
		}))
		b.add(g.moduleRows("modules/worker", workerModules))
	case "cache":
		b.add(g.unique("cache/memcached", func(pid int, start int64) rowset {
			cmd := fmt.Sprintf("/usr/bin/memcached -m 4096 -p 11211 -u memcache -l %s -P /var/run/memcached/memcached.pid", ip)
			return rowset{
				cProc: {procRow(pid, "memcached", "/usr/bin/memcached", cmd, 113, 1, start)},
				cLP:   {lpRow(ip, 11211, "6", "memcached", "/usr/bin/memcached", cmd, pid)},
			}
		}))
		b.add(g.shared("users/memcache", func(int, int64) rowset {
			return rowset{cUser: {userRow(113, 120, "memcache", "Memcached,,,", "/nonexistent", "/bin/false")}}
		}))
	}

	if h.Sidecar {
		b.add(g.unique("sidecar/envoy", func(pid int, start int64) rowset {
			path := "/usr/local/bin/envoy"
			cmd := fmt.Sprintf("/usr/local/bin/envoy -c /etc/envoy/envoy.yaml --service-cluster shop-%s --service-node %s --log-path /var/log/envoy/%s.log --local-address-ip-version v6 --admin-bind fd00:ec2::%x",
				role, id, g.uuid(), g.r.IntN(1<<16))
			return rowset{
				cProc: {procRow(pid, "envoy", path, cmd, 1337, 1, start)},
				cLP: {lpRow("0.0.0.0", 15001, "6", "envoy", path, cmd, pid),
					lpRow("127.0.0.1", 15000, "6", "envoy", path, cmd, pid)},
			}
		}))
		b.add(g.shared("users/envoy", func(int, int64) rowset {
			return rowset{cUser: {userRow(1337, 1337, "envoy", "envoy sidecar", "/var/lib/envoy", "/usr/sbin/nologin")}}
		}))
	}
	return b
}

// moduleRows returns a shared variant of the kernel module rows of mods:
// addresses (and, a little, sizes) vary between variants.
func (g *gen) moduleRows(key string, mods []module) rowset {
	return g.shared(key, func(int, int64) rowset {
		var rs rowset
		addr := uint64(0xffffffffc0000000) + uint64(g.r.IntN(1<<12))<<12
		for _, m := range mods {
			size := m.size + 4096*g.r.IntN(2)
			rs[cMod] = append(rs[cMod], modRow(m.name, size, m.usedBy, addr))
			addr += uint64(size+4095) &^ 4095
		}
		return rs
	})
}
