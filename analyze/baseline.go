package analyze

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/diffy-dfir/diffy/collect"
	"github.com/diffy-dfir/diffy/diffyerr"
)

// Baseline is the Analyzer that compares every host with a baseline: the
// Results of one known-clean instance (the "functional baseline" of the
// original Diffy), or of a whole group collected earlier (a fleet
// baseline).
//
// With one baseline instance, each host's rows and the baseline's are
// compared as sets per command, after dropping volatile columns (see
// Volatile): a row the host has and the baseline does not is a Finding of
// kind KindAdded, a row the baseline has and the host does not is
// KindRemoved. Rows are compared whole, never by position, and duplicate
// rows count once. Unless KeepTokens is set, per-host tokens inside
// values (instance IDs, host names, UUIDs, long hex IDs, host addresses,
// ephemeral ports in command lines) are first replaced by placeholders
// with NormalizeRow, so that a host does not differ from the baseline
// merely by carrying its own name in a command line; Finding.Row is then
// the normalized row. A host is an outlier when it has any finding; its
// Score is its number of findings.
//
// With a baseline of several instances (a fleet baseline), each host's
// rows are judged against what the baseline fleet says of them, as
// Clustering judges a host against the rest of its fleet (see the package
// doc): a row the baseline has, or whose template the baseline has with
// each of its values in a column whose values are spread there (a
// splayed minute, a random port, a role, a version rolled out in large
// shares), is no finding; a row whose value is new where the baseline's
// values are dominated, or that nothing in the baseline is like, is
// KindAdded; so is a process whose parent is new where the baseline's
// parents of it are dominated. An added row decides (makes the host an
// outlier) when it is on at most a fifth of the hosts (more is a change
// of the whole group since the baseline, named in Report.Notes: an
// upgrade, a new image) and no more than a fifth of the other hosts show
// a rare added row of its context. A template on 1−φ of the baseline's
// hosts that the host lacks is KindRemoved, and decides when at most
// rareCount(n) of the n hosts lack it (hosts replaced from a newer image
// lack the old one's rows together) and at most rareCount(n_b) of the
// n_b baseline hosts lacked it (more is the baseline's own variation: a
// role's hosts, which lack the other roles' rows). Score is the evidence in bits, as
// for Clustering.
//
// Four kinds of added row are listed and do not decide, as for
// Clustering (see the package doc): a structured integer value drifted
// among the baseline's values (a uid useradd gave in another order, see
// drifted); a process caught running (started less than transientAge
// before its collection) unless the host's own rows say it is none of
// the host's work or runs what no job of the fleet runs (youngRule: from
// /tmp, under a hidden name, posing as a kernel thread...); an
// operator's login session (markBaselineSessions: its rows, what runs
// under them from the fleet's directories, a listener of theirs); and a
// process whose parent, on that host, is a row at most a fifth of the
// hosts have that does not decide itself (an operator's shell, a job),
// unless the row was found for that very parent. What tells a session
// or a job from an attacker at work is on the analyzed hosts, so these
// rules learn from them (the executables they run on more than r of
// them), not from the baseline. A fifth is the
// fleet baseline's own: a recombination, a row that differs from some
// baseline row in one column alone in two or more columns (refModel's
// recombined: an upgraded binary on the image whose package user has
// another uid), so that each of its values is on a baseline row like it.
//
// Findings are sorted added before removed, then by command ID, then by
// row, for one baseline instance, and most telling first for a fleet;
// HostsWithRow counts the analyzed hosts whose output of that command has
// the row, and Prevalence divides it by the number of hosts in the
// Report.
//
// What cannot be compared is said, not guessed: a host's Result that did
// not succeed (failed, timed out, truncated...) gives no findings and is
// listed in Host.Errors as "COMMAND: STATUS: ERROR"; a command the baseline
// has and a host has no Result for is listed there as "COMMAND: missing";
// a command that failed on every baseline instance, or that the baseline
// lacks, is not compared on any host and Report.Notes says so. A Result
// without an instance ID goes to Report.Skipped. Results of the original
// Diffy's files, which have no command ID, form one unnamed command ("")
// on both sides. Of several Results for one (host, command), the one
// collected last is compared and the others are named in Report.Skipped;
// Results collected at the same time are merged.
//
// Baseline is a Streamer: its Stream keeps, as Clustering's does, per
// command each distinct row once and per host the numbers of its rows, so
// that memory is bounded by distinct rows and hosts, not by the input.
// The zero value is ready to use. A Baseline is safe for concurrent use.
type Baseline struct {
	// Volatile lists the columns dropped before rows are compared; nil
	// means DefaultVolatile().
	Volatile Volatile
	// KeepTokens turns off the normalization of per-host tokens
	// (NormalizeRow): rows are then compared exactly as collected, less
	// their volatile columns.
	KeepTokens bool
	// IgnoreCommands lists command IDs left out of the analysis entirely.
	IgnoreCommands []string
	// MaxFindings is the most findings kept per host; 0 (or less) keeps
	// them all. Host.FindingsOmitted counts those not kept.
	MaxFindings int
	// Now gives Report.CreatedAt; nil means time.Now.
	Now func() time.Time
	// RareShare (ρ) and MinorityShare (φ) are those of Clustering, for
	// a fleet baseline (0: DefaultRareShare, DefaultMinorityShare).
	RareShare, MinorityShare float64
}

var (
	_ Analyzer     = Baseline{}
	_ BaselineUser = Baseline{}
	_ Streamer     = Baseline{}
	_ HostStream   = (*baselineStream)(nil)
)

// defaultVolatile is what an analyzer with a nil Volatile uses; never
// changed.
var defaultVolatile = DefaultVolatile()

// NeedsBaseline reports true: Baseline compares against a stored baseline.
func (Baseline) NeedsBaseline() bool { return true }

// Name returns "baseline", the Report.Analyzer of a Baseline.
func (Baseline) Name() string { return "baseline" }

// Analyze compares every host of in.Results with in.Baseline. It returns an
// error matching diffyerr.ErrNoBaseline when in.Baseline is empty (or
// holds no Result with an instance ID). It is NewStream, one Add of
// in.Results and Report.
func (b Baseline) Analyze(ctx context.Context, in Input) (*Report, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s, err := b.NewStream(in.Key, in.Baseline)
	if err != nil {
		return nil, err
	}
	if err := s.Add(ctx, in.Results); err != nil {
		return nil, err
	}
	return s.Report(ctx, in.Skipped)
}

// NewStream starts the comparison of key's hosts with baseline, whose
// Results come in batches. It returns an error matching
// diffyerr.ErrNoBaseline when baseline holds no Result with an instance
// ID. The baseline is learned here, at once; the hosts' Results are kept
// as Clustering's stream keeps them.
func (b Baseline) NewStream(key string, baseline []collect.Result) (Stream, error) {
	vol := b.Volatile
	if vol == nil {
		vol = defaultVolatile
	}
	ignored := func(id string) bool { return slices.Contains(b.IgnoreCommands, id) }
	p, err := newParams("baseline", b.RareShare, b.MinorityShare)
	if err != nil {
		return nil, err
	}
	ref := newRowStream(vol, !b.KeepTokens, p)
	ref.ignore = ignored
	if err := ref.add(context.Background(), baseline); err != nil {
		return nil, err
	}
	ids, cmds, _, _ := ref.finish()
	if len(ids) == 0 {
		return nil, fmt.Errorf("baseline analysis of %q: the baseline holds no results (of an instance): %w", key, diffyerr.ErrNoBaseline)
	}
	s := &baselineStream{b: b, key: key, baseIDs: ids, base: map[string]*cmdRows{},
		streamRun: streamRun{name: "baseline stream", rows: newRowStream(vol, !b.KeepTokens, p)}}
	s.rows.ignore = ignored
	for _, c := range cmds {
		s.base[c.id] = c
	}
	if len(ids) > 1 {
		s.models = make(map[string]*refModel, len(cmds))
		models := make([]*refModel, len(cmds))
		_ = parallel(len(cmds), func(i int) error { models[i] = newRefModel(cmds[i], len(ids)); return nil })
		for i, c := range cmds {
			s.models[c.id] = models[i]
		}
	} else {
		s.rows.noParents = true
	}
	return s, nil
}

// baselineStream is the Stream of a Baseline.
type baselineStream struct {
	streamRun
	b       Baseline
	key     string
	baseIDs []string            // the baseline's instances, sorted
	base    map[string]*cmdRows // the baseline's rows, by command
	models  map[string]*refModel
}

// Report compares what was added with the baseline; skipped (inputs
// dropped before the analysis) goes first in Report.Skipped. It is
// ReportHosts with every host kept.
func (s *baselineStream) Report(ctx context.Context, skipped []Skip) (*Report, error) {
	var hosts []Host
	rep, err := s.ReportHosts(ctx, skipped, func(r *Report) error {
		hosts = make([]Host, 0, len(s.rows.hostIDs))
		return nil
	}, func(h *Host) error {
		hosts = append(hosts, *h)
		return nil
	})
	if err != nil {
		return nil, err
	}
	rep.Hosts = hosts
	return rep, nil
}

// ReportHosts is Report, the hosts handed to host one at a time (see
// HostStream): what is held at once is the comparison (per command, the
// features each host differs in, counted, not listed, for one baseline
// instance) and one host's Findings.
func (s *baselineStream) ReportHosts(ctx context.Context, skipped []Skip, begin func(*Report) error, host func(*Host) error) (*Report, error) {
	if err := s.begin(ctx); err != nil {
		return nil, err
	}
	rep := s.newReport(s.key, s.b.Name(), s.b.Now, skipped)
	rep.Hosts = nil
	if len(s.baseIDs) == 1 {
		rep.BaselineInstance = s.baseIDs[0]
	} else {
		rep.BaselineHosts = len(s.baseIDs)
	}
	ids, cmds, dups, merged := s.rows.finish()
	rep.Skipped = append(rep.Skipped, dups...)
	n := len(ids)
	// Commands of either side, by ID.
	byID := map[string]*cmdRows{}
	for _, c := range cmds {
		byID[c.id] = c
	}
	order := slices.Sorted(func(yield func(string) bool) {
		for id := range byID {
			if !yield(id) {
				return
			}
		}
		for id := range s.base {
			if _, ok := byID[id]; !ok && !yield(id) {
				return
			}
		}
	})
	// Hosts that are not in the baseline: launched since. When more than
	// r hosts are in both, a row that only new hosts carry, and more than
	// r of them, is a change of what is launched (an image, a key pair),
	// not of the hosts.
	isNew := make([]bool, n)
	old := 0
	for h, id := range ids {
		_, found := slices.BinarySearch(s.baseIDs, id)
		isNew[h] = !found
		if found {
			old++
		}
	}
	if int32(old) <= s.rows.p.rareCount(n) {
		clear(isNew)
	}
	// What the analyzed hosts' own rows say of sessions and jobs, as
	// Clustering has it (sessionModel, youngRule): what tells them from
	// an attacker at work is on the host, not in the baseline.
	var sess *sessionModel
	var young *youngRule
	if s.models != nil {
		sess = newSessionModel(countedModels(s.rows.p, cmds, n))
		young = newYoungRule(sess)
	}
	cmp := make([]*baseCmp, len(order))
	for i, id := range order {
		cmp[i] = &baseCmp{id: id, host: byID[id], base: s.base[id], isNew: isNew}
		if s.models != nil {
			cmp[i].model = s.models[id]
			if sess.procs >= 0 && byID[id] == sess.cmds[sess.procs].rows {
				cmp[i].young = young
			}
		}
	}
	if err := parallel(len(cmp), func(i int) error { cmp[i].compare(n); return ctx.Err() }); err != nil {
		return nil, err
	}
	if s.models != nil {
		markBaselineSessions(sess, cmp, n)
		linkBaselineActivities(s.rows.p, cmp, n)
	}
	// First every host's Score, for the ranks; then each host whole, one
	// at a time.
	scores := make([]float64, n)
	kept := make([]int, n)
	withErrors := 0
	var ps []basePending
	for h := range n {
		ps = ps[:0]
		errs := false
		for _, c := range cmp {
			errs = errs || len(c.hostErrors(h)) > 0
			if s.models != nil {
				ps = c.hostFound(h, ps)
			}
		}
		if errs {
			withErrors++
		}
		if s.models == nil {
			k := 0
			for _, c := range cmp {
				k += c.foundCount(h)
			}
			scores[h], kept[h] = float64(k), k
		} else {
			s.sortFindings(ps)
			scores[h], _ = s.fleetScore(ps)
			kept[h] = len(ps)
		}
		if m := s.b.MaxFindings; m > 0 && kept[h] > m {
			kept[h] = m
		}
	}
	ranks := rankOf(ids, scores, kept)
	rep.Notes = s.notes(cmp, n, withErrors, merged)
	if begin != nil {
		if err := begin(rep); err != nil {
			return nil, err
		}
	}
	for h := range n {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		hr := Host{InstanceID: ids[h], Rank: ranks[h]}
		ps = ps[:0]
		for _, c := range cmp {
			hr.Errors = append(hr.Errors, c.hostErrors(h)...)
			ps = c.hostFound(h, ps)
		}
		s.hostFindings(&hr, ps, n)
		if err := host(&hr); err != nil {
			return nil, err
		}
	}
	return rep, nil
}

// basePending is a finding of the baseline analysis before its Finding is
// built.
type basePending struct {
	c        *baseCmp
	removed  bool
	feat     int32 // the host's feature (added) or the baseline's (removed)
	v        verdict
	deciding bool
	bits     float64
	cause    string
	// young: a process caught running (see young); under is 1 + the
	// host's feature of the parent process whose activity the row is
	// part of (inheritBaseline), 0 when none.
	young bool
	under int32
	// youngWhy says why a young finding decides (youngRule), "" when it
	// does not; login is the operator's account whose login session the
	// row is part of (markBaselineSessions), "" when none.
	youngWhy, login string
	// baseLack counts the baseline hosts that lacked a removed row's
	// template too.
	baseLack int32
}

// baseCmp is the comparison of one command.
type baseCmp struct {
	id    string
	host  *cmdRows // the hosts' rows (nil: no host has the command)
	base  *cmdRows // the baseline's rows (nil: the baseline lacks it)
	model *refModel
	// young judges the processes' young rows (youngRule), nil for other
	// commands and for one baseline instance.
	young *youngRule
	// The baseline's state: it has a Result for the command; one of them
	// succeeded; the errors of the others.
	inBase, baseOK bool
	baseErrs       []string
	// For one baseline instance: the analyzed feature of each baseline
	// feature (-1: no host has it), and the reverse (-1: not in the
	// baseline).
	hostOf []int32
	baseOf []int32
	// hostCount counts the analyzed hosts of each analyzed feature, and
	// oldCount those of them that are in the baseline.
	hostCount, oldCount []int32
	// For a fleet: the verdict of each analyzed feature, its template
	// key, and the hosts that carry (added) or lack (removed) each.
	verdicts []verdict
	tkeys    []string
	// isNew says which hosts were launched since the baseline.
	isNew []bool
	// Per host: its findings (a fleet), or their number (counts, one
	// baseline instance: hostFound makes them again when asked); has and
	// stamp are oneHost's marks of the baseline rows a host has.
	found     [][]basePending
	counts    []int32
	has       []int32
	stamp     int32
	notInBase int // hosts with a successful Result the baseline cannot compare
	// changes are rows added or removed on more than a fifth of the
	// hosts; launched, rows only hosts launched since the baseline have.
	changes, launched []string
}

// compare compares every host's rows of the command with the baseline's.
func (c *baseCmp) compare(n int) {
	c.found = make([][]basePending, n)
	if c.base != nil {
		for h := range c.base.ok {
			c.inBase = true
			c.baseOK = c.baseOK || c.base.ok[h]
			c.baseErrs = append(c.baseErrs, c.base.errs[h]...)
		}
	}
	if c.host == nil {
		return
	}
	c.hostCount = make([]int32, len(c.host.feats))
	c.oldCount = make([]int32, len(c.host.feats))
	for h, fs := range c.host.perHost {
		for _, f := range fs {
			c.hostCount[f]++
			if !c.isNew[h] {
				c.oldCount[f]++
			}
		}
	}
	if !c.baseOK {
		for h := range n {
			if c.host.ok[h] {
				c.notInBase++
			}
		}
		return
	}
	if c.model == nil {
		c.compareOne(n)
	} else {
		c.compareFleet(n)
	}
}

// compareOne is the comparison with one baseline instance: rows as sets.
func (c *baseCmp) compareOne(n int) {
	keys := make(map[string]int32, len(c.host.feats))
	for f, ft := range c.host.feats {
		keys[ft.key] = int32(f)
	}
	c.baseOf = make([]int32, len(c.host.feats))
	for i := range c.baseOf {
		c.baseOf[i] = -1
	}
	base := c.base.perHost[0]
	c.found = nil
	c.hostOf = make([]int32, len(c.base.feats))
	for i := range c.hostOf {
		c.hostOf[i] = -1
	}
	for _, bf := range base {
		if f, ok := keys[c.base.feats[bf].key]; ok {
			c.hostOf[bf], c.baseOf[f] = f, bf
		}
	}
	c.has = make([]int32, len(c.base.feats))
	c.counts = make([]int32, n)
	for h := range n {
		if c.host.ok[h] {
			c.counts[h] = int32(c.oneHost(h, nil))
		}
	}
}

// oneHost compares host h's rows of the command with the baseline
// instance's and returns how many findings that gives; with found
// non-nil, it also appends them to *found: the rows the host has and the
// baseline has not (added), then those the baseline has and the host has
// not (removed). It is called for each host once to count (compareOne),
// and again for its Findings when the host's turn comes (hostFound), so
// that the findings of every host are never held together. Not safe for
// concurrent use (c.has).
func (c *baseCmp) oneHost(h int, found *[]basePending) int {
	c.stamp++
	k := 0
	for _, f := range c.host.perHost[h] {
		if bf := c.baseOf[f]; bf < 0 {
			k++
			if found != nil {
				*found = append(*found, basePending{c: c, feat: f, deciding: true})
			}
		} else {
			c.has[bf] = c.stamp
		}
	}
	for _, bf := range c.base.perHost[0] {
		if c.hostOf[bf] < 0 || c.has[bf] != c.stamp {
			k++
			if found != nil {
				*found = append(*found, basePending{c: c, removed: true, feat: bf, deciding: true})
			}
		}
	}
	return k
}

// hostFound appends host h's findings of the command to ps.
func (c *baseCmp) hostFound(h int, ps []basePending) []basePending {
	switch {
	case c.counts != nil:
		if c.counts[h] > 0 {
			c.oneHost(h, &ps)
		}
	case c.found != nil:
		ps = append(ps, c.found[h]...)
	}
	return ps
}

// foundCount returns the number of host h's findings of the command.
func (c *baseCmp) foundCount(h int) int {
	if c.counts != nil {
		return int(c.counts[h])
	}
	if c.found != nil {
		return len(c.found[h])
	}
	return 0
}

// compareFleet is the comparison with a fleet baseline (see Baseline).
func (c *baseCmp) compareFleet(n int) {
	m := c.model
	r := m.p.rareCount(n)
	minority := m.p.minority(n)
	c.verdicts = make([]verdict, len(c.host.feats))
	c.tkeys = make([]string, len(c.host.feats))
	for f, ft := range c.host.feats {
		c.verdicts[f] = m.judge(ft.key)
		c.tkeys[f] = string(appendTemplateKey(nil, ft.key))
	}
	if c.young != nil {
		c.young.verdict = func(f int32) verdict { return c.verdicts[f] }
	}
	// Usual baseline templates: on 1-φ of the baseline's hosts.
	var usual []int32
	for t, tp := range m.tmpls {
		if m.p.isUsual(tp.hosts, int32(m.n), m.r) {
			usual = append(usual, int32(t))
		}
	}
	// lacked lists, per host, the usual templates it lacks; lacking
	// counts the hosts that lack each.
	lacking := make([]int32, len(m.tmpls))
	lacked := make([][]int32, n)
	hasT := make([]int32, len(m.tmpls))
	for h := range n {
		if !c.host.ok[h] {
			continue
		}
		for _, f := range c.host.perHost[h] {
			if t, ok := m.tmplOf[c.tkeys[f]]; ok {
				hasT[t] = int32(h) + 1
			}
		}
		for _, t := range usual {
			if hasT[t] != int32(h)+1 {
				lacking[t]++
				lacked[h] = append(lacked[h], t)
			}
		}
	}
	// Each host's added rows; then the context novelty gate.
	novel := map[string]int32{} // hosts with a rare added row, by context
	type pend struct {
		p   basePending
		ctx string
		i   int // index in the host's perHost
	}
	per := make([][]pend, n)
	changed := map[string]int32{}
	launched := map[string]int32{}
	// The hosts of each (feature, parent name), and of them those in the
	// baseline.
	type parentKey struct{ f, p int32 }
	pairs, oldPairs := map[parentKey]int32{}, map[parentKey]int32{}
	if c.host.parent != nil {
		for h := range n {
			// A host counts once per (row, parent name): its parent list
			// has an entry per parent row, and several parent rows (two
			// containerd-shims, say) can carry one name.
			var last parentKey
			for j, fp := range c.host.parent[h] {
				k := parentKey{c.host.perHost[h][fp.i], fp.p}
				if j > 0 && k == last {
					continue
				}
				last = k
				pairs[k]++
				if !c.isNew[h] {
					oldPairs[k]++
				}
			}
		}
	}
	for h := range n {
		if !c.host.ok[h] {
			continue
		}
		var ps []pend
		seenCtx := map[string]bool{}
		// add adds a finding of feature f whose row (or row and parent) is
		// on hosts of the hosts, old of them in the baseline.
		var i int
		add := func(f int32, v verdict, ctx string, hosts, old int32) {
			what := rowSummary(c.id, c.host.feats[f].key)
			if v.col == "parent" {
				what += fmt.Sprintf(" under %q", v.value)
			}
			if hosts > minority {
				changed[what] = hosts
				return
			}
			if old == 0 && c.isNew[h] && hosts > r {
				launched[what] = hosts
				return
			}
			v.hosts = hosts
			young := c.host.isYoung(h, i)
			ps = append(ps, pend{basePending{c: c, feat: f, v: v, bits: surprise(v.p), young: young}, ctx, i})
			if hosts <= r && v.kind != vVariant && !young && !seenCtx[ctx] {
				seenCtx[ctx] = true
				novel[ctx]++
			}
		}
		par := []featParent(nil)
		if c.host.parent != nil {
			par = c.host.parent[h]
		}
		for j, f := range c.host.perHost[h] {
			i = j
			switch v := c.verdicts[f]; v.kind {
			case vNew:
				add(f, v, "new", c.hostCount[f], c.oldCount[f])
			case vDeviation, vVariant:
				add(f, v, v.col+"\x00"+v.usualValue+"\x00"+c.tkeys[f], c.hostCount[f], c.oldCount[f])
			}
			for ; len(par) > 0 && par[0].i < int32(j); par = par[1:] {
			}
			for ; len(par) > 0 && par[0].i == int32(j); par = par[1:] {
				if v := m.judgeParent(c.host.feats[f].key, c.tkeys[f], c.host.parentNames[par[0].p]); v.kind == vDeviation || v.kind == vVariant {
					k := parentKey{f, par[0].p}
					add(f, v, "parent\x00"+c.tkeys[f], pairs[k], oldPairs[k])
				}
			}
		}
		per[h] = ps
	}
	for h := range n {
		if !c.host.ok[h] {
			continue
		}
		var found []basePending
		for _, x := range per[h] {
			nv := novel[x.ctx]
			if c.hostCount[x.p.feat] <= r {
				nv--
			}
			// With one host there is no other to tell a change of the
			// whole group from: the comparison with the baseline decides.
			// A process caught running decides only as youngRule says.
			x.p.deciding = x.p.v.kind != vVariant && (n == 1 || c.model.p.decides(nv, int32(n)-1))
			if x.p.young {
				if x.p.deciding && c.young != nil {
					x.p.deciding, x.p.youngWhy = c.young.decides(h, x.p.feat, x.p.v)
				} else {
					x.p.deciding = false
				}
			}
			x.p.cause = x.ctx
			found = append(found, x.p)
		}
		c.inheritBaseline(h, found, minority)
		c.found[h] = found
	}
	// Removed: a usual baseline template the host lacks.
	for h := range n {
		for _, t := range lacked[h] {
			if lacking[t] > minority {
				changed["without "+rowSummary(c.id, m.rows.feats[m.tmpls[t].feats[0]].key)] = lacking[t]
				continue
			}
			// Lacking it decides when few hosts lack it now and few
			// baseline hosts did: when more than r(n_b) of the n_b
			// baseline hosts lacked it too (a role's hosts, an optional
			// package), lacking it is the baseline's own variation.
			tp := &m.tmpls[t]
			v := verdict{kind: vNew, p: 1 / float64(tp.hosts+1), hosts: lacking[t], ctxHosts: int32(m.n), usual: -1, usualHosts: tp.hosts}
			baseLack := max(m.hostsOK-tp.hosts, 0)
			c.found[h] = append(c.found[h], basePending{c: c, removed: true, feat: tp.feats[0], v: v, baseLack: baseLack,
				deciding: lacking[t] <= r && baseLack <= m.r, bits: surprise(v.p), cause: "removed\x00" + tp.key})
		}
	}
	for s, k := range changed {
		c.changes = append(c.changes, fmt.Sprintf("%s (%s hosts)", s, count(k)))
	}
	slices.Sort(c.changes)
	for s, k := range launched {
		c.launched = append(c.launched, fmt.Sprintf("%s (%s hosts)", s, count(k)))
	}
	slices.Sort(c.launched)
}

// inheritBaseline is inheritFromParents for a fleet baseline: a deciding
// added finding of a process of host h whose parent, on that host, is a
// row at most minority of the hosts have and that does not decide itself
// is part of that activity (what an operator runs in a session's shell,
// a job's children) and does not decide; a child of a deciding row stays
// deciding, and so does a row found for its parent (a daemon under the
// application). Applied until nothing changes.
func (c *baseCmp) inheritBaseline(h int, found []basePending, minority int32) {
	if c.host.parent == nil || len(c.host.parent[h]) == 0 {
		return
	}
	deciding := map[int32]bool{}
	for _, p := range found {
		if p.deciding && !p.removed {
			deciding[p.feat] = true
		}
	}
	for changed := len(deciding) > 0; changed; {
		changed = false
		for k := range found {
			p := &found[k]
			// A row found for its parent is not excused by that parent;
			// a young row's chain is judged by youngRule.
			if p.removed || !p.deciding || p.v.col == "parent" || p.youngWhy != "" {
				continue
			}
			i, ok := slices.BinarySearch(c.host.perHost[h], p.feat)
			if !ok {
				continue
			}
			for _, fp := range c.host.parent[h] {
				if fp.i != int32(i) || fp.pf < 0 || fp.pf == p.feat || deciding[fp.pf] || c.hostCount[fp.pf] > minority {
					continue
				}
				p.deciding, p.under = false, fp.pf+1
				delete(deciding, p.feat)
				changed = true
				break
			}
		}
	}
}

// countedModels returns, for each command of the n analyzed hosts (cmds,
// finished), the part of its cmdModel that counts its rows' hosts and
// templates: what sessionModel and youngRule learn of the fleet they
// judge.
func countedModels(p params, cmds []*cmdRows, n int) []*cmdModel {
	out := make([]*cmdModel, len(cmds))
	for i, c := range cmds {
		out[i] = &cmdModel{rows: c, p: p, n: n, r: p.rareCount(n), minority: p.minority(n), fv: map[int32]verdict{}}
		out[i].countFeatures()
		// The session rules read how many hosts carry a row's template
		// (sessionExes: a session's activity is unusual rows).
		out[i].buildTemplates()
	}
	return out
}

// markBaselineSessions does for a fleet baseline what
// sessionModel.markSessions, keepDeciding and keepListeners do for
// Clustering: a deciding added process row of a host that is an
// operator's login session (hostSessions.session: an operator's uid or
// name, running what the analyzed fleet runs), or the users row of such
// an account, does not decide, nor what runs under it (inheritBaseline)
// unless it runs from outside the fleet's directories, nor a listener of
// a session's process (python3 -m http.server). The baseline cannot tell
// them: a session's rows are on the few hosts people are logged in on,
// now, and the week-old baseline has other sessions or none. The host's
// added findings of those commands are converted to Clustering's
// (pendingFinding) for its rules, and back.
func markBaselineSessions(s *sessionModel, cmps []*baseCmp, n int) {
	if s.known == nil {
		return
	}
	// The comparison of each command the rules read, by its index in
	// s.cmds.
	byCmd := map[int]*baseCmp{}
	for _, c := range cmps {
		if c.host == nil || c.found == nil || c.verdicts == nil {
			continue
		}
		for _, i := range []int{s.procs, s.users, s.lps} {
			if i >= 0 && c.host == s.cmds[i].rows {
				byCmd[i] = c
			}
		}
	}
	pc := byCmd[s.procs]
	if pc == nil {
		return
	}
	minority := s.cmds[s.procs].minority
	type at struct {
		c *baseCmp
		i int
	}
	var d hostDecision
	var back []at
	gather := func(h int) {
		d.finds, back = d.finds[:0], back[:0]
		for _, ci := range []int{s.procs, s.users, s.lps} {
			c := byCmd[ci]
			if c == nil {
				continue
			}
			for i, p := range c.found[h] {
				if !p.removed {
					d.finds = append(d.finds, pendingFinding{cmd: int32(ci), feat: p.feat, v: p.v, deciding: p.deciding, young: p.young,
						youngWhy: p.youngWhy, under: p.under - 1, login: p.login})
					back = append(back, at{c, i})
				}
			}
		}
	}
	scatter := func(h int) {
		for k, b := range back {
			p := &b.c.found[h][b.i]
			p.deciding, p.under, p.login = d.finds[k].deciding, d.finds[k].under+1, d.finds[k].login
		}
	}
	for h := range n {
		gather(h)
		if s.markSessions(h, &d, &candidates{}) {
			// What runs under a session's rows is part of it.
			scatter(h)
			pc.inheritBaseline(h, pc.found[h], minority)
			gather(h)
			s.keepDeciding(h, d.finds)
		}
		s.keepListeners(h, d.finds)
		scatter(h)
	}
}

// linkBaselineActivities makes the deciding added findings of rows that
// are part of a benign minority activity (activityLinks: today's canary
// opening a port of its own) non-deciding. The activity rows of a host
// are its rows on at most minority of the hosts that do not decide there
// and that are either the baseline's own rows or findings that do not
// decide for a reason of their own (a variant: the canary's release; a
// session's, a job's row), or rows of a baseline template whose new
// value is in a column whose values are spread there (the canary's
// crontab line naming its release). A row of a template the baseline
// never had, no finding only because a spread context of it explains it
// (vExplained: a key of root where the baseline's keys vary by user), is
// no activity: what a campaign plants beside its miner can be such a
// row, on exactly the campaign's hosts, and it would excuse the miner
// and the crontab line.
func linkBaselineActivities(p params, cmps []*baseCmp, n int) {
	type rowKey struct{ cmd, feat int32 }
	hostsOf := map[rowKey][]int32{}
	var keys []rowKey
	hostActivity := make([][]int64, n)
	activityHosts := map[int64]int32{}
	minority := p.minority(n)
	deciding := map[int32]bool{}
	for ci, c := range cmps {
		if c.host == nil || c.model == nil || c.verdicts == nil {
			continue
		}
		for h := range n {
			clear(deciding)
			for _, p := range c.found[h] {
				if p.deciding && !p.removed {
					deciding[p.feat] = true
					k := rowKey{int32(ci), p.feat}
					if _, ok := hostsOf[k]; !ok {
						keys = append(keys, k)
					}
					hostsOf[k] = append(hostsOf[k], int32(h))
				}
			}
			for _, f := range c.host.perHost[h] {
				if c.hostCount[f] <= minority && !deciding[f] && !newExplained(c, f) {
					a := int64(ci)<<32 | int64(f)
					hostActivity[h] = append(hostActivity[h], a)
					activityHosts[a]++
				}
			}
		}
	}
	if len(keys) == 0 {
		return
	}
	rows := make([][]int32, len(keys))
	for i, k := range keys {
		rows[i] = hostsOf[k]
	}
	linked := map[rowKey]string{}
	for i, v := range activityLinks(p, rows, hostActivity, activityHosts, n) {
		if v != noLink {
			c := cmps[v>>32]
			linked[keys[i]] = rowSummary(c.id, c.host.feats[int32(v&0xffffffff)].key)
		}
	}
	for ci, c := range cmps {
		for h := range c.found {
			for i := range c.found[h] {
				p := &c.found[h][i]
				if act, ok := linked[rowKey{int32(ci), p.feat}]; ok && p.deciding && !p.removed {
					p.deciding, p.v.version = false, act
				}
			}
		}
	}
}

// newExplained reports whether the analyzed feature f is of a template
// the baseline does not have, explained only by a spread context of it
// (see linkBaselineActivities).
func newExplained(c *baseCmp, f int32) bool {
	if c.verdicts[f].kind != vExplained {
		return false
	}
	_, ok := c.model.tmplOf[c.tkeys[f]]
	return !ok
}

// rowSummary names a row of a command in a note.
func rowSummary(cmd, key string) string {
	return displayID(cmd) + " row " + describeRow(rowOfKey(key))
}

// hostErrors returns host h's errors for the command: its failed
// Results, or "missing" when it has none and the baseline has the
// command.
func (c *baseCmp) hostErrors(h int) []string {
	if c.host == nil || h >= len(c.host.ok) || !c.host.ok[h] && len(c.host.errs[h]) == 0 {
		if c.inBase {
			return []string{displayID(c.id) + ": missing: no result for this command"}
		}
		return nil
	}
	return c.host.errs[h]
}

// hostFindings turns a host's pending findings into its Findings, Score
// and decision.
func (s *baselineStream) hostFindings(host *Host, ps []basePending, n int) {
	fleet := s.models != nil
	s.sortFindings(ps)
	if fleet {
		host.Score, host.Outlier = s.fleetScore(ps)
	} else {
		host.Score = float64(len(ps))
		host.Outlier = len(ps) > 0
	}
	if max := s.b.MaxFindings; max > 0 && len(ps) > max {
		host.FindingsOmitted = len(ps) - max
		ps = ps[:max]
	}
	host.Findings = make([]Finding, len(ps))
	for i, p := range ps {
		host.Findings[i] = p.finding(n, fleet)
	}
}

// sortFindings sorts a host's pending findings in the order of its
// Findings: for a fleet baseline, deciding first, then by evidence; for
// one instance, added before removed, then by command and row.
func (s *baselineStream) sortFindings(ps []basePending) {
	if s.models != nil {
		slices.SortFunc(ps, func(a, b basePending) int {
			if a.deciding != b.deciding {
				if a.deciding {
					return -1
				}
				return 1
			}
			if a.bits != b.bits {
				return cmp.Compare(b.bits, a.bits)
			}
			if a.removed != b.removed {
				if !a.removed {
					return -1
				}
				return 1
			}
			return cmp.Or(strings.Compare(a.c.id, b.c.id), strings.Compare(a.key(), b.key()))
		})
		return
	}
	slices.SortFunc(ps, func(a, b basePending) int {
		if a.removed != b.removed {
			if !a.removed {
				return -1
			}
			return 1
		}
		return cmp.Or(strings.Compare(a.c.id, b.c.id), strings.Compare(a.key(), b.key()))
	})
}

// fleetScore returns the Score of a host against a fleet baseline (the
// best evidence of each deciding cause, added up, in sorted order) and
// whether it is an outlier; ps is sorted (sortFindings).
func (s *baselineStream) fleetScore(ps []basePending) (score float64, outlier bool) {
	best := map[string]float64{}
	for _, p := range ps {
		if p.deciding {
			outlier = true
			best[p.c.id+"\x00"+p.cause] = max(best[p.c.id+"\x00"+p.cause], p.bits)
		}
	}
	for _, k := range slices.Sorted(maps.Keys(best)) {
		score += best[k]
	}
	return float64(int64(score*1000+0.5)) / 1000, outlier
}

// key returns the normalized key of the finding's row.
func (p basePending) key() string {
	if p.removed {
		if p.c.model != nil {
			return p.c.model.rows.feats[p.feat].key
		}
		return p.c.base.feats[p.feat].key
	}
	return p.c.host.feats[p.feat].key
}

// row returns the finding's row (see key), shared with every finding of
// the same feature.
func (p basePending) row() collect.Row {
	if p.removed {
		if p.c.model != nil {
			return p.c.model.rows.featRow(p.feat)
		}
		return p.c.base.featRow(p.feat)
	}
	return p.c.host.featRow(p.feat)
}

// finding builds the Finding: the row (normalized, volatile columns
// dropped), how many of the n hosts have it and, for a fleet, why.
func (p basePending) finding(n int, fleet bool) Finding {
	f := Finding{CommandID: p.c.id, Kind: KindAdded, Row: p.row(), Deciding: fleet && p.deciding}
	switch {
	case p.removed && !fleet:
		f.Kind = KindRemoved
		if hf := p.c.hostOf[p.feat]; hf >= 0 {
			f.HostsWithRow = int(p.c.hostCount[hf])
		}
	case p.removed:
		f.Kind = KindRemoved
		f.HostsWithRow = n - int(p.v.hosts)
		f.Why = fmt.Sprintf("%s of the %s baseline hosts have a %s row like it; this host and %s other(s) of the %s have none",
			count(p.v.usualHosts), count(p.v.ctxHosts), displayID(p.c.id), count(p.v.hosts-1), count(n))
		if p.baseLack > p.c.model.r {
			f.Why += fmt.Sprintf("; %s baseline hosts had none either (more than %s of them), which does not decide: the baseline's own variation (a role, an optional package)",
				count(p.baseLack), count(p.c.model.r))
		}
	default:
		f.HostsWithRow = int(p.c.hostCount[p.feat])
	}
	f.Prevalence = float64(f.HostsWithRow) / float64(max(n, 1))
	if fleet && !p.removed {
		f.Column = p.v.col
		f.Template = templateRow(p.c.tkeys[p.feat], p.v.col)
		f.HostsWithTemplate = int(p.v.ctxHosts)
		switch {
		case p.v.kind == vNew:
			f.Why = fmt.Sprintf("no baseline host (of %s) has a %s row like it; %s of the %s hosts have it now", count(p.v.ctxHosts),
				displayID(p.c.id), count(f.HostsWithRow), count(n))
		default:
			value, usual := p.v.value, p.v.usualValue
			if value == "" && usual == "" {
				value, _ = keyValue(p.key(), p.v.col)
				if p.v.usual >= 0 {
					usual, _ = keyValue(p.c.model.rows.feats[p.v.usual].key, p.v.col)
				}
			}
			f.Usual, f.UsualHosts = usual, int(p.v.usualHosts)
			// Of a parent, the hosts "with it" are those whose row has
			// that parent (v.hosts), not all those with the row.
			now := f.HostsWithRow
			if p.v.col == "parent" {
				now = int(p.v.hosts)
			}
			f.Why = fmt.Sprintf("%s=%q, which no baseline host has, where %s of the %s baseline hosts with this row have %q; %s of the %s hosts have it now",
				p.v.col, value, count(p.v.usualHosts), count(p.v.ctxHosts), usual, count(now), count(n))
			if p.v.kind == vVariant && p.v.version == "" && p.v.known == "" {
				f.Why += variantWhy(p.v.col)
			}
		}
		if p.v.known != "" {
			f.Why += fmt.Sprintf("; each of its values is on baseline rows that differ from it in one column of %s: a recombination of the baseline's variation, which does not decide", p.v.known)
		}
		if p.v.version != "" {
			f.Why += fmt.Sprintf("; it is on the hosts of %s, which does not decide: part of that activity", p.v.version)
		}
		if p.young {
			f.Why += youngWhy(p.c.host.p, p.youngWhy)
		}
		if p.login != "" {
			f.Why += loginWhy(p.c.id, p.login)
		}
		if p.under > 0 {
			f.Why += fmt.Sprintf("; it runs under %s, which is on %s of the %s hosts and does not decide: part of that activity",
				describeRow(rowOfKey(p.c.host.feats[p.under-1].key)), count(p.c.hostCount[p.under-1]), count(n))
		}
		if !p.deciding && p.v.kind != vVariant && p.v.version == "" && !p.young && p.under == 0 && p.login == "" {
			f.Why += "; more than a fifth of the hosts show such rows there, so it does not decide"
		}
	}
	f.keep()
	return f
}

// notes says what could not be compared, and what changed in the whole
// group since a fleet baseline.
func (s *baselineStream) notes(cmps []*baseCmp, n, withErrors, merged int) []string {
	var notes []string
	from := "the baseline instance " + s.baseIDs[0]
	if len(s.baseIDs) > 1 {
		from = fmt.Sprintf("any of the %s baseline instances", count(len(s.baseIDs)))
		notes = append(notes, fmt.Sprintf("baseline analysis of %d hosts against a fleet baseline of %d hosts: a row is added when the baseline has nothing like it, or a new value where the baseline's values are dominated; it decides when it is on at most %[3]s of the hosts and no more than %[3]s show such rows there",
			n, len(s.baseIDs), s.rows.p.minorityWords()))
	}
	for _, c := range cmps {
		switch {
		case c.inBase && !c.baseOK:
			notes = append(notes, fmt.Sprintf("command %s did not succeed on %s (%s); it was not compared on any host",
				displayID(c.id), from, strings.Join(c.baseErrs, "; ")))
		case !c.inBase && c.notInBase > 0:
			notes = append(notes, fmt.Sprintf("command %s is not in the baseline of %s; it was not compared on the %d hosts that ran it",
				displayID(c.id), strings.TrimPrefix(from, "the baseline "), c.notInBase))
		case c.inBase && len(c.baseErrs) > 0:
			notes = append(notes, fmt.Sprintf("command %s has failed Results in the baseline beside successful ones (%s); only the successful rows were compared",
				displayID(c.id), strings.Join(c.baseErrs, "; ")))
		}
		if len(c.changes) > 0 {
			notes = append(notes, fmt.Sprintf("%d %s rows changed on more than a fifth of the hosts since the baseline (a change of the whole group: an upgrade, a new image), not flagged: %s",
				len(c.changes), displayID(c.id), listSome(c.changes, 5)))
		}
	}
	for _, c := range cmps {
		if len(c.launched) > 0 {
			notes = append(notes, fmt.Sprintf("%d %s rows are only on hosts launched since the baseline (a change of what is launched: an image, a key pair), not flagged: %s",
				len(c.launched), displayID(c.id), listSome(c.launched, 5)))
		}
	}
	if withErrors > 0 {
		notes = append(notes, fmt.Sprintf("%d of %d hosts have commands that could not be compared (see their errors); their other commands were compared",
			withErrors, n))
	}
	if merged > 0 {
		notes = append(notes, fmt.Sprintf("%d (host, command) pairs had several Results collected at the same time; neither being later, their rows were merged", merged))
	}
	return notes
}

// listSome joins the first k items with "; ", and says how many more
// there are.
func listSome(items []string, k int) string {
	s := strings.Join(items[:min(len(items), k)], "; ")
	if len(items) > k {
		s += fmt.Sprintf(" and %d more", len(items)-k)
	}
	return s
}

// displayID names a command in messages; the original's files have an
// empty command ID.
func displayID(id string) string {
	if id == "" {
		return "(unnamed)"
	}
	return id
}

// resultError describes a Result that cannot be analyzed:
// "COMMAND: STATUS: ERROR", cut by cutText (the error is the host's).
func resultError(r *collect.Result) string {
	status := string(r.Status)
	if status == "" {
		status = "no status"
	}
	if r.Truncated {
		status += " (truncated)"
	}
	if r.StatusDetails != "" && r.StatusDetails != string(r.Status) {
		status += " (" + r.StatusDetails + ")"
	}
	msg := r.Error
	if msg == "" {
		msg = "no error text"
	}
	return cutText(displayID(r.CommandID) + ": " + status + ": " + msg)
}
