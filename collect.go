package diffy

import (
	"cmp"
	"context"
	"fmt"
	"slices"
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
	insts, err = d.targets(ctx, key)
	if err != nil {
		return nil, nil, 0, err
	}
	cmds, err := d.commands(ctx)
	if err != nil {
		return nil, nil, 0, err
	}
	prior, next, err := d.loadParts(ctx, sk, d.incident)
	if err != nil {
		return nil, nil, 0, err
	}
	inTarget := make(map[string]bool, len(insts))
	for _, in := range insts {
		inTarget[in.ID] = true
	}
	// The Results of every batch are held together until the end: equal
	// rows of different batches become one map, as the collector may
	// already have done within a batch (collect.RowPool).
	var pool collect.RowPool
	prior = parts.Latest(prior)
	have := parts.Complete(prior, cmds)
	for _, r := range prior {
		if have[r.InstanceID] && inTarget[r.InstanceID] {
			pool.Share(r.Rows)
			results = append(results, r)
		}
	}
	var todo []target.Instance
	for _, in := range insts {
		if !have[in.ID] {
			todo = append(todo, in)
		}
	}
	done := len(insts) - len(todo)
	resumed = done
	if done > 0 {
		d.log.Info("resuming collection", "key", key, "incident", d.incident, "already_collected", done)
	}
	d.report("collect", done, len(insts))
	for start := 0; start < len(todo); start += d.batchSize {
		batch := todo[start:min(start+d.batchSize, len(todo))]
		rs, cerr := d.collector.Collect(ctx, batch, cmds)
		got := len(rs)
		rs = account(batch, cmds, rs, cerr != nil || ctx.Err() != nil)
		// The batch is kept even when the run is being cancelled: that is
		// the point of storing it. A collector that returned nothing left
		// nothing to keep.
		var perr error
		if got > 0 {
			perr = d.putPart(ctx, sk, next, rs)
			next++
		}
		for i := range rs {
			pool.Share(rs[i].Rows)
		}
		results = append(results, rs...)
		finished := parts.Complete(rs, cmds)
		for _, in := range batch {
			if finished[in.ID] {
				done++
			}
		}
		d.report("collect", done, len(insts))
		d.log.Info("batch collected", "key", key, "instances", len(batch), "done", done, "total", len(insts))
		var stop error
		switch {
		case cerr != nil:
			stop = stageErr("collect", d.collector, cerr)
		case perr != nil:
			stop = perr
		case ctx.Err() != nil:
			stop = ctx.Err()
		}
		if stop != nil {
			sortResults(results, insts, cmds)
			return results, insts, resumed, &IncompleteError{Key: key, Incident: d.incident, Done: done, Total: len(insts), Results: results, Err: stop}
		}
	}
	sortResults(results, insts, cmds)
	if err := d.put(ctx, persist.KindCollection, sk, results); err != nil {
		return results, insts, resumed, &IncompleteError{Key: key, Incident: d.incident, Done: done, Total: len(insts), Results: results, Err: err}
	}
	parts.Drop(ctx, d.store, d.log, sk, d.incident)
	return results, insts, resumed, nil
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
