package analyze

import (
	"cmp"
	"context"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/diffy-dfir/diffy/collect"
	"github.com/diffy-dfir/diffy/diffyerr"
)

// Baseline is the Analyzer that compares every host with a baseline: the
// Results of one known-clean instance (the "functional baseline" of the
// original Diffy).
//
// For each host and each command, the host's rows and the baseline's are
// compared as sets, after dropping volatile columns (see Volatile): a row
// the host has and the baseline does not is a Finding of kind KindAdded, a
// row the baseline has and the host does not is KindRemoved. Rows are
// compared whole, never by position, and duplicate rows count once. Unless
// KeepTokens is set, per-host tokens inside values (instance IDs, host
// names, UUIDs, long hex IDs, host addresses, ephemeral ports in command
// lines) are first replaced by placeholders with NormalizeRow, so that a
// host does not differ from the baseline merely by carrying its own name in
// a command line; Finding.Row is then the normalized row. A host
// is an outlier when it has any finding; its Score is its number of
// findings. Findings are sorted added before removed, then by command ID,
// then by RowKey; HostsWithRow counts the analyzed hosts whose output of
// that command has the row, and Prevalence divides it by the number of
// hosts in the Report.
//
// What cannot be compared is said, not guessed: a host's Result that did
// not succeed (failed, timed out, truncated...) gives no findings and is
// listed in Host.Errors as "COMMAND: STATUS: ERROR"; a command the baseline
// has and a host has no Result for is listed there as "COMMAND: missing";
// a command that failed on the baseline instance, or that the baseline
// lacks, is not compared on any host and Report.Notes says so. A Result
// without an instance ID goes to Report.Skipped. Results of the original
// Diffy's files, which have no command ID, form one unnamed command ("")
// on both sides. Several Results for one (host, command) are merged: their
// rows form one set.
//
// Findings of one row share its stripped Row map; clone it before changing
// it. The zero value is ready to use. A Baseline is safe for concurrent use.
// Its work is linear in the number of rows: every row is keyed once (with
// a Keyer, no allocation), distinct keys are interned and counted, and the
// commands are compared in parallel. 10,000 hosts of six commands with 25
// rows each (1.1 million rows) take about one second of CPU time
// (BenchmarkBaseline10k).
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
	// Now gives Report.CreatedAt; nil means time.Now.
	Now func() time.Time
}

var (
	_ Analyzer     = Baseline{}
	_ BaselineUser = Baseline{}
)

// defaultVolatile is what a Baseline with a nil Volatile uses; never
// changed.
var defaultVolatile = DefaultVolatile()

// NeedsBaseline reports true: Baseline compares against a stored baseline.
func (Baseline) NeedsBaseline() bool { return true }

// Name returns "baseline", the Report.Analyzer of a Baseline.
func (Baseline) Name() string { return "baseline" }

// cmdState is what Analyze knows of one command ID. During the comparison
// each cmdState is touched by one goroutine only.
type cmdState struct {
	id    string
	vol   Volatile
	keyer *Keyer
	// normalize: rows go through NormalizeRow before they are keyed.
	normalize bool
	buf       []byte
	// ids interns row keys: key to row number. The baseline's rows are
	// numbered first, so a row is in the baseline exactly when its number
	// is below nBase.
	ids   map[string]int32
	keys  []string
	src   []collect.Row // the first row seen with each key, unstripped
	strip []collect.Row // stripped rows, built lazily for findings
	count []int32       // hosts having each row
	nBase int32
	// inBase: the baseline has a Result for the command; baseOK: one of
	// them succeeded, so the command is compared.
	inBase, baseOK bool
	baseErrs       []string
	// results holds, per host (by first-seen number), the indices of its
	// Results for the command in Input.Results.
	results [][]int32
	// errs and found are the outcome per host: the Results that did not
	// succeed, and the findings before the counts are final.
	errs  [][]string
	found [][]pending
	// notInBase counts hosts with a successful Result for a command the
	// baseline cannot compare.
	notInBase int
}

func newCmdState(id string, vol Volatile, normalize bool) *cmdState {
	return &cmdState{id: id, vol: vol, keyer: vol.Keyer(id), normalize: normalize, ids: map[string]int32{}}
}

// intern returns the number of row, adding it if new.
func (c *cmdState) intern(row collect.Row) int32 {
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
	c.count = append(c.count, 0)
	return id
}

// row returns the stripped row number id, shared by every finding of it.
func (c *cmdState) row(id int32) collect.Row {
	if c.strip == nil {
		c.strip = make([]collect.Row, len(c.src))
	}
	if c.strip[id] == nil {
		c.strip[id] = c.vol.Strip(c.id, c.src[id])
	}
	return c.strip[id]
}

// compare compares every host's Results for the command with the
// baseline's rows, filling errs, found and count.
func (c *cmdState) compare(ctx context.Context, results []collect.Result, nHosts int) error {
	c.errs = make([][]string, nHosts)
	c.found = make([][]pending, nHosts)
	var ids []int32
	for h, rs := range c.results {
		if h%256 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		ok := false
		for _, ri := range rs {
			if r := &results[ri]; r.OK() {
				ok = true
			} else {
				c.errs[h] = append(c.errs[h], resultError(r))
			}
		}
		if !ok {
			continue
		}
		if !c.baseOK {
			c.notInBase++
			continue
		}
		ids = ids[:0]
		for _, ri := range rs {
			if r := &results[ri]; r.OK() {
				for _, row := range r.Rows {
					ids = append(ids, c.intern(row))
				}
			}
		}
		slices.Sort(ids)
		ids = slices.Compact(ids)
		// ids is sorted: the baseline's rows (below nBase) come first.
		var found []pending
		next := int32(0)
		for _, id := range ids {
			c.count[id]++
			if id < c.nBase {
				for ; next < id; next++ {
					found = append(found, pending{cmd: c, row: next})
				}
				next = id + 1
			} else {
				found = append(found, pending{cmd: c, added: true, row: id})
			}
		}
		for ; next < c.nBase; next++ {
			found = append(found, pending{cmd: c, row: next})
		}
		c.found[h] = found
	}
	return nil
}

// pending is a finding before the counts are final.
type pending struct {
	cmd   *cmdState
	added bool
	row   int32
}

// Analyze compares every host of in.Results with in.Baseline. It returns an
// error matching diffyerr.ErrNoBaseline when in.Baseline is empty, and one
// matching diffyerr.ErrInvalidInput when in.Baseline holds the Results of
// more than one instance.
func (b Baseline) Analyze(ctx context.Context, in Input) (*Report, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if len(in.Baseline) == 0 {
		return nil, fmt.Errorf("baseline analysis of %q: the baseline holds no results: %w", in.Key, diffyerr.ErrNoBaseline)
	}
	baseInst := in.Baseline[0].InstanceID
	for _, r := range in.Baseline[1:] {
		if r.InstanceID != baseInst {
			return nil, fmt.Errorf("baseline analysis of %q: the baseline holds results of instances %q and %q; a baseline comes from one instance: %w",
				in.Key, baseInst, r.InstanceID, diffyerr.ErrInvalidInput)
		}
	}
	vol := b.Volatile
	if vol == nil {
		vol = defaultVolatile
	}
	now := time.Now
	if b.Now != nil {
		now = b.Now
	}
	rep := &Report{
		Key: in.Key, Analyzer: b.Name(), CreatedAt: now().UTC(), BaselineInstance: baseInst,
		Hosts: []Host{}, Skipped: slices.Clone(in.Skipped),
	}

	cmds := map[string]*cmdState{}
	state := func(id string) *cmdState {
		c := cmds[id]
		if c == nil {
			c = newCmdState(id, vol, !b.KeepTokens)
			cmds[id] = c
		}
		return c
	}
	ignored := func(id string) bool { return slices.Contains(b.IgnoreCommands, id) }

	// The baseline's rows first, so that they get the lowest numbers.
	for i := range in.Baseline {
		r := &in.Baseline[i]
		if ignored(r.CommandID) {
			continue
		}
		c := state(r.CommandID)
		c.inBase = true
		if !r.OK() {
			c.baseErrs = append(c.baseErrs, resultError(r))
			continue
		}
		c.baseOK = true
		for _, row := range r.Rows {
			c.intern(row)
		}
	}
	for _, c := range cmds {
		c.nBase = int32(len(c.keys))
	}

	// Hosts, numbered as first seen, and each host's Results per command.
	hostNum := map[string]int{}
	var hostIDs []string
	for i := range in.Results {
		r := &in.Results[i]
		if r.InstanceID == "" {
			rep.Skipped = append(rep.Skipped, Skip{
				Source: fmt.Sprintf("result %d (command %q)", i+1, r.CommandID),
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
		if ignored(r.CommandID) {
			continue
		}
		c := state(r.CommandID)
		if len(c.results) <= h {
			c.results = append(c.results, make([][]int32, h+1-len(c.results))...)
		}
		c.results[h] = append(c.results[h], int32(i))
	}
	nHosts := len(hostIDs)
	order := slices.SortedFunc(func(yield func(*cmdState) bool) {
		for _, c := range cmds {
			if !yield(c) {
				return
			}
		}
	}, func(a, b *cmdState) int { return strings.Compare(a.id, b.id) })

	// Commands are independent: compare them in parallel.
	errs := make([]error, len(order))
	var wg sync.WaitGroup
	sem := make(chan struct{}, runtime.GOMAXPROCS(0))
	for i, c := range order {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			errs[i] = c.compare(ctx, in.Results, nHosts)
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}

	sorted := make([]int, nHosts)
	for i := range sorted {
		sorted[i] = i
	}
	slices.SortFunc(sorted, func(a, b int) int { return strings.Compare(hostIDs[a], hostIDs[b]) })
	rep.Hosts = make([]Host, nHosts)
	total := float64(nHosts)
	withErrors := 0
	var ps []pending
	for n, h := range sorted {
		host := &rep.Hosts[n]
		host.InstanceID = hostIDs[h]
		ps = ps[:0]
		for _, c := range order {
			if h >= len(c.results) || len(c.results[h]) == 0 {
				if c.inBase {
					host.Errors = append(host.Errors, displayID(c.id)+": missing: no result for this command")
				}
				continue
			}
			host.Errors = append(host.Errors, c.errs[h]...)
			ps = append(ps, c.found[h]...)
		}
		if len(host.Errors) > 0 {
			withErrors++
		}
		slices.SortFunc(ps, func(a, b pending) int {
			if a.added != b.added {
				if a.added {
					return -1
				}
				return 1
			}
			return cmp.Or(strings.Compare(a.cmd.id, b.cmd.id), strings.Compare(a.cmd.keys[a.row], b.cmd.keys[b.row]))
		})
		host.Findings = make([]Finding, len(ps))
		for i, p := range ps {
			kind := KindRemoved
			if p.added {
				kind = KindAdded
			}
			hw := int(p.cmd.count[p.row])
			host.Findings[i] = Finding{CommandID: p.cmd.id, Kind: kind, Row: p.cmd.row(p.row), HostsWithRow: hw, Prevalence: float64(hw) / total}
		}
		host.Score = float64(len(ps))
		host.Outlier = len(ps) > 0
	}

	for _, c := range order {
		switch {
		case c.inBase && !c.baseOK:
			rep.Notes = append(rep.Notes, fmt.Sprintf("command %s did not succeed on the baseline instance %s (%s); it was not compared on any host",
				displayID(c.id), baseInst, strings.Join(c.baseErrs, "; ")))
		case !c.inBase && c.notInBase > 0:
			rep.Notes = append(rep.Notes, fmt.Sprintf("command %s is not in the baseline of instance %s; it was not compared on the %d hosts that ran it",
				displayID(c.id), baseInst, c.notInBase))
		case c.inBase && len(c.baseErrs) > 0:
			rep.Notes = append(rep.Notes, fmt.Sprintf("command %s has failed Results in the baseline beside successful ones (%s); only the successful rows were compared",
				displayID(c.id), strings.Join(c.baseErrs, "; ")))
		}
	}
	if withErrors > 0 {
		rep.Notes = append(rep.Notes, fmt.Sprintf("%d of %d hosts have commands that could not be compared (see their errors); their other commands were compared",
			withErrors, nHosts))
	}
	return rep, nil
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
// "COMMAND: STATUS: ERROR".
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
	return displayID(r.CommandID) + ": " + status + ": " + msg
}
