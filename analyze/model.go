package analyze

import (
	"cmp"
	"hash/maphash"
	"slices"
	"strconv"
	"strings"
)

// The kinds of verdict on a row (a template or a feature).
const (
	vNone      uint8 = iota // nothing to say: a usual row
	vExplained              // its template is new, but a spread context explains it
	vNew                    // a template no shared context explains
	vDeviation              // a value that is rare where one value dominates
	vVariant                // a deviation in free text only (another version in a path)
)

// verdict says what sets a row apart, and how surprising that is.
type verdict struct {
	kind uint8
	// p is the probability that a clean host shows as much (noveltyRate);
	// decides whether it is evidence (see decides).
	p       float64
	decides bool
	// hosts carry the row (the template, or the value in its context).
	hosts int32
	// ctxHosts are the hosts of the template or context, the judged one
	// left out; col is the column that deviates ("" for a new row);
	// usual is a local feature with the usual value (-1: none), on
	// usualHosts hosts.
	ctxHosts   int32
	col        string
	usual      int32
	usualHosts int32
	// value is the deviating value and usualValue the usual one, for
	// deviations within a template (valueVerdicts) and of parents.
	value, usualValue string
	// multi: the context's hosts have several values each (the names of
	// the kernel modules of one form), so the usual value is one of many.
	multi bool
	// version is the free-text change (col="value") that explains a
	// structured deviation made a variant.
	version string
	// known names the columns of a recombination of a fleet baseline's
	// rows (refModel.recombined), which made the row a variant.
	known string
	// ctx is the spread context that explains a template (vExplained),
	// the largest when several do.
	ctx int32
	// replaced: the row is the usual one but for its binary, replaced on
	// disk while it ran (isReplacedBinary), which made it a variant.
	replaced bool
}

// tmpl is one template of a command: the row with its varying parts
// abstracted (appendTemplateKey).
type tmpl struct {
	key   string
	hosts int32   // hosts with a row of the template
	sig   uint64  // the signature of those hosts (hostSig)
	feats []int32 // its features, most hosts first
	ctxs  []int32 // the candidate contexts it is a value of
}

// tctx is one context of templates (templateContexts): templates that
// differ only in what it abstracts.
type tctx struct {
	hosts   int32   // hosts with a row of one of its templates
	sig     uint64  // the signature of those hosts (hostSig)
	novel   int32   // hosts with a rare one (at most r hosts)
	draws   int64   // Σ hosts over its templates
	members []int32 // its templates, most hosts first
	prefix  []int64 // prefix[i] = Σ hosts of members[:i]
}

// cmdModel is what the analysis learns of one command from the whole
// fleet: how many hosts carry each row and template, the contexts of the
// templates that few hosts carry, and the verdicts.
type cmdModel struct {
	rows      *cmdRows
	p         params // rows.p
	n         int    // hosts of the fleet
	r         int32  // rareCount(n)
	minority  int32  // max(r, ⌊φ·n⌋): the most hosts of a minority row
	hostsOK   int32  // hosts with a successful Result
	featHosts []int32
	featSig   []uint64 // the signature of each feature's hosts (hostSig)
	tmpls     []tmpl
	ctxs      []tctx
	// tv is the verdict of each template carried by at most minority
	// hosts; fv of each feature whose value deviates within its
	// template; parents the parent names of each template's rows.
	tv      []verdict
	fv      map[int32]verdict
	parents map[int32]*parentStats
	novel   int32 // hosts with a rare new template (vNew)
	// placing holds the parent names whose children are placed
	// (buildPlacements), each with the hosts that have a child of it.
	placing map[int32]int32
	// kinds counts the templates of every command carried by more than r
	// hosts by their host sets (see hostKinds); nil: no kind test, every
	// spread context explains (spreadExplains).
	kinds hostKinds
}

// parentStats counts, for one template, the hosts whose row of it has
// each parent name.
type parentStats struct {
	hosts  int32           // hosts with a row of the template and a known parent
	draws  int64           // Σ count
	count  map[int32]int32 // by parent name
	sorted []int32         // parent names, most hosts first
}

// buildCmdModel learns what the fleet of n hosts says of the command c
// (finished; see cmdRows.finish).
func buildCmdModel(c *cmdRows, n int) *cmdModel {
	m := newCmdModel(c, n)
	m.judge(nil)
	return m
}

// newCmdModel counts what the fleet of n hosts shows of the command c
// (finished; see cmdRows.finish): its features, templates and contexts,
// before any verdict (see judge).
func newCmdModel(c *cmdRows, n int) *cmdModel {
	m := &cmdModel{rows: c, p: c.p, n: n, r: c.p.rareCount(n), minority: c.p.minority(n), fv: map[int32]verdict{}}
	m.countFeatures()
	m.buildTemplates()
	m.buildContexts()
	return m
}

// judge gives the verdicts of the model's templates and values, with
// kinds the host sets of the templates of every command (nil: none; see
// spreadExplains).
func (m *cmdModel) judge(kinds hostKinds) {
	m.kinds = kinds
	m.judgeTemplates()
	m.judgeValues()
	m.countParents()
	m.buildPlacements()
}

// countFeatures counts the hosts of every feature (and signs their set,
// hostSig) and the hosts with a successful Result.
func (m *cmdModel) countFeatures() {
	c := m.rows
	m.featHosts = make([]int32, len(c.feats))
	m.featSig = make([]uint64, len(c.feats))
	for h, fs := range c.perHost {
		if c.ok[h] {
			m.hostsOK++
		}
		sig := hostSig(h)
		for _, f := range fs {
			m.featHosts[f]++
			m.featSig[f] ^= sig
		}
	}
}

// buildTemplates interns the template of every feature and counts the
// hosts of each.
func (m *cmdModel) buildTemplates() {
	c := m.rows
	ids := map[string]int32{}
	var buf []byte
	for f := range c.feats {
		buf = appendTemplateKey(buf[:0], c.feats[f].key)
		t, ok := ids[string(buf)]
		if !ok {
			t = int32(len(m.tmpls))
			ids[string(buf)] = t
			m.tmpls = append(m.tmpls, tmpl{key: string(buf)})
		}
		c.feats[f].tmpl = t
		m.tmpls[t].feats = append(m.tmpls[t].feats, int32(f))
	}
	stamp := make([]int32, len(m.tmpls))
	for h, fs := range c.perHost {
		for _, f := range fs {
			if t := c.feats[f].tmpl; stamp[t] != int32(h)+1 {
				stamp[t] = int32(h) + 1
				m.tmpls[t].hosts++
				m.tmpls[t].sig ^= hostSig(h)
			}
		}
	}
	for t := range m.tmpls {
		slices.SortStableFunc(m.tmpls[t].feats, func(a, b int32) int { return cmp.Compare(m.featHosts[b], m.featHosts[a]) })
	}
}

// buildContexts finds the contexts of the templates carried by at most
// minority hosts (the only ones judged by their contexts), makes every
// template that shares one a member of it, and counts each context's
// hosts.
func (m *cmdModel) buildContexts() {
	index := map[uint64]int32{}
	var buf []byte
	for t := range m.tmpls {
		if m.tmpls[t].hosts > m.minority {
			continue
		}
		buf = templateContexts([]byte(m.tmpls[t].key), buf, func(k []byte) {
			h := maphash.Bytes(hashSeed, k)
			if _, ok := index[h]; !ok {
				index[h] = int32(len(m.ctxs))
				m.ctxs = append(m.ctxs, tctx{})
			}
		})
	}
	if len(m.ctxs) == 0 {
		return
	}
	for t := range m.tmpls {
		buf = templateContexts([]byte(m.tmpls[t].key), buf, func(k []byte) {
			if x, ok := index[maphash.Bytes(hashSeed, k)]; ok {
				m.tmpls[t].ctxs = append(m.tmpls[t].ctxs, x)
				m.ctxs[x].members = append(m.ctxs[x].members, int32(t))
			}
		})
	}
	c := m.rows
	stamp := make([]int32, len(m.ctxs))
	novel := make([]int32, len(m.ctxs))
	for h, fs := range c.perHost {
		for i, f := range fs {
			t := &m.tmpls[c.feats[f].tmpl]
			for _, x := range t.ctxs {
				if stamp[x] != int32(h)+1 {
					stamp[x] = int32(h) + 1
					m.ctxs[x].hosts++
					m.ctxs[x].sig ^= hostSig(h)
				}
				if t.hosts <= m.r && novel[x] != int32(h)+1 && !c.isYoung(h, i) {
					novel[x] = int32(h) + 1
					m.ctxs[x].novel++
				}
			}
		}
	}
	for x := range m.ctxs {
		cx := &m.ctxs[x]
		slices.SortFunc(cx.members, func(a, b int32) int {
			return cmp.Or(cmp.Compare(m.tmpls[b].hosts, m.tmpls[a].hosts), strings.Compare(m.tmpls[a].key, m.tmpls[b].key))
		})
		cx.prefix = make([]int64, len(cx.members)+1)
		for i, t := range cx.members {
			cx.prefix[i+1] = cx.prefix[i] + int64(m.tmpls[t].hosts)
		}
		cx.draws = cx.prefix[len(cx.members)]
	}
}

// memberIndex returns the index of template t in the members of cx
// (sorted by buildContexts: most hosts first, then by key), -1 if none.
func (m *cmdModel) memberIndex(cx *tctx, t int32) int {
	i, ok := slices.BinarySearchFunc(cx.members, t, func(a, b int32) int {
		return cmp.Or(cmp.Compare(m.tmpls[b].hosts, m.tmpls[a].hosts), strings.Compare(m.tmpls[a].key, m.tmpls[b].key))
	})
	if !ok {
		return -1
	}
	return i
}

// judgeTemplates gives a verdict to every template carried by at most
// minority hosts: vExplained when a shared context is spread (the
// template differs from others only in what varies benignly), else
// vDeviation when a shared context of it is dominated (one value of it
// usual, the template's rare there), else vNew. A context is shared when more than r
// hosts have a row of it without this template. The deviation kept is the
// most surprising one (lowest noveltyRate). Then vNew templates get their
// p, the command's novelty rate.
func (m *cmdModel) judgeTemplates() {
	m.tv = make([]verdict, len(m.tmpls))
	for t := range m.tmpls {
		tp := &m.tmpls[t]
		if tp.hosts > m.minority {
			continue
		}
		v := verdict{kind: vNew, hosts: tp.hosts, usual: -1}
		explained, explainedBy := false, int32(-1)
		for _, x := range tp.ctxs {
			cx := &m.ctxs[x]
			if cx.hosts-tp.hosts <= m.r {
				continue // not shared
			}
			others := cx.hosts - 1
			settled := m.p.settledDraws(len(cx.members), func(i int) int32 { return m.tmpls[cx.members[i]].hosts },
				func(i int) uint64 { return m.tmpls[cx.members[i]].sig }, m.memberIndex(cx, int32(t)), others, m.r)
			if m.kinds != nil && !m.rows.running {
				settled = m.configSettled(cx, int32(t), others)
			}
			if !m.p.isDominated(settled, cx.draws-int64(tp.hosts)) {
				if !m.spreadExplains(cx) {
					continue
				}
				if !explained || cx.hosts > m.ctxs[explainedBy].hosts {
					explainedBy = x
				}
				explained = true
				continue
			}
			novel := cx.novel
			if tp.hosts <= m.r {
				novel--
			}
			top := cx.members[0]
			if top == int32(t) && len(cx.members) > 1 {
				top = cx.members[1]
			}
			col := differingColumn(tp.key, m.tmpls[top].key)
			dv := verdict{kind: vDeviation, p: noveltyRate(novel, others), decides: m.p.decides(novel, others), hosts: tp.hosts, ctxHosts: others,
				col: col, usual: m.tmpls[top].feats[0], usualHosts: m.tmpls[top].hosts,
				multi: float64(cx.draws) > (1+m.p.phi)*float64(cx.hosts)}
			if isFreeText(col) {
				tv, _ := keyValue(tp.key, col)
				uv, _ := keyValue(m.tmpls[top].key, col)
				if isReplacedBinary(tv, uv) {
					dv.kind, dv.replaced = vVariant, true
				}
			}
			if v.kind == vNew || better(dv, v) {
				v = dv
			}
		}
		if explained {
			// A spread context explains the template even where another
			// is dominated: it differs from other hosts' rows only in
			// what varies benignly there (an operator's name in "sshd:
			// alice@pts/0").
			v = verdict{kind: vExplained, hosts: tp.hosts, usual: -1, ctx: explainedBy}
		}
		m.tv[t] = v
	}
	// The command's novelty: hosts with a rare template no context
	// explains, processes caught running aside.
	c := m.rows
	for h, fs := range c.perHost {
		for i, f := range fs {
			t := c.feats[f].tmpl
			if m.tmpls[t].hosts <= m.r && m.tv[t].kind == vNew && !c.isYoung(h, i) {
				m.novel++
				break
			}
		}
	}
	for t := range m.tv {
		v := &m.tv[t]
		if v.kind != vNew {
			continue
		}
		novel := m.novel
		if v.hosts <= m.r {
			novel--
		}
		v.ctxHosts = m.hostsOK - 1
		v.p = noveltyRate(novel, m.hostsOK-1)
		v.decides = m.p.decides(novel, m.hostsOK-1)
	}
}

// deletedSuffix is what Linux appends to the target of /proc/PID/exe
// (osquery's processes.path, and the path of listening_ports) when the
// file the process runs was removed or replaced after it started.
const deletedSuffix = " (deleted)"

// isReplacedBinary reports whether a path (a value of a template) is the
// usual path u with the kernel's mark of a replaced file: the process
// runs the usual binary, which a package upgrade replaced on disk while
// it ran (a daemon not restarted since). Such a row is a variant: what
// it runs is what the fleet runs, and it is listed, not deciding. A
// binary that runs from a new path (a relocated sshd, an implant that
// deleted itself from /tmp) differs from the usual path in more than the
// mark and stays a deviation.
func isReplacedBinary(v, u string) bool {
	return u != "" && v == u+deletedSuffix
}

// differingColumn returns the first column (in key order) whose values
// differ between two keys of the same columns, or "".
func differingColumn(a, b string) string {
	var bv []string
	for _, v := range keyPairs([]byte(b)) {
		bv = append(bv, v)
	}
	i := 0
	for col, v := range keyPairs([]byte(a)) {
		if i >= len(bv) || bv[i] != v {
			return col
		}
		i++
	}
	return ""
}

// colVal is one value of a column of a template: its hosts and features.
type colVal struct {
	v     string
	count int32
	sig   uint64 // the XOR of its features' signatures (hostSig)
	feats []int32
}

func (x *colVal) value() string { return x.v }

// judgeValues gives a verdict to every feature whose value in some column
// deviates within its template: for a template carried by more than r
// hosts and some column in which its features differ, the context is the
// template and its values those of the column (each counted on the hosts
// of its features); a value carried by at most minority hosts in a
// dominated context (isDominated, the judged host left out) is a
// deviation: vDeviation in a structured column, vVariant in free text
// (another version in a path or command line, which alone does not
// decide). Of a feature's deviations the structured one first, then the
// most surprising, is kept; but a structured deviation of a row whose
// free text deviates too, on at least as many hosts, is a variant: the
// row changed with another version (a canary that opens a port of its
// own), a change no attacker makes to the row it plants.
func (m *cmdModel) judgeValues() {
	c := m.rows
	// val is one value of a column of a template.
	type val = colVal
	for t := range m.tmpls {
		tp := &m.tmpls[t]
		if tp.hosts <= m.r || len(tp.feats) < 2 {
			continue
		}
		cols := map[string]bool{}
		for col := range keyPairs([]byte(tp.key)) {
			cols[col] = true
		}
		for _, col := range slices.Sorted(func(yield func(string) bool) {
			for k := range cols {
				if !yield(k) {
					return
				}
			}
		}) {
			byVal := map[string]*val{}
			var vals []*val
			for _, f := range tp.feats {
				v, _ := keyValue(c.feats[f].key, col)
				x := byVal[v]
				if x == nil {
					x = &val{v: v}
					byVal[v] = x
					vals = append(vals, x)
				}
				x.count += m.featHosts[f]
				x.sig ^= m.featSig[f]
				x.feats = append(x.feats, f)
			}
			if len(vals) < 2 {
				continue
			}
			slices.SortStableFunc(vals, func(a, b *val) int { return cmp.Or(cmp.Compare(b.count, a.count), strings.Compare(a.v, b.v)) })
			prefix := make([]int64, len(vals)+1)
			novel := int32(0)
			for i, x := range vals {
				prefix[i+1] = prefix[i] + int64(x.count)
				if x.count <= m.r {
					novel += x.count
				}
			}
			others := tp.hosts - 1
			for i, x := range vals {
				if x.count > m.minority {
					continue
				}
				settled := m.p.settledDraws(len(vals), func(i int) int32 { return vals[i].count }, func(i int) uint64 { return vals[i].sig }, i, others, m.r)
				if !m.p.isDominated(settled, prefix[len(vals)]-int64(x.count)) {
					continue
				}
				nv := novel
				if x.count <= m.r {
					nv--
				}
				top := vals[0]
				if i == 0 {
					top = vals[1]
				}
				kind := vDeviation
				if isFreeText(col) || drifted(col, x.v, top.v, vals, i) {
					kind = vVariant
				}
				v := verdict{kind: kind, p: noveltyRate(nv, others), decides: m.p.decides(nv, others), hosts: x.count, ctxHosts: others, col: col,
					usual: top.feats[0], usualHosts: top.count, value: x.v, usualValue: top.v,
					multi: float64(prefix[len(vals)]) > (1+m.p.phi)*float64(tp.hosts)}
				for _, f := range x.feats {
					old, ok := m.fv[f]
					if !ok || better(v, old) {
						m.fv[f] = v
					}
				}
			}
		}
	}
	// A row whose free text shows another version, on at least as many
	// hosts as its structured deviation, changed with that version (a
	// canary opening a port of its own): a variant, not a deviation.
	for f, v := range m.fv {
		if v.kind != vDeviation {
			continue
		}
		if ver, ok := m.versionOf(f, v.hosts); ok {
			v.kind, v.version = vVariant, ver
			m.fv[f] = v
		}
	}
}

// versionOf returns the first free-text value (col="value") of feature f
// that is not the most common one of its column in f's template and is on
// at least hosts hosts: the row shows another version, whatever the
// shares of the versions.
func (m *cmdModel) versionOf(f int32, hosts int32) (string, bool) {
	c := m.rows
	tp := &m.tmpls[c.feats[f].tmpl]
	for col, v := range keyPairs([]byte(c.feats[f].key)) {
		if !isFreeText(col) {
			continue
		}
		count := map[string]int32{}
		for _, g := range tp.feats {
			if u, _ := keyValue(c.feats[g].key, col); true {
				count[u] += m.featHosts[g]
			}
		}
		top, topN := "", int32(-1)
		for u, k := range count {
			if k > topN || k == topN && u < top {
				top, topN = u, k
			}
		}
		if v != top && count[v] >= hosts {
			return col + "=" + strconv.Quote(v), true
		}
	}
	return "", false
}

// drifted reports whether an integer value v of a structured column,
// where the usual value is the integer u, is allocation drift (a uid or
// gid that useradd gave in each host's order): whether some other value w
// of the context that is neither v nor u is an integer and v is no
// farther from u than twice w is,
//
//	|v − u| ≤ 2·max_w |w − u|
//
// A change an attacker makes (uid 0 for a user whose usual uid is 1000, a
// port 2222 where every host has 22) is far from every drifted value, or
// alone.
//
// In an id column (idColumns) with only two values, there is no third to
// measure the drift by: v is drift when it is in the same allocation
// range as u (idRange), the range useradd allocates from in that host's
// order: a package's system user 995 where most hosts gave it 996, an
// agent's user 1002 where most gave it 1338. Root (0) is a range of its
// own: a user or process moved to uid 0 is a deviation.
func drifted[V interface{ value() string }](col, v, u string, vals []V, self int) bool {
	iv, err1 := strconv.ParseInt(v, 10, 64)
	iu, err2 := strconv.ParseInt(u, 10, 64)
	if err1 != nil || err2 != nil {
		return false
	}
	if rv := idRange(iv); slices.Contains(idColumns, col) && (rv == 1 || rv == 2) && rv == idRange(iu) {
		return true
	}
	far := int64(0)
	for j, x := range vals {
		if j == self || x.value() == u {
			continue
		}
		iw, err := strconv.ParseInt(x.value(), 10, 64)
		if err != nil {
			return false
		}
		far = max(far, abs(iw-iu))
	}
	return far > 0 && abs(iv-iu) <= 2*far
}

// idColumns are the columns that hold user and group ids, allocated by
// useradd/groupadd on each host in its own order (see drifted).
var idColumns = []string{"uid", "gid", "euid", "egid"}

// idRange returns the allocation range of a user or group id, as
// login.defs's defaults draw them (shadow-utils, Debian and Amazon Linux
// alike): 0 root; 1 system ids (1 to SYS_UID_MAX 999); 2 login users
// (UID_MIN 1000 to UID_MAX 60000); 3 what no allocation gives (nobody's
// 65534, negative or larger ids). These are the operating system's
// conventions, not figures of a fleet.
func idRange(id int64) int {
	switch {
	case id == 0:
		return 0
	case id >= 1 && id <= 999:
		return 1
	case id >= 1000 && id <= 60000:
		return 2
	}
	return 3
}

func abs(x int64) int64 {
	if x < 0 {
		return -x
	}
	return x
}

// better reports whether verdict a says more than b: a structured
// deviation before a variant, then the less probable.
func better(a, b verdict) bool {
	if a.kind != b.kind {
		return a.kind == vDeviation
	}
	return a.p < b.p
}

// countParents counts, for every template, the hosts whose row of it has
// each parent name (see cmdRows.parentNamesOf).
func (m *cmdModel) countParents() {
	c := m.rows
	if c.parent == nil {
		return
	}
	m.parents = map[int32]*parentStats{}
	var keys []uint64
	for h, fs := range c.perHost {
		keys = keys[:0]
		for _, fp := range c.parent[h] {
			keys = append(keys, uint64(c.feats[fs[fp.i]].tmpl)<<32|uint64(fp.p))
		}
		slices.Sort(keys)
		keys = slices.Compact(keys)
		last := int32(-1)
		for _, k := range keys {
			t, p := int32(k>>32), int32(k&0xffffffff)
			ps := m.parents[t]
			if ps == nil {
				ps = &parentStats{count: map[int32]int32{}}
				m.parents[t] = ps
			}
			ps.count[p]++
			ps.draws++
			if t != last {
				ps.hosts++
				last = t
			}
		}
	}
	for _, ps := range m.parents {
		for p := range ps.count {
			ps.sorted = append(ps.sorted, p)
		}
		slices.SortFunc(ps.sorted, func(a, b int32) int {
			return cmp.Or(cmp.Compare(ps.count[b], ps.count[a]), strings.Compare(c.parentNames[a], c.parentNames[b]))
		})
	}
}

// parentVerdict judges the parent name p of a row of template t on one
// host: a deviation when at most minority hosts have that parent for the
// template and the template's parents are dominated (isDominated, the
// judged host left out). kind is vNone otherwise.
func (m *cmdModel) parentVerdict(t, p int32) verdict {
	ps := m.parents[t]
	if ps == nil || ps.hosts <= m.r || len(ps.sorted) < 2 {
		return verdict{}
	}
	n := ps.count[p]
	if n > m.minority {
		return verdict{}
	}
	others := ps.hosts - 1
	var usual int64
	novel := int32(0)
	for _, q := range ps.sorted {
		cq := ps.count[q]
		if q != p && m.p.isUsual(cq, others, m.r) {
			usual += int64(cq)
		}
		if cq <= m.r {
			novel += cq
		}
	}
	if !m.p.isDominated(usual, ps.draws-int64(n)) {
		return verdict{}
	}
	if n <= m.r {
		novel--
	}
	top := ps.sorted[0]
	if top == p {
		top = ps.sorted[1]
	}
	names := m.rows.parentNames
	return verdict{kind: vDeviation, p: noveltyRate(novel, others), decides: m.p.decides(novel, others), hosts: n, ctxHosts: others, col: "parent",
		usual: -1, usualHosts: ps.count[top], value: names[p], usualValue: names[top]}
}
