package fleet

import (
	"fmt"
	"iter"
	"math/bits"
	"time"

	"github.com/diffy-dfir/diffy/collect"
	"github.com/diffy-dfir/diffy/target"
)

// SimConfig describes a simulated group with real variation: a scenario of
// (Hosts, Seed, Families, Attacks). Zero fields take the defaults of the
// package doc's # Defaults.
type SimConfig struct {
	// Seed makes the group reproducible: the same SimConfig gives the same
	// hosts, rows and truth.
	Seed int64
	// Hosts is the number of instances (20 to 100,000 are the sizes the
	// package is built and measured for).
	Hosts int
	// Families are the kinds of benign variation switched on. Zero is
	// none: the hosts then differ only in pids, start times, module
	// addresses and their identity (ID, address, hostname).
	Families Families
	// Attacks are planted on some hosts; the zero value plants nothing.
	Attacks Attacks
	// WeekEarlier makes this the same group collected a week before the
	// collection it describes otherwise: the hosts replaced since are the
	// ones they replaced, rolling state (deploys, package refreshes) is a
	// step behind, and no attack has happened yet. See Sim.WeekEarlier.
	WeekEarlier bool
	// GroupName is the Auto Scaling group's name, the value of every
	// instance's "aws:autoscaling:groupName" tag.
	GroupName string
	// Account and Region locate the instances.
	Account, Region string
}

// Attacks say what is planted. Shares and counts left zero are drawn from
// the seeded ranges given here, so that two seeds give two shapes.
type Attacks struct {
	// Kinds are the single-host attacks to plant (AttackKinds lists them
	// all); nil plants none. Each compromised host gets its own values
	// (ports, names, keys): no two hosts share a planted row.
	Kinds []string
	// Share of the hosts carrying single-host attacks, at least one host
	// when Kinds is set; 0 draws it from [0.005, 0.03]. The kinds go round
	// the compromised hosts in a shuffled order, so with fewer hosts than
	// kinds some kinds are not planted.
	Share float64
	// PerHost is the number of attacks (of distinct kinds) per compromised
	// host; 0 draws 1 or 2 per host.
	PerHost int
	// Campaign plants one implant (a renamed miner, its crontab line, the
	// attacker's SSH key) with the same rows on a share of the hosts.
	Campaign bool
	// CampaignShare is the campaign's share of the hosts; 0 draws it from
	// [0.05, 0.09]. Campaign hosts carry no single-host attack.
	CampaignShare float64
	// Young is the share of the compromised hosts whose attacker is at
	// work during the collection: the processes planted there started 30
	// seconds to 10 minutes before it, not 10 minutes to 5 days (an
	// investigation collects while the intrusion goes on). Each host is
	// drawn from its own seeded stream; the planted rows are the same as
	// with Young 0 but for their start times and pids. 0, the default, is
	// none.
	Young float64
}

// Sim is a simulated group of hosts with real variation. Hosts are
// generated on demand, one at a time: a Sim holds a few bytes per host,
// never their rows, so 100,000 hosts can be streamed (Each, WriteDir) in
// bounded memory. A Sim is immutable and safe for concurrent use.
type Sim struct {
	cfg SimConfig
	at  time.Time

	// roles[slot] is the index in roleDefs of the slot's role.
	roles []uint8
	// attacks[slot] are the single-host attacks of the slot, or the
	// campaign; nil for a clean slot.
	attacks map[int][]string
	// ordinals[slot][j] is the number of attacks[slot][j] among the
	// Sim's plants of its kind; relocations is the order in which
	// relocated_binary plants take their daemon and path.
	ordinals    map[int][]int
	relocations []relocation
	camp        campaignRows

	p plan
}

// Default time of the latest collection of every Sim: the week-earlier one
// is a week before.
var simCollectedAt = time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)

// NewSim draws the group cfg describes (defaults filled). It is
// deterministic: the same cfg gives the same Sim. NewSim panics on an
// unknown attack kind (a caller bug: AttackKinds lists them).
func NewSim(cfg SimConfig) *Sim {
	cfg = cfg.withDefaults()
	s := &Sim{cfg: cfg, at: simCollectedAt}
	if cfg.WeekEarlier {
		s.at = s.at.Add(-7 * 24 * time.Hour)
	}
	s.p = newPlan(s)
	s.roles = s.assignRoles()
	s.attacks, s.ordinals = s.assignAttacks()
	s.relocations = relocationOrder(cfg.Seed)
	if cfg.Attacks.Campaign {
		s.camp = newCampaign(s)
	}
	return s
}

func (c SimConfig) withDefaults() SimConfig {
	if c.Hosts <= 0 {
		c.Hosts = 200
	}
	defaultPlace(&c.GroupName, &c.Account, &c.Region)
	c.Families &= everyFamily
	c.Attacks.Share = clamp01(c.Attacks.Share)
	c.Attacks.CampaignShare = clamp01(c.Attacks.CampaignShare)
	c.Attacks.Young = clamp01(c.Attacks.Young)
	if c.Attacks.PerHost < 0 {
		c.Attacks.PerHost = 0
	}
	for _, k := range c.Attacks.Kinds {
		if !isAttackKind(k) {
			panic(fmt.Sprintf("fleet: unknown attack kind %q (known: %v)", k, AttackKinds))
		}
	}
	return c
}

// Config returns the configuration the Sim was drawn from, defaults
// filled.
func (s *Sim) Config() SimConfig { return s.cfg }

// Len returns the number of hosts.
func (s *Sim) Len() int { return s.cfg.Hosts }

// CollectedAt returns when the Sim's hosts were collected: the time of
// their Results and the reference of their start times.
func (s *Sim) CollectedAt() time.Time { return s.at }

// WeekEarlier returns the same group collected a week earlier: the same
// seed, families and slots, the hosts replaced since (a drawn share of
// [0.03, 0.15]) not yet replaced, rolling deploys and package refreshes a
// step behind (today's new version was then the canary), and no attack.
// It is the fleet-baseline scenario's baseline.
func (s *Sim) WeekEarlier() *Sim {
	cfg := s.cfg
	cfg.WeekEarlier = true
	return NewSim(cfg)
}

// Host generates host i (0 ≤ i < Len()) with its rows. Each call
// generates the host again: keep what you need. Host panics when i is out
// of range.
func (s *Sim) Host(i int) *Host {
	g := s.newHostGen(i)
	g.build()
	return g.host()
}

// All yields every host in order, generated one at a time: a host is not
// kept once the loop moves on.
func (s *Sim) All() iter.Seq2[int, *Host] {
	return func(yield func(int, *Host) bool) {
		for i := 0; i < s.cfg.Hosts; i++ {
			if !yield(i, s.Host(i)) {
				return
			}
		}
	}
}

// Results returns host i's Results: one StatusSuccess Result per command
// of payload.StandardPack(), collected at CollectedAt().
func (s *Sim) Results(i int) []collect.Result { return s.Host(i).Results(s.at) }

// Fleet generates every host into a Fleet, for the code that takes one
// (Fleet.Evaluate, awsfake.FleetInstances, diffytest.NewFleetCollector).
// It holds every row: use it up to about 10,000 hosts, and Each, All or
// WriteDir beyond. Equal rows of different hosts share one map
// (collect.RowPool). The Fleet's Config is zero but for its Seed, Hosts,
// GroupName, Account and Region.
func (s *Sim) Fleet() *Fleet {
	f := &Fleet{Config: Config{Seed: s.cfg.Seed, Hosts: s.cfg.Hosts, GroupName: s.cfg.GroupName,
		Account: s.cfg.Account, Region: s.cfg.Region}, Hosts: make([]Host, s.cfg.Hosts)}
	var pool collect.RowPool
	for i, h := range s.All() {
		for _, rows := range h.Rows {
			pool.Share(rows)
		}
		f.Hosts[i] = *h
	}
	return f
}

// Instances returns every host's Instance, in order, without generating
// their rows.
func (s *Sim) Instances() []target.Instance {
	out := make([]target.Instance, s.cfg.Hosts)
	for i := range out {
		out[i] = s.identity(i).instance
	}
	return out
}

// A slot is a place in the group; the instance filling it may have been
// replaced (a new identity) between two collections.

// identity is what a slot's instance is, kept between collections as long
// as it is not replaced.
type identity struct {
	slot, gen int
	key       uint64 // the streams' key of the identity
	instance  target.Instance
	hostname  string
	launch    time.Time
	booting   bool // launched minutes before the collection
}

// Stream keys of the fleet-wide draws that belong to no family.
const (
	streamIdentity uint64 = 1<<40 + iota
	streamReplace
	streamAttacks
	streamAttackRows
	streamPids
	streamCollection
	streamYoungAttacks
)

// identity returns the identity filling slot i at the Sim's collection.
func (s *Sim) identity(i int) identity {
	if i < 0 || i >= s.cfg.Hosts {
		panic(fmt.Sprintf("fleet: host %d out of range [0, %d)", i, s.cfg.Hosts))
	}
	gen := 0
	u := unit(s.cfg.Seed, streamReplace, uint64(i))
	// Replaced since the week-earlier collection: the first replaceShare
	// of u; of those, the first bootShare were replaced minutes ago and
	// are booting now.
	if !s.cfg.WeekEarlier && u < s.p.replaceShare {
		gen = 1
	}
	id := identity{slot: i, gen: gen, key: uint64(i)<<2 | uint64(gen)}
	// Every identity draws the same values in the same order whatever
	// the collection, so that an instance not replaced is the same
	// instance in both.
	r := streamRand(s.cfg.Seed, streamIdentity, id.key)
	hexID := randHex(r, 16)
	bootAge := time.Duration(30+r.IntN(450)) * time.Second
	age := time.Duration(r.ExpFloat64() * float64(12*24*time.Hour))
	within := time.Duration(r.Int64N(int64(7*24*time.Hour - time.Hour)))
	ipn := s.p.ip.of(uint64(i) + uint64(gen)*uint64(s.cfg.Hosts))
	ip := fmt.Sprintf("10.%d.%d.%d", ipn>>16&0xff, ipn>>8&0xff, ipn&0xff)
	role := roleDefs[s.p.roleCatalog[s.roles[i]]].name
	// Launch times: an instance of the first generation was launched up
	// to 60 days before the week-earlier collection, ages spread
	// exponentially (scale-in takes the oldest, scale-out adds new
	// ones), or, for bootShare of them, minutes before it; a replacement
	// during the week, or, for bootShare of the slots, minutes before
	// the latest collection. FamilyBoot changes launch times only, never
	// which instance fills a slot.
	earlier := simCollectedAt.Add(-7 * 24 * time.Hour)
	earlyBoot := unit(s.cfg.Seed, streamReplace, uint64(i), 1) < s.p.bootShare
	switch {
	case gen == 1 && u < s.p.bootShare:
		id.launch = simCollectedAt.Add(-bootAge)
		id.booting = true
	case gen == 1:
		id.launch = earlier.Add(time.Hour + within)
	case earlyBoot:
		id.launch = earlier.Add(-bootAge)
		id.booting = s.cfg.WeekEarlier
	default:
		id.launch = earlier.Add(-time.Hour - min(age, 60*24*time.Hour))
	}
	id.launch = id.launch.Truncate(time.Second)
	id.hostname = fmt.Sprintf("ip-%s.%s", dashed(ip), internalDomain(s.cfg.Region))
	img := &s.p.images[s.p.imageOf(id.launch)]
	name := s.cfg.GroupName + "-" + role
	id.instance = target.Instance{
		ID:        "i-0" + hexID,
		Name:      name,
		Region:    s.cfg.Region,
		Account:   s.cfg.Account,
		PrivateIP: ip,
		ImageID:   img.ami,
		Tags: map[string]string{
			"aws:autoscaling:groupName":     s.cfg.GroupName,
			"aws:ec2launchtemplate:id":      s.p.launchTemplate,
			"aws:ec2launchtemplate:version": itoa(img.templateVersion),
			"Name":                          name,
			"Role":                          role,
			"Environment":                   "prod",
		},
		LaunchTime: id.launch,
	}
	return id
}

// ipSpace is a bijection from identity numbers to private addresses of
// the group's VPC: an odd multiplier and an offset modulo 2^bits, walked
// again when it lands on the block's first or last 16 addresses.
type ipSpace struct {
	base     uint32
	bits     uint
	mul, add uint32
}

func newIPSpace(r interface{ IntN(int) int }, identities int) ipSpace {
	b := uint(bits.Len(uint(identities * 8))) // room: at most 1/8 used
	if b < 12 {
		b = 12
	}
	var base uint32
	if b <= 16 {
		base = uint32(r.IntN(256)) << 16 // 10.x.0.0/16
	} else {
		base = uint32(r.IntN(256>>(b-16))) << b
	}
	return ipSpace{base: base, bits: b, mul: uint32(r.IntN(1<<(b-1)))*2 + 1, add: uint32(r.IntN(1 << b))}
}

func (p ipSpace) of(k uint64) uint32 {
	mask := uint32(1)<<p.bits - 1
	start := uint32(k) & mask
	x := start
	for {
		x = (x*p.mul + p.add) & mask
		if x >= 16 && x < mask-16 {
			return p.base | x
		}
		if x == start {
			// The walk came back: every address of this cycle is one
			// of the block's first or last 16 (a fixed point of the
			// multiplier and offset, say). Such a start is one of those
			// addresses itself; take an address of the block's
			// beginning instead of walking forever.
			return p.base | (16 + start%16)
		}
	}
}
