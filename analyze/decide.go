package analyze

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/diffy-dfir/diffy/payload"
)

// pendingFinding is a finding before its row is looked up.
type pendingFinding struct {
	cmd      int32 // index into the model's commands
	feat     int32 // local feature
	v        verdict
	deciding bool
	campaign bool    // one of the rows of a likely campaign
	bits     float64 // surprise(v.p)
	cause    string
	why      string // for campaign rows: set by the campaign
	young    bool   // a process caught running (see young)
	// youngWhy says why a young finding decides (youngRule), "" when it
	// does not; youngLink is the link of its activity to the host's own
	// work (youngRule.link: 's' a session's, 'c' cron's), 0 when none or
	// not young.
	youngWhy  string
	youngLink byte
	// kthread: the row is a kernel thread's (isKernelThread), which does
	// not decide.
	kthread bool
	// placed: the row is placed under the parent name placedBy
	// (buildPlacements), which makes it not decide.
	placed   bool
	placedBy int32
	// listenerOf says why a listening_ports row does not decide
	// (keepListeners): its process is 'p' placed, 's' a session's; 0
	// when neither.
	listenerOf byte
	// under is the parent feature whose activity the row is part of
	// (inheritFromParents), -1 when none; activity names the minority
	// row whose hosts the row's hosts are (linkActivities).
	under    int32
	activity string
	// login is the operator's account whose login session the row is
	// part of (sessionModel.markSessions), "" when none.
	login string
	// holders are the modules a kernel_modules row adds to its usual
	// row's used_by, all listed on the host (usedByAdded): the row is
	// their trace and does not decide. hidden are those it adds that
	// the host does not list: a module hidden from /proc/modules.
	holders, hidden []string
	// demand is the size of a kernel_modules row and the hosts that
	// show its name with that size, when the row is of a module loaded
	// on demand (demandLoaded): it does not decide. No hosts otherwise.
	demand sizeHosts
}

// candidate is a row carried by more than r hosts and at most φ·n that
// no spread variation explains (a minority template that is new or
// deviates, a value that deviates in a dominated context, with the host
// keeping the usual value too): a campaign is a set of such rows on the
// same hosts (see findCampaigns).
type candidate struct {
	cmd  int32
	kind byte  // 't' template, 'f' feature, 'p' parent of a template
	id   int64 // the template, feature, or template<<32|parent
	feat int32 // a local feature of the row, for display
	v    verdict
	// topHosts counts the hosts of the most common feature of a template
	// candidate ('t'), set by the analysis.
	topHosts int32
	hosts    []int32
}

// hostDecision is what decideHost finds on one host.
type hostDecision struct {
	finds []pendingFinding
	cands []int // indexes into the candidates
}

// candidates collects the campaign candidates of the whole fleet.
type candidates struct {
	index map[[3]int64]int
	list  []*candidate
}

func (cs *candidates) add(h int, cmd int32, kind byte, id int64, feat int32, v verdict) int {
	k := [3]int64{int64(cmd), int64(kind), id}
	i, ok := cs.index[k]
	if !ok {
		i = len(cs.list)
		cs.index[k] = i
		cs.list = append(cs.list, &candidate{cmd: cmd, kind: kind, id: id, feat: feat, v: v})
	}
	c := cs.list[i]
	if n := len(c.hosts); n == 0 || c.hosts[n-1] != int32(h) {
		c.hosts = append(c.hosts, int32(h))
	}
	return i
}

// decideHost judges every row of host h (instance ID order) against the
// model: a row whose template is rare and new or deviating (verdict of
// judgeTemplates), whose value deviates within its template
// (judgeValues) or whose parent process deviates (parentVerdict), carried
// by at most r hosts, is a finding; it is deciding (it makes the host an
// outlier) when it is evidence there (decides) and not a variant.
// Rows of the same kind carried by more than r hosts and at most φ·n are
// campaign candidates. A process caught running (young) decides only as
// y says (youngRule); with y nil, never.
func decideHost(cmds []*cmdModel, h int, cs *candidates, y *youngRule) hostDecision {
	var d hostDecision
	for ci, m := range cmds {
		c := m.rows
		var par []featParent
		if c.parent != nil {
			par = c.parent[h]
		}
		for i, f := range c.perHost[h] {
			t := c.feats[f].tmpl
			tp := &m.tmpls[t]
			best, have := verdict{}, false
			if tp.hosts <= m.minority {
				switch tv := m.tv[t]; tv.kind {
				case vNew, vDeviation, vVariant:
					switch {
					case m.rare(tv):
						best, have = tv, true
					case tv.kind != vVariant:
						d.cands = append(d.cands, cs.add(h, int32(ci), 't', int64(t), f, tv))
					}
				}
			} else if fv, ok := m.fv[f]; ok {
				switch {
				case m.rare(fv):
					best, have = fv, true
				case fv.kind == vDeviation && hasValue(m, h, t, fv.col, fv.usualValue):
					d.cands = append(d.cands, cs.add(h, int32(ci), 'f', int64(f), f, fv))
				}
			}
			for len(par) > 0 && par[0].i < int32(i) {
				par = par[1:]
			}
			placedBy := int32(-1)
			for ; len(par) > 0 && par[0].i == int32(i); par = par[1:] {
				if _, ok := m.placing[par[0].p]; ok && tp.hosts <= m.minority {
					placedBy = par[0].p
				}
				if tp.hosts <= m.r {
					continue
				}
				p := par[0].p
				if pv := m.parentVerdict(t, p); pv.kind == vDeviation {
					switch {
					case m.rare(pv) && (!have || better(pv, best)):
						best, have = pv, true
					case !m.rare(pv):
						d.cands = append(d.cands, cs.add(h, int32(ci), 'p', int64(t)<<32|int64(p), f, pv))
					}
				}
			}
			if !have {
				continue
			}
			pf := pendingFinding{cmd: int32(ci), feat: f, v: best, bits: surprise(best.p), under: -1}
			pf.young = c.isYoung(h, i)
			pf.deciding = best.kind != vVariant && best.decides
			if pf.deciding && pf.young {
				if y == nil || ci != y.s.procs {
					pf.deciding = false
				} else {
					pf.deciding, pf.youngWhy = y.decides(h, f, best)
					pf.youngLink = y.linkOf(h, f)
				}
			}
			if pf.deciding && c.id == payload.Processes && isKernelThread(c.feats[f].key) {
				pf.deciding, pf.kthread = false, true
			}
			if pf.deciding && placedBy >= 0 && best.kind != vVariant && best.col != "parent" && !suspectRow(c.feats[f].key, y) {
				pf.deciding, pf.placed, pf.placedBy = false, true, placedBy
			}
			if listed, hidden, ok := usedByAdded(m, h, f, best); ok && len(hidden) > 0 {
				pf.hidden = hidden
			} else if ok && len(listed) > 0 {
				pf.deciding, pf.holders = false, listed
			}
			if pf.deciding && len(pf.hidden) == 0 {
				if sh, ok := demandLoaded(m, h, f); ok {
					pf.deciding, pf.demand = false, sh
				}
			}
			pf.cause = causeKey(m, int32(ci), t, best)
			d.finds = append(d.finds, pf)
		}
	}
	for ci, m := range cmds {
		inheritFromParents(m, int32(ci), h, d.finds)
	}
	return d
}

// suspectRow reports whether a processes row (its key) runs an
// executable suspect wherever it runs (suspectExecutable; the fleet's
// kernel threads' names from y, none when y is nil).
func suspectRow(key string, y *youngRule) bool {
	p, _ := keyValue(key, "path")
	name, _ := keyValue(key, "name")
	cmd, _ := keyValue(key, "cmdline")
	var threads map[string]bool
	if y != nil {
		threads = y.threads
	}
	return suspectExecutable(p, name, cmd, threads) != ""
}

// isKernelThread reports whether a processes row (its key) is a kernel
// thread's: it has neither an executable nor a command line. Linux gives
// every process of userland an executable (/proc/PID/exe, osquery's path:
// a program that deleted itself still shows its path marked
// " (deleted)", one run from memory "/memfd:..."), so a row without one
// is the kernel's own: a thread of its code or of a module's (nfsiod when
// an NFS file system is mounted, a data volume's xfs-buf/nvme1n1), or a
// zombie, which runs nothing. What made it is judged in kernel_modules (a
// rootkit's module decides there, one hidden from /proc/modules by its
// trace in used_by); a process that poses as a kernel thread runs an
// executable, has a path, and is judged as a process.
func isKernelThread(key string) bool {
	p, ok1 := keyValue(key, "path")
	cmd, ok2 := keyValue(key, "cmdline")
	return ok1 && ok2 && p == "" && cmd == ""
}

// rare reports whether what a verdict says sets a row apart is rare: on
// at most r(n) of the n hosts. (Requiring it rare among the hosts of its
// context too, min(r(n), r(ctxHosts+1)), was tried in 4ebc516 and
// reverted: a reverse shell of one template on 2 of 200 hosts, in a
// context of few hosts, stopped being rare; held-out listener recall fell
// from 1.000 to 0.750.)
func (m *cmdModel) rare(v verdict) bool {
	return v.hosts <= m.r
}

// inheritFromParents makes a deciding finding of a process of host h
// non-deciding when its parent, on that host, is a row the fleet does not
// usually have (its template or its row on at most minority hosts) and
// does not decide itself: what an operator runs in a session's shell, an
// apt run's methods, a container's processes under their shim are part
// of that activity. A parent deviation (a usual row under an unusual
// parent) inherits only from a parent that is such activity: one whose
// template is on at most r hosts, or caught running (young); under a
// long-running daemon whose template is on more than r hosts (a role's
// application, its rows varying per host) it decides. A child of a
// deciding row stays deciding; the rule is applied until nothing changes.
func inheritFromParents(m *cmdModel, ci int32, h int, finds []pendingFinding) {
	c := m.rows
	if c.parent == nil || len(c.parent[h]) == 0 {
		return
	}
	deciding := map[int32]bool{}
	for _, p := range finds {
		if p.cmd == ci && p.deciding {
			deciding[p.feat] = true
		}
	}
	if len(deciding) == 0 {
		return
	}
	for changed := true; changed; {
		changed = false
		for k := range finds {
			p := &finds[k]
			if p.cmd != ci || !p.deciding || p.youngWhy != "" {
				continue // a young row's chain is judged by youngRule
			}
			i, ok := slices.BinarySearch(c.perHost[h], p.feat)
			if !ok {
				continue
			}
			for _, fp := range c.parent[h] {
				if fp.i != int32(i) || fp.pf < 0 || fp.pf == p.feat || deciding[fp.pf] {
					continue
				}
				if m.tmpls[c.feats[fp.pf].tmpl].hosts > m.minority && m.featHosts[fp.pf] > m.minority {
					continue // a usual parent: the row is judged alone
				}
				if p.v.col == "parent" && m.tmpls[c.feats[fp.pf].tmpl].hosts > m.r && !c.isYoung(h, indexOf(c.perHost[h], fp.pf)) {
					// The deviation is the parent: a usual daemon under a
					// daemon of a minority (a role's application, whose
					// template is on more than r hosts, running long
					// before the collection) is what an exploit of that
					// application does, not part of a session's or a
					// job's activity. The template, not the row: a role's
					// application carries per-host values (a heap sized
					// by the instance, a release), so each of its rows
					// may be on few hosts.
					continue
				}
				p.deciding, p.under = false, fp.pf
				delete(deciding, p.feat)
				changed = true
				break
			}
		}
	}
}

// indexOf returns the index of feature f in a host's sorted features,
// -1 when it has none.
func indexOf(fs []int32, f int32) int {
	if i, ok := slices.BinarySearch(fs, f); ok {
		return i
	}
	return -1
}

// hasValue reports whether host h has a row of template t whose column
// col is value: whether a deviation of the host's is an extra row, not a
// replacement of the usual one.
func hasValue(m *cmdModel, h int, t int32, col, value string) bool {
	c := m.rows
	for _, f := range c.perHost[h] {
		if c.feats[f].tmpl == t {
			if v, _ := keyValue(c.feats[f].key, col); v == value {
				return true
			}
		}
	}
	return false
}

// causeKey names the change behind a finding, so that one change showing
// in several rows counts once in the score: a new template is its own
// cause; a deviation within templates is the words by which the value
// differs from the usual one (a canary version shows in a process, its
// listener and a crontab line alike); a parent is its name.
func causeKey(m *cmdModel, ci, t int32, v verdict) string {
	switch {
	case v.kind == vNew:
		return fmt.Sprintf("t%d/%d", ci, t)
	case v.value != "" || v.usualValue != "":
		return "v" + v.col + "\x00" + strings.Join(wordDiff(v.value, v.usualValue), " ")
	default:
		return fmt.Sprintf("d%d/%s/%d", ci, v.col, v.usual)
	}
}

// wordDiff returns the sorted chunks of a (split at separators and
// '.', '-', ':') that b does not have.
func wordDiff(a, b string) []string {
	split := func(s string) []string {
		return strings.FieldsFunc(s, func(r rune) bool {
			return r < 0x80 && (isSeparator(byte(r)) || r == '.' || r == '-' || r == ':')
		})
	}
	have := split(b)
	var out []string
	for _, w := range split(a) {
		if !slices.Contains(have, w) {
			out = append(out, w)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// hostScore is the evidence that the host carries what a clean host
// would not, in bits: the sum over the causes of its deciding findings of
// the largest surprise of each,
//
//	Score = Σ_cause max_{findings of the cause} −log₂ p
//
// rounded to 1/1000. Findings that do not decide weigh nothing.
func hostScore(fs []pendingFinding) float64 {
	best := map[string]float64{}
	for _, f := range fs {
		if f.deciding && f.bits > best[f.cause] {
			best[f.cause] = f.bits
		}
	}
	s := 0.0
	for _, b := range best {
		s += b
	}
	return math.Round(s*1000) / 1000
}

// sortFindings orders a host's findings: deciding first, then by surprise
// (the most telling first), then the fewer hosts, the command, the row.
func sortFindings(fs []pendingFinding, cmds []*cmdModel) {
	slices.SortFunc(fs, func(a, b pendingFinding) int {
		if a.deciding != b.deciding {
			if a.deciding {
				return -1
			}
			return 1
		}
		return cmp.Or(cmp.Compare(b.bits, a.bits), cmp.Compare(a.v.hosts, b.v.hosts), cmp.Compare(a.cmd, b.cmd),
			strings.Compare(cmds[a.cmd].rows.feats[a.feat].key, cmds[b.cmd].rows.feats[b.feat].key))
	})
}
