package analyze

import (
	"context"
	"fmt"
	"maps"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/diffy-dfir/diffy/collect"
)

// KindTrait is the Kind of the findings in Cluster.Traits: a row most of
// the cluster has and the rest of the fleet mostly does not.
const KindTrait = "trait"

// DefaultMaxTraits is the number of traits Clustering keeps per cluster.
const DefaultMaxTraits = 5

// Clustering is the Analyzer that needs no clean host: it learns from the
// whole fleet how its rows vary, and finds the hosts that carry rows the
// rest of the fleet does not share (the "clustered baseline" the original
// Diffy never built). See the package doc's # Clustering section for the
// method and why.
//
// The zero value is ready to use. A Clustering is safe for concurrent use.
type Clustering struct {
	// Volatile lists the columns dropped before rows are compared; nil
	// means DefaultVolatile().
	Volatile Volatile
	// MaxFindings is the most findings kept per host, most telling first;
	// 0 (or less) keeps them all. Host.FindingsOmitted counts those not
	// kept; Host.Score counts them all.
	MaxFindings int
	// Now gives Report.CreatedAt; nil means time.Now.
	Now func() time.Time
	// RareShare is ρ, what "rare" means: a row or value on at most
	// max(1, ⌊ρ·n⌋) of the n hosts; 0 means DefaultRareShare (1%).
	// MinorityShare is φ, the share of the hosts at which a difference
	// stops being an anomaly and becomes a kind of host; 0 means
	// DefaultMinorityShare (a fifth). See the package doc for where
	// each enters the decision. Neither is to be tuned to a fleet: they
	// are there to measure how the decision depends on them
	// (bench/detect -rare, -minority). A share out of range (ρ not in
	// (0, 1), φ not in (0, 0.5)) is an error of NewStream and Analyze,
	// matching diffyerr.ErrInvalidInput.
	RareShare, MinorityShare float64
}

var (
	_ Analyzer     = Clustering{}
	_ BaselineUser = Clustering{}
	_ Streamer     = Clustering{}
)

// NeedsBaseline reports false: Clustering needs no baseline.
func (Clustering) NeedsBaseline() bool { return false }

// Name returns "cluster", the Report.Analyzer of a Clustering.
func (Clustering) Name() string { return "cluster" }

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
// and their order. Of several Results for one (instance, command), the
// one collected last is analyzed and the others are dropped, each host's
// drops named in Report.Skipped; Results collected at the same time are
// merged (neither is later), and Report.Notes says how many. What a stream
// keeps of the Results is, per command, each distinct row once (volatile
// columns dropped) and, per host, the numbers of its rows.
func (a Clustering) NewStream(key string, baseline []collect.Result) (Stream, error) {
	vol := a.Volatile
	if vol == nil {
		vol = defaultVolatile
	}
	p, err := newParams("cluster", a.RareShare, a.MinorityShare)
	if err != nil {
		return nil, err
	}
	return &clusterStream{a: a, key: key, streamRun: streamRun{name: "cluster stream", rows: newRowStream(vol, true, p)}}, nil
}

// rowStream is the part of a stream shared by both analyzers: the hosts
// and, per command, their rows.
type rowStream struct {
	vol       Volatile
	normalize bool
	p         params           // the analysis's ρ and φ (cmdRows.p)
	hostNum   map[string]int32 // stream host number, by first sight
	hostIDs   []string         // by stream host number
	cmds      map[string]*cmdRows
	results   int    // Results added so far
	skipped   []Skip // Results without instance_id
	ignore    func(commandID string) bool
	noParents bool // no parent names (see cmdRows.parents)
	// Reused by add.
	hosts  []int32
	groups map[*cmdRows][]int
}

func newRowStream(vol Volatile, normalize bool, p params) *rowStream {
	return &rowStream{vol: vol, normalize: normalize, p: p, hostNum: map[string]int32{}, cmds: map[string]*cmdRows{}}
}

// add adds a batch of Results; each command's rows are interned by a
// goroutine of their own.
func (s *rowStream) add(ctx context.Context, results []collect.Result) error {
	if s.groups == nil {
		s.groups = map[*cmdRows][]int{}
	}
	s.hosts = slices.Grow(s.hosts[:0], len(results))[:len(results)]
	var batch []*cmdRows
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
		if s.ignore != nil && s.ignore(r.CommandID) {
			continue
		}
		c := s.cmds[r.CommandID]
		if c == nil {
			c = newCmdRows(r.CommandID, s.vol, s.normalize, !s.noParents, s.p)
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
	return err
}

// finish numbers the hosts in instance ID order, so that the input order
// does not matter, finishes every command (in command ID order) and
// returns the hosts' IDs and the commands.
func (s *rowStream) finish() ([]string, []*cmdRows, []Skip, int) {
	hostIDs := slices.Clone(s.hostIDs)
	slices.Sort(hostIDs)
	oldOf := make([]int32, len(hostIDs))
	for i, id := range hostIDs {
		oldOf[i] = s.hostNum[id]
	}
	order := slices.SortedFunc(maps.Values(s.cmds), func(x, y *cmdRows) int { return strings.Compare(x.id, y.id) })
	_ = parallel(len(order), func(i int) error { order[i].finish(oldOf); return nil })
	var dups []Skip
	merged := 0
	for _, c := range order {
		d, m := c.duplicates(oldOf, hostIDs)
		dups = append(dups, d...)
		merged += m
	}
	s.cmds, s.hostNum, s.hostIDs = nil, nil, nil
	return hostIDs, order, dups, merged
}

// clusterStream is the Stream of a Clustering.
type clusterStream struct {
	streamRun
	a   Clustering
	key string
}

// Report analyzes what was added; skipped (inputs dropped before the
// analysis) goes first in Report.Skipped.
func (s *clusterStream) Report(ctx context.Context, skipped []Skip) (*Report, error) {
	if err := s.begin(ctx); err != nil {
		return nil, err
	}
	a := s.a
	rep := s.newReport(s.key, a.Name(), a.Now, skipped)
	hostIDs, order, dups, merged := s.rows.finish()
	rep.Skipped = append(rep.Skipped, dups...)
	n := len(hostIDs)
	if n == 0 {
		rep.Notes = append(rep.Notes, "no host to analyze")
		return rep, nil
	}
	an := newAnalysis(order, n, s.rows.p)
	if err := an.learn(ctx); err != nil {
		return nil, err
	}
	an.cluster()
	if err := an.decide(ctx); err != nil {
		return nil, err
	}
	rep.Hosts = an.hosts(hostIDs, a.MaxFindings)
	rep.Clusters = an.traits()
	rep.Notes = an.notes(rep, merged)
	return rep, nil
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
