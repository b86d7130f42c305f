package analyze

// hostKinds counts the templates of every command of a fleet carried by
// more than r hosts, by their host sets: the key is a set's signature
// (the XOR of its hosts' hostSig) and size. A host set that some
// template has is a kind of host: the hosts that run a daemon, have a
// role's account, boot an image.
type hostKinds map[[2]uint64]int32

// newHostKinds counts the host sets of the templates of models carried
// by more than r hosts each.
func newHostKinds(models []*cmdModel) hostKinds {
	k := hostKinds{}
	for _, m := range models {
		for _, t := range m.tmpls {
			if t.hosts > m.r {
				k[[2]uint64{t.sig, uint64(t.hosts)}]++
			}
		}
	}
	return k
}

// has reports whether some template of the fleet is carried by exactly
// the hosts of signature sig, hosts in number.
func (k hostKinds) has(sig uint64, hosts int32) bool {
	return k[[2]uint64{sig, uint64(hosts)}] > 0
}

// spreadExplains reports whether a shared context that is not dominated
// (no value of it on most of its hosts: isDominated) explains a new
// template of it as benign variation. It does when the model has no
// kinds to test (a baseline's reference model); when the command's rows
// are of something running (processes, listening sockets: activity that
// scatters over hosts with nothing else in common, a job caught running or
// an operator's session, is judged by the young and session rules); when
// the context spreads over more than a minority of the hosts,
// max(r, φ·n) (a splayed minute, kworker names); or when its hosts are a
// kind of host, the host set of a template of the fleet (hostKinds):
//
//	hosts(context) > max(r, φ·n)  or  hosts(context) = hosts(some template)
//
// A daemon's random port on a tenth of the hosts varies on the hosts that
// run the daemon, which its process row is on; a role's splayed cron line
// on the role's hosts. A spread that belongs to nothing its hosts share
// is each host's own: an attacker's key written to root's
// authorized_keys on a dozen hosts, a different key on each, is a dozen
// deviations, not a column that varies. What the hosts of a configuration
// row (an account, a key, a cron line, a module) share is then what
// explains its variation, never the variation of the rows alone, so that
// hosts cannot vouch for each other's new rows by each bringing their own.
// The cost: operators' personal accounts made by hand on a few hosts each,
// over hosts with nothing else in common, are no longer a spread of
// names, and one on two hosts of 200 decides (seed 17 of the design seeds
// at 200 hosts, two hosts).
func (m *cmdModel) spreadExplains(cx *tctx) bool {
	return m.kinds == nil || m.rows.running || cx.hosts > m.minority || m.kinds.has(cx.sig, cx.hosts)
}

// configSettled returns the draws of the settled templates of the context
// cx of a command whose rows are a host's configuration (not something
// running), template t left out, others the context's hosts but the one
// judged: those carried by more than max(r, φ·others) hosts,
//
//	Σ hosts(u)  over the templates u ≠ t of cx with hosts(u) > max(r, φ·others)
//
// A configuration value on more than φ of the hosts is a kind of host's
// (φ is the share at which a difference becomes one): the deploy user's
// old key and its new one, while a rotation is half done; two roles' cron
// schedules. A context drawn from a few such values is dominated by them
// together, and a key or a line no kind has, on one host, is a deviation
// of it. Running things differ (settledDraws): versions rolling out in
// halves, with a canary of a third, are drawn host by host.
func (m *cmdModel) configSettled(cx *tctx, t, others int32) int64 {
	var u int64
	for _, k := range cx.members {
		if c := m.tmpls[k].hosts; k != t && c > m.r && float64(c) > m.p.phi*float64(others) {
			u += int64(c)
		}
	}
	return u
}
