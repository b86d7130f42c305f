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
}

type tmplCol struct {
	t   int32
	col string
}

// colValues are the values of one column of one template, with the hosts
// of each, most first.
type colValues struct {
	count  map[string]int32
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
	cv := &colValues{count: map[string]int32{}}
	for _, f := range m.tmpls[t].feats {
		v, _ := keyValue(m.rows.feats[f].key, col)
		if _, ok := cv.count[v]; !ok {
			cv.sorted = append(cv.sorted, v)
		}
		cv.count[v] += m.featHosts[f]
		cv.draws += int64(m.featHosts[f])
	}
	slices.SortFunc(cv.sorted, func(a, b string) int { return cmp.Or(cmp.Compare(cv.count[b], cv.count[a]), strings.Compare(a, b)) })
	m.cols[k] = cv
	return cv
}

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
			var usual int64
			for _, u := range cv.sorted {
				if !isUsual(cv.count[u], hosts, m.r) {
					break
				}
				usual += int64(cv.count[u])
			}
			if !isDominated(usual, cv.draws) {
				explained = true
				continue
			}
			kind := vDeviation
			if isFreeText(col) {
				kind = vVariant
			}
			top := cv.sorted[0]
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
		var usual int64
		for _, t := range cx.members {
			if !isUsual(m.tmpls[t].hosts, cx.hosts, m.r) {
				break
			}
			usual += int64(m.tmpls[t].hosts)
		}
		if !isDominated(usual, cx.draws) {
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

// judgeParent says whether parent name p of a row of template key tkey is
// new where the baseline's parents of that template are dominated.
func (m *refModel) judgeParent(tkey, p string) verdict {
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
		if !isUsual(ps.count[q], ps.hosts, m.r) {
			break
		}
		usual += int64(ps.count[q])
	}
	if !isDominated(usual, ps.draws) {
		return verdict{}
	}
	top := ps.sorted[0]
	return verdict{kind: vDeviation, p: 1 / float64(ps.hosts+1), decides: true, ctxHosts: ps.hosts, col: "parent", usual: -1,
		usualHosts: ps.count[top], value: p, usualValue: names[top]}
}
