package fleet

import (
	"math/rand/v2"
	"time"
)

// An imageDef is a machine image hosts were launched from, and the launch
// template version that named it.
type imageDef struct {
	release         string // "22.04", "24.04"
	ami             string
	templateVersion int
	since           time.Time // when the launch template started naming it
	kernel          *kernelDef
	daemons         []daemon
	users           []simUser // the image's system users that replace baseUsers' of their name, or follow them
	keyAlg, keyPair string    // the EC2 key pair of the launch template
}

// A kernelDef is a kernel build: its threads, its modules and their sizes.
type kernelDef struct {
	release     string
	rescuers    bool     // workqueue rescuers are named kworker/R-*
	early, late []string // kernel threads before and after the per-CPU ones
	modules     []module
	build       uint64
}

// size returns module m's size in this build: the same module differs by
// a few pages between builds.
func (k *kernelDef) size(m module) int {
	h := mix64(k.build ^ uint64(len(m.name))<<56 ^ hashString(m.name))
	return m.size + 4096*(int(h%5)-2)*int(h>>8%2)
}

func hashString(s string) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(s); i++ {
		h = (h ^ uint64(s[i])) * 1099511628211
	}
	return h
}

// rescuer returns the name kernel 6.8 gives the rescuer thread of
// workqueue wq ("kworker/R-" and the queue's name, cut at 15 bytes).
func rescuer(wq string) string { return comm("kworker/R-" + wq) }

// wq returns the name of the thread of workqueue name on kernel k.
func (k *kernelDef) wq(name string) string {
	if k.rescuers {
		return rescuer(name)
	}
	return name
}

// The kernel threads of the kernels: their names, before (early) and
// after (late) the per-CPU threads. Kernel 6.8 names the rescuers of
// workqueues kworker/R-*.
var (
	threads65Early = []string{"rcu_gp", "rcu_par_gp", "slub_flushwq", "netns", "mm_percpu_wq", "rcu_tasks_kthread",
		"rcu_tasks_rude_kthread", "rcu_tasks_trace_kthread", "rcu_preempt"}
	threads65Late = []string{"kdevtmpfs", "inet_frag_wq", "kauditd", "khungtaskd", "oom_reaper", "writeback", "kcompactd0",
		"ksmd", "khugepaged", "kintegrityd", "kblockd", "blkcg_punt_bio", "tpm_dev_wq", "ata_sff", "md", "edac-poller",
		"devfreq_wq", "watchdogd", "kswapd0", "ecryptfs-kthread", "kthrotld", "acpi_thermal_pm", "nvme-wq", "nvme-reset-wq",
		"nvme-delete-wq", "scsi_eh_0", "scsi_tmf_0", "mld", "ipv6_addrconf", "kstrp", "zswap-shrink", "charger_manager",
		"jbd2/nvme0n1p1-8", "ext4-rsv-conver", "cryptd"}
	threads68Early = []string{rescuer("rcu_gp"), rescuer("sync_wq"), rescuer("slub_flushwq"), rescuer("netns"),
		rescuer("mm_percpu_wq"), "rcu_tasks_kthread", "rcu_tasks_rude_kthread", "rcu_tasks_trace_kthread", "rcu_preempt",
		"rcu_exp_par_gp_", "rcu_exp_gp_kthr"}
	threads68Late = []string{"kdevtmpfs", rescuer("inet_frag_wq"), "kauditd", "khungtaskd", "oom_reaper", rescuer("writeback"),
		"kcompactd0", "ksmd", "khugepaged", rescuer("kintegrityd"), rescuer("kblockd"), rescuer("blkcg_punt_bio"),
		rescuer("tpm_dev_wq"), rescuer("ata_sff"), rescuer("md"), rescuer("md_bitmap"), rescuer("edac-poller"),
		rescuer("devfreq_wq"), "watchdogd", "kswapd0", "ecryptfs-kthread", rescuer("kthrotld"), rescuer("acpi_thermal_pm"),
		rescuer("nvme-wq"), rescuer("nvme-reset-wq"), rescuer("nvme-delete-wq"), "scsi_eh_0", rescuer("scsi_tmf_0"),
		rescuer("mld"), rescuer("ipv6_addrconf"), rescuer("kstrp"), rescuer("zswap-shrink"), rescuer("charger_manager"),
		"jbd2/nvme0n1p1-8", rescuer("ext4-rsv-conversion"), rescuer("cryptd")}
)

// kernel68Modules are the modules of 6.8 kernels: those of baseModules
// with the few the new build adds and drops.
var kernel68Modules = func() []module {
	var out []module
	for _, m := range baseModules {
		switch m.name {
		case "ecdh_generic", "ecc":
			continue // built in
		case "nvme_core":
			out = append(out, module{"nvme_auth", 28672, "nvme_core"})
		}
		out = append(out, m)
	}
	return append(out, module{"intel_rapl_msr", 20480, "-"}, module{"intel_rapl_common", 40960, "intel_rapl_msr"},
		module{"qrtr", 53248, "-"}, module{"vmw_vsock_vmci_transport", 40960, "-"})
}()

// The kernels of the image catalog.
var (
	kernelJammy62 = &kernelDef{release: "6.2.0-1017-aws", early: threads65Early, late: threads65Late, modules: baseModules, build: 62}
	kernelJammy65 = &kernelDef{release: "6.5.0-1022-aws", early: threads65Early, late: threads65Late, modules: baseModules, build: 65}
	kernelJammy68 = &kernelDef{release: "6.8.0-1019-aws", rescuers: true, early: threads68Early, late: threads68Late, modules: kernel68Modules, build: 68}
	kernelNoble68 = &kernelDef{release: "6.8.0-1016-aws", rescuers: true, early: threads68Early, late: threads68Late, modules: kernel68Modules, build: 1068}
)

// jammyDaemons are the system daemons of an Ubuntu 22.04 image, in boot
// order; nobleDaemons those of 24.04. sshd, cron and the others come
// first and the SSM agent and monitoring after (see baseDaemons).
var (
	jammyDaemons = []daemon{
		{"systemd-journal", "/usr/lib/systemd/systemd-journald", "/lib/systemd/systemd-journald", 0, nil},
		{"multipathd", "/usr/sbin/multipathd", "/sbin/multipathd -d -s", 0, nil},
		{"systemd-udevd", "/usr/bin/udevadm", "/lib/systemd/systemd-udevd", 0, nil},
		{"systemd-network", "/usr/lib/systemd/systemd-networkd", "/lib/systemd/systemd-networkd", 100, nil},
		{"systemd-resolve", "/usr/lib/systemd/systemd-resolved", "/lib/systemd/systemd-resolved", 101,
			[]listen{{"127.0.0.53", 53, tcp}, {"127.0.0.53", 53, udp}}},
		{"chronyd", "/usr/sbin/chronyd", "/usr/sbin/chronyd -F 1", 114, []listen{{"127.0.0.1", 323, udp}, {"::1", 323, udp}}},
		{"cron", "/usr/sbin/cron", "/usr/sbin/cron -f -P", 0, nil},
		{"dbus-daemon", "/usr/bin/dbus-daemon", "@dbus-daemon --system --address=systemd: --nofork --nopidfile --systemd-activation --syslog-only", 102, nil},
		{"irqbalance", "/usr/sbin/irqbalance", "/usr/sbin/irqbalance --foreground", 0, nil},
		{"networkd-dispat", "/usr/bin/python3.10", "/usr/bin/python3 /usr/bin/networkd-dispatcher --run-startup-triggers", 0, nil},
		{"polkitd", "/usr/libexec/polkitd", "/usr/libexec/polkitd --no-debug", 0, nil},
		{"rsyslogd", "/usr/sbin/rsyslogd", "/usr/sbin/rsyslogd -n -iNONE", 104, nil},
		{"snapd", "/usr/lib/snapd/snapd", "/usr/lib/snapd/snapd", 0, nil},
		{"systemd-logind", "/usr/lib/systemd/systemd-logind", "/lib/systemd/systemd-logind", 0, nil},
		{"udisksd", "/usr/libexec/udisks2/udisksd", "/usr/libexec/udisks2/udisksd", 0, nil},
		{"atd", "/usr/sbin/atd", "/usr/sbin/atd -f", 1, nil},
		{"unattended-upgr", "/usr/bin/python3.10", "/usr/bin/python3 /usr/share/unattended-upgrades/unattended-upgrade-shutdown --wait-for-signal", 0, nil},
		{"agetty", "/usr/sbin/agetty", "/sbin/agetty -o -p -- \\u --keep-baud 115200,57600,38400,9600 ttyS0 vt220", 0, nil},
		{"agetty", "/usr/sbin/agetty", "/sbin/agetty -o -p -- \\u --noclear tty1 linux", 0, nil},
		{"sshd", "/usr/sbin/sshd", "sshd: /usr/sbin/sshd -D [listener] 0 of 10-100 startups", 0,
			[]listen{{"0.0.0.0", 22, tcp}, {"::", 22, tcp}}},
	}
	nobleDaemons = []daemon{
		{"systemd-journal", "/usr/lib/systemd/systemd-journald", "/usr/lib/systemd/systemd-journald", 0, nil},
		{"multipathd", "/usr/sbin/multipathd", "/sbin/multipathd -d -s", 0, nil},
		{"systemd-udevd", "/usr/bin/udevadm", "/usr/lib/systemd/systemd-udevd", 0, nil},
		{"systemd-network", "/usr/lib/systemd/systemd-networkd", "/usr/lib/systemd/systemd-networkd", 998, nil},
		{"systemd-resolve", "/usr/lib/systemd/systemd-resolved", "/usr/lib/systemd/systemd-resolved", 991,
			[]listen{{"127.0.0.53", 53, tcp}, {"127.0.0.53", 53, udp}, {"127.0.0.54", 53, tcp}, {"127.0.0.54", 53, udp}}},
		{"chronyd", "/usr/sbin/chronyd", "/usr/sbin/chronyd -F 1", 110, []listen{{"127.0.0.1", 323, udp}, {"::1", 323, udp}}},
		{"chronyd", "/usr/sbin/chronyd", "/usr/sbin/chronyd -F 1", 110, nil},
		{"cron", "/usr/sbin/cron", "/usr/sbin/cron -f -P", 0, nil},
		{"dbus-daemon", "/usr/bin/dbus-daemon", "@dbus-daemon --system --address=systemd: --nofork --nopidfile --systemd-activation --syslog-only", 101, nil},
		{"irqbalance", "/usr/sbin/irqbalance", "/usr/sbin/irqbalance", 0, nil},
		{"networkd-dispat", "/usr/bin/python3.12", "/usr/bin/python3 /usr/bin/networkd-dispatcher --run-startup-triggers", 0, nil},
		{"polkitd", "/usr/lib/polkit-1/polkitd", "/usr/lib/polkit-1/polkitd --no-debug", 989, nil},
		{"rsyslogd", "/usr/sbin/rsyslogd", "/usr/sbin/rsyslogd -n -iNONE", 103, nil},
		{"snapd", "/usr/lib/snapd/snapd", "/usr/lib/snapd/snapd", 0, nil},
		{"systemd-logind", "/usr/lib/systemd/systemd-logind", "/usr/lib/systemd/systemd-logind", 0, nil},
		{"udisksd", "/usr/libexec/udisks2/udisksd", "/usr/libexec/udisks2/udisksd", 0, nil},
		{"unattended-upgr", "/usr/bin/python3.12", "/usr/bin/python3 /usr/share/unattended-upgrades/unattended-upgrade-shutdown --wait-for-signal", 0, nil},
		{"agetty", "/usr/sbin/agetty", "/sbin/agetty -o -p -- \\u --keep-baud 115200,57600,38400,9600 - vt220", 0, nil},
		{"agetty", "/usr/sbin/agetty", "/sbin/agetty -o -p -- \\u --noclear - linux", 0, nil},
		{"sshd", "/usr/sbin/sshd", "sshd: /usr/sbin/sshd -D [listener] 0 of 10-100 startups", 0,
			[]listen{{"0.0.0.0", 22, tcp}, {"::", 22, tcp}}},
	}
)

// nobleUsers are the system users of 24.04 images where they differ from
// 22.04's baseUsers (24.04 allocates most from 999 down), and those 22.04
// lacks.
var nobleUsers = []simUser{
	{998, 998, "systemd-network", "systemd Network Management", "/", "/usr/sbin/nologin"},
	{101, 102, "messagebus", "", "/nonexistent", "/usr/sbin/nologin"},
	{103, 104, "syslog", "", "/nonexistent", "/usr/sbin/nologin"},
	{110, 112, "_chrony", "Chrony daemon,,,", "/var/lib/chrony", "/usr/sbin/nologin"},
	{996, 996, "systemd-timesync", "systemd Time Synchronization", "/", "/usr/sbin/nologin"},
	{991, 991, "systemd-resolve", "systemd Resolver", "/", "/usr/sbin/nologin"},
	{989, 989, "polkitd", "User for polkitd", "/", "/usr/sbin/nologin"},
	{990, 990, "fwupd-refresh", "Firmware update daemon", "/var/lib/fwupd", "/usr/sbin/nologin"},
	{107, 109, "landscape", "", "/var/lib/landscape", "/usr/sbin/nologin"},
	{108, 46, "usbmux", "usbmux daemon,,,", "/var/lib/usbmux", "/usr/sbin/nologin"},
}

// imageCatalog lists the images a group's launch template may have named,
// oldest first; a group uses a window of consecutive ones.
var imageCatalog = []struct {
	release string
	kernel  *kernelDef
	daemons []daemon
	users   []simUser
}{
	{"22.04", kernelJammy62, jammyDaemons, nil},
	{"22.04", kernelJammy65, jammyDaemons, nil},
	{"22.04", kernelJammy68, jammyDaemons, nil},
	{"24.04", kernelNoble68, nobleDaemons, nobleUsers},
}

// planImages draws the launch template's history: with FamilyImages, two
// or three consecutive images of the catalog, the newest named 1 to 10
// days before the collection and each older one 8 to 40 days before the
// next, so that the hosts' launch times split them in shares that differ
// from seed to seed; without it, one image for every host.
func planImages(p *plan, r *rand.Rand, on bool) {
	n := 1
	if on {
		n = intBetween(r, 2, 3)
	}
	first := r.IntN(len(imageCatalog) - n + 1)
	if !on {
		first = 1 + r.IntN(len(imageCatalog)-1)
	}
	ver := intBetween(r, 3, 40)
	since := simCollectedAt.Add(-time.Duration(between(r, 1, 10) * float64(24*time.Hour)))
	keyAlg, keyPair := "ssh-rsa", randRSA(r)
	p.images = make([]imageDef, n)
	for i := n - 1; i >= 0; i-- {
		c := imageCatalog[first+i]
		p.images[i] = imageDef{release: c.release, ami: "ami-0" + randHex(r, 16), templateVersion: ver + i,
			since: since, kernel: c.kernel, daemons: c.daemons, users: c.users, keyAlg: keyAlg, keyPair: keyPair}
		since = since.Add(-time.Duration(between(r, 8, 40) * float64(24*time.Hour)))
		if chance(r, 0.5) { // a new key pair in this template version
			keyAlg, keyPair = "ssh-ed25519", randEd25519(r)
		}
	}
	p.images[0].since = time.Time{}
}

// imageOf returns the index of the image a host launched at t runs.
func (p *plan) imageOf(t time.Time) int {
	for i := len(p.images) - 1; i > 0; i-- {
		if !t.Before(p.images[i].since) {
			return i
		}
	}
	return 0
}
