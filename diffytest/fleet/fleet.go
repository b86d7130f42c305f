package fleet

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/diffy-dfir/diffy/collect"
	"github.com/diffy-dfir/diffy/payload"
	"github.com/diffy-dfir/diffy/target"
)

// Fleet is a generated group of hosts.
type Fleet struct {
	// Config is the configuration the fleet was generated from, with its
	// defaults filled.
	Config Config
	// Hosts are the instances, in generation order.
	Hosts []Host
}

// Host is one simulated instance and its rows.
type Host struct {
	// Instance is the instance as an EC2 target would describe it.
	Instance target.Instance
	// Hostname is the host's name as its processes see it
	// ("ip-10-0-1-2.ec2.internal").
	Hostname string
	// Role is the host's role ("web", "api", "worker", "cache").
	Role string
	// Canary is set when the host runs the next application version.
	Canary bool
	// Sidecar is set when the host runs the sidecar proxy.
	Sidecar bool
	// Compromised is set when the host carries planted rows.
	Compromised bool
	// Planted lists the planted rows, empty unless Compromised.
	Planted []Planted
	// Traits name what a Sim's families drew for the host
	// ("size=m5.2xlarge", "version=2.14.0", "jmx", "job=logrotate"), in
	// the order they were drawn; nil for hosts of Generate.
	Traits []string
	// Rows holds the host's rows by command ID, one entry per command of
	// payload.StandardPack(). The rows (and their maps) may be shared with
	// other hosts: treat them as read-only.
	Rows map[string][]collect.Row
}

// Planted is one planted (anomalous) row.
type Planted struct {
	// Kind names what was planted: one of the Plant* constants.
	Kind string
	// CommandID is the command whose output holds the row.
	CommandID string
	// Row is the planted row as the command prints it.
	Row collect.Row
	// Replaced is the genuine row the planted one took the place of (a
	// system binary run from a new path), or nil.
	Replaced collect.Row
	// Detail says, for rows that look like a genuine one, what sets them
	// apart ("parent is node (pid 2345, /usr/bin/node), not systemd").
	Detail string
}

// The kinds of planted rows.
const (
	PlantListener      = "listener"       // a bind or reverse shell listening on an odd port
	PlantCrontab       = "crontab"        // a crontab line piping curl into sh
	PlantKernelModule  = "kernel_module"  // an unknown kernel module
	PlantUID0User      = "uid0_user"      // a second user with uid 0
	PlantAuthorizedKey = "authorized_key" // an extra SSH key for root
	PlantMasquerade    = "masquerade"     // a process posing as a kernel thread, run from /tmp
)

// PlantKinds lists every kind of planted row.
var PlantKinds = []string{PlantListener, PlantCrontab, PlantKernelModule, PlantUID0User, PlantAuthorizedKey, PlantMasquerade}

// Generate builds the fleet cfg describes (defaults filled, see the package
// doc). It is deterministic: the same cfg gives the same fleet.
func Generate(cfg Config) *Fleet {
	cfg = cfg.withDefaults()
	g := newGen(cfg)
	n := cfg.Hosts
	f := &Fleet{Config: cfg, Hosts: make([]Host, n)}

	roles := g.assignRoles(n)
	canary := g.pick(n, count(cfg.CanaryFraction, n))
	sidecar := g.pick(n, count(cfg.SidecarFraction, n))
	compromised := g.pick(n, count(cfg.CompromisedFraction, n))
	var spread []plant
	if cfg.Spread {
		spread = g.drawPlants(cfg.PlantsPerHost)
	}
	seen := make(map[string]bool, n)
	ipStride := uint32(g.r.IntN(1<<22))*2 + 1 // odd: a permutation of the /8
	ipOffset := uint32(g.r.IntN(1 << 24))
	for i := range f.Hosts {
		h := &f.Hosts[i]
		id := g.instanceID(seen)
		ipn := (ipOffset + uint32(i)*ipStride) & 0xffffff
		ip := fmt.Sprintf("10.%d.%d.%d", ipn>>16, (ipn>>8)&0xff, ipn&0xff)
		h.Instance = target.Instance{
			ID:        id,
			Name:      cfg.GroupName + "-" + roleNames[roles[i]],
			Region:    cfg.Region,
			Account:   cfg.Account,
			PrivateIP: ip,
			ImageID:   g.image,
			Tags: map[string]string{
				"aws:autoscaling:groupName": cfg.GroupName,
				"Name":                      cfg.GroupName + "-" + roleNames[roles[i]],
				"Role":                      roleNames[roles[i]],
				"Environment":               "prod",
			},
			LaunchTime: g.epoch.Add(time.Duration(g.r.IntN(5*24*3600)) * time.Second),
		}
		h.Hostname = fmt.Sprintf("ip-%s.%s", dashed(ip), internalDomain(cfg.Region))
		h.Role = roleNames[roles[i]]
		h.Canary = canary[i]
		h.Sidecar = sidecar[i]
		if h.Canary {
			h.Instance.ImageID = g.canaryImage
		}
		b := g.host(h, roles[i])
		if compromised[i] {
			h.Compromised = true
			plants := spread
			if !cfg.Spread {
				plants = g.drawPlants(cfg.PlantsPerHost)
			}
			for _, p := range plants {
				row := p.row(g.r)
				b.rows[cmdIndex[p.commandID]] = append(b.rows[cmdIndex[p.commandID]], row)
				h.Planted = append(h.Planted, Planted{Kind: p.kind, CommandID: p.commandID, Row: row})
			}
		}
		h.Rows = make(map[string][]collect.Row, len(commandIDs))
		for c, id := range commandIDs {
			rows := b.rows[c]
			if rows == nil {
				rows = []collect.Row{}
			}
			h.Rows[id] = rows
		}
	}
	return f
}

// Instances returns every host's Instance, in fleet order. Each has its own
// copy of the tags.
func (f *Fleet) Instances() []target.Instance {
	out := make([]target.Instance, len(f.Hosts))
	for i := range f.Hosts {
		out[i] = f.Hosts[i].Instance
		tags := make(map[string]string, len(out[i].Tags))
		for k, v := range out[i].Tags {
			tags[k] = v
		}
		out[i].Tags = tags
	}
	return out
}

// Results returns one StatusSuccess Result per host and command of
// payload.StandardPack(), collected at at, in fleet order then pack order.
// The Rows are shared with the fleet: treat them as read-only.
func (f *Fleet) Results(at time.Time) []collect.Result {
	out := make([]collect.Result, 0, len(f.Hosts)*len(commandIDs))
	for i := range f.Hosts {
		out = append(out, f.Hosts[i].Results(at)...)
	}
	return out
}

// Results returns the host's Results: one StatusSuccess Result per command
// of payload.StandardPack(), collected at at. The Rows are shared with the
// fleet: treat them as read-only.
func (h *Host) Results(at time.Time) []collect.Result {
	out := make([]collect.Result, len(commandIDs))
	for c, id := range commandIDs {
		out[c] = collect.Result{
			InstanceID: h.Instance.ID, CommandID: id, Status: collect.StatusSuccess,
			CollectedAt: at, Rows: h.Rows[id], ExitCode: 0,
		}
	}
	return out
}

// Output returns what `osqueryi --json` prints on the host for the standard
// pack's command commandID: a JSON array of row objects, one per line, keys
// sorted, every value a string. ok is false when commandID is not a command
// of the standard pack.
func (h *Host) Output(commandID string) (out []byte, ok bool) {
	rows, ok := h.Rows[commandID]
	if !ok {
		return nil, false
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	buf.WriteString("[\n")
	for i, row := range rows {
		buf.WriteString("  ")
		if err := enc.Encode(row); err != nil {
			// A map[string]string always encodes.
			panic("fleet: encoding a row: " + err.Error())
		}
		buf.Truncate(buf.Len() - 1) // the Encoder's newline
		if i < len(rows)-1 {
			buf.WriteByte(',')
		}
		buf.WriteByte('\n')
	}
	buf.WriteString("]\n")
	return buf.Bytes(), true
}

// commandIDs are the standard pack's command IDs, in pack order.
var commandIDs = func() []string {
	var ids []string
	for _, c := range payload.StandardPack() {
		ids = append(ids, c.ID)
	}
	return ids
}()

// cmdIndex maps a command ID to its index in commandIDs.
var cmdIndex = func() map[string]int {
	m := make(map[string]int, len(commandIDs))
	for i, id := range commandIDs {
		m[id] = i
	}
	return m
}()

// Indexes into a host's rows, in the standard pack's order (checked by
// TestPackOrder).
const (
	cLP = iota
	cProc
	cCron
	cMod
	cUser
	cKey
)

// gen holds the generator's state: its random source and the pools of
// shared row variants.
type gen struct {
	cfg                Config
	r                  *rand.Rand
	epoch              time.Time
	image, canaryImage string
	fleetKey           string
	deployKey          string
	pools              map[string][]rowset
	serial             map[string]int
}

// rowset holds rows by command index.
type rowset [6][]collect.Row

// variantsPerUnit is the number of variants of a shared unit: enough that
// volatile columns vary across the fleet, few enough to share memory.
const variantsPerUnit = 16

func newGen(cfg Config) *gen {
	g := &gen{
		cfg:    cfg,
		r:      rand.New(rand.NewPCG(uint64(cfg.Seed), 0x9e3779b97f4a7c15)),
		epoch:  time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC),
		pools:  make(map[string][]rowset),
		serial: make(map[string]int),
	}
	g.image = "ami-0" + g.hex(16)
	g.canaryImage = "ami-0" + g.hex(16)
	g.fleetKey = "AAAAB3NzaC1yc2EAAAADAQABAAABgQ" + g.b64(340)
	g.deployKey = "AAAAC3NzaC1lZDI1NTE5AAAAI" + g.b64(43)
	return g
}

// assignRoles gives role i a fixed share of the hosts (roleShares), in a
// random order.
func (g *gen) assignRoles(n int) []int {
	shares := roleShares[g.cfg.Roles-1]
	roles := make([]int, 0, n)
	for r, s := range shares {
		k := int(s*float64(n) + 0.5)
		if r == len(shares)-1 {
			k = n - len(roles)
		}
		for j := 0; j < k && len(roles) < n; j++ {
			roles = append(roles, r)
		}
	}
	g.r.Shuffle(len(roles), func(i, j int) { roles[i], roles[j] = roles[j], roles[i] })
	return roles
}

// pick returns a membership vector of n with k members drawn at random.
func (g *gen) pick(n, k int) []bool {
	in := make([]bool, n)
	for _, i := range g.r.Perm(n)[:k] {
		in[i] = true
	}
	return in
}

func (g *gen) instanceID(seen map[string]bool) string {
	for {
		id := "i-0" + g.hex(16)
		if !seen[id] {
			seen[id] = true
			return id
		}
	}
}

const hexDigits = "0123456789abcdef"

func (g *gen) hex(n int) string { return randHex(g.r, n) }

const b64Digits = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"

func (g *gen) b64(n int) string { return randB64(g.r, n) }

func (g *gen) uuid() string { return randUUID(g.r) }

// pidBase returns the first pid of the unit named key: units get disjoint
// ranges of 200 pids in the order they are first seen, so pids never
// collide within a host.
func (g *gen) pidBase(key string) int {
	s, ok := g.serial[key]
	if !ok {
		s = len(g.serial)
		g.serial[key] = s
	}
	return 400 + 200*s
}

// shared returns one of the variants of the unit named key, building the
// variants on first use. build gets a pid and a start time and must not use
// anything host-specific.
func (g *gen) shared(key string, build func(pid int, start int64) rowset) rowset {
	vs, ok := g.pools[key]
	if !ok {
		base := g.pidBase(key)
		vs = make([]rowset, variantsPerUnit)
		for v := range vs {
			vs[v] = build(base+g.r.IntN(200), g.startTime())
		}
		g.pools[key] = vs
	}
	return vs[g.r.IntN(len(vs))]
}

// unique builds the unit named key for one host only.
func (g *gen) unique(key string, build func(pid int, start int64) rowset) rowset {
	return build(g.pidBase(key)+g.r.IntN(200), g.startTime())
}

func (g *gen) startTime() int64 {
	return g.epoch.Unix() + int64(g.r.IntN(7*24*3600))
}

func dashed(ip string) string {
	b := []byte(ip)
	for i, c := range b {
		if c == '.' {
			b[i] = '-'
		}
	}
	return string(b)
}

func internalDomain(region string) string {
	if region == "us-east-1" {
		return "ec2.internal"
	}
	return region + ".compute.internal"
}
