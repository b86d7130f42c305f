package analyze

import (
	"cmp"
	"hash/maphash"
	"slices"
	"strconv"
	"strings"
)

// refModel is the model of one command of a baseline fleet, used to judge
// rows of other hosts (a fleet baseline, see Baseline): what the baseline
// hosts carry, and how its rows vary.
type refModel struct {
	*cmdModel
	featOf map[string]int32 // normalized key to feature
	tmplOf map[string]int32 // template key to template
	// all is every context of every template of the baseline, with the
	// hosts (distinct), draws and members (most hosts first) of each.
	all map[uint64]*tctx
	// cols memoizes, per template and column, the hosts of each value.
	cols map[tmplCol]*colValues
	// near holds the hash of every baseline row with one column
	// abstracted (nearKey), and of every baseline row with a parent name
	// and one column abstracted: what recombined asks.
	near map[uint64]struct{}
}

type tmplCol struct {
	t   int32
	col string
}

// colValues are the values of one column of one template, with the hosts
// of each, most first.
type colValues struct {
	count  map[string]int32
	sig    map[string]uint64 // the XOR of its features' signatures (hostSig)
	sorted []string
	draws  int64
}

// newRefModel learns the baseline fleet's command c (finished) of n hosts.
func newRefModel(c *cmdRows, n int) *refModel {
	m := &refModel{cmdModel: buildCmdModel(c, n), featOf: map[string]int32{}, tmplOf: map[string]int32{},
		all: map[uint64]*tctx{}, cols: map[tmplCol]*colValues{}}
	for f, ft := range c.feats {
		m.featOf[ft.key] = int32(f)
	}
	for t := range m.tmpls {
		m.tmplOf[m.tmpls[t].key] = int32(t)
	}
	m.near = map[uint64]struct{}{}
	var nb []byte
	for _, ft := range c.feats {
		for col := range keyPairs([]byte(ft.key)) {
			nb = nearKey(nb[:0], "", ft.key, col)
			m.near[maphash.Bytes(hashSeed, nb)] = struct{}{}
		}
	}
	if c.parent != nil {
		for h, fs := range c.perHost {
			for _, fp := range c.parent[h] {
				key := c.feats[fs[fp.i]].key
				for col := range keyPairs([]byte(key)) {
					nb = nearKey(nb[:0], c.parentNames[fp.p], key, col)
					m.near[maphash.Bytes(hashSeed, nb)] = struct{}{}
				}
			}
		}
	}
	// Every context of every template, with its members.
	var buf []byte
	ctxsOf := make([][]*tctx, len(m.tmpls))
	for t := range m.tmpls {
		buf = templateContexts([]byte(m.tmpls[t].key), buf, func(k []byte) {
			h := maphash.Bytes(hashSeed, k)
			cx := m.all[h]
			if cx == nil {
				cx = &tctx{}
				m.all[h] = cx
			}
			cx.members = append(cx.members, int32(t))
			ctxsOf[t] = append(ctxsOf[t], cx)
		})
	}
	seen := map[*tctx]int32{}
	for h, fs := range c.perHost {
		for _, f := range fs {
			for _, cx := range ctxsOf[c.feats[f].tmpl] {
				if seen[cx] != int32(h)+1 {
					seen[cx] = int32(h) + 1
					cx.hosts++
				}
			}
		}
	}
	for _, cx := range m.all {
		slices.SortFunc(cx.members, func(a, b int32) int {
			return cmp.Or(cmp.Compare(m.tmpls[b].hosts, m.tmpls[a].hosts), strings.Compare(m.tmpls[a].key, m.tmpls[b].key))
		})
		for _, t := range cx.members {
			cx.draws += int64(m.tmpls[t].hosts)
		}
	}
	return m
}

// values returns the values of column col in template t, with their hosts.
func (m *refModel) values(t int32, col string) *colValues {
	k := tmplCol{t, col}
	if cv, ok := m.cols[k]; ok {
		return cv
	}
	cv := &colValues{count: map[string]int32{}, sig: map[string]uint64{}}
	for _, f := range m.tmpls[t].feats {
		v, _ := keyValue(m.rows.feats[f].key, col)
		if _, ok := cv.count[v]; !ok {
			cv.sorted = append(cv.sorted, v)
		}
		cv.count[v] += m.featHosts[f]
		cv.sig[v] ^= m.featSig[f]
		cv.draws += int64(m.featHosts[f])
	}
	slices.SortFunc(cv.sorted, func(a, b string) int { return cmp.Or(cmp.Compare(cv.count[b], cv.count[a]), strings.Compare(a, b)) })
	m.cols[k] = cv
	return cv
}

// nearKey appends to dst the key of a row (normalized key) with column
// col abstracted, prefixed by the name of its parent process (parent, ""
// for none): the rows one column away from it share it.
func nearKey(dst []byte, parent, key, col string) []byte {
	dst = append(dst, parent...)
	dst = append(dst, 0)
	for c, v := range keyPairs([]byte(key)) {
		if c == col {
			v = abstracted
		}
		dst = appendPair(dst, c, v)
	}
	return dst
}

// recombined returns the columns of a row (its normalized key; with
// parent, the row under that parent process, "parent" then being a column
// too) in which it differs from some baseline row in that column alone,
// when there are two or more; else nil. Such a row is a recombination of
// what the baseline fleet holds: each of its values is on a baseline row
// equal to it in every other column but one, so that nothing of it is new,
// only the combination (a package's upgraded binary on a host of the
// image that gave its user another uid; the worker of a daemon restarted
// after an upgrade). A row with one such column differs from the baseline
// exactly there (sshd at a new path, uid 0 for a user, a new key in root's
// file) and is judged as it is. Formally, with B_d the baseline's rows
// with column d abstracted and row_d the row so,
//
//	D = { d : row_d ∈ B_d },   recombined ⟺ |D| ≥ 2
//
// since then every column's value is on a baseline row that differs in
// another column of D. No constant: a count of columns.
func (m *refModel) recombined(key, parent string) []string {
	var d []string
	var nb []byte
	if parent != "" {
		if _, ok := m.featOf[key]; ok {
			d = append(d, "parent")
		}
	}
	for col := range keyPairs([]byte(key)) {
		nb = nearKey(nb[:0], parent, key, col)
		if _, ok := m.near[maphash.Bytes(hashSeed, nb)]; ok {
			d = append(d, col)
		}
	}
	if len(d) < 2 {
		return nil
	}
	return d
}

// strValue is a value of drifted's list.
type strValue string

func (v strValue) value() string { return string(v) }

// judge says what sets a row of another host apart from the baseline
// fleet, given its normalized key: vNone when the baseline has the row,
// or has its template and each of its values in a column whose values
// are spread (vExplained); vDeviation when the baseline has its template
// (or a context of it) and the row's value is new where the baseline's
// values are dominated (isDominated over the baseline's hosts), vVariant
// when that value is free text; vNew when the baseline has nothing like
// it. The verdict's counts are the baseline's (the row is on no baseline
// host: hosts is 0).
func (m *refModel) judge(key string) verdict {
	v := m.judgeRow(key)
	if v.kind == vNew || v.kind == vDeviation {
		if d := m.recombined(key, ""); d != nil {
			v.kind, v.known = vVariant, strings.Join(d, ", ")
		}
	}
	return v
}

// baseValues returns the values of cv, most hosts first.
func baseValues(cv *colValues) []strValue {
	out := make([]strValue, len(cv.sorted))
	for i, v := range cv.sorted {
		out[i] = strValue(v)
	}
	return out
}

// judgeRow is judge before recombinations (see recombined): a
// deviation within a template of the baseline is a variant when its
// column is free text or an integer drifted (see drifted) among the
// baseline's values.
func (m *refModel) judgeRow(key string) verdict {
	if _, ok := m.featOf[key]; ok {
		return verdict{}
	}
	n := int32(m.n)
	tkey := string(appendTemplateKey(nil, key))
	if t, ok := m.tmplOf[tkey]; ok {
		best, have := verdict{}, false
		explained := false
		for col, v := range keyPairs([]byte(key)) {
			cv := m.values(t, col)
			if cv.count[v] > 0 {
				continue
			}
			hosts := m.tmpls[t].hosts
			settled := m.p.settledDraws(len(cv.sorted), func(i int) int32 { return cv.count[cv.sorted[i]] },
				func(i int) uint64 { return cv.sig[cv.sorted[i]] }, -1, hosts, m.r)
			if !m.p.isDominated(settled, cv.draws) {
				explained = true
				continue
			}
			top := cv.sorted[0]
			kind := vDeviation
			if isFreeText(col) || drifted(col, v, top, baseValues(cv), -1) {
				kind = vVariant
			}
			vd := verdict{kind: kind, p: 1 / float64(hosts+1), decides: true, ctxHosts: hosts, col: col, usual: -1,
				usualHosts: cv.count[top], value: v, usualValue: top}
			if !have || better(vd, best) {
				best, have = vd, true
			}
		}
		if have {
			// A row whose free text is another version than the baseline's
			// usual one changed with that version (a canary opening a port
			// of its own): its structured deviation is a variant.
			if best.kind == vDeviation {
				for col, v := range keyPairs([]byte(key)) {
					if cv := m.values(t, col); isFreeText(col) && v != cv.sorted[0] {
						best.kind, best.version = vVariant, col+"="+strconv.Quote(v)
						break
					}
				}
			}
			return best
		}
		if explained {
			return verdict{kind: vExplained}
		}
		return verdict{}
	}
	// A template the baseline does not have: its contexts.
	best, have, explained := verdict{}, false, false
	templateContexts([]byte(tkey), nil, func(k []byte) {
		cx := m.all[maphash.Bytes(hashSeed, k)]
		if cx == nil || cx.hosts <= m.r {
			return
		}
		settled := m.p.settledDraws(len(cx.members), func(i int) int32 { return m.tmpls[cx.members[i]].hosts },
			func(i int) uint64 { return m.tmpls[cx.members[i]].sig }, -1, cx.hosts, m.r)
		if !m.p.isDominated(settled, cx.draws) {
			explained = true
			return
		}
		top := cx.members[0]
		vd := verdict{kind: vDeviation, p: 1 / float64(cx.hosts+1), decides: true, ctxHosts: cx.hosts,
			col: differingColumn(tkey, m.tmpls[top].key), usual: m.tmpls[top].feats[0], usualHosts: m.tmpls[top].hosts}
		if !have || vd.p < best.p {
			best, have = vd, true
		}
	})
	switch {
	case have:
		return best
	case explained:
		return verdict{kind: vExplained}
	}
	return verdict{kind: vNew, p: 1 / float64(n+1), decides: true, ctxHosts: n, usual: -1}
}

// judgeParent says whether parent name p of a row (normalized key key,
// template key tkey) is new where the baseline's parents of that template
// are dominated; a recombination (see recombined) is a variant.
func (m *refModel) judgeParent(key, tkey, p string) verdict {
	v := m.judgeParentOf(tkey, p)
	if v.kind == vDeviation {
		if d := m.recombined(key, p); d != nil {
			v.kind, v.known = vVariant, strings.Join(d, ", ")
		}
	}
	return v
}

func (m *refModel) judgeParentOf(tkey, p string) verdict {
	t, ok := m.tmplOf[tkey]
	if !ok || m.parents == nil {
		return verdict{}
	}
	ps := m.parents[t]
	if ps == nil || ps.hosts <= m.r {
		return verdict{}
	}
	names := m.rows.parentNames
	var usual int64
	for _, q := range ps.sorted {
		if names[q] == p {
			return verdict{} // the baseline has it
		}
	}
	for _, q := range ps.sorted {
		if !m.p.isUsual(ps.count[q], ps.hosts, m.r) {
			break
		}
		usual += int64(ps.count[q])
	}
	if !m.p.isDominated(usual, ps.draws) {
		return verdict{}
	}
	top := ps.sorted[0]
	return verdict{kind: vDeviation, p: 1 / float64(ps.hosts+1), decides: true, ctxHosts: ps.hosts, col: "parent", usual: -1,
		usualHosts: ps.count[top], value: p, usualValue: names[top]}
}
