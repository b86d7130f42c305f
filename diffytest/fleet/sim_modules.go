package fleet

import (
	"math/rand/v2"
	"slices"
	"strings"
)

// demandMod is a module one action loads, and the modules it depends
// on: each of those, once it is loaded, lists it in its used_by.
type demandMod struct {
	module
	deps []string
}

// demandAction is something an operator or a program does once on a few
// hosts that loads kernel modules on demand (docs/kernel-modules.md, the
// first row of the table): its modules in load order, each loaded only
// when the host has not loaded it already.
type demandAction struct {
	what string
	mods []demandMod
}

func dm(name string, size int, deps ...string) demandMod {
	return demandMod{module{name, size, "-"}, deps}
}

// demandActions are the actions of FamilyModules, with the modules the
// Ubuntu kernels load for them and what depends on what
// (modinfo -F depends).
var demandActions = []demandAction{
	{"losetup", []demandMod{dm("loop", 40960)}},
	{"iso-mount", []demandMod{dm("isofs", 53248), dm("cdrom", 77824)}},
	{"udf-mount", []demandMod{dm("crc_itu_t", 16384), dm("udf", 118784, "crc_itu_t")}},
	{"iptables-rule", []demandMod{dm("nf_defrag_ipv6", 24576), dm("nf_defrag_ipv4", 16384),
		dm("nf_conntrack", 176128, "nf_defrag_ipv6", "nf_defrag_ipv4", "libcrc32c"), dm("xt_conntrack", 16384, "nf_conntrack", "x_tables"),
		dm("xt_tcpudp", 16384, "x_tables"), dm("iptable_filter", 16384, "ip_tables", "x_tables")}},
	{"nft-rule", []demandMod{dm("nfnetlink", 20480), dm("nf_tables", 299008, "nfnetlink", "libcrc32c"), dm("nft_chain_nat", 16384, "nf_tables")}},
	{"docker-run", []demandMod{dm("llc", 16384), dm("stp", 16384, "llc"), dm("bridge", 311296, "stp", "llc"),
		dm("br_netfilter", 32768, "bridge"), dm("veth", 36864), dm("overlay", 151552)}},
	{"nfs-mount", []demandMod{dm("sunrpc", 745472), dm("grace", 16384), dm("lockd", 139264, "grace", "sunrpc"),
		dm("auth_rpcgss", 184320, "sunrpc"), dm("rpcsec_gss_krb5", 36864, "auth_rpcgss", "sunrpc"), dm("dns_resolver", 16384),
		dm("fscache", 389120), dm("netfs", 61440, "fscache"), dm("nfs", 569344, "lockd", "sunrpc", "fscache", "netfs"),
		dm("nfsv4", 1060864, "nfs", "sunrpc", "dns_resolver")}},
	{"cryptsetup", []demandMod{dm("dm_crypt", 61440)}},
	{"lvm-snapshot", []demandMod{dm("dm_bufio", 40960), dm("dm_snapshot", 53248, "dm_bufio")}},
	{"tcp-bbr", []demandMod{dm("tcp_bbr", 20480)}},
	{"wireguard", []demandMod{dm("udp_tunnel", 24576), dm("ip6_udp_tunnel", 16384), dm("libcurve25519_generic", 49152),
		dm("curve25519_x86_64", 36864, "libcurve25519_generic"), dm("libchacha20poly1305", 16384),
		dm("wireguard", 98304, "udp_tunnel", "ip6_udp_tunnel", "curve25519_x86_64", "libchacha20poly1305")}},
	{"vxlan", []demandMod{dm("udp_tunnel", 24576), dm("ip6_udp_tunnel", 16384), dm("vxlan", 98304, "udp_tunnel", "ip6_udp_tunnel")}},
	{"cifs-mount", []demandMod{dm("cifs_arc4", 16384), dm("cifs_md4", 16384), dm("fscache", 389120), dm("netfs", 61440, "fscache"),
		dm("cifs", 1290240, "cifs_arc4", "cifs_md4", "netfs", "fscache")}},
}

// modulesPlan is FamilyModules' draw: the share of the hosts on which
// each action of demandActions was done since boot.
type modulesPlan struct {
	shares []float64
}

// planModules draws each action's share on [0.003, 0.03]; without
// FamilyModules no action is done.
func (p *plan) planModules(r *rand.Rand, on bool) {
	for range demandActions {
		s := between(r, 0.003, 0.03)
		if !on {
			s = 0
		}
		p.modules.shares = append(p.modules.shares, s)
	}
}

// demandModules loads, after every other module, the modules of the
// actions done on the host, each with the used_by changes of the modules
// it depends on (newest first, as /proc/modules lists a module's
// holders).
func (g *hostGen) demandModules() {
	for i, a := range demandActions {
		if unit(g.s.cfg.Seed, uint64(FamilyModules), g.id.key, uint64(i)) >= g.s.p.modules.shares[i] {
			continue
		}
		g.trait("modules=" + a.what)
		for _, m := range a.mods {
			if slices.ContainsFunc(g.mods, func(l modLine) bool { return l.name == m.name }) {
				continue
			}
			for _, d := range m.deps {
				if j := slices.IndexFunc(g.mods, func(l modLine) bool { return l.name == d }); j >= 0 {
					g.mods[j].usedBy = addHolder(g.mods[j].usedBy, m.name)
				}
			}
			g.mods = append(g.mods, modLine{m.name, g.img.kernel.size(m.module), m.usedBy})
		}
	}
}

// addHolder returns the used_by list u ("-" when empty) with name added
// first, unless it holds it already.
func addHolder(u, name string) string {
	if u == "-" || u == "" {
		return name
	}
	if slices.Contains(strings.Split(u, ","), name) {
		return u
	}
	return name + "," + u
}
