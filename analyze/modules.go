package analyze

import (
	"cmp"
	"slices"
	"strings"

	"github.com/diffy-dfir/diffy/payload"
)

// usedByAdded returns, for host h's kernel_modules row f whose verdict v
// says it deviates in used_by (the modules that hold a reference to it),
// and that differs from the usual row of its module name in used_by alone
// (the verdict's usual row when it is of that name, or the name's own,
// usualOfName, when the row is judged among rows of other names), the
// names its used_by adds to the usual row's, split into those the host lists as modules of its
// own and those it does not; ok is false for any other row.
//
// A module's used_by changes when, and only when, a module that depends
// on it is loaded or unloaded (docs/kernel-modules.md, fact 1): an added
// name the host lists is the trace of that module's row, which is judged
// itself, and does not decide; an added name the host does not list is
// the trace of a module hidden from /proc/modules (a rootkit that
// unlinked itself from the list keeps the references it took), and
// decides.
func usedByAdded(m *cmdModel, h int, f int32, v verdict) (listed, hidden []string, ok bool) {
	c := m.rows
	if c.id != payload.KernelModules || v.col != "used_by" {
		return nil, nil, false
	}
	u := v.usual
	if name, _ := keyValue(c.feats[f].key, "name"); u < 0 || !hasPair(c.feats[u].key, "name", name) {
		// The used_by deviates among rows of other names (a context
		// with the name abstracted): the usual row is its name's own.
		if u = usualOfName(m, name); u < 0 {
			return nil, nil, false
		}
	}
	key, usual := c.feats[f].key, c.feats[u].key
	for col, val := range keyPairs([]byte(key)) {
		if u, _ := keyValue(usual, col); col != "used_by" && u != val {
			return nil, nil, false
		}
	}
	mine, _ := keyValue(key, "used_by")
	theirs, _ := keyValue(usual, "used_by")
	before := holders(theirs)
	var names map[string]bool
	for _, name := range holders(mine) {
		if containsString(before, name) {
			continue
		}
		if names == nil {
			names = map[string]bool{}
			for _, g := range c.perHost[h] {
				if n, ok := keyValue(c.feats[g].key, "name"); ok {
					names[n] = true
				}
			}
		}
		if names[name] {
			listed = append(listed, name)
		} else {
			hidden = append(hidden, name)
		}
	}
	return listed, hidden, true
}

// hasPair reports whether a RowKey has column col with value val.
func hasPair(key, col, val string) bool {
	v, ok := keyValue(key, col)
	return ok && v == val
}

// usualOfName returns the usual row of the kernel module name: the
// feature of that name carried by the most hosts, when they are more
// than a minority (max(r, φ·n)); -1 when the name has no such row.
func usualOfName(m *cmdModel, name string) int32 {
	c := m.rows
	if c.nameRows == nil {
		c.nameRows = map[string]int32{}
		for g := range c.feats {
			n, _ := keyValue(c.feats[g].key, "name")
			if b, ok := c.nameRows[n]; !ok || m.featHosts[g] > m.featHosts[b] {
				c.nameRows[n] = int32(g)
			}
		}
	}
	if g, ok := c.nameRows[name]; ok && m.featHosts[g] > m.minority {
		return g
	}
	return -1
}

// holders splits a used_by value into module names: /proc/modules
// separates them by commas (with a trailing one) and writes "-" for none.
func holders(s string) []string {
	var out []string
	for _, name := range strings.Split(s, ",") {
		if name = strings.TrimSpace(name); name != "" && name != "-" {
			out = append(out, name)
		}
	}
	return out
}

// moduleSizes tallies the sizes of a fleet's kernel_modules rows, though
// size is volatile (a module's size is its kernel build's, so it is not
// part of the row's key): for each module name and size, the hosts whose
// rows carry that name with that size (docs/kernel-modules.md, facts 2
// and 3). Each row's size is kept beside its raw row in what a host's
// Results hold until finish (appendRows), which sees each kept row of
// each host once and counts each host once whatever it sent (a host
// listing a name twice, or sending two Results, is one host). Only the
// hosts of the names on at most a minority of the hosts are kept past
// finish: the rule (demandLoaded) is about no other.
type moduleSizes struct {
	// ids interns sizes and names: strs[ids[s]] = s.
	ids  map[string]int32
	strs []string
	// name is the name of each feature (numbered as before finish), -1
	// until known.
	name []int32
	// tally has the hosts of each (name, size), in host order, up to a
	// minority of the fleet (more are only counted, in over); pairs is
	// host's scratch.
	tally map[[2]int32]*pairHosts
	pairs [][2]int32
	// byName, set by done, gives for each name on at most a minority of
	// the hosts the sizes its hosts carry, most hosts first, each with
	// its hosts.
	byName map[string][]sizeHosts
}

// pairHosts are the hosts of one (name, size): the first ones, and how
// many more.
type pairHosts struct {
	hosts []int32
	over  int32
}

// sizeHosts is one size of a module name and the hosts (instance ID
// order) that carry the name with it.
type sizeHosts struct {
	size  string
	hosts []int32
}

func newModuleSizes() *moduleSizes {
	return &moduleSizes{ids: map[string]int32{}, tally: map[[2]int32]*pairHosts{}}
}

// sizeOf returns the id of a row's size: of v when it is a size (at most
// 20 decimal digits, as /proc/modules writes an unsigned long), of ""
// (unknown) otherwise, so that what a host sends there keeps no more than
// a number, and a host that sends no size never agrees with one that
// does.
func (s *moduleSizes) sizeOf(v string) int32 {
	if len(v) > 20 || strings.Trim(v, "0123456789") != "" {
		v = ""
	}
	return s.intern(v)
}

// intern returns the id of v.
func (s *moduleSizes) intern(v string) int32 {
	id, ok := s.ids[v]
	if !ok {
		id = int32(len(s.strs))
		s.ids[v] = id
		s.strs = append(s.strs, v)
	}
	return id
}

// host tallies the (name, size) pairs of host h's rows hf (hosts come in
// increasing order), whose features (numbered as before finish) are
// feats; limit is the most hosts a pair keeps (a minority of the fleet).
func (s *moduleSizes) host(h int32, hf []hostFeat, feats []cfeat, limit int32) {
	for len(s.name) < len(feats) {
		s.name = append(s.name, -1)
	}
	p := s.pairs[:0]
	for _, x := range hf {
		n := s.name[x.feat]
		if n < 0 {
			v, _ := keyValue(feats[x.feat].key, "name")
			n = s.intern(v)
			s.name[x.feat] = n
		}
		p = append(p, [2]int32{n, x.size})
	}
	slices.SortFunc(p, func(a, b [2]int32) int { return cmp.Or(cmp.Compare(a[0], b[0]), cmp.Compare(a[1], b[1])) })
	p = slices.Compact(p)
	for _, k := range p {
		t := s.tally[k]
		if t == nil {
			t = &pairHosts{}
			s.tally[k] = t
		}
		if int32(len(t.hosts)) < limit {
			t.hosts = append(t.hosts, h)
		} else {
			t.over++
		}
	}
	s.pairs = p
}

// done turns the tally into byName, keeping the names on at most limit
// hosts, and drops what only the tally needed.
func (s *moduleSizes) done(limit int32) {
	all := map[int32]int32{}
	for k, t := range s.tally {
		all[k[0]] += int32(len(t.hosts)) + t.over
	}
	s.byName = map[string][]sizeHosts{}
	for k, t := range s.tally {
		if all[k[0]] > limit {
			continue
		}
		name := s.strs[k[0]]
		s.byName[name] = append(s.byName[name], sizeHosts{s.strs[k[1]], slices.Clip(t.hosts)})
	}
	for _, ss := range s.byName {
		slices.SortFunc(ss, func(a, b sizeHosts) int {
			return cmp.Or(cmp.Compare(len(b.hosts), len(a.hosts)), strings.Compare(a.size, b.size))
		})
	}
	s.ids, s.strs, s.name, s.tally, s.pairs = nil, nil, nil, nil, nil
}

// demandLoaded reports whether host h's kernel_modules row f is of a
// module of the host's kernel build loaded on demand on a few hosts:
// whether its name with the size the host shows is carried by two hosts
// or more, and the name by at most a minority
// (max(r, φ·n)) of the hosts. A module of the running kernel's tree has
// one size on every host of that build (docs/kernel-modules.md, fact 2),
// so k hosts of a build that loaded it show k copies of one (name, size),
// and hosts of another build (a canary kernel) show another size: each
// size is judged with its own hosts (fact 3). A rootkit built elsewhere
// has a size of its own: on one host, or under a name the fleet's module
// has but with another size on one host, it still decides. The shared
// size and its hosts are returned.
func demandLoaded(m *cmdModel, h int, f int32) (sizeHosts, bool) {
	s := m.rows.sizes
	if s == nil {
		return sizeHosts{}, false
	}
	name, _ := keyValue(m.rows.feats[f].key, "name")
	for _, x := range s.byName[name] {
		if _, ok := slices.BinarySearch(x.hosts, int32(h)); ok {
			return x, x.size != "" && len(x.hosts) >= 2
		}
	}
	return sizeHosts{}, false
}
