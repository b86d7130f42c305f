package diffy

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/diffy-dfir/diffy/collect"
	"github.com/diffy-dfir/diffy/internal/parts"
	"github.com/diffy-dfir/diffy/payload"
	"github.com/diffy-dfir/diffy/persist"
	"github.com/diffy-dfir/diffy/target"
)

// Collect collects the payload from every instance of key and stores the
// whole collection (persist.KindCollection, under StoreKey(key)) as the
// key's latest, the earlier ones kept as runs (see Runs). It returns one Result per instance and command, sorted
// by the target's instance order and then the payload's command order.
//
// Instances are collected in batches (WithBatchSize); each batch's Results
// are stored as soon as it ends, as a persist.KindPartial document, and the
// parts are deleted once the whole collection is stored, when the store
// implements persist.Deleter. So when ctx is cancelled, or the collector or
// store fails, or the process is killed, everything collected before is in
// the store. In the first two cases Collect returns the Results collected
// so far with an *IncompleteError. Running Collect again with the same
// incident ID (WithIncident) resumes: the instances whose every command has
// a final Result other than Cancelled in the parts are not collected again.
//
// Equal rows of different instances are one map (collect.RowPool), so that
// a fleet's Results are held in memory together at a fraction of the cost:
// treat their rows as read-only (see collect.Row).
//
// Plugin errors come wrapped in a *StageError.
func (d *Diffy) Collect(ctx context.Context, key string) ([]collect.Result, error) {
	ctx = d.startRun(ctx)
	sk, err := StoreKey(key)
	if err != nil {
		return nil, err
	}
	rs, _, _, err := d.collect(ctx, key, sk)
	return rs, err
}

// collect is Collect; resumed counts the instances whose Results came from
// the parts of an earlier run of the same incident.
func (d *Diffy) collect(ctx context.Context, key, sk string) (results []collect.Result, insts []target.Instance, resumed int, err error) {
	// The Results of every batch are held together until the end: equal
	// rows of different batches become one map, as the collector may
	// already have done within a batch (collect.RowPool).
	var pool collect.RowPool
	c, err := d.collectEach(ctx, key, sk, false, func(rs []collect.Result) error {
		for i := range rs {
			pool.Share(rs[i].Rows)
		}
		results = append(results, rs...)
		return nil
	})
	if c.insts == nil && err != nil {
		return nil, nil, 0, err
	}
	sortResults(results, c.insts, c.cmds)
	if err != nil {
		return results, c.insts, c.resumed, &IncompleteError{Key: key, Incident: d.incident, Done: c.done, Total: len(c.insts), Results: results, Err: err}
	}
	if err := d.put(ctx, persist.KindCollection, sk, results); err != nil {
		return results, c.insts, c.resumed, &IncompleteError{Key: key, Incident: d.incident, Done: c.done, Total: len(c.insts), Results: results, Err: err}
	}
	parts.Drop(ctx, d.store, d.log, sk, d.incident)
	return results, c.insts, c.resumed, nil
}

// collection is what collectEach tells of a collection.
type collection struct {
	insts   []target.Instance
	cmds    []payload.Command
	resumed int // instances whose Results came from an earlier run's parts
	done    int // instances with every command final
	// failed holds the instances with a Result that is not OK.
	failed map[string]bool
	// first and next number the parts this run stored: first to next-1.
	first, next int
}

// collectEach collects from every instance of key and hands the Results
// to each as they come, after storing them as a part: first those of the
// parts of an earlier run of the same incident (resumed), then each batch
// the collector delivers (collect.CollectBatches, over batches of
// WithBatchSize instances). each may keep what it is given. With
// ownParts, the resumed Results are stored again as this run's first
// part, so that this run's parts (collection.first to next-1) hold the
// whole collection, for a caller that joins them without holding the
// Results (analyzeStream); the earlier parts may then go. A non-nil
// error with a nil collection.insts means nothing was collected (targets
// or payload failed); any other stops the collection part way: the
// collector's (a *StageError), the store's, each's, or ctx's.
func (d *Diffy) collectEach(ctx context.Context, key, sk string, ownParts bool, each func([]collect.Result) error) (c collection, err error) {
	insts, err := d.targets(ctx, key)
	if err != nil {
		return c, err
	}
	cmds, err := d.commands(ctx)
	if err != nil {
		return c, err
	}
	prior, next, err := d.loadParts(ctx, sk, d.incident)
	if err != nil {
		return c, err
	}
	inTarget := make(map[string]bool, len(insts))
	for _, in := range insts {
		inTarget[in.ID] = true
	}
	prior = parts.Latest(prior)
	have := parts.Complete(prior, cmds)
	var kept []collect.Result
	for _, r := range prior {
		if have[r.InstanceID] && inTarget[r.InstanceID] {
			kept = append(kept, r)
		}
	}
	prior = nil
	var todo, unavailable []target.Instance
	for _, in := range insts {
		switch {
		case have[in.ID]:
		case in.Unavailable != "":
			unavailable = append(unavailable, in)
		default:
			todo = append(todo, in)
		}
	}
	c = collection{insts: insts, cmds: cmds, done: len(insts) - len(todo) - len(unavailable), first: next, failed: map[string]bool{}}
	noteFailed := func(rs []collect.Result) {
		for i := range rs {
			if !rs[i].OK() {
				c.failed[rs[i].InstanceID] = true
			}
		}
	}
	noteFailed(kept)
	defer func() { c.next = next }()
	c.resumed = c.done
	if c.done > 0 {
		d.log.Info("resuming collection", "key", key, "incident", d.incident, "already_collected", c.done)
		if ownParts {
			if err := d.putPart(ctx, sk, next, kept); err != nil {
				return c, err
			}
			next++
		}
		if err := each(kept); err != nil {
			return c, err
		}
	}
	kept = nil
	if len(unavailable) > 0 {
		// Sent nothing, accounted for all the same, and stored as a part
		// like the others.
		rs := unavailableResults(unavailable, cmds)
		if err := d.putPart(ctx, sk, next, rs); err != nil {
			return c, err
		}
		next++
		c.done += len(unavailable)
		noteFailed(rs)
		d.log.Warn("instances of the target cannot be collected", "key", key, "instances", len(unavailable), "first", unavailable[0].ID+": "+unavailable[0].Unavailable)
		if err := each(rs); err != nil {
			return c, err
		}
	}
	d.reportFailed("collect", c.done, len(insts), len(c.failed))
	for start := 0; start < len(todo); start += d.batchSize {
		if start > 0 && d.stopped() {
			d.log.Info("collection stopped at a batch boundary", "key", key, "done", c.done, "total", len(insts))
			return c, ErrStopped
		}
		batch := todo[start:min(start+d.batchSize, len(todo))]
		got := map[[2]string]bool{} // the (instance, command) pairs delivered
		var derr error              // the failure of deliver, which stops the batch
		// deliver stores one delivery of the collector as a part (kept
		// even when the run is being cancelled: that is the point of
		// storing it) and hands it to each.
		deliver := func(rs []collect.Result) error {
			if len(rs) == 0 {
				return nil
			}
			for _, r := range rs {
				got[[2]string{r.InstanceID, r.CommandID}] = true
			}
			if err := d.putPart(ctx, sk, next, rs); err != nil {
				derr = err
				return err
			}
			next++
			finished := parts.Complete(rs, cmds)
			c.done += len(finished)
			noteFailed(rs)
			if err := each(rs); err != nil {
				derr = err
				return err
			}
			d.reportFailed("collect", c.done, len(insts), len(c.failed))
			return nil
		}
		cerr := collect.CollectBatches(ctx, d.collector, batch, cmds, deliver)
		stop := derr
		if stop == nil && cerr != nil {
			stop = stageErr("collect", d.collector, cerr)
		}
		// Every pair asked for has a Result (account), even when the
		// collector broke its contract or the run stopped.
		var have []collect.Result
		for _, in := range batch {
			for _, cmd := range cmds {
				if got[[2]string{in.ID, cmd.ID}] {
					have = append(have, collect.Result{InstanceID: in.ID, CommandID: cmd.ID})
				}
			}
		}
		if derr == nil && len(have) < len(batch)*len(cmds) {
			rs := account(batch, cmds, have, cerr != nil || ctx.Err() != nil)[len(have):]
			if err := deliver(rs); err != nil {
				stop = err
			}
		}
		d.log.Info("batch collected", "key", key, "instances", len(batch), "done", c.done, "total", len(insts))
		if stop == nil && ctx.Err() != nil {
			stop = ctx.Err()
		}
		if stop != nil {
			return c, stop
		}
	}
	return c, nil
}

// stopped reports whether the channel of WithStopAfterBatch is closed.
func (d *Diffy) stopped() bool {
	if d.stop == nil {
		return false
	}
	select {
	case <-d.stop:
		return true
	default:
		return false
	}
}

// unavailableResults returns the Results of instances the target says
// cannot be collected (target.Instance.Unavailable): one per command,
// StatusUndeliverable, with the target's reason.
func unavailableResults(insts []target.Instance, cmds []payload.Command) []collect.Result {
	now := time.Now().UTC()
	var rs []collect.Result
	for _, in := range insts {
		for _, c := range cmds {
			rs = append(rs, collect.Result{InstanceID: in.ID, CommandID: c.ID, Status: collect.StatusUndeliverable,
				StatusDetails: "TargetUnavailable", CollectedAt: now, ExitCode: -1,
				Error: fmt.Sprintf("command %s on %s: not collected: %s", c.ID, in.ID, in.Unavailable)})
		}
	}
	return rs
}

// unavailableNote is the Report's note on the instances the target said
// cannot be collected, by reason; "" when there are none.
func unavailableNote(insts []target.Instance) string {
	by := map[string][]string{}
	var reasons []string
	for _, in := range insts {
		if in.Unavailable == "" {
			continue
		}
		if by[in.Unavailable] == nil {
			reasons = append(reasons, in.Unavailable)
		}
		by[in.Unavailable] = append(by[in.Unavailable], in.ID)
	}
	if len(reasons) == 0 {
		return ""
	}
	n := 0
	var parts []string
	for _, r := range reasons {
		ids := by[r]
		n += len(ids)
		shown := ids[:min(len(ids), 5)]
		more := ""
		if len(ids) > len(shown) {
			more = fmt.Sprintf(" and %d more", len(ids)-len(shown))
		}
		parts = append(parts, fmt.Sprintf("%d: %s (%s%s)", len(ids), r, strings.Join(shown, ", "), more))
	}
	return fmt.Sprintf("%d instances named by the target were not collected, their Results say why; %s", n, strings.Join(parts, "; "))
}

// putCollectionFromParts stores the collection of sk (KindCollection, as
// Collect does) from the parts this run stored, first to next-1, joined as
// the JSON they are, never decoded: the store holds the same documents as
// after Collect, at the cost of the collection's JSON in memory once
// (persist.Store takes a document whole), not of its Results. A resumed
// run's parts begin with the Results of the earlier run's (collectEach
// with ownParts), so these parts hold the whole collection.
func (d *Diffy) putCollectionFromParts(ctx context.Context, sk string, first, next int) error {
	var doc []byte
	doc = append(doc, '[')
	for n := first; n < next; n++ {
		b, err := d.store.Get(ctx, persist.KindPartial, parts.Key(sk, d.incident, n))
		if err != nil {
			return stageErr("persist", d.store, err)
		}
		b = bytes.TrimSpace(b)
		if len(b) < 2 || b[0] != '[' || b[len(b)-1] != ']' {
			return fmt.Errorf("part %d of the collection of %s is not a JSON array", n, sk)
		}
		if inner := bytes.TrimSpace(b[1 : len(b)-1]); len(inner) > 0 {
			if len(doc) > 1 {
				doc = append(doc, ',')
			}
			doc = append(doc, inner...)
		}
	}
	doc = append(doc, ']')
	return d.putRun(ctx, persist.KindCollection, sk, doc)
}

// saveTimeout bounds the store write of a batch collected while ctx was
// being cancelled; that write runs on a context without ctx's cancellation.
const saveTimeout = time.Minute

// putPart stores batch n of the collection of sk.
func (d *Diffy) putPart(ctx context.Context, sk string, n int, rs []collect.Result) error {
	if ctx.Err() != nil {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(context.WithoutCancel(ctx), saveTimeout)
		defer cancel()
	}
	return d.put(ctx, persist.KindPartial, parts.Key(sk, d.incident, n), rs)
}

// account makes sure every (instance, command) pair asked for has a
// Result: a missing one is added as Cancelled when the run stopped, and as
// Failed otherwise (the collector broke its contract).
func account(insts []target.Instance, cmds []payload.Command, rs []collect.Result, stopped bool) []collect.Result {
	type pair struct{ inst, cmd string }
	have := make(map[pair]bool, len(rs))
	for _, r := range rs {
		have[pair{r.InstanceID, r.CommandID}] = true
	}
	now := time.Now().UTC()
	for _, in := range insts {
		for _, c := range cmds {
			if have[pair{in.ID, c.ID}] {
				continue
			}
			r := collect.Result{InstanceID: in.ID, CommandID: c.ID, CollectedAt: now, ExitCode: -1}
			if stopped {
				r.Status = collect.StatusCancelled
				r.Error = fmt.Sprintf("command %s: the run stopped before it ran", c.ID)
			} else {
				r.Status = collect.StatusFailed
				r.Error = fmt.Sprintf("command %s: the collector returned no result for it", c.ID)
			}
			rs = append(rs, r)
		}
	}
	return rs
}

// sortResults sorts rs by the instances' order and then the commands'
// order; anything the collector added beyond them goes last, by ID.
func sortResults(rs []collect.Result, insts []target.Instance, cmds []payload.Command) {
	io := make(map[string]int, len(insts))
	for i, in := range insts {
		io[in.ID] = i
	}
	co := make(map[string]int, len(cmds))
	for i, c := range cmds {
		co[c.ID] = i
	}
	rank := func(m map[string]int, k string) int {
		if i, ok := m[k]; ok {
			return i
		}
		return len(m)
	}
	slices.SortStableFunc(rs, func(a, b collect.Result) int {
		return cmp.Or(
			cmp.Compare(rank(io, a.InstanceID), rank(io, b.InstanceID)),
			cmp.Compare(a.InstanceID, b.InstanceID),
			cmp.Compare(rank(co, a.CommandID), rank(co, b.CommandID)),
			cmp.Compare(a.CommandID, b.CommandID),
		)
	})
}
