package analyze

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/diffy-dfir/diffy/collect"
	"github.com/diffy-dfir/diffy/diffyerr"
)

// Changes is the Analyzer that compares every host with its own past: the
// Results of an earlier collection of the same fleet (Input.Baseline, all
// hosts), as osquery's differential results do. For each host and command,
// its rows now and its rows then are compared as sets, as Baseline compares
// a host with the baseline (volatile columns dropped, per-host tokens
// normalized unless KeepTokens, duplicates counted once, rows matched whole
// by their key): a row the host has now and did not have is a Finding of
// kind KindAdded, a row it had and no longer has is KindRemoved. A host
// with any finding is an outlier, scored by its number of findings.
// Findings are sorted added before removed, then by command ID, then by
// row key; each says why in Why; HostsWithRow counts the compared hosts
// that have the row now (added) or had it then (removed), and Prevalence
// divides it by the number of compared hosts.
//
// Hosts in only one of the two collections are not compared: a host new
// since then is in Report.Hosts (as every host of in.Results is), with no
// finding and an error saying so; a host gone since is listed in
// Report.Skipped with the reason; a note counts both. A command that
// did not succeed on either side is listed in the host's Errors ("COMMAND:
// could not be compared: now: STATUS: ERROR") and gives no findings; so
// does a command one side has no Result for.
//
// It is not a BaselineUser: diffy.Diffy.Diff hands it the earlier
// collection; an empty Input.Baseline is an error matching
// diffyerr.ErrNoBaseline. Findings of one row share its Row map. The zero
// value is ready to use and safe for concurrent use.
type Changes struct {
	// Volatile lists the columns dropped before rows are compared; nil
	// means DefaultVolatile().
	Volatile Volatile
	// KeepTokens turns off NormalizeRow: rows are compared as collected,
	// less their volatile columns.
	KeepTokens bool
	// IgnoreCommands lists command IDs left out entirely.
	IgnoreCommands []string
	// Now gives Report.CreatedAt; nil means time.Now.
	Now func() time.Time
}

var _ Analyzer = Changes{}

// KindChanges is the Report.Analyzer of Changes.
const KindChanges = "diff"

// Name returns "diff", the Report.Analyzer of Changes.
func (Changes) Name() string { return KindChanges }

// changeCmd is what Changes knows of one command: its rows interned by key,
// and each host's Results on both sides.
type changeCmd struct {
	id        string
	vol       Volatile
	keyer     *Keyer
	normalize bool
	buf       []byte
	ids       map[string]int32
	keys      []string
	src       []collect.Row
	strip     []collect.Row
	// now and then are the hosts' Results (by host number), indices into
	// Input.Results and Input.Baseline.
	now, then map[int][]int32
	// countNow and countThen count the compared hosts with each row.
	countNow, countThen []int32
}

// intern returns the number of row, adding it if new.
func (c *changeCmd) intern(row collect.Row) int32 {
	if c.normalize {
		row = NormalizeRow(c.id, row)
	}
	c.buf = c.keyer.AppendKey(c.buf[:0], row)
	if id, ok := c.ids[string(c.buf)]; ok {
		return id
	}
	id := int32(len(c.keys))
	key := string(c.buf)
	c.ids[key] = id
	c.keys = append(c.keys, key)
	c.src = append(c.src, row)
	c.countNow = append(c.countNow, 0)
	c.countThen = append(c.countThen, 0)
	return id
}

// row returns row number id without its volatile columns, built once.
func (c *changeCmd) row(id int32) collect.Row {
	if len(c.strip) < len(c.src) {
		c.strip = append(c.strip, make([]collect.Row, len(c.src)-len(c.strip))...)
	}
	if c.strip[id] == nil {
		c.strip[id] = c.vol.Strip(c.id, c.src[id])
	}
	return c.strip[id]
}

// rowSet returns the sorted, distinct numbers of the rows of the Results
// at idx in rs, and the errors of those that did not succeed; ok is false
// when none succeeded.
func (c *changeCmd) rowSet(rs []collect.Result, idx []int32) (set []int32, errs []string, ok bool) {
	for _, i := range idx {
		r := &rs[i]
		if !r.OK() {
			errs = append(errs, resultError(r))
			continue
		}
		ok = true
		for _, row := range r.Rows {
			set = append(set, c.intern(row))
		}
	}
	slices.Sort(set)
	return slices.Compact(set), errs, ok
}

// changesNewHost is the error of a host new since the earlier collection.
const changesNewHost = "not compared: new since the earlier collection, which has no Result of this host"

// firstIDs names the first few of ids: "i-1, i-2, i-3 and 4 more", or
// "none".
func firstIDs(ids []string) string {
	const shown = 5
	switch {
	case len(ids) == 0:
		return "none"
	case len(ids) <= shown:
		return strings.Join(ids, ", ")
	}
	return fmt.Sprintf("%s and %d more", strings.Join(ids[:shown], ", "), len(ids)-shown)
}

// changeFinding is a finding before the counts are final.
type changeFinding struct {
	cmd   *changeCmd
	added bool
	row   int32
}

// Analyze compares every host of in.Results with its own Results in
// in.Baseline, the earlier collection.
func (ch Changes) Analyze(ctx context.Context, in Input) (*Report, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if len(in.Baseline) == 0 {
		return nil, fmt.Errorf("diff of %q: the earlier collection holds no results: %w", in.Key, diffyerr.ErrNoBaseline)
	}
	vol := ch.Volatile
	if vol == nil {
		vol = defaultVolatile
	}
	now := time.Now
	if ch.Now != nil {
		now = ch.Now
	}
	rep := &Report{Key: in.Key, Analyzer: ch.Name(), CreatedAt: now().UTC(), Hosts: []Host{}, Skipped: slices.Clone(boundSkips(in.Skipped))}

	cmds := map[string]*changeCmd{}
	hostNum := map[string]int{}
	var hostIDs []string
	inNow, inThen := map[int]bool{}, map[int]bool{}
	add := func(rs []collect.Result, side string) {
		for i := range rs {
			r := &rs[i]
			if r.InstanceID == "" {
				rep.Skipped = append(rep.Skipped, Skip{
					Source: cutText(fmt.Sprintf("%s result %d (command %q)", side, i+1, r.CommandID)),
					Reason: "it has no instance_id",
				})
				continue
			}
			h, ok := hostNum[r.InstanceID]
			if !ok {
				h = len(hostIDs)
				hostNum[r.InstanceID] = h
				hostIDs = append(hostIDs, r.InstanceID)
			}
			if side == "earlier" {
				inThen[h] = true
			} else {
				inNow[h] = true
			}
			if slices.Contains(ch.IgnoreCommands, r.CommandID) {
				continue
			}
			c := cmds[r.CommandID]
			if c == nil {
				c = &changeCmd{id: r.CommandID, vol: vol, keyer: vol.Keyer(r.CommandID), normalize: !ch.KeepTokens,
					ids: map[string]int32{}, now: map[int][]int32{}, then: map[int][]int32{}}
				cmds[r.CommandID] = c
			}
			if side == "earlier" {
				c.then[h] = append(c.then[h], int32(i))
			} else {
				c.now[h] = append(c.now[h], int32(i))
			}
		}
	}
	add(in.Results, "current")
	add(in.Baseline, "earlier")
	order := slices.SortedFunc(func(yield func(*changeCmd) bool) {
		for _, c := range cmds {
			if !yield(c) {
				return
			}
		}
	}, func(a, b *changeCmd) int { return strings.Compare(a.id, b.id) })

	sorted := make([]int, len(hostIDs))
	for i := range sorted {
		sorted[i] = i
	}
	slices.SortFunc(sorted, func(a, b int) int { return strings.Compare(hostIDs[a], hostIDs[b]) })
	var newHosts, goneHosts []string
	type compared struct {
		host     *Host
		findings []changeFinding
	}
	var hosts []compared
	for n, h := range sorted {
		if n%256 == 0 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
		id := hostIDs[h]
		switch {
		case !inNow[h]:
			goneHosts = append(goneHosts, id)
			continue
		case !inThen[h]:
			newHosts = append(newHosts, id)
			hosts = append(hosts, compared{host: &Host{InstanceID: id, Errors: []string{changesNewHost}}})
			continue
		}
		host := &Host{InstanceID: id}
		var fs []changeFinding
		for _, c := range order {
			nowIdx, thenIdx := c.now[h], c.then[h]
			if len(nowIdx) == 0 && len(thenIdx) == 0 {
				continue
			}
			if len(nowIdx) == 0 || len(thenIdx) == 0 {
				side := "this collection"
				if len(thenIdx) == 0 {
					side = "the earlier collection"
				}
				host.Errors = append(host.Errors, displayID(c.id)+": could not be compared: no result for this command in "+side)
				continue
			}
			nowSet, nowErrs, nowOK := c.rowSet(in.Results, nowIdx)
			thenSet, thenErrs, thenOK := c.rowSet(in.Baseline, thenIdx)
			for _, e := range nowErrs {
				host.Errors = append(host.Errors, displayID(c.id)+": could not be compared: now: "+e)
			}
			for _, e := range thenErrs {
				host.Errors = append(host.Errors, displayID(c.id)+": could not be compared: earlier: "+e)
			}
			if !nowOK || !thenOK {
				continue
			}
			for _, r := range nowSet {
				c.countNow[r]++
			}
			for _, r := range thenSet {
				c.countThen[r]++
			}
			// Both sets are sorted: walk them together.
			i, j := 0, 0
			for i < len(nowSet) || j < len(thenSet) {
				switch {
				case j == len(thenSet) || i < len(nowSet) && nowSet[i] < thenSet[j]:
					fs = append(fs, changeFinding{cmd: c, added: true, row: nowSet[i]})
					i++
				case i == len(nowSet) || thenSet[j] < nowSet[i]:
					fs = append(fs, changeFinding{cmd: c, row: thenSet[j]})
					j++
				default:
					i++
					j++
				}
			}
		}
		hosts = append(hosts, compared{host, fs})
	}

	nCompared := len(hosts) - len(newHosts)
	total := float64(max(nCompared, 1))
	withErrors := 0
	rep.Hosts = make([]Host, len(hosts))
	for n, hc := range hosts {
		slices.SortFunc(hc.findings, func(a, b changeFinding) int {
			if a.added != b.added {
				if a.added {
					return -1
				}
				return 1
			}
			return cmp.Or(strings.Compare(a.cmd.id, b.cmd.id), strings.Compare(a.cmd.keys[a.row], b.cmd.keys[b.row]))
		})
		host := hc.host
		host.Findings = make([]Finding, len(hc.findings))
		for i, f := range hc.findings {
			kind, hw := KindRemoved, int(f.cmd.countThen[f.row])
			why := fmt.Sprintf("gone from this host since the earlier collection; %d of the %d hosts compared had it", hw, nCompared)
			if f.added {
				kind, hw = KindAdded, int(f.cmd.countNow[f.row])
				why = fmt.Sprintf("new on this host since the earlier collection; %d of the %d hosts compared have it", hw, nCompared)
			}
			host.Findings[i] = Finding{CommandID: f.cmd.id, Kind: kind, Row: f.cmd.row(f.row), HostsWithRow: hw, Prevalence: float64(hw) / total, Why: why}
			host.Findings[i].keep()
		}
		host.Score = float64(len(host.Findings))
		host.Outlier = len(host.Findings) > 0
		if len(host.Errors) > 0 && (len(host.Errors) > 1 || host.Errors[0] != changesNewHost) {
			withErrors++
		}
		rep.Hosts[n] = *host
	}
	for _, id := range goneHosts {
		rep.Skipped = append(rep.Skipped, Skip{Source: cutText(id), Reason: "gone since the earlier collection: not in this one"})
	}
	if len(newHosts) > 0 || len(goneHosts) > 0 {
		rep.Notes = append(rep.Notes, fmt.Sprintf("%d hosts are new since the earlier collection (not compared: %s) and %d are gone (listed as skipped: %s); the %d hosts in both were compared",
			len(newHosts), firstIDs(newHosts), len(goneHosts), firstIDs(goneHosts), nCompared))
	}
	if withErrors > 0 {
		rep.Notes = append(rep.Notes, fmt.Sprintf("%d of %d hosts compared have commands that could not be compared (see their errors); their other commands were compared",
			withErrors, nCompared))
	}
	return rep, nil
}
