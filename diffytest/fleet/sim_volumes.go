package fleet

import (
	"math/rand/v2"
)

// volumePlan is FamilyVolumes' draw: the data volumes and network file
// systems mounted.
type volumePlan struct {
	xfs       bool      // data volumes are XFS (else ext4)
	counts    []float64 // weights of 0 to 3 data volumes a host
	fixed     int       // every host's count without FamilyVolumes
	efsShare  float64   // hosts mounting an EFS file system over TLS
	efsIDs    []string
	efsMounts int
}

// planVolumes draws the file system, weights of 0 to 3 data volumes from
// a flat Dirichlet, EFS on a share of [0.1, 0.6] with 1 or 2 mounts;
// without FamilyVolumes every host has the same volumes and no EFS.
func (p *plan) planVolumes(r *rand.Rand, on bool) {
	v := &p.volumes
	v.xfs = chance(r, 0.4)
	for range 4 {
		v.counts = append(v.counts, r.ExpFloat64())
	}
	v.counts = normalize(v.counts, 0)
	v.fixed = r.IntN(2)
	v.efsShare = between(r, 0.1, 0.6)
	v.efsMounts = intBetween(r, 1, 2)
	for range v.efsMounts {
		v.efsIDs = append(v.efsIDs, "fs-0"+randHex(r, 16))
	}
	if !on {
		v.efsShare = 0
	}
}

// dataVolumes returns the host's number of data volumes.
func (g *hostGen) dataVolumes() int {
	v := &g.s.p.volumes
	if !g.on(FamilyVolumes) {
		return v.fixed
	}
	return indexByShare(unit(g.s.cfg.Seed, uint64(FamilyVolumes), g.id.key), v.counts)
}

// hasEFS reports whether the host mounts the fleet's EFS file systems.
func (g *hostGen) hasEFS() bool {
	return unit(g.s.cfg.Seed, uint64(FamilyVolumes), g.id.key, 1) < g.s.p.volumes.efsShare
}

// volumeThreads adds the kernel threads of the host's file systems: the
// journal and workqueues of each data volume, and the RPC threads of NFS.
func (g *hostGen) volumeThreads(kt func(string)) {
	k := g.img.kernel
	n := g.dataVolumes()
	for d := 1; d <= n; d++ {
		dev := "nvme" + itoa(d) + "n1"
		if g.s.p.volumes.xfs {
			for _, wq := range []string{"xfs-buf/", "xfs-conv/", "xfs-reclaim/", "xfs-blockgc/", "xfs-inodegc/", "xfs-log/", "xfs-cil/"} {
				kt(k.wq(comm(wq + dev)))
			}
			kt(comm("xfsaild/" + dev))
		} else {
			kt(comm("jbd2/" + dev + "-8"))
			kt(k.wq("ext4-rsv-conver"))
		}
	}
	if n > 0 && g.on(FamilyVolumes) {
		g.trait("volumes=" + itoa(n))
	}
	efs := g.hasEFS()
	if g.hasStatd() || efs {
		for _, name := range []string{"rpciod", "xprtiod", "nfsiod"} {
			kt(k.wq(name))
		}
	}
	if efs {
		kt("nfsv4.1-svc")
	}
}

// efsModules are the modules an NFSv4 client loads.
var efsModules = []module{
	{"sunrpc", 745472, "nfsv4,auth_rpcgss,lockd,nfs,rpcsec_gss_krb5"}, {"grace", 16384, "lockd"}, {"lockd", 139264, "nfs"},
	{"fscache", 389120, "nfs"}, {"netfs", 61440, "fscache,nfs"}, {"dns_resolver", 16384, "nfsv4"},
	{"auth_rpcgss", 184320, "rpcsec_gss_krb5"}, {"rpcsec_gss_krb5", 36864, "-"}, {"nfs", 569344, "nfsv4"}, {"nfsv4", 1060864, "-"},
}

// volumes starts what the host's mounts run: EFS's TLS tunnels (stunnel on
// a local port picked at mount time, named in its configuration file) and
// the mount watchdog; and loads the file systems' modules.
func (g *hostGen) volumes() {
	v := &g.s.p.volumes
	if g.dataVolumes() > 0 && v.xfs {
		g.pkgModules = append(g.pkgModules, module{"xfs", 2306048, "-"})
	}
	if !g.hasEFS() {
		return
	}
	g.trait("efs")
	r := g.keep(FamilyVolumes)
	g.spawn(g.nextBootPid(r, 20), "amazon-efs-moun", g.python(), "/usr/bin/python3 /usr/bin/amazon-efs-mount-watchdog", 0, 1, g.boot+14)
	for i, id := range v.efsIDs {
		port := 20049 + r.IntN(400)
		mnt := "mnt.efs"
		if i > 0 {
			mnt = "mnt.shared"
		}
		s := g.spawn(g.nextBootPid(r, 5), "stunnel4", "/usr/bin/stunnel4", "/usr/bin/stunnel4 /var/run/efs/stunnel-config."+id+"."+mnt+"."+itoa(port), 0, 1, g.boot+15)
		g.listen(s, "127.0.0.1", port, tcp)
	}
	g.pkgModules = append(g.pkgModules, efsModules...)
}
