package collect

import (
	"context"

	"github.com/diffy-dfir/diffy/payload"
	"github.com/diffy-dfir/diffy/target"
)

// Collector runs commands on instances and gathers their output.
//
// Collect returns exactly one Result per (instance, command) pair asked for,
// in no particular order, whatever happens: a failure on one instance (not
// reachable, command failed, output cut or unparsable) is that pair's
// Result with a non-success Status and an Error naming the command, never
// the run's error. Duplicate instance IDs are collected once.
//
// Collect honours ctx: when ctx is cancelled it stops starting work, cancels
// what it can, and returns promptly with a Result for every pair (those not
// finished with StatusCancelled) and an error wrapping ctx.Err(). Any other
// non-nil error means the run could not start at all (bad arguments, no
// credentials); the Results returned with it, if any, are still valid.
//
// Collect is safe for concurrent use. Retrying transient API failures is
// the Collector's business; a Result it returns is final.
type Collector interface {
	Collect(ctx context.Context, instances []target.Instance, commands []payload.Command) ([]Result, error)
}
