package diffy

import (
	"context"
	"maps"
	"slices"

	"github.com/diffy-dfir/diffy/collect"
	"github.com/diffy-dfir/diffy/internal/parts"
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
	keys, err := d.store.List(ctx, persist.KindPartial)
	if err != nil {
		return nil, stageErr("persist", d.store, err)
	}
	incidents := map[string]bool{}
	for _, k := range keys {
		if s, inc, _, ok := parts.ParseKey(k); ok && s == sk {
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
		for _, r := range parts.Latest(rs) {
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
// sk, in batch order, and the number of the next batch (see parts.Load).
func (d *Diffy) loadParts(ctx context.Context, sk, incident string) ([]collect.Result, int, error) {
	rs, next, err := parts.Load(ctx, d.store, d.log, sk, incident)
	if err != nil {
		return nil, 0, stageErr("persist", d.store, err)
	}
	return rs, next, nil
}
