package diffy

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"maps"
	"slices"

	"github.com/diffy-dfir/diffy/collect"
	"github.com/diffy-dfir/diffy/payload"
	"github.com/diffy-dfir/diffy/persist"
)

// PartialRun is what an interrupted collection left in the store.
type PartialRun struct {
	// Incident is the run's incident ID; give it to WithIncident to resume.
	Incident string
	// Parts is how many batches were stored.
	Parts int
	// Instances counts the distinct instances with Results.
	Instances int
	// Results are the Results collected, in batch order, one per
	// instance and command (the latest), without those the interruption
	// cancelled.
	Results []collect.Result
}

// Partial returns the runs of key whose parts are still in the store: runs
// that were interrupted (or whose parts could not be deleted), sorted by
// incident ID; none when every collection of key completed.
func (d *Diffy) Partial(ctx context.Context, key string) ([]PartialRun, error) {
	sk, err := StoreKey(key)
	if err != nil {
		return nil, err
	}
	keys, err := d.store.List(ctx, KindPartial)
	if err != nil {
		return nil, stageErr("persist", d.store, err)
	}
	incidents := map[string]bool{}
	for _, k := range keys {
		if s, inc, _, ok := parsePartKey(k); ok && s == sk {
			incidents[inc] = true
		}
	}
	var runs []PartialRun
	for _, inc := range slices.Sorted(maps.Keys(incidents)) {
		rs, next, err := d.loadParts(ctx, sk, inc)
		if err != nil {
			return runs, err
		}
		var kept []collect.Result
		ids := map[string]bool{}
		for _, r := range latest(rs) {
			if r.Status != collect.StatusCancelled {
				kept = append(kept, r)
				ids[r.InstanceID] = true
			}
		}
		runs = append(runs, PartialRun{Incident: inc, Parts: next, Instances: len(ids), Results: kept})
	}
	return runs, nil
}

// loadParts returns the Results stored as parts of incident's collection of
// sk, in batch order, and the number of the next batch. A part that cannot
// be read is logged and left out.
func (d *Diffy) loadParts(ctx context.Context, sk, incident string) ([]collect.Result, int, error) {
	keys, err := d.store.List(ctx, KindPartial)
	if err != nil {
		return nil, 0, stageErr("persist", d.store, err)
	}
	type part struct {
		key string
		n   int
	}
	var parts []part
	for _, k := range keys {
		if s, inc, n, ok := parsePartKey(k); ok && s == sk && inc == incident {
			parts = append(parts, part{k, n})
		}
	}
	slices.SortFunc(parts, func(a, b part) int { return cmp.Compare(a.n, b.n) })
	var rs []collect.Result
	next := 0
	for _, p := range parts {
		next = max(next, p.n+1)
		doc, err := d.store.Get(ctx, KindPartial, p.key)
		if err != nil {
			if ctx.Err() != nil {
				return nil, 0, stageErr("persist", d.store, err)
			}
			d.log.Warn("cannot read a part of an interrupted collection", "part", p.key, "err", err)
			continue
		}
		var batch []collect.Result
		if err := json.Unmarshal(doc, &batch); err != nil {
			d.log.Warn("a part of an interrupted collection is not a JSON array of Results", "part", p.key, "err", err)
			continue
		}
		rs = append(rs, batch...)
	}
	return rs, next, nil
}

// dropParts deletes the parts of incident's collection of sk, when the
// store can delete. Failures are logged: the whole collection is stored by
// then, and leftover parts only cost space.
func (d *Diffy) dropParts(ctx context.Context, sk, incident string) {
	del, ok := d.store.(persist.Deleter)
	if !ok {
		return
	}
	keys, err := d.store.List(ctx, KindPartial)
	if err != nil {
		d.log.Warn("cannot list the parts of a finished collection", "err", err)
		return
	}
	for _, k := range keys {
		if s, inc, _, ok := parsePartKey(k); ok && s == sk && inc == incident {
			if err := del.Delete(ctx, KindPartial, k); err != nil && !errors.Is(err, ErrNotFound) {
				d.log.Warn("cannot delete a part of a finished collection", "part", k, "err", err)
			}
		}
	}
}

// completeInstances returns the instances of rs that have a Result other
// than Cancelled for every command.
func completeInstances(rs []collect.Result, cmds []payload.Command) map[string]bool {
	got := map[string]map[string]bool{}
	for _, r := range rs {
		if r.Status == collect.StatusCancelled || !r.Status.Done() {
			continue
		}
		if got[r.InstanceID] == nil {
			got[r.InstanceID] = map[string]bool{}
		}
		got[r.InstanceID][r.CommandID] = true
	}
	out := make(map[string]bool, len(got))
	for id, cs := range got {
		all := true
		for _, c := range cmds {
			if !cs[c.ID] {
				all = false
				break
			}
		}
		if all {
			out[id] = true
		}
	}
	return out
}

// latest keeps one Result per (instance, command) of rs, which are in
// batch order: the last one, unless it is Cancelled and an earlier one is
// not.
func latest(rs []collect.Result) []collect.Result {
	type pair struct{ inst, cmd string }
	at := make(map[pair]int, len(rs))
	var out []collect.Result
	for _, r := range rs {
		p := pair{r.InstanceID, r.CommandID}
		i, seen := at[p]
		switch {
		case !seen:
			at[p] = len(out)
			out = append(out, r)
		case r.Status != collect.StatusCancelled || out[i].Status == collect.StatusCancelled:
			out[i] = r
		}
	}
	return out
}
