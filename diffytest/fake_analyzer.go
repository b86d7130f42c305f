package diffytest

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/diffy-dfir/diffy/analyze"
	"github.com/diffy-dfir/diffy/collect"
	"github.com/diffy-dfir/diffy/diffyerr"
)

// FakeAnalyzer is a simple, exact analyze.Analyzer for tests of what
// surrounds an analyzer. Without UseBaseline it finds, per command, the
// rows that not every host (whose command succeeded) has, as KindRare
// findings of the hosts that have them; with UseBaseline it compares each
// host's rows with the baseline's, as KindAdded and KindRemoved findings.
// Rows are compared whole: no column is dropped. A host is an outlier when
// it has a finding; its score is its number of findings.
//
// It records a copy of every input, is safe for concurrent use, and passes
// TestAnalyzer in both modes. The zero value is ready to use.
type FakeAnalyzer struct {
	// UseBaseline makes the analyzer need a baseline (NeedsBaseline).
	UseBaseline bool
	// Now, when set, gives the Reports' CreatedAt; the default is time.Now
	// in UTC.
	Now func() time.Time

	mu     sync.Mutex
	inputs []analyze.Input
}

// NeedsBaseline reports a.UseBaseline.
func (a *FakeAnalyzer) NeedsBaseline() bool { return a.UseBaseline }

// Inputs returns copies of the inputs Analyze was called with, in order.
func (a *FakeAnalyzer) Inputs() []analyze.Input {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := make([]analyze.Input, len(a.inputs))
	for i, in := range a.inputs {
		out[i] = cloneInput(in)
	}
	return out
}

// Analyze makes the Report of in.
func (a *FakeAnalyzer) Analyze(ctx context.Context, in analyze.Input) (*analyze.Report, error) {
	a.mu.Lock()
	a.inputs = append(a.inputs, cloneInput(in))
	a.mu.Unlock()
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("fake analyzer: %w", err)
	}
	if a.UseBaseline && len(in.Baseline) == 0 {
		return nil, fmt.Errorf("fake analyzer: key %q: %w", in.Key, diffyerr.ErrNoBaseline)
	}

	// rows[host][command] is the set of the host's rows, by canonical
	// JSON; ok[command] counts the hosts whose command succeeded.
	rows := map[string]map[string]map[string]collect.Row{}
	errs := map[string][]string{}
	count := map[string]map[string]int{}
	ok := map[string]int{}
	for _, r := range in.Results {
		if rows[r.InstanceID] == nil {
			rows[r.InstanceID] = map[string]map[string]collect.Row{}
		}
		if !r.OK() {
			errs[r.InstanceID] = append(errs[r.InstanceID], fmt.Sprintf("%s: %s: %s", r.CommandID, r.Status, r.Error))
			continue
		}
		if _, dup := rows[r.InstanceID][r.CommandID]; !dup {
			ok[r.CommandID]++
		}
		set := rowSet(r.Rows)
		rows[r.InstanceID][r.CommandID] = set
		if count[r.CommandID] == nil {
			count[r.CommandID] = map[string]int{}
		}
		for k := range set {
			count[r.CommandID][k]++
		}
	}
	baseline := map[string]map[string]collect.Row{}
	rep := &analyze.Report{Key: in.Key, Analyzer: "fake-rare", CreatedAt: a.now(), Skipped: slices.Clone(in.Skipped)}
	if a.UseBaseline {
		rep.Analyzer = "fake-baseline"
		rep.BaselineInstance = in.Baseline[0].InstanceID
		for _, r := range in.Baseline {
			if r.OK() {
				baseline[r.CommandID] = rowSet(r.Rows)
			}
		}
	}
	n := len(rows)
	for _, id := range slices.Sorted(maps.Keys(rows)) {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("fake analyzer: %w", err)
		}
		h := analyze.Host{InstanceID: id, Findings: []analyze.Finding{}, Errors: errs[id]}
		for cmd, set := range rows[id] {
			finding := func(kind, key string, row collect.Row) analyze.Finding {
				c := count[cmd][key]
				return analyze.Finding{CommandID: cmd, Kind: kind, Row: maps.Clone(row), HostsWithRow: c, Prevalence: float64(c) / float64(n)}
			}
			if !a.UseBaseline {
				for k, row := range set {
					if count[cmd][k] < ok[cmd] {
						h.Findings = append(h.Findings, finding(analyze.KindRare, k, row))
					}
				}
				continue
			}
			base, has := baseline[cmd]
			if !has {
				continue
			}
			for k, row := range set {
				if _, in := base[k]; !in {
					h.Findings = append(h.Findings, finding(analyze.KindAdded, k, row))
				}
			}
			for k, row := range base {
				if _, in := set[k]; !in {
					h.Findings = append(h.Findings, finding(analyze.KindRemoved, k, row))
				}
			}
		}
		slices.SortFunc(h.Findings, func(x, y analyze.Finding) int {
			return cmp.Or(cmp.Compare(x.CommandID, y.CommandID), cmp.Compare(x.Kind, y.Kind), cmp.Compare(rowKey(x.Row), rowKey(y.Row)))
		})
		h.Outlier = len(h.Findings) > 0
		h.Score = float64(len(h.Findings))
		rep.Hosts = append(rep.Hosts, h)
	}
	return rep, nil
}

func (a *FakeAnalyzer) now() time.Time {
	if a.Now != nil {
		return a.Now()
	}
	return time.Now().UTC()
}

// rowSet returns rows keyed by their canonical JSON.
func rowSet(rows []collect.Row) map[string]collect.Row {
	set := make(map[string]collect.Row, len(rows))
	for _, r := range rows {
		set[rowKey(r)] = r
	}
	return set
}

// rowKey is the canonical JSON of row (encoding/json sorts map keys).
func rowKey(row collect.Row) string {
	b, _ := json.Marshal(row)
	return string(b)
}

// cloneInput returns a deep copy of in.
func cloneInput(in analyze.Input) analyze.Input {
	return analyze.Input{Key: in.Key, Results: cloneResults(in.Results), Baseline: cloneResults(in.Baseline), Skipped: slices.Clone(in.Skipped)}
}
