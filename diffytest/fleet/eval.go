package fleet

import (
	"cmp"
	"fmt"
	"iter"
	"maps"
	"slices"
	"strings"

	"github.com/diffy-dfir/diffy/analyze"
	"github.com/diffy-dfir/diffy/collect"
)

// Evaluation scores a Report against what the fleet planted, at the
// analyzer's own decision (Host.Outlier).
type Evaluation struct {
	// Hosts, Compromised and Flagged count the hosts of the fleet, the
	// compromised ones and the outliers of the report.
	Hosts, Compromised, Flagged int
	// TruePositives counts the compromised hosts flagged.
	TruePositives int
	// Precision is TruePositives / Flagged (1 when nothing is flagged);
	// Recall is TruePositives / Compromised (1 when none is compromised).
	Precision, Recall float64
	// Top3 is the share of compromised hosts with a planted row among
	// their first three findings (1 when none is compromised).
	Top3 float64
	// Missing counts fleet hosts absent from the report.
	Missing int
}

// String gives the figures on one line.
func (e Evaluation) String() string {
	return fmt.Sprintf("hosts=%d compromised=%d flagged=%d precision=%.3f recall=%.3f top3=%.3f",
		e.Hosts, e.Compromised, e.Flagged, e.Precision, e.Recall, e.Top3)
}

// Evaluate scores rep against f. A finding is about a planted row when it
// is of the planted row's command and its Row is the planted row without
// its volatile columns (analyze.DefaultVolatile), or the planted row
// itself.
func (f *Fleet) Evaluate(rep *analyze.Report) Evaluation {
	return evaluate(rep, func(yield func(string, []Planted) bool) {
		for i := range f.Hosts {
			h := &f.Hosts[i]
			planted := h.Planted
			if !h.Compromised {
				planted = nil
			}
			if !yield(h.Instance.ID, planted) {
				return
			}
		}
	})
}

// evaluate scores rep against the hosts: instance ID and planted rows (none
// for a clean host), in fleet order.
func evaluate(rep *analyze.Report, hosts iter.Seq2[string, []Planted]) Evaluation {
	byID := make(map[string]*analyze.Host, len(rep.Hosts))
	for i := range rep.Hosts {
		byID[rep.Hosts[i].InstanceID] = &rep.Hosts[i]
	}
	vol := analyze.DefaultVolatile()
	var ev Evaluation
	top3 := 0
	for id, planted := range hosts {
		ev.Hosts++
		rh := byID[id]
		if rh == nil {
			ev.Missing++
			continue
		}
		if rh.Outlier {
			ev.Flagged++
		}
		if len(planted) == 0 {
			continue
		}
		ev.Compromised++
		if rh.Outlier {
			ev.TruePositives++
		}
		found := false
		for j, fd := range rh.Findings {
			if j == 3 {
				break
			}
			for _, p := range planted {
				if fd.CommandID == p.CommandID && (maps.Equal(fd.Row, vol.Strip(p.CommandID, p.Row)) || maps.Equal(fd.Row, p.Row)) {
					found = true
				}
			}
		}
		if found {
			top3++
		}
	}
	ev.Precision, ev.Recall, ev.Top3 = 1, 1, 1
	if ev.Flagged > 0 {
		ev.Precision = float64(ev.TruePositives) / float64(ev.Flagged)
	}
	if ev.Compromised > 0 {
		ev.Recall = float64(ev.TruePositives) / float64(ev.Compromised)
		ev.Top3 = float64(top3) / float64(ev.Compromised)
	}
	return ev
}

// Stacking is plain stacking, the naive analysis the cluster analyzer is
// measured against: rows are compared whole after dropping the volatile
// columns of analyze.DefaultVolatile (no token normalization), and a host
// is an outlier when it has a row seen on fewer than share of the hosts
// (share 0.01 is "1% stacking"). Findings are the host's rare rows, rarest
// first. It is a Stacker given every Result at once.
func Stacking(results []collect.Result, share float64) *analyze.Report {
	s := NewStacker(share)
	s.Add(results)
	return s.Report()
}

// A Stacker is Stacking streamed: Results are added a batch at a time (a
// host's Results may span batches), and the Report is the one Stacking
// gives on all of them. It keeps each distinct row (without its volatile
// columns) once and, of each host, the indices of its rows: at 10,000
// simulated hosts a few hundred MiB where the group's Results are about
// 4 GiB.
type Stacker struct {
	share float64
	vol   analyze.Volatile
	ids   []string         // hosts in the order of their first Result
	host  map[string]int   // instance ID → index in ids
	rows  [][]int32        // of each host, the indices of its rows in keys
	index map[string]int32 // command and row key → index in keys
	keys  []stackedRow
	buf   []byte
}

// stackedRow is one distinct row of a Stacker: its command and the row
// without its volatile columns, as the first host that had it sent it.
type stackedRow struct {
	cmd string
	row collect.Row
}

// NewStacker returns a Stacker flagging rows seen on fewer than share of
// the hosts.
func NewStacker(share float64) *Stacker {
	return &Stacker{share: share, vol: analyze.DefaultVolatile(), host: map[string]int{}, index: map[string]int32{}}
}

// Add stacks results. A host counts from its first Result, even when no
// Result of it succeeded.
func (s *Stacker) Add(results []collect.Result) {
	for _, r := range results {
		h, ok := s.host[r.InstanceID]
		if !ok {
			h = len(s.ids)
			s.host[r.InstanceID] = h
			s.ids = append(s.ids, r.InstanceID)
			s.rows = append(s.rows, nil)
		}
		if !r.OK() {
			continue
		}
		for _, row := range r.Rows {
			s.buf = append(append(s.buf[:0], r.CommandID...), 0)
			s.buf = s.vol.AppendKey(s.buf, r.CommandID, row)
			k, ok := s.index[string(s.buf)]
			if !ok {
				k = int32(len(s.keys))
				s.index[string(s.buf)] = k
				s.keys = append(s.keys, stackedRow{cmd: r.CommandID, row: s.vol.Strip(r.CommandID, row)})
			}
			s.rows[h] = append(s.rows[h], k)
		}
	}
}

// Report returns the hosts stacked so far, in the order of their first
// Result, each an outlier when one of its rows is on fewer than share of
// them.
func (s *Stacker) Report() *analyze.Report {
	count := make([]int, len(s.keys))
	for h, ks := range s.rows {
		slices.Sort(ks)
		ks = slices.Compact(ks)
		s.rows[h] = ks
		for _, k := range ks {
			count[k]++
		}
	}
	n := len(s.ids)
	rep := &analyze.Report{Analyzer: "stacking", Hosts: make([]analyze.Host, 0, n)}
	for h, id := range s.ids {
		host := analyze.Host{InstanceID: id, Findings: []analyze.Finding{}}
		for _, k := range s.rows[h] {
			if float64(count[k]) < s.share*float64(n) {
				host.Outlier = true
				host.Score++
				host.Findings = append(host.Findings, analyze.Finding{CommandID: s.keys[k].cmd, Kind: analyze.KindRare,
					Row: maps.Clone(s.keys[k].row), HostsWithRow: count[k], Prevalence: float64(count[k]) / float64(n)})
			}
		}
		sortFindings(host.Findings)
		rep.Hosts = append(rep.Hosts, host)
	}
	return rep
}

// sortFindings orders findings rarest first, then by command and row.
func sortFindings(fs []analyze.Finding) {
	slices.SortFunc(fs, func(a, b analyze.Finding) int {
		return cmp.Or(cmp.Compare(a.HostsWithRow, b.HostsWithRow), strings.Compare(a.CommandID, b.CommandID),
			strings.Compare(analyze.RowKey(a.Row), analyze.RowKey(b.Row)))
	})
}
