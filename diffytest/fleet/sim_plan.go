package fleet

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"time"
)

// plan holds a Sim's fleet-wide draws: what its hosts share, and the
// shares by which they differ. Each family draws from its own stream
// (famRand) whether it is on or not, so that switching a family off keeps
// every other draw; a family that is off then uses the draws of its "off"
// state (one value for every host).
type plan struct {
	ip                      ipSpace
	replaceShare, bootShare float64
	launchTemplate, app     string
	images                  []imageDef

	roleCatalog []int // the group's roles, as indexes into roleDefs
	roleShares  []float64
	rollout     []rolloutPlan // by group role

	sizes      []sizeDef
	sizeShares []float64

	splay      []splayLine
	daemons    daemonPlan
	commandID  string // the SSM command of the collection (FamilyTokens)
	containers containerPlan
	jobs       []jobPlan
	packages   packagePlan
	shippers   shipperPlan
	agents     agentPlan
	users      usersPlan
	volumes    volumePlan
	sessions   sessionPlan
	modules    modulesPlan
}

// famRand returns the fleet-wide stream of family f.
func (s *Sim) famRand(f Family) *rand.Rand { return streamRand(s.cfg.Seed, uint64(f)) }

func newPlan(s *Sim) plan {
	var p plan
	fs := s.cfg.Families
	r := streamRand(s.cfg.Seed, streamIdentity)
	p.ip = newIPSpace(r, 2*s.cfg.Hosts)
	p.launchTemplate = "lt-0" + randHex(r, 16)
	p.app = pickOne(r, "shop", "billing", "catalog", "ledger", "checkout", "orders", "search", "media")
	p.replaceShare = between(streamRand(s.cfg.Seed, streamReplace), 0.03, 0.15)
	rb := s.famRand(FamilyBoot)
	if fs.Has(FamilyBoot) {
		p.bootShare = between(rb, 0.005, 0.03)
	}
	planImages(&p, s.famRand(FamilyImages), fs.Has(FamilyImages))
	p.planRoles(s.famRand(FamilyRoles), s.cfg.Hosts, fs.Has(FamilyRoles))
	p.planRollout(s.famRand(FamilyRollout), fs.Has(FamilyRollout))
	p.planSizes(s.famRand(FamilySizes), fs.Has(FamilySizes))
	p.planSplay(s.famRand(FamilySplay), fs.Has(FamilySplay))
	p.planDaemons(s.famRand(FamilyDaemons), fs.Has(FamilyDaemons))
	rc := streamRand(s.cfg.Seed, streamCollection, boolKey(s.cfg.WeekEarlier))
	p.commandID = randUUID(rc)
	p.planContainers(s.famRand(FamilyContainers), fs.Has(FamilyContainers))
	p.planJobs(s.famRand(FamilyJobs), fs.Has(FamilyJobs))
	p.planPackages(s.famRand(FamilyPackages), fs.Has(FamilyPackages))
	p.planShippers(s.famRand(FamilyLogShippers), fs.Has(FamilyLogShippers))
	p.planAgents(s.famRand(FamilyAgents), fs.Has(FamilyAgents))
	p.planUsers(s.famRand(FamilyUsers), fs.Has(FamilyUsers))
	p.planVolumes(s.famRand(FamilyVolumes), fs.Has(FamilyVolumes))
	p.planSessions(s.famRand(FamilySessions), fs.Has(FamilySessions))
	p.planModules(s.famRand(FamilyModules), fs.Has(FamilyModules))
	return p
}

func boolKey(b bool) uint64 {
	if b {
		return 1
	}
	return 0
}

// planRoles draws the group's roles: with FamilyRoles, 2 to 5 roles of the
// catalog (at most one per 4 hosts), their shares drawn from a flat
// Dirichlet and floored at 4%; without it, one role.
func (p *plan) planRoles(r *rand.Rand, hosts int, on bool) {
	order := r.Perm(len(roleDefs))
	// The first role runs the group's own application: a group is
	// somebody's service.
	for i, o := range order {
		if roleDefs[o].versioned {
			order[0], order[i] = order[i], order[0]
			break
		}
	}
	k := intBetween(r, 2, 5)
	k = min(k, max(2, hosts/4))
	w := make([]float64, k)
	for i := range w {
		w[i] = r.ExpFloat64()
	}
	if !on {
		k, w = 1, []float64{1}
	}
	p.roleCatalog = order[:k]
	p.roleShares = normalize(w, 0.04)
}

// normalize scales w to sum 1 with every share at least floor.
func normalize(w []float64, floor float64) []float64 {
	out := slices.Clone(w)
	for range 4 {
		var sum float64
		for _, x := range out {
			sum += x
		}
		for i := range out {
			out[i] /= sum
			out[i] = max(out[i], floor)
		}
	}
	var sum float64
	for _, x := range out {
		sum += x
	}
	for i := range out {
		out[i] /= sum
	}
	return out
}

// assignRoles gives each slot a role: exact counts from the shares
// (largest remainder), in a random order.
func (s *Sim) assignRoles() []uint8 {
	n := s.cfg.Hosts
	counts := apportion(s.p.roleShares, n)
	// A role is a kind of host, more than one: a role the shares leave
	// with fewer than 2 hosts takes them from the largest.
	for i := range counts {
		for counts[i] < 2 && n >= 2*len(counts) {
			big := 0
			for j := range counts {
				if counts[j] > counts[big] {
					big = j
				}
			}
			counts[big]--
			counts[i]++
		}
	}
	roles := make([]uint8, 0, n)
	for i, c := range counts {
		for range c {
			roles = append(roles, uint8(i))
		}
	}
	r := streamRand(s.cfg.Seed, uint64(FamilyRoles), 1)
	r.Shuffle(n, func(i, j int) { roles[i], roles[j] = roles[j], roles[i] })
	return roles
}

// apportion splits n by shares (largest remainder).
func apportion(shares []float64, n int) []int {
	counts := make([]int, len(shares))
	rem := make([]float64, len(shares))
	left := n
	for i, s := range shares {
		x := s * float64(n)
		counts[i] = int(x)
		rem[i] = x - float64(counts[i])
		left -= counts[i]
	}
	for ; left > 0; left-- {
		best := 0
		for i := range rem {
			if rem[i] > rem[best] {
				best = i
			}
		}
		counts[best]++
		rem[best] = -1
	}
	return counts
}

// A rolloutPlan is a role's deploy pipeline over the two collections:
// versions[0] was everywhere, versions[1] was rolling out a week ago while
// versions[2] was the canary; today versions[2] is rolling out and
// versions[3] is the canary. Each version from versions[2] on opens a
// port of its own.
type rolloutPlan struct {
	versions              [4]string
	canary                float64 // share of the role's hosts
	rolledNow, rolledThen float64 // share of the other hosts on the new version
	deployed              [4]time.Time
	ports                 [4]int // the port versions[i] adds (0: none)
}

// planRollout draws each role's versions: with FamilyRollout, a canary
// share in [0.005, 0.03] and the new version on a share in [0.15, 0.85]
// of the rest; without it, every host on one version.
func (p *plan) planRollout(r *rand.Rand, on bool) {
	style := r.IntN(4)
	earlier := simCollectedAt.Add(-7 * 24 * time.Hour)
	hours := func(lo, hi float64) time.Duration { return time.Duration(between(r, lo, hi) * float64(time.Hour)) }
	for range roleDefs {
		var rp rolloutPlan
		rp.versions = versionSeries(r, style)
		rp.canary = between(r, 0.005, 0.03)
		rp.rolledNow = between(r, 0.15, 0.85)
		rp.rolledThen = between(r, 0.15, 0.85)
		rp.deployed[0] = earlier.Add(-hours(10*24, 40*24))
		rp.deployed[1] = earlier.Add(-hours(0.5, 30))
		rp.deployed[2] = simCollectedAt.Add(-hours(0.5, 30))
		rp.deployed[3] = simCollectedAt.Add(-hours(1, 48))
		ports := []int{9464, 50051, 8443, 6060, 9091, 8082, 7070, 4040, 8090, 9000}
		r.Shuffle(len(ports), func(i, j int) { ports[i], ports[j] = ports[j], ports[i] })
		rp.ports[2], rp.ports[3] = ports[0], ports[1]
		if !on {
			rp.canary, rp.rolledNow, rp.rolledThen = 0, 0, 0
			rp.deployed[1] = earlier.Add(-hours(3*24, 20*24))
		}
		p.rollout = append(p.rollout, rp)
	}
}

// versionSeries returns four successive versions in one of the styles
// teams use: semantic versions, dated builds, git commits, build numbers.
func versionSeries(r *rand.Rand, style int) [4]string {
	var v [4]string
	switch style {
	case 0, 1:
		major, minor, patch := intBetween(r, 1, 5), intBetween(r, 0, 40), intBetween(r, 0, 12)
		for i := range v {
			if chance(r, 0.3) {
				minor, patch = minor+1, 0
			} else {
				patch++
			}
			v[i] = fmt.Sprintf("%d.%d.%d", major, minor, patch)
		}
		if chance(r, 0.5) {
			v[3] += "-rc.1"
		}
	case 2:
		day := simCollectedAt.Add(-40 * 24 * time.Hour)
		for i := range v {
			day = day.Add(time.Duration(intBetween(r, 2, 9)) * 24 * time.Hour)
			v[i] = fmt.Sprintf("%s.%d", day.Format("2006.01.02"), intBetween(r, 1, 6))
		}
	default:
		for i := range v {
			v[i] = randHex(r, 7)
		}
	}
	return v
}

// version returns the application version on the host and its index in
// the role's rollout.
func (g *hostGen) version() (string, int) {
	rp := &g.s.p.rollout[g.roleIdx]
	u := unit(g.s.cfg.Seed, uint64(FamilyRollout), g.id.key)
	step := 1
	switch {
	case !g.on(FamilyRollout):
	case u < rp.canary:
		step = 3
	case (u-rp.canary)/(1-rp.canary) < rp.rolledNow:
		step = 2
	}
	if g.s.cfg.WeekEarlier && g.on(FamilyRollout) {
		switch {
		case step == 3:
			step = 2
		case (u-rp.canary)/(1-rp.canary) < rp.rolledThen:
			step = 1
		default:
			step = 0
		}
	}
	return rp.versions[step], step
}

// isCanary reports whether the host runs its role's canary version.
func (g *hostGen) isCanary() bool {
	if !g.on(FamilyRollout) || !g.role.versioned {
		return false
	}
	_, step := g.version()
	return step == 3 || (g.s.cfg.WeekEarlier && step == 2)
}

// appStart returns when the application of version step was (re)started
// on the host: some time after the version's deploy began (a rolling
// deploy takes hours), not before the host booted, not after the
// collection.
func (g *hostGen) appStart(step int) int64 {
	rp := &g.s.p.rollout[g.roleIdx]
	r := g.keep(FamilyRollout)
	t := rp.deployed[step].Unix() + int64(r.IntN(6*3600))
	t = max(t, g.boot+int64(20+r.IntN(40)))
	return min(t, g.at-int64(1+r.IntN(60)))
}

// versionPorts returns the ports version step opens beyond its role's.
func (g *hostGen) versionPorts(step int) []int {
	rp := &g.s.p.rollout[g.roleIdx]
	var out []int
	for i := 2; i <= step; i++ {
		if rp.ports[i] != 0 {
			out = append(out, rp.ports[i])
		}
	}
	return out
}

// A sizeDef is an instance type.
type sizeDef struct {
	name         string
	vcpus, ramGB int
}

// The instance families and sizes a group's mixed-instances policy draws
// from, with their memory per vCPU.
var (
	instanceFamilies = []struct {
		name   string
		gbCPU  int
		weight float64
	}{{"m5", 4, 3}, {"m6i", 4, 3}, {"m5a", 4, 1}, {"m7i", 4, 1}, {"c5", 2, 1.5}, {"c6i", 2, 1.5}, {"r5", 8, 1}, {"r6i", 8, 1}}
	instanceSizes = []struct {
		name  string
		vcpus int
	}{{"large", 2}, {"xlarge", 4}, {"2xlarge", 8}, {"4xlarge", 16}, {"8xlarge", 32}}
)

// planSizes draws the instance types: with FamilySizes, 1 to 3 instance
// families of one memory ratio and 2 or 3 consecutive sizes (rarely up to
// 8xlarge), weighted by a flat Dirichlet; without it, one type.
func (p *plan) planSizes(r *rand.Rand, on bool) {
	w := make([]float64, len(instanceFamilies))
	for i, f := range instanceFamilies {
		w[i] = f.weight
	}
	first := instanceFamilies[pickWeighted(r, w)]
	fams := []string{first.name}
	for _, f := range instanceFamilies {
		if f.gbCPU == first.gbCPU && f.name != first.name && chance(r, 0.35) && len(fams) < 3 {
			fams = append(fams, f.name)
		}
	}
	lo := pickWeighted(r, []float64{4, 4, 2, 0.5})
	nSizes := intBetween(r, 2, 3)
	if lo+nSizes > len(instanceSizes) {
		nSizes = len(instanceSizes) - lo
	}
	if !on {
		fams, nSizes = fams[:1], 1
	}
	var ws []float64
	for _, fam := range fams {
		for s := lo; s < lo+nSizes; s++ {
			sz := instanceSizes[s]
			p.sizes = append(p.sizes, sizeDef{fam + "." + sz.name, sz.vcpus, sz.vcpus * first.gbCPU})
			ws = append(ws, r.ExpFloat64()/math.Sqrt(float64(s+1)))
		}
	}
	p.sizeShares = normalize(ws, 0)
}

// sizeHost gives the host its instance type.
func (g *hostGen) sizeHost() {
	u := unit(g.s.cfg.Seed, uint64(FamilySizes), g.id.key)
	sz := g.s.p.sizes[indexByShare(u, g.s.p.sizeShares)]
	g.ncpu, g.ramGiB = sz.vcpus, sz.ramGB
	if g.on(FamilySizes) {
		g.trait("size=" + sz.name)
	}
}

// workers returns a worker count of perCPU per vCPU, as software sized by
// the CPU count ("worker_processes auto") starts.
func (g *hostGen) workers(perCPU int) int { return max(1, perCPU*g.ncpu) }

// heapMiB returns a JVM heap of share of the host's memory, in MiB, as
// configuration management computes it (rounded down to 256 MiB).
func (g *hostGen) heapMiB(share float64) int {
	m := int(share*float64(g.ramGiB*1024)) / 256 * 256
	return max(m, 512)
}
