package analyze

import (
	"cmp"
	"math"
	"slices"
)

// campaign is a set of candidate rows that sit together on the same
// hosts, across commands, on hosts that otherwise look like their group.
type campaign struct {
	rows  []*candidate // most hosts first
	hosts []int32      // sorted: hosts with at least half of the rows
	// deployment: the group passes the first six tests but every row is
	// one an installed service leaves (test 7): noted, not flagged.
	deployment bool
}

// findCampaigns groups the candidates (rows on more than r and at most
// φ·n of the n hosts that no spread variation explains) by co-occurrence
// and returns the groups that look like one implant spread over many
// hosts rather than a role, a version or benign jobs:
//
//  1. Two rows are linked when their host sets nearly coincide,
//     Jaccard(A, B) = |A∩B| / |A∪B| ≥ 1−φ, and the overlap is beyond
//     chance: P(O ≥ |A∩B|) · K(K−1)/2 < 1, where O is hypergeometric
//     (|A| of n hosts drawn, |B| marked) and K the number of candidates
//     (expected false links below one). Benign jobs caught running on a
//     few percent of the hosts each are independent of each other; an
//     implant's rows (a miner, its crontab line, its key) are not.
//  2. A group (linked rows, transitively) counts when it holds two
//     things of two commands: rows of different commands that share no
//     free-text value (FreeTextColumns). A job and its child process are
//     one command; a daemon's process and its listener are one thing
//     (listening_ports carries the process's path and command line); an
//     implant persists in one table (a crontab, a key, a user, a module)
//     and runs in another (a process, a listener).
//  3. Something of it runs: one of its rows is of a command whose rows
//     carry a pid (a process, a listener). An implant executes; an
//     account provisioned with its key (an operator being added) runs
//     nothing.
//  4. Its rows are copies: each is one row on the hosts that have its
//     template (its most common feature on at least 1−φ of them). An
//     implant dropped by one script is the same rows everywhere; a service
//     installed on a minority has per-host values (ports drawn at boot).
//  5. Its hosts (those with at least half of its rows) lack no more of
//     the usual templates of their reference group (their cluster, or the
//     nearest other cluster when they make one of their own; usual: on
//     1−φ of its hosts) than the reference's own hosts do (the 1−φ
//     quantile of theirs). A role, an image or a canary version differs
//     by many rows and lacks some of the majority's (its daemons at other
//     paths, another version); an implant only adds.
//  6. Its hosts are drawn from their reference as at random: no template
//     is rarer among them than among the reference's hosts beyond chance
//     (drawnAtRandom: a one-sided Fisher exact test per template,
//     P(O ≤ o)·T < 1 over the T templates tested, expected false
//     deficits below one), the reference holding only hosts that were
//     up when the group's were (booted no later than the youngest of
//     them). A role is a kind of host: where several roles
//     share a cluster, the usual rows of test 5 are only those all roles
//     have, but the hosts of one role lack, every one, the rows of the
//     others (a cache role runs none of the application the other hosts
//     run); an implant spread over a group lands on hosts whatever they
//     run. An implant spread to the hosts of one role only is the hosts
//     of that role's cluster plus its rows: tested against that
//     cluster, it passes. An implant lands on the hosts that run when it
//     spreads; hosts launched since (a scaling group replaces hosts, a
//     booting host runs its user data) are clean whatever they run, and
//     what new hosts run (their boot's jobs, a newer image) is rarer on
//     the implant's hosts without making them a kind of host.
//  7. Something of it persists or lets someone in: not every row is one
//     a service installed by configuration management or a package
//     leaves (deployModel.installed): a process or a listener run from
//     the package trees of the Filesystem Hierarchy Standard (/usr but
//     /usr/local, /opt, ...) or from a directory of the fleet's own
//     executables, naming no file in a temporary directory (but as its
//     temporary directory), a home or under a hidden name; a kernel
//     module; a package manager's record (deb_packages, rpm_packages,
//     where the results carry them); a system user (uid 1-999, no login
//     shell or the uid its processes run as); a package's cron.d line
//     that fetches, decodes and restarts nothing (packageCron). An
//     agent or a daemon rolled out to a minority passes the first six
//     tests as an implant does (its rows are copies, on hosts otherwise
//     like the rest, drawn at random), but needs nothing to survive a
//     reboot beyond its package and lets no one in; an implant must be
//     restarted and its operator must come back: a user's crontab line
//     or a watchdog, an authorized key, a login account or a second uid
//     0, or a binary dropped where anyone can write. A group that fails
//     only this test is a deployment: returned with deployment set,
//     noted, not flagged. An implant packaged as a service (its binary
//     in /usr/bin, its unit file, its system user) passes as a
//     deployment; the note names its rows.
//
// keys gives the normalized row key of a candidate, runs whether the rows
// of a command are of something running (see cmdRows.running), deploys
// whether a group is a deployment (deployModel.deployment); boot, by
// host, when each host booted (cmdRows.boot: 0 unknown, nil when no
// command says).
func findCampaigns(p params, cands []*candidate, keys func(*candidate) string, runs func(cmd int32) bool, deploys func([]*candidate) bool, n int, hostTmpl [][]int32, assign []int, k int, emb *embedding, boot []int64) []campaign {
	if len(cands) < 2 {
		return nil
	}
	order := make([]int, len(cands))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(a, b int) int { return cmp.Compare(len(cands[a].hosts), len(cands[b].hosts)) })
	pairs := float64(len(cands)) * float64(len(cands)-1) / 2
	parent := make([]int, len(cands))
	for i := range parent {
		parent[i] = i
	}
	find := func(i int) int {
		for parent[i] != i {
			parent[i] = parent[parent[i]]
			i = parent[i]
		}
		return i
	}
	for x, a := range order {
		la := len(cands[a].hosts)
		for _, b := range order[x+1:] {
			lb := len(cands[b].hosts)
			if float64(la) < (1-p.phi)*float64(lb) {
				break // sorted by size: no later b can reach the Jaccard bound
			}
			o := overlap(cands[a].hosts, cands[b].hosts)
			if float64(o) < (1-p.phi)*float64(la+lb-o) {
				continue
			}
			if logHyperTail(n, lb, la, o)+math.Log(pairs) >= 0 {
				continue
			}
			parent[find(a)] = find(b)
		}
	}
	groups := map[int][]*candidate{}
	var roots []int
	for i := range cands {
		r := find(i)
		if groups[r] == nil {
			roots = append(roots, r)
		}
		groups[r] = append(groups[r], cands[i])
	}
	var out []campaign
	for _, r := range roots {
		g := groups[r]
		if len(g) < 2 || !spansThings(g, keys) || !copies(p, g) || !slices.ContainsFunc(g, func(c *candidate) bool { return runs(c.cmd) }) {
			continue
		}
		hosts := groupHosts(g)
		if len(hosts) == 0 || !addsOnly(p, hosts, g, n, hostTmpl, assign, k, emb) || !drawnAtRandom(hosts, n, hostTmpl, assign, k, boot) {
			continue
		}
		slices.SortStableFunc(g, func(a, b *candidate) int { return cmp.Compare(len(b.hosts), len(a.hosts)) })
		out = append(out, campaign{rows: g, hosts: hosts, deployment: deploys(g)})
	}
	slices.SortStableFunc(out, func(a, b campaign) int { return cmp.Compare(len(b.hosts), len(a.hosts)) })
	return out
}

// overlap returns |a∩b| of two sorted sets.
func overlap(a, b []int32) int {
	i, j, o := 0, 0, 0
	for i < len(a) && j < len(b) {
		switch {
		case a[i] == b[j]:
			o++
			i++
			j++
		case a[i] < b[j]:
			i++
		default:
			j++
		}
	}
	return o
}

// logHyperTail returns ln P(O ≥ o) for O hypergeometric: draws of n
// items, marked of them marked,
//
//	P(O = j) = C(marked, j)·C(n−marked, draws−j) / C(n, draws)
func logHyperTail(n, marked, draws, o int) float64 {
	hi := min(marked, draws)
	if o <= 0 {
		return 0
	}
	if o > hi {
		return math.Inf(-1)
	}
	lc := func(a, b int) float64 {
		x, _ := math.Lgamma(float64(a + 1))
		y, _ := math.Lgamma(float64(b + 1))
		z, _ := math.Lgamma(float64(a - b + 1))
		return x - y - z
	}
	den := lc(n, draws)
	first := lc(marked, o) + lc(n-marked, draws-o) - den
	sum := 0.0
	for j := o; j <= hi; j++ {
		t := lc(marked, j) + lc(n-marked, draws-j) - den - first
		if t < -50 {
			break // the terms fall beyond the mode's side we are on
		}
		sum += math.Exp(t)
	}
	return first + math.Log(sum)
}

// spansThings reports whether g holds two rows of different commands
// that share no free-text value: two things, not one seen by two
// commands.
func spansThings(g []*candidate, keys func(*candidate) string) bool {
	free := make([][]string, len(g))
	for i, c := range g {
		for col, v := range keyPairs([]byte(keys(c))) {
			if isFreeText(col) && v != "" {
				free[i] = append(free[i], v)
			}
		}
	}
	for i := range g {
		for j := i + 1; j < len(g); j++ {
			if g[i].cmd == g[j].cmd {
				continue
			}
			shared := false
			for _, v := range free[i] {
				if slices.Contains(free[j], v) {
					shared = true
					break
				}
			}
			if !shared {
				return true
			}
		}
	}
	return false
}

// copies reports whether each row of g is one row on the hosts of its
// template: its most common feature on at least 1−φ of them (a value
// deviation is one feature by construction).
func copies(p params, g []*candidate) bool {
	for _, c := range g {
		if c.kind == 't' && float64(c.topHosts) < (1-p.phi)*float64(len(c.hosts)) {
			return false
		}
	}
	return true
}

// groupHosts returns, sorted, the hosts that carry at least half of the
// rows of g.
func groupHosts(g []*candidate) []int32 {
	count := map[int32]int{}
	for _, c := range g {
		for _, h := range c.hosts {
			count[h]++
		}
	}
	var out []int32
	for h, k := range count {
		if 2*k >= len(g) {
			out = append(out, h)
		}
	}
	slices.Sort(out)
	return out
}

// addsOnly is the fifth test of findCampaigns: whether most hosts of a
// group lack no more of their reference's usual templates than the
// reference's own hosts do (the 1−φ quantile of theirs). A host's reference
// is the other hosts of its cluster, or, when the group is half of that
// cluster or more (it makes a cluster of its own), those of one of the
// clusters the group is not half of: the one whose centre is nearest, or
// any other the host fits (an implant spread at random lands on hosts of
// every kind; a kind of host of its own, a role, fits none).
func addsOnly(p params, hosts []int32, g []*candidate, n int, hostTmpl [][]int32, assign []int, k int, emb *embedding) bool {
	in := make(map[int32]bool, len(hosts))
	for _, h := range hosts {
		in[h] = true
	}
	refs := referenceClusters(hosts, in, n, assign, k, emb)
	type reference struct {
		usual []int32
		q     int
	}
	memo := map[int]*reference{}
	refOf := func(c int) *reference {
		if r, ok := memo[c]; ok {
			return r
		}
		var ref []int32
		for h := range n {
			if assign[h] == c && !in[int32(h)] {
				ref = append(ref, int32(h))
			}
		}
		r := &reference{}
		memo[c] = r
		if len(ref) == 0 {
			return r
		}
		count := map[int32]int32{}
		for _, h := range ref {
			for _, t := range hostTmpl[h] {
				count[t]++
			}
		}
		for t, c := range count {
			if float64(c) >= (1-p.phi)*float64(len(ref)) {
				r.usual = append(r.usual, t)
			}
		}
		slices.Sort(r.usual)
		var lacks []int
		for _, i := range spread(len(ref), 1000) {
			lacks = append(lacks, len(r.usual)-overlap(r.usual, hostTmpl[ref[i]]))
		}
		slices.Sort(lacks)
		r.q = lacks[min(len(lacks)-1, int((1-p.phi)*float64(len(lacks))))]
		return r
	}
	fits := func(h int32, c int) bool {
		r := refOf(c)
		return r.usual != nil && len(r.usual)-overlap(r.usual, hostTmpl[h]) <= r.q
	}
	pass := 0
	for _, h := range hosts {
		c := assign[h]
		if refs[c] == c {
			if fits(h, c) {
				pass++
			}
			continue
		}
		// The group makes a cluster of its own: its hosts, drawn from
		// the whole group, each have their own kind of host among the
		// other clusters (those with the operator being added and those
		// without, a role and another). A host passes when it lacks no
		// more than the hosts of one of them do, the nearest first.
		if fits(h, refs[c]) || slices.ContainsFunc(others(refs, c), func(o int) bool { return fits(h, o) }) {
			pass++
		}
	}
	return 2*pass > len(hosts)
}

// others returns the clusters, other than c, that referenceClusters made
// their own reference (those the group is not half of).
func others(refs []int, c int) []int {
	var out []int
	for o, r := range refs {
		if o != c && r == o {
			out = append(out, o)
		}
	}
	return out
}

// referenceClusters returns, for each cluster, the cluster whose other
// hosts (those not in the group) are the reference of the group's hosts
// in it: itself, or, when the group is half of it or more, the cluster
// with the nearest centre among those the group is not half of.
func referenceClusters(hosts []int32, in map[int32]bool, n int, assign []int, k int, emb *embedding) []int {
	size := make([]int, k)
	for _, c := range assign {
		size[c]++
	}
	inCluster := make([]int, k)
	for _, h := range hosts {
		inCluster[assign[h]]++
	}
	own := func(c int) bool { return 2*inCluster[c] >= size[c] }
	refs := make([]int, k)
	var cent [][]float64
	for c := range k {
		refs[c] = c
		if !own(c) {
			continue
		}
		if cent == nil {
			cent = centres(emb, assign, k)
		}
		bd := math.Inf(1)
		for o := range k {
			if o != c && !own(o) {
				if d := sqDist(cent[o], cent[c]); d < bd {
					refs[c], bd = o, d
				}
			}
		}
	}
	return refs
}

// centres returns the mean embedding coordinates of each cluster.
func centres(e *embedding, assign []int, k int) [][]float64 {
	out := make([][]float64, k)
	count := make([]int, k)
	for c := range out {
		out[c] = make([]float64, e.dims)
	}
	for h, c := range assign {
		for i, x := range e.coords[h] {
			out[c][i] += x
		}
		count[c]++
	}
	for c := range out {
		for i := range out[c] {
			out[c][i] /= float64(max(count[c], 1))
		}
	}
	return out
}

// drawnAtRandom is the sixth test of findCampaigns: whether no template
// is rarer on the hosts of a group than on its reference hosts beyond
// chance. The reference is the other hosts of the group's clusters, or
// every other host when the group is half of one of its clusters or more
// (it makes a cluster of its own, and no cluster is its hosts' kind). Of
// the g group hosts o have template t, of the N hosts of group and
// reference m do; under the hypothesis that the group's hosts are drawn
// at random, O is hypergeometric (g of N drawn, m marked), and t is
// under-represented when
//
//	P(O ≤ o) · T < 1
//
// T being the number of templates tested (those the reference has): the
// expected number of templates found under-represented by chance is
// below one. A reference host booted after the youngest host of the
// group (boot, by host: 0 unknown) is left out: it came up after the
// group's rows could have reached it.
func drawnAtRandom(hosts []int32, n int, hostTmpl [][]int32, assign []int, k int, boot []int64) bool {
	in := make(map[int32]bool, len(hosts))
	size, inCluster := make([]int, k), make([]int, k)
	for h := range n {
		size[assign[h]]++
	}
	var latest int64 // the youngest group host's boot, 0 when none is known
	for _, h := range hosts {
		in[h] = true
		inCluster[assign[h]]++
		if boot != nil {
			latest = max(latest, boot[h])
		}
	}
	later := func(h int) bool { return latest > 0 && boot[h] > latest }
	ref := make([]bool, k)
	whole := false
	for c := range k {
		if inCluster[c] > 0 {
			ref[c] = true
			whole = whole || 2*inCluster[c] >= size[c]
		}
	}
	refHosts := 0
	refCount, groupCount := map[int32]int{}, map[int32]int{}
	for h := range n {
		switch {
		case in[int32(h)]:
			for _, t := range hostTmpl[h] {
				groupCount[t]++
			}
		case (whole || ref[assign[h]]) && !later(h):
			refHosts++
			for _, t := range hostTmpl[h] {
				refCount[t]++
			}
		}
	}
	g := len(hosts)
	if refHosts == 0 || len(refCount) == 0 {
		return true
	}
	logT := math.Log(float64(len(refCount)))
	total := refHosts + g
	for t, m := range refCount {
		o := groupCount[t]
		if float64(o)*float64(refHosts) >= float64(m)*float64(g) {
			continue // not rarer in the group
		}
		marked := m + o
		// P(O ≤ o) is P(O' ≥ g−o) for O' the unmarked hosts drawn.
		if logHyperTail(total, total-marked, g, g-o)+logT < 0 {
			return false
		}
	}
	return true
}
