package collect

import (
	"context"

	"github.com/diffy-dfir/diffy/payload"
	"github.com/diffy-dfir/diffy/target"
)

// BatchCollector is a Collector that can deliver its Results batch by batch,
// as they become final, so that a caller who persists or analyzes them as
// they come never holds a whole fleet's Results: an optional capability,
// found by type assertion (as io/fs finds ReadDirFS). Use CollectBatches to
// get the batches from any Collector.
//
// CollectBatches runs commands on instances as Collect does, with the same
// Results, and calls fn with them in batches: every (instance, command)
// pair asked for is in exactly one batch, all the Results of an instance in
// the same batch, in no particular order. fn is called from one goroutine
// at a time, never concurrently, and may keep the batch (the collector does
// not touch it again); while fn runs, collection goes on. When fn returns
// an error, the collector stops starting work, cancels what it can, calls
// fn no more, and returns that error.
//
// Cancellation and errors are as with Collect: when ctx is cancelled, the
// pairs not finished are delivered as StatusCancelled and the error wraps
// ctx.Err(); any other error (but fn's) means the run could not start, and
// then fn was not called.
type BatchCollector interface {
	Collector
	CollectBatches(ctx context.Context, instances []target.Instance, commands []payload.Command, fn func([]Result) error) error
}

// CollectBatches collects with c, batch by batch when c is a
// BatchCollector; otherwise it calls c.Collect and gives fn all its Results
// as one batch (also when Collect returned an error with Results).
func CollectBatches(ctx context.Context, c Collector, instances []target.Instance, commands []payload.Command, fn func([]Result) error) error {
	if bc, ok := c.(BatchCollector); ok {
		return bc.CollectBatches(ctx, instances, commands, fn)
	}
	rs, err := c.Collect(ctx, instances, commands)
	if len(rs) > 0 {
		if ferr := fn(rs); ferr != nil {
			return ferr
		}
	}
	return err
}
