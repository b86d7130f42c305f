package analyze_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/diffy-dfir/diffy/collect"
)

// moduleKindsHosts returns n hosts whose kernel modules come in kinds of
// host, as in a group with a container runtime on the workers and two
// kernel builds: 20 modules on every host, 10 (the runtime's) on 45% of
// them and 3 (the newer kernel's) on 70%. The kinds' rows are more than
// a fifth of the module rows, so the names of the modules are no longer
// dominated by the usual ones, though every name but a planted one is
// on at least 45% of the hosts.
func moduleKindsHosts(n int) []varHost {
	mod := func(name string) collect.Row {
		return collect.Row{"name": name, "size": "16384", "used_by": "-", "status": "Live", "address": "0x1"}
	}
	var common, runtime, kernel []collect.Row
	for _, s := range []string{"tls", "ppdev", "psmouse", "ena", "serio", "lp", "msr", "efi_pstore", "dmi_sysfs", "ip_tables", "autofs",
		"btrfs", "drm", "nvme", "aesni_intel", "input_leds", "parport_pc", "binfmt_misc", "dm_multipath", "sch_fq_codel"} {
		common = append(common, mod(s))
	}
	for _, s := range []string{"overlay", "br_netfilter", "veth", "xt_conntrack", "xt_addrtype", "xt_nat", "iptable_nat", "iptable_filter",
		"xt_masquerade", "nf_nat"} {
		runtime = append(runtime, mod(s))
	}
	for _, s := range []string{"qrtr", "intel_rapl_msr", "vsock_loopback"} {
		kernel = append(kernel, mod(s))
	}
	hosts := make([]varHost, n)
	for i := range hosts {
		h := baseHost(i).add("kernel_modules", common...)
		if i%20 < 9 {
			h.add("kernel_modules", runtime...)
		}
		if i%10 < 7 {
			h.add("kernel_modules", kernel...)
		}
		hosts[i] = h
	}
	return hosts
}

// TestClusterModuleAmongKinds: a rootkit's module alone on one host is
// a deviation that decides, however much of the group's module rows the
// kinds of host carry (isSettled: a name on more than a fifth of the
// hosts is a kind's, not spread variation); and without it no host is an
// outlier.
func TestClusterModuleAmongKinds(t *testing.T) {
	const n, bad = 200, 77
	hosts := moduleKindsHosts(n)
	if ids := outlierIDs(analyzeResults(t, varResults(hosts))); len(ids) != 0 {
		t.Fatalf("clean group: outliers %v, want none", ids)
	}
	for _, name := range []string{"diamorphine", "vmw_scblct"} {
		t.Run(name, func(t *testing.T) {
			hosts := moduleKindsHosts(n)
			hosts[bad].add("kernel_modules", collect.Row{"name": name, "size": "90112", "used_by": "-", "status": "Live", "address": "0x9"})
			rep := analyzeResults(t, varResults(hosts))
			if ids := outlierIDs(rep); !slices.Equal(ids, []string{hostID(bad)}) {
				t.Fatalf("outliers %v, want only %s", ids, hostID(bad))
			}
			f := rep.Outliers()[0].Findings[0]
			why := fmt.Sprintf("name=%q on 1 of the %d hosts", name, n)
			if f.CommandID != "kernel_modules" || !f.Deciding || !strings.Contains(f.Why, why) {
				t.Errorf("first finding %s %q (deciding %v), want kernel_modules saying %q", f.CommandID, f.Why, f.Deciding, why)
			}
		})
	}
}

// TestBaselineFleetModuleAmongKinds: the baseline analyzer, against a
// baseline fleet whose module rows come in the same kinds of host, flags
// the one host that loaded a module no baseline host has.
func TestBaselineFleetModuleAmongKinds(t *testing.T) {
	const n, bad = 200, 77
	base := varResults(moduleKindsHosts(n))
	hosts := moduleKindsHosts(n)
	hosts[bad].add("kernel_modules", collect.Row{"name": "diamorphine", "size": "90112", "used_by": "-", "status": "Live", "address": "0x9"})
	rep := fleetBaseline(t, varResults(hosts), base)
	if ids := outlierIDs(rep); !slices.Equal(ids, []string{hostID(bad)}) {
		t.Fatalf("outliers %v, want only %s", ids, hostID(bad))
	}
	if f := rep.Outliers()[0].Findings[0]; f.CommandID != "kernel_modules" || f.Row["name"] != "diamorphine" {
		t.Errorf("first finding %s %v, want the diamorphine row", f.CommandID, f.Row)
	}
}

// TestClusterModuleUsedBy: a module's used_by that gains a module the
// host loaded (xt_conntrack on x_tables) is that module's trace and does
// not decide (the module's own row does); one that gains a name the host
// does not list is a module hidden from /proc/modules, and decides.
func TestClusterModuleUsedBy(t *testing.T) {
	const n, loaded, hidden = 200, 77, 78
	hosts := make([]varHost, n)
	for i := range hosts {
		hosts[i] = baseHost(i)
	}
	hosts[loaded]["kernel_modules"][2] = collect.Row{"name": "x_tables", "size": "53248", "used_by": "xt_conntrack,ip6_tables", "status": "Live", "address": "0x3"}
	hosts[loaded].add("kernel_modules", collect.Row{"name": "xt_conntrack", "size": "16384", "used_by": "-", "status": "Live", "address": "0x9"})
	hosts[hidden]["kernel_modules"][2] = collect.Row{"name": "x_tables", "size": "53248", "used_by": "xt_wiqmxx,ip6_tables", "status": "Live", "address": "0x3"}
	rep := analyzeResults(t, varResults(hosts))
	if ids := outlierIDs(rep); !slices.Equal(ids, []string{hostID(loaded), hostID(hidden)}) {
		t.Fatalf("outliers %v, want %s and %s", ids, hostID(loaded), hostID(hidden))
	}
	seen := 0
	for _, h := range rep.Outliers() {
		for _, f := range h.Findings {
			if f.CommandID == "kernel_modules" {
				seen++
			}
			switch {
			case f.Row["name"] == "x_tables" && h.InstanceID == hostID(loaded):
				if f.Deciding || !strings.Contains(f.Why, "(xt_conntrack) are loaded on this host") {
					t.Errorf("%s: x_tables %q (deciding %v), want its trace of xt_conntrack, not deciding", h.InstanceID, f.Why, f.Deciding)
				}
			case f.Row["name"] == "xt_conntrack":
				if !f.Deciding {
					t.Errorf("%s: xt_conntrack does not decide: %q", h.InstanceID, f.Why)
				}
			case f.Row["name"] == "x_tables":
				if !f.Deciding || !strings.Contains(f.Why, "xt_wiqmxx, which this host does not list") {
					t.Errorf("%s: x_tables %q (deciding %v), want a hidden module, deciding", h.InstanceID, f.Why, f.Deciding)
				}
			}
		}
	}
	if seen != 3 {
		t.Errorf("%d kernel_modules findings, want 3 (x_tables twice, xt_conntrack)", seen)
	}
}

// TestClusterModuleDemand: a module name on two hosts with one size is
// the kernel build's module loaded on demand and does not decide (loop on
// two hosts; nf_tables with one size on two hosts, beside a third host of
// another build); a (name, size) on one host decides (diamorphine, two
// builds of reptile on one host each, the third nf_tables), and a host
// that lists one name twice is one host (kovid). At 300 hosts r = 3:
// every name here is rare.
func TestClusterModuleDemand(t *testing.T) {
	const n = 300 // r = 3
	mod := func(name, size, usedBy string) collect.Row {
		return collect.Row{"name": name, "size": size, "used_by": usedBy, "status": "Live", "address": "0xffffffffc0a00000"}
	}
	hosts := make([]varHost, n)
	for i := range hosts {
		hosts[i] = baseHost(i)
	}
	hosts[10].add("kernel_modules", mod("loop", "40960", "-"))
	hosts[11].add("kernel_modules", mod("loop", "40960", "-"))
	hosts[12].add("kernel_modules", mod("diamorphine", "16384", "-"))
	hosts[20].add("kernel_modules", mod("reptile", "20480", "-"))
	hosts[21].add("kernel_modules", mod("reptile", "24576", "-"))
	hosts[30].add("kernel_modules", mod("nf_tables", "299008", "-"))
	hosts[31].add("kernel_modules", mod("nf_tables", "299008", "-"))
	hosts[32].add("kernel_modules", mod("nf_tables", "311296", "-"))
	hosts[40].add("kernel_modules", mod("kovid", "36864", "-"), mod("kovid", "36864", "x_tables"))
	rep := analyzeResults(t, varResults(hosts))
	want := []string{hostID(12), hostID(20), hostID(21), hostID(32), hostID(40)}
	if ids := outlierIDs(rep); !slices.Equal(ids, want) {
		t.Fatalf("outliers %v, want %v", ids, want)
	}
	var excused int
	for _, h := range rep.Hosts {
		for _, f := range h.Findings {
			why := map[string]string{"loop": "loop of size 40960 is loaded on 2 of the 300 hosts", "nf_tables": "nf_tables of size 299008 is loaded on 2 of the 300 hosts"}[f.Row["name"]]
			if why == "" || h.InstanceID == hostID(32) {
				continue
			}
			excused++
			if f.Deciding || !strings.Contains(f.Why, why) {
				t.Errorf("%s: %s %q (deciding %v), want %q, not deciding", h.InstanceID, f.Row["name"], f.Why, f.Deciding, why)
			}
		}
	}
	if excused != 4 {
		t.Errorf("%d findings of loop and nf_tables on 2 hosts, want 4 (listed, not deciding)", excused)
	}
}

// TestClusterModuleUsedByOwnName: a used_by that gains the names of
// modules the host lists is their trace even when the row is judged
// among rows of other names (libcrc32c's template holds every name with
// a digit, whose used_by is "-"): libcrc32c, held by btrfs and raid456 on
// every host, gains nf_conntrack and nf_tables, in either order, on the
// three hosts that loaded them with one size; gaining a name the host
// does not list still decides.
func TestClusterModuleUsedByOwnName(t *testing.T) {
	const n, hidden = 300, 90
	mod := func(name, size, usedBy string) collect.Row {
		return collect.Row{"name": name, "size": size, "used_by": usedBy, "status": "Live", "address": "0xffffffffc0a00000"}
	}
	hosts := make([]varHost, n)
	for i := range hosts {
		hosts[i] = baseHost(i).add("kernel_modules", mod("btrfs", "1843200", "-"), mod("raid456", "196608", "-"), mod("libcrc32c", "12288", "btrfs,raid456"))
	}
	for _, h := range []int{10, 11, 12} {
		hosts[h].add("kernel_modules", mod("nf_conntrack", "176128", "-"), mod("nf_tables", "299008", "-"))
	}
	hosts[10]["kernel_modules"][5] = mod("libcrc32c", "12288", "nf_tables,nf_conntrack,btrfs,raid456")
	hosts[11]["kernel_modules"][5] = mod("libcrc32c", "12288", "nf_conntrack,nf_tables,btrfs,raid456")
	hosts[12]["kernel_modules"][5] = mod("libcrc32c", "12288", "nf_conntrack,btrfs,raid456")
	hosts[hidden]["kernel_modules"][5] = mod("libcrc32c", "12288", "nf_wiqmxx,btrfs,raid456")
	rep := analyzeResults(t, varResults(hosts))
	if ids := outlierIDs(rep); !slices.Equal(ids, []string{hostID(hidden)}) {
		for _, h := range rep.Outliers() {
			for _, f := range h.Findings {
				t.Logf("%s %s %v %q", h.InstanceID, f.CommandID, f.Row, f.Why)
			}
		}
		t.Fatalf("outliers %v, want only %s", ids, hostID(hidden))
	}
}
