package analyze

import (
	"cmp"
	"slices"
	"strings"

	"github.com/diffy-dfir/diffy/payload"
)

// buildPlacements finds the parent names of the processes command whose
// children are placed: what runs under them varies from host to host,
// as what a container runtime's shim runs is the workload the scheduler
// put on that host. Parent name P places when
//
//   - P is no root of a host's process tree (every row named P that is a
//     parent has a parent of its own: not init, not kthreadd, whose
//     children are the host's services and the kernel's threads);
//   - more than minority(n) = max(r, ⌊φ·n⌋) hosts have a child of P: a
//     kind of host's launcher, not a few hosts' activity (a session's
//     shell, a job);
//   - the children's templates are spread over those hosts: with
//     count(t) the hosts with a child of template t under P and S the
//     hosts with any, the context is not dominated (isDominated, over
//     settledDraws of the counts in decreasing order, hosts S): no usual
//     child, nor a kind of host's set of them, makes most of the draws.
//
// The children of init are the host's services, on most hosts each: its
// children are dominated, and init is a root besides. A shim's are a few
// of the fleet's images a host, each on its own share.
func (m *cmdModel) buildPlacements() {
	c := m.rows
	if c.parent == nil || c.id != payload.Processes {
		return
	}
	type childStat struct {
		count int32
		sig   uint64
	}
	kids := map[int32]map[int32]*childStat{} // parent name → child template
	hosts := map[int32]int32{}
	root := map[int32]bool{}
	stampP := map[int32]int32{}
	stampPT := map[uint64]int32{}
	for h, fs := range c.perHost {
		par := c.parent[h]
		sig := hostSig(h)
		for _, fp := range par {
			if fp.pf >= 0 && !hasParentEntry(par, indexOf(fs, fp.pf)) {
				root[fp.p] = true
			}
			if stampP[fp.p] != int32(h)+1 {
				stampP[fp.p] = int32(h) + 1
				hosts[fp.p]++
			}
			t := c.feats[fs[fp.i]].tmpl
			k := uint64(fp.p)<<32 | uint64(uint32(t))
			if stampPT[k] == int32(h)+1 {
				continue
			}
			stampPT[k] = int32(h) + 1
			byT := kids[fp.p]
			if byT == nil {
				byT = map[int32]*childStat{}
				kids[fp.p] = byT
			}
			cs := byT[t]
			if cs == nil {
				cs = &childStat{}
				byT[t] = cs
			}
			cs.count++
			cs.sig ^= sig
		}
	}
	for p, byT := range kids {
		s := hosts[p]
		if root[p] || s <= m.minority {
			continue
		}
		var stats []*childStat
		var draws int64
		for _, cs := range byT {
			stats = append(stats, cs)
			draws += int64(cs.count)
		}
		slices.SortFunc(stats, func(a, b *childStat) int { return cmp.Or(cmp.Compare(b.count, a.count), cmp.Compare(a.sig, b.sig)) })
		settled := m.p.settledDraws(len(stats), func(i int) int32 { return stats[i].count }, func(i int) uint64 { return stats[i].sig }, -1, s, m.r)
		if !m.p.isDominated(settled, draws) {
			if m.placing == nil {
				m.placing = map[int32]int32{}
			}
			m.placing[p] = s
		}
	}
}

// hasParentEntry reports whether the feature at index i of a host's
// sorted features has a parent among the host's parents par (sorted by
// index).
func hasParentEntry(par []featParent, i int) bool {
	if i < 0 {
		return false
	}
	_, ok := slices.BinarySearchFunc(par, int32(i), func(fp featParent, i int32) int { return cmp.Compare(fp.i, i) })
	return ok
}

// suspectExecutable returns why a process's executable is suspect
// wherever it runs, "" when it is not: a file deleted since it started
// ("(deleted)": a program that removes itself), a hidden name (a path
// component starting with a dot), a world-writable directory (/tmp,
// /var/tmp, /dev/shm: where any user may put a program, no package
// does), or a pose as a kernel thread (it runs an executable, which a
// kernel thread has none of, yet its command line is a name in brackets,
// "[kworker/0:1]", as ps shows a thread, or its name is one of threads,
// the names of the fleet's process rows without an executable on more
// than r hosts). p is the process's path, name and cmd its name and
// command line.
func suspectExecutable(p, name, cmd string, threads map[string]bool) string {
	switch {
	case strings.HasSuffix(p, deletedSuffix):
		return "its executable was deleted since it started"
	case strings.Contains(p, "/."):
		return "it runs under a hidden name"
	case slices.ContainsFunc(worldWritable, func(d string) bool { return strings.HasPrefix(p, d) }):
		return "it runs from a directory every user may write to"
	case len(cmd) > 2 && cmd[0] == '[' && cmd[len(cmd)-1] == ']', threads[name]:
		return "it poses as a kernel thread: it runs an executable, which a kernel thread has none of"
	}
	return ""
}
