package analyze

import (
	"cmp"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/maphash"
	"maps"
	"math"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/diffy-dfir/diffy/collect"
	"github.com/diffy-dfir/diffy/payload"
)

// KindTrait is the Kind of the findings in Cluster.Traits: a row most of
// the cluster has and the rest of the fleet mostly does not.
const KindTrait = "trait"

// DefaultMaxFindings is the number of findings Cluster keeps per host when
// Clustering.MaxFindings is zero.
const DefaultMaxFindings = 10

// DefaultMaxTraits is the number of traits Cluster keeps per cluster.
const DefaultMaxTraits = 5

// Clustering is the Analyzer that needs no clean host: it finds the hosts that
// carry rows the rest of the fleet, or the host's own cluster, does not
// share (the "clustered baseline" the original Diffy never built). See the
// package doc's # Cluster section for the method and why.
//
// The zero value is ready to use. A Clustering is safe for concurrent use.
type Clustering struct {
	// Volatile lists the columns dropped before rows are compared; nil
	// means DefaultVolatile().
	Volatile Volatile
	// MaxFindings is the most findings kept per host, most telling first;
	// 0 means DefaultMaxFindings. Host.Score counts them all.
	MaxFindings int
	// Now gives Report.CreatedAt; nil means time.Now.
	Now func() time.Time
}

var (
	_ Analyzer     = Clustering{}
	_ BaselineUser = Clustering{}
	_ Streamer     = Clustering{}
)

// NeedsBaseline reports false: Cluster needs no baseline.
func (Clustering) NeedsBaseline() bool { return false }

// Name returns "cluster", the Report.Analyzer of a Clustering.
func (Clustering) Name() string { return "cluster" }

// hashSeed seeds the row hashes. Hashes only intern rows; no order or
// output depends on their values.
var hashSeed = maphash.MakeSeed()

// cfeat is one normalized row of one command: a feature.
type cfeat struct {
	coarse uint64 // hash of the coarse form
	shape  uint64 // hash of the coarse form's structured columns
	key    string // the normalized RowKey, for display and ordering
}

// clusterCmd holds what the analysis knows of one command. During feature
// extraction each clusterCmd is touched by one goroutine only.
type clusterCmd struct {
	id     string
	keyer  *Keyer
	buf    []byte
	norm   []byte
	coarse []byte
	shape  []byte
	// raw maps the hash of a row's volatile-stripped key to its raw row
	// number; rawFeat gives the feature of each raw row, and rawKey its
	// volatile-stripped key when that differs from the feature's
	// normalized key ("" when it is the same). fine maps the hash of the
	// normalized key to the feature.
	raw     map[uint64]int32
	rawFeat []int32
	rawKey  []string
	fine    map[uint64]int32
	feats   []cfeat
	// seen holds, by stream host number (first sight), the (feature, raw
	// row) of each row the host had, in the order added; serrs the
	// errors of its failed Results.
	seen  [][]hostFeat
	serrs [][]string
	// perHost holds each host's features, sorted, unique, by host number
	// (instance ID order); first the raw row each was first seen as, and
	// errs the errors. Set by finish.
	perHost [][]int32
	first   [][]int32
	errs    [][]string
}

// hostFeat is one row of a host: its feature and raw row.
type hostFeat struct{ feat, raw int32 }

// feature returns the feature and raw row number of row, interning them
// when new.
func (c *clusterCmd) feature(row collect.Row) (feat, raw int32) {
	c.buf = c.keyer.AppendKey(c.buf[:0], row)
	rh := maphash.Bytes(hashSeed, c.buf)
	if r, ok := c.raw[rh]; ok {
		return c.rawFeat[r], r
	}
	c.norm, c.coarse, c.shape = c.norm[:0], c.coarse[:0], c.shape[:0]
	for col, val := range keyPairs(c.buf) {
		n := normalizeColumn(c.id, col, val)
		c.norm = appendPair(c.norm, col, n)
		if isFreeText(col) || col == "name" && c.id == payload.Processes {
			n = coarseText(n)
		}
		c.coarse = appendPair(c.coarse, col, n)
		if !isFreeText(col) {
			c.shape = appendPair(c.shape, col, n)
		}
	}
	nh := maphash.Bytes(hashSeed, c.norm)
	f, ok := c.fine[nh]
	if !ok {
		f = int32(len(c.feats))
		c.fine[nh] = f
		ch := maphash.Bytes(hashSeed, c.coarse) ^ maphash.String(hashSeed, c.id)
		sh := maphash.Bytes(hashSeed, c.shape) ^ maphash.String(hashSeed, c.id)
		c.feats = append(c.feats, cfeat{coarse: ch, shape: sh, key: string(c.norm)})
	}
	raw = int32(len(c.rawFeat))
	c.raw[rh] = raw
	c.rawFeat = append(c.rawFeat, f)
	rk := ""
	if string(c.buf) != c.feats[f].key {
		rk = string(c.buf)
	}
	c.rawKey = append(c.rawKey, rk)
	return f, raw
}

// row returns the volatile-stripped row that host h (instance ID order)
// first had as local feature lf, or the normalized row when the host
// does not have it.
func (c *clusterCmd) row(h int, lf int32) collect.Row {
	if i, ok := slices.BinarySearch(c.perHost[h], lf); ok {
		if k := c.rawKey[c.first[h][i]]; k != "" {
			return rowOfKey(k)
		}
	}
	return rowOfKey(c.feats[lf].key)
}

// keyPairs yields the (column, value) pairs of a RowKey.
func keyPairs(key []byte) func(yield func(string, string) bool) {
	return func(yield func(string, string) bool) {
		for len(key) > 0 {
			n, w := binary.Uvarint(key)
			if w <= 0 || uint64(len(key)-w) < n {
				return
			}
			col := string(key[w : w+int(n)])
			key = key[w+int(n):]
			n, w = binary.Uvarint(key)
			if w <= 0 || uint64(len(key)-w) < n {
				return
			}
			val := string(key[w : w+int(n)])
			key = key[w+int(n):]
			if !yield(col, val) {
				return
			}
		}
	}
}

// appendPair appends a column and value in RowKey's encoding.
func appendPair(dst []byte, col, val string) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(col)))
	dst = append(dst, col...)
	dst = binary.AppendUvarint(dst, uint64(len(val)))
	return append(dst, val...)
}

// rowOfKey turns a RowKey back into a Row.
func rowOfKey(key string) collect.Row {
	row := collect.Row{}
	for c, v := range keyPairs([]byte(key)) {
		row[c] = v
	}
	return row
}

// add adds the Results rs[i] for i in idx, of hosts hosts[i] (stream
// numbers), to the command.
func (c *clusterCmd) add(ctx context.Context, rs []collect.Result, idx []int, hosts []int32) error {
	for j, ri := range idx {
		if j%256 == 255 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		r := &rs[ri]
		h := int(hosts[ri])
		if h >= len(c.seen) {
			c.seen = append(c.seen, make([][]hostFeat, h+1-len(c.seen))...)
			c.serrs = append(c.serrs, make([][]string, h+1-len(c.serrs))...)
		}
		if !r.OK() {
			c.serrs[h] = append(c.serrs[h], resultError(r))
			continue
		}
		for _, row := range r.Rows {
			f, raw := c.feature(row)
			c.seen[h] = append(c.seen[h], hostFeat{f, raw})
		}
	}
	return nil
}

// finish renumbers the hosts and the features: host h (instance ID
// order) is stream host oldOf[h]; features are numbered in the order the
// hosts, in that order, first have them, so that neither the order of the
// Results nor their batches matter. Each host's features become sorted
// and unique, each with the raw row it was first seen as.
func (c *clusterCmd) finish(oldOf []int32) {
	n := len(oldOf)
	c.perHost = make([][]int32, n)
	c.first = make([][]int32, n)
	c.errs = make([][]string, n)
	renum := make([]int32, len(c.feats))
	for i := range renum {
		renum[i] = -1
	}
	feats := make([]cfeat, 0, len(c.feats))
	for h, s := range oldOf {
		if int(s) >= len(c.seen) {
			continue
		}
		c.errs[h] = c.serrs[s]
		hf := c.seen[s]
		if len(hf) == 0 {
			continue
		}
		for i := range hf {
			f := &hf[i].feat
			if renum[*f] < 0 {
				renum[*f] = int32(len(feats))
				feats = append(feats, c.feats[*f])
			}
			*f = renum[*f]
		}
		slices.SortStableFunc(hf, func(x, y hostFeat) int { return cmp.Compare(x.feat, y.feat) })
		hf = slices.CompactFunc(hf, func(x, y hostFeat) bool { return x.feat == y.feat })
		fs, first := make([]int32, len(hf)), make([]int32, len(hf))
		for i, x := range hf {
			fs[i], first[i] = x.feat, x.raw
		}
		c.perHost[h], c.first[h] = fs, first
		c.seen[s] = nil
	}
	c.feats = feats
	c.seen, c.serrs, c.raw, c.rawFeat, c.fine = nil, nil, nil, nil, nil
}

// pendingFinding is a finding before its row is looked up.
type pendingFinding struct {
	feat   int32 // global feature
	weight float64
	rare   bool
}

// Analyze clusters the hosts of in.Results and reports, for each, its
// cluster, score and the rows that set it apart. in.Baseline is ignored.
// It is NewStream, one Add of in.Results and Report.
func (a Clustering) Analyze(ctx context.Context, in Input) (*Report, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s, err := a.NewStream(in.Key, in.Baseline)
	if err != nil {
		return nil, err
	}
	if err := s.Add(ctx, in.Results); err != nil {
		return nil, err
	}
	return s.Report(ctx, in.Skipped)
}

// NewStream starts a cluster analysis of key whose Results come in
// batches; baseline is ignored. The Report of a stream given all the
// Results is the same as Analyze's on them at once, whatever the batches
// and their order: several Results for one (instance, command), in one
// batch or several, count as one set of rows. What a stream keeps of the
// Results is, per command, each distinct row once (volatile columns
// dropped) and, per host, the numbers of its rows.
func (a Clustering) NewStream(key string, baseline []collect.Result) (Stream, error) {
	vol := a.Volatile
	if vol == nil {
		vol = defaultVolatile
	}
	return &clusterStream{a: a, vol: vol, key: key, hostNum: map[string]int32{}, cmds: map[string]*clusterCmd{}}, nil
}

// clusterStream is the Stream of a Clustering.
type clusterStream struct {
	a       Clustering
	vol     Volatile
	key     string
	hostNum map[string]int32 // stream host number, by first sight
	hostIDs []string         // by stream host number
	cmds    map[string]*clusterCmd
	results int    // Results added so far
	skipped []Skip // Results without instance_id
	done    bool
	err     error // of a failed Add: the stream is unusable
	// Reused by Add.
	hosts  []int32
	groups map[*clusterCmd][]int
}

// Add adds a batch of Results; each command's rows are interned by a
// goroutine of their own.
func (s *clusterStream) Add(ctx context.Context, results []collect.Result) error {
	if s.done {
		return errors.New("cluster stream: Add after Report")
	}
	if s.err != nil {
		return fmt.Errorf("cluster stream: an earlier Add failed: %w", s.err)
	}
	if err := ctx.Err(); err != nil {
		s.err = err
		return err
	}
	if s.groups == nil {
		s.groups = map[*clusterCmd][]int{}
	}
	s.hosts = slices.Grow(s.hosts[:0], len(results))[:len(results)]
	var batch []*clusterCmd
	for i := range results {
		r := &results[i]
		if r.InstanceID == "" {
			s.skipped = append(s.skipped, Skip{
				Source: fmt.Sprintf("result %d (command %q)", s.results+i+1, r.CommandID),
				Reason: "it has no instance_id",
			})
			continue
		}
		h, ok := s.hostNum[r.InstanceID]
		if !ok {
			h = int32(len(s.hostIDs))
			s.hostNum[r.InstanceID] = h
			s.hostIDs = append(s.hostIDs, r.InstanceID)
		}
		s.hosts[i] = h
		c := s.cmds[r.CommandID]
		if c == nil {
			c = &clusterCmd{id: r.CommandID, keyer: s.vol.Keyer(r.CommandID), raw: map[uint64]int32{}, fine: map[uint64]int32{}}
			s.cmds[r.CommandID] = c
		}
		if len(s.groups[c]) == 0 {
			batch = append(batch, c)
		}
		s.groups[c] = append(s.groups[c], i)
	}
	s.results += len(results)
	err := parallel(len(batch), func(i int) error {
		return batch[i].add(ctx, results, s.groups[batch[i]], s.hosts)
	})
	for _, c := range batch {
		s.groups[c] = s.groups[c][:0]
	}
	if err != nil {
		s.err = err
	}
	return err
}

// Report analyzes what was added; skipped (inputs dropped before the
// analysis) goes first in Report.Skipped.
func (s *clusterStream) Report(ctx context.Context, skipped []Skip) (*Report, error) {
	if s.done {
		return nil, errors.New("cluster stream: Report called twice")
	}
	s.done = true
	if s.err != nil {
		return nil, fmt.Errorf("cluster stream: an earlier Add failed: %w", s.err)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	a := s.a
	now := time.Now
	if a.Now != nil {
		now = a.Now
	}
	maxFindings := a.MaxFindings
	if maxFindings <= 0 {
		maxFindings = DefaultMaxFindings
	}
	rep := &Report{Key: s.key, Analyzer: a.Name(), CreatedAt: now().UTC(), Hosts: []Host{}, Skipped: append(slices.Clone(skipped), s.skipped...)}

	// Hosts, numbered in instance ID order so that the input order does
	// not matter.
	hostIDs := slices.Clone(s.hostIDs)
	slices.Sort(hostIDs)
	oldOf := make([]int32, len(hostIDs))
	for i, id := range hostIDs {
		oldOf[i] = s.hostNum[id]
	}
	n := len(hostIDs)
	if n == 0 {
		rep.Notes = append(rep.Notes, "no host to analyze")
		return rep, nil
	}
	order := slices.SortedFunc(maps.Values(s.cmds), func(x, y *clusterCmd) int { return strings.Compare(x.id, y.id) })
	if err := parallel(len(order), func(i int) error { order[i].finish(oldOf); return nil }); err != nil {
		return nil, err
	}
	s.cmds, s.hostNum, s.hostIDs = nil, nil, nil

	// Global feature numbers: commands in ID order, then first seen.
	var offsets []int32
	var total int32
	for _, c := range order {
		offsets = append(offsets, total)
		total += int32(len(c.feats))
	}
	featCmd := make([]int32, total)  // command index of each feature
	coarseOf := make([]int32, total) // coarse feature of each feature
	coarseIDs := map[uint64]int32{}  // coarse hash to coarse feature
	var coarseRep []int32            // first feature of each coarse feature
	for ci, c := range order {
		for li, f := range c.feats {
			g := offsets[ci] + int32(li)
			featCmd[g] = int32(ci)
			cid, ok := coarseIDs[f.coarse]
			if !ok {
				cid = int32(len(coarseRep))
				coarseIDs[f.coarse] = cid
				coarseRep = append(coarseRep, g)
			}
			coarseOf[g] = cid
		}
	}
	nCoarse := len(coarseRep)

	// Each host's features (global, sorted) and coarse features (sorted),
	// and the counts of hosts per feature.
	hostFeats := make([][]int32, n)
	hostCoarse := make([][]int32, n)
	fineCount := make([]int32, total)
	coarseCount := make([]int32, nCoarse)
	var tmp []int32
	for h := range n {
		size := 0
		for _, c := range order {
			size += len(c.perHost[h])
		}
		fs := make([]int32, 0, size)
		for ci, c := range order {
			for _, f := range c.perHost[h] {
				fs = append(fs, offsets[ci]+f)
			}
		}
		tmp = tmp[:0]
		for _, f := range fs {
			fineCount[f]++
			tmp = append(tmp, coarseOf[f])
		}
		slices.Sort(tmp)
		cs := slices.Clone(slices.Compact(tmp))
		for _, c := range cs {
			coarseCount[c]++
		}
		hostFeats[h], hostCoarse[h] = fs, cs
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}

	// The map and the clusters.
	emb := embed(hostCoarse, coarseCount, n)
	assign, k := clusterHosts(emb, n)
	size := make([]int, k)
	for _, c := range assign {
		size[c]++
	}
	clusterCount := make([][]int32, k)
	for c := range clusterCount {
		clusterCount[c] = make([]int32, nCoarse)
	}
	for h, cs := range hostCoarse {
		cc := clusterCount[assign[h]]
		for _, c := range cs {
			cc[c]++
		}
	}

	// The decision.
	fleetT := rareThreshold(n)
	clusterT := make([]int32, k)
	for c := range clusterT {
		clusterT[c] = rareThreshold(size[c])
	}
	variantCut := int32(math.Max(float64(fleetT), 0.05*float64(n)))
	vars := newVariants(order, offsets, featCmd, fineCount, fleetT)
	rep.Hosts = make([]Host, n)
	pend := make([][]pendingFinding, n)
	for h := range n {
		host := &rep.Hosts[h]
		host.InstanceID = hostIDs[h]
		host.Cluster = assign[h]
		if len(emb.coords[h]) > 0 {
			host.Position = emb.position(h)
		}
		kc := assign[h]
		var ps []pendingFinding
		for _, f := range hostFeats[h] {
			c := coarseOf[f]
			sFleet, sClus := coarseCount[c], clusterCount[kc][c]
			switch {
			case (sFleet <= fleetT || size[kc] >= minRareCluster && sClus <= clusterT[kc]) && !vars.variant(f):
				w := math.Log2(float64(n+1)/float64(sFleet)) + math.Log2(float64(size[kc]+1)/float64(sClus))
				ps = append(ps, pendingFinding{feat: f, weight: w, rare: true})
			case fineCount[f] <= variantCut || sFleet <= fleetT:
				// A variant of a common row (another version): listed,
				// lightly weighted, never enough for an outlier.
				w := 0.1 * math.Log2(float64(n+1)/float64(fineCount[f]))
				ps = append(ps, pendingFinding{feat: f, weight: w})
			}
		}
		for _, p := range ps {
			host.Score += p.weight
			if p.rare {
				host.Outlier = true
			}
		}
		host.Score = math.Round(host.Score*1000) / 1000
		slices.SortFunc(ps, func(x, y pendingFinding) int {
			if x.weight != y.weight {
				return cmp.Compare(y.weight, x.weight)
			}
			return cmp.Or(cmp.Compare(fineCount[x.feat], fineCount[y.feat]),
				cmp.Compare(featCmd[x.feat], featCmd[y.feat]),
				strings.Compare(featKey(order, offsets, featCmd, x.feat), featKey(order, offsets, featCmd, y.feat)))
		})
		if len(ps) > maxFindings {
			ps = ps[:maxFindings]
		}
		pend[h] = ps
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}

	// Findings show each host's own row (volatile columns dropped): the
	// first it had of the feature.
	for h := range n {
		fs := make([]Finding, len(pend[h]))
		for i, p := range pend[h] {
			ci := featCmd[p.feat]
			fs[i] = Finding{CommandID: order[ci].id, Kind: KindRare, Row: order[ci].row(h, p.feat-offsets[ci]),
				HostsWithRow: int(fineCount[p.feat]), Prevalence: float64(fineCount[p.feat]) / float64(n)}
		}
		rep.Hosts[h].Findings = fs
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}

	// Errors and notes.
	withErrors := 0
	for h := range n {
		for _, c := range order {
			rep.Hosts[h].Errors = append(rep.Hosts[h].Errors, c.errs[h]...)
		}
		if len(rep.Hosts[h].Errors) > 0 {
			withErrors++
		}
	}
	rep.Clusters = clusterTraits(k, size, clusterCount, coarseCount, coarseRep, order, offsets, featCmd, n)
	rep.Notes = append(rep.Notes, clusterNotes(n, k, size, fleetT, emb, withErrors, rep)...)
	if note := spreadNote(n, fleetT, size, clusterCount, coarseCount, coarseRep, vars); note != "" {
		rep.Notes = append(rep.Notes, note)
	}
	return rep, nil
}

// featKey returns the normalized key of global feature f.
func featKey(order []*clusterCmd, offsets []int32, featCmd []int32, f int32) string {
	ci := featCmd[f]
	return order[ci].feats[f-offsets[ci]].key
}

// minRareCluster is the smallest cluster whose own rare rows count: in a
// smaller one, one host is already more than 1% of it.
const minRareCluster = 100

// rareThreshold returns the most hosts of a group of n that a rare row may
// be on: 1% of them, and at least one.
func rareThreshold(n int) int32 {
	return int32(max(1, n/100))
}

// clusterTraits describes each cluster by the rows most of it has and the
// rest of the fleet mostly does not, as findings of kind KindTrait with the
// normalized row.
func clusterTraits(k int, size []int, clusterCount [][]int32, coarseCount []int32, coarseRep []int32,
	order []*clusterCmd, offsets, featCmd []int32, n int) []Cluster {
	out := make([]Cluster, k)
	for c := range k {
		out[c] = Cluster{ID: c, Size: size[c]}
		type trait struct {
			coarse int32
			lift   float64
		}
		var ts []trait
		rest := n - size[c]
		for cf, in := range clusterCount[c] {
			if in == 0 {
				continue
			}
			pIn := float64(in) / float64(size[c])
			pOut := 0.0
			if rest > 0 {
				pOut = float64(coarseCount[cf]-in) / float64(rest)
			}
			if pIn >= 0.8 && pOut <= 0.5 && (k > 1 || pIn < 1) {
				ts = append(ts, trait{int32(cf), pIn - pOut})
			}
		}
		slices.SortFunc(ts, func(x, y trait) int {
			return cmp.Or(cmp.Compare(y.lift, x.lift), strings.Compare(
				featKey(order, offsets, featCmd, coarseRep[x.coarse]), featKey(order, offsets, featCmd, coarseRep[y.coarse])))
		})
		if len(ts) > DefaultMaxTraits {
			ts = ts[:DefaultMaxTraits]
		}
		for _, t := range ts {
			f := coarseRep[t.coarse]
			ci := featCmd[f]
			out[c].Traits = append(out[c].Traits, Finding{
				CommandID: order[ci].id, Kind: KindTrait, Row: rowOfKey(order[ci].feats[f-offsets[ci]].key),
				HostsWithRow: int(coarseCount[t.coarse]), Prevalence: float64(coarseCount[t.coarse]) / float64(n),
			})
		}
	}
	return out
}

// clusterNotes says how far the report can be trusted.
func clusterNotes(n, k int, size []int, fleetT int32, emb *embedding, withErrors int, rep *Report) []string {
	var notes []string
	outliers := len(rep.Outliers())
	notes = append(notes, fmt.Sprintf("cluster analysis of %d hosts: %d clusters, %d outliers; a row is rare when, after normalization, at most %d of the %d hosts (or 1%% of the host's cluster, in clusters of %d hosts or more) carry it",
		n, k, outliers, fleetT, n, minRareCluster))
	switch {
	case n < 10:
		notes = append(notes, fmt.Sprintf("only %d hosts: every row on one host is rare, and nothing tells a compromised host from a host that is merely different (a new version, a different role); read the findings, not the outlier flags", n))
	case n < 50:
		notes = append(notes, fmt.Sprintf("only %d hosts: a row on a single host is rare by definition here, so a host alone in its role or version is flagged with it; findings that are versions of common rows are scored low and do not make outliers, but clusters of fewer than 5 hosts say little", n))
	}
	small := 0
	for _, s := range size {
		if s < 5 {
			small++
		}
	}
	if small > 0 && n >= 10 {
		notes = append(notes, fmt.Sprintf("%d clusters have fewer than 5 hosts: little sets them apart, and the rows of their hosts are judged against the whole fleet", small))
	}
	if n >= 20 && outliers*10 > n {
		notes = append(notes, fmt.Sprintf("%d of %d hosts are outliers: more than 10%% of the group differ; the group may hold hosts of different kinds, or a compromise spread wide (rows shared by many hosts are not rare)", outliers, n))
	}
	if withErrors > 0 {
		notes = append(notes, fmt.Sprintf("%d of %d hosts have commands that did not succeed (see their errors); only their successful commands were analyzed", withErrors, n))
	}
	if emb.dims == 0 && n > 1 {
		notes = append(notes, "the hosts share all their common rows: one cluster")
	}
	return notes
}

// Rows shared by a minority that defines no cluster.
const (
	spreadMinHosts   = 50   // the smallest group the note is made for
	spreadMaxShare   = 0.20 // the most hosts such a row is on
	spreadTraitShare = 0.5  // the least share of a cluster a trait has
	spreadShown      = 3    // rows the note names
)

// spreadNote names the rows that are not rare but are shared by a minority
// of the hosts (more than the rare threshold, at most spreadMaxShare)
// without setting any cluster apart (under spreadTraitShare of every
// cluster), and are not variants of common rows: what a compromise spread
// over many hosts looks like. They do not make outliers (benign rows that
// come and go look the same); the note points the investigator at them.
func spreadNote(n int, fleetT int32, size []int, clusterCount [][]int32, coarseCount, coarseRep []int32, vars *variants) string {
	if n < spreadMinHosts {
		return ""
	}
	type row struct {
		coarse int32
		hosts  int32
	}
	var rows []row
	for cf, cnt := range coarseCount {
		if cnt <= fleetT || float64(cnt) > spreadMaxShare*float64(n) {
			continue
		}
		trait := false
		for c := range size {
			if float64(clusterCount[c][cf]) >= spreadTraitShare*float64(size[c]) {
				trait = true
				break
			}
		}
		if !trait && !vars.variant(coarseRep[cf]) {
			rows = append(rows, row{int32(cf), cnt})
		}
	}
	if len(rows) == 0 {
		return ""
	}
	slices.SortFunc(rows, func(a, b row) int {
		return cmp.Or(cmp.Compare(b.hosts, a.hosts), strings.Compare(vars.feat(coarseRep[a.coarse]).key, vars.feat(coarseRep[b.coarse]).key))
	})
	var named []string
	for _, r := range rows[:min(len(rows), spreadShown)] {
		f := coarseRep[r.coarse]
		named = append(named, fmt.Sprintf("%s row %s on %d hosts", displayID(vars.order[vars.featCmd[f]].id), describeRow(rowOfKey(vars.feat(f).key)), r.hosts))
	}
	return fmt.Sprintf("%d rows are each on more than %d hosts (so not rare) but at most %.0f%% of them, without setting any cluster apart; they are not flagged (benign rows that come and go look the same), but a compromise spread over many hosts looks like this: %s",
		len(rows), fleetT, 100*spreadMaxShare, strings.Join(named, "; "))
}

// describeRow writes a row as col="value" pairs sorted by column.
func describeRow(row collect.Row) string {
	cols := slices.Sorted(maps.Keys(row))
	parts := make([]string, len(cols))
	for i, c := range cols {
		parts[i] = fmt.Sprintf("%s=%q", c, row[c])
	}
	return strings.Join(parts, " ")
}

// parallel runs f(0..n-1) on up to GOMAXPROCS goroutines and returns the
// first error.
func parallel(n int, f func(i int) error) error {
	errs := make([]error, n)
	var wg sync.WaitGroup
	sem := make(chan struct{}, runtime.GOMAXPROCS(0))
	for i := range n {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			errs[i] = f(i)
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}
