package diffytest

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/diffy-dfir/diffy/collect"
	"github.com/diffy-dfir/diffy/diffytest/fleet"
	"github.com/diffy-dfir/diffy/payload"
	"github.com/diffy-dfir/diffy/target"
)

// FakeCollector is an in-memory collect.Collector that answers from what
// it was given: rows (or raw output) per instance and command. It turns
// output into Results through collect.Limits.Fill, as every collector must,
// so a fake output that is cut, too big or not JSON gives the Result a real
// collector would. It records every call, is safe for concurrent use, and
// returns copies. It passes TestCollector.
//
// An instance it knows nothing of is Undeliverable; a command it has no
// output for on a known instance fails with exit status 1; an instance set
// to fail with Fail fails every command; a command set to hang with Hang
// runs until the context is cancelled.
type FakeCollector struct {
	// Limits caps what one Result may hold; the zero value takes the
	// defaults of collect.Limits.
	Limits collect.Limits
	// Now, when set, gives the Results' CollectedAt; the default is
	// time.Now in UTC.
	Now func() time.Time

	mu      sync.Mutex
	outputs map[string]map[string]fakeOutput
	failing map[string]fakeFailure
	hanging map[string]bool
	calls   []CollectCall
}

type fakeOutput struct {
	stdout []byte
	stderr string
	exit   int
}

type fakeFailure struct {
	status collect.Status
	reason string
}

// CollectCall is one call a FakeCollector received: copies of its
// arguments.
type CollectCall struct {
	// Instances are the instances asked for, duplicates included.
	Instances []target.Instance
	// Commands are the commands asked for.
	Commands []payload.Command
}

// NewFakeCollector returns a FakeCollector answering with rows, by
// instance ID, then by command ID.
func NewFakeCollector(rows map[string]map[string][]collect.Row) *FakeCollector {
	c := &FakeCollector{}
	for inst, byCmd := range rows {
		for cmd, rs := range byCmd {
			c.SetRows(inst, cmd, rs)
		}
	}
	return c
}

// NewFleetCollector returns a FakeCollector answering for every host of f:
// each command of the standard pack prints the host's rows as osqueryi
// would (fleet.Host.Output). Add failures, hangs or more output with the
// methods below.
func NewFleetCollector(f *fleet.Fleet) *FakeCollector {
	c := &FakeCollector{}
	for i := range f.Hosts {
		h := &f.Hosts[i]
		for _, cmd := range payload.StandardPack() {
			if out, ok := h.Output(cmd.ID); ok {
				c.SetOutput(h.Instance.ID, cmd.ID, out, "", 0)
			}
		}
	}
	return c
}

// SetRows makes commandID on instanceID succeed with rows, printed as
// `osqueryi --json` would print them. Nil rows print "[]".
func (c *FakeCollector) SetRows(instanceID, commandID string, rows []collect.Row) {
	if rows == nil {
		rows = []collect.Row{}
	}
	out, err := json.Marshal(rows)
	if err != nil {
		panic("diffytest: FakeCollector.SetRows: " + err.Error()) // rows of strings always marshal
	}
	c.SetOutput(instanceID, commandID, out, "", 0)
}

// SetOutput makes commandID on instanceID print stdout and stderr and exit
// with exitCode. The output need not be valid: the Result is what
// collect.Limits.Fill makes of it.
func (c *FakeCollector) SetOutput(instanceID, commandID string, stdout []byte, stderr string, exitCode int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.outputs == nil {
		c.outputs = map[string]map[string]fakeOutput{}
	}
	if c.outputs[instanceID] == nil {
		c.outputs[instanceID] = map[string]fakeOutput{}
	}
	c.outputs[instanceID][commandID] = fakeOutput{slices.Clone(stdout), stderr, exitCode}
}

// Fail makes every command on instanceID end with status (StatusUndeliverable
// when empty) and an Error holding reason.
func (c *FakeCollector) Fail(instanceID string, status collect.Status, reason string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if status == "" {
		status = collect.StatusUndeliverable
	}
	if c.failing == nil {
		c.failing = map[string]fakeFailure{}
	}
	c.failing[instanceID] = fakeFailure{status, reason}
}

// Hang makes commandID run on every instance until the run's context is
// cancelled.
func (c *FakeCollector) Hang(commandID string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.hanging == nil {
		c.hanging = map[string]bool{}
	}
	c.hanging[commandID] = true
}

// Calls returns the calls received, in order.
func (c *FakeCollector) Calls() []CollectCall {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]CollectCall, len(c.calls))
	for i, call := range c.calls {
		out[i] = CollectCall{cloneInstances(call.Instances), slices.Clone(call.Commands)}
	}
	return out
}

// Collect returns one Result per distinct instance and command, in the
// order given. When ctx is cancelled, the pairs not yet done are
// StatusCancelled and the error wraps ctx.Err().
func (c *FakeCollector) Collect(ctx context.Context, instances []target.Instance, commands []payload.Command) ([]collect.Result, error) {
	c.mu.Lock()
	c.calls = append(c.calls, CollectCall{cloneInstances(instances), slices.Clone(commands)})
	c.mu.Unlock()

	var results []collect.Result
	seen := map[string]bool{}
	for _, in := range instances {
		if seen[in.ID] {
			continue
		}
		seen[in.ID] = true
		for _, cmd := range commands {
			results = append(results, c.run(ctx, in.ID, cmd.ID))
		}
	}
	if err := ctx.Err(); err != nil {
		return results, fmt.Errorf("fake collector: run of %d instances cancelled: %w", len(seen), err)
	}
	return results, nil
}

// run makes the Result of one command on one instance.
func (c *FakeCollector) run(ctx context.Context, instanceID, commandID string) collect.Result {
	c.mu.Lock()
	out, known := c.outputs[instanceID][commandID]
	_, instKnown := c.outputs[instanceID]
	fail, failing := c.failing[instanceID]
	hang := c.hanging[commandID]
	limits := c.Limits
	c.mu.Unlock()

	r := collect.Result{InstanceID: instanceID, CommandID: commandID, ExitCode: -1}
	if hang && !failing && ctx.Err() == nil {
		<-ctx.Done()
	}
	r.CollectedAt = c.now()
	switch {
	case ctx.Err() != nil:
		r.Status = collect.StatusCancelled
		r.Error = fmt.Sprintf("command %s: cancelled before it finished: %v", commandID, ctx.Err())
	case failing:
		r.Status = fail.status
		r.Error = fmt.Sprintf("command %s: %s", commandID, fail.reason)
	case !instKnown && !hang:
		r.Status = collect.StatusUndeliverable
		r.Error = fmt.Sprintf("command %s: instance %q is unknown to the fake collector", commandID, instanceID)
	case !known:
		r.ExitCode = 1
		limits.Fill(&r, nil, "diffytest: the fake collector has no output for command "+commandID, false, "")
	default:
		r.ExitCode = out.exit
		limits.Fill(&r, out.stdout, out.stderr, false, "")
	}
	return r
}

func (c *FakeCollector) now() time.Time {
	if c.Now != nil {
		return c.Now()
	}
	return time.Now().UTC()
}
