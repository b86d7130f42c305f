package diffytest

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/diffy-dfir/diffy/collect"
	"github.com/diffy-dfir/diffy/payload"
	"github.com/diffy-dfir/diffy/target"
)

// CollectorHarness is what the Collector suite needs: a fresh Collector
// and what it can do.
type CollectorHarness struct {
	// Collector is the Collector under test, new for each rule.
	Collector collect.Collector
	// Instances are instances the Collector can reach, at least one, with
	// distinct IDs.
	Instances []target.Instance
	// Commands are commands that succeed on every one of Instances, at
	// least one: their Results must have StatusSuccess.
	Commands []payload.Command
	// Failing, when set, are instances the Collector cannot collect from
	// (unknown, unreachable, not managed): each of their Results must be a
	// failure, and the run must not fail because of them.
	Failing []target.Instance
	// Hang, when set, is a command that does not finish until the run is
	// cancelled (for instance a Shell of `sleep 3600`), on every one of
	// Instances. The cancelled-mid-run rule needs it.
	Hang *payload.Command
}

func (h CollectorHarness) validate() error {
	switch {
	case h.Collector == nil:
		return errors.New("CollectorHarness.Collector is nil")
	case len(h.Instances) == 0:
		return errors.New("CollectorHarness.Instances is empty")
	case len(h.Commands) == 0:
		return errors.New("CollectorHarness.Commands is empty")
	}
	seen := map[string]bool{}
	for _, in := range append(slices.Clone(h.Instances), h.Failing...) {
		if in.ID == "" || seen[in.ID] {
			return fmt.Errorf("CollectorHarness: instance ID %q is empty or listed twice among Instances and Failing", in.ID)
		}
		seen[in.ID] = true
	}
	if h.Hang != nil && slices.ContainsFunc(h.Commands, func(c payload.Command) bool { return c.ID == h.Hang.ID }) {
		return fmt.Errorf("CollectorHarness: Hang's ID %q is among Commands", h.Hang.ID)
	}
	return nil
}

// TestCollector runs the Collector suite: each rule below is a subtest of
// t, run on a fresh harness from newHarness. A broken rule fails its
// subtest with a message naming the rule. The rules, from the doc comment
// of collect.Collector:
//
//   - one-result-per-pair: Collect(Instances, Commands) returns nil error
//     and exactly one Result per (instance, command) pair: none missing,
//     none twice, none for a pair not asked for.
//   - results-valid: every Result has a final Status (Status.Done), a
//     non-zero CollectedAt, no Rows unless it succeeded, an Error naming
//     the command when it did not, and, when Truncated, StatusFailed and no
//     Rows.
//   - commands-succeed: every Result for Instances and Commands has
//     StatusSuccess.
//   - failing-instance: with Failing set, Collect over Instances and
//     Failing returns nil error, one Result per pair, each of Failing's
//     Results a failure with an Error, and Instances' Results still
//     successful. Skipped when Failing is empty.
//   - duplicate-instances: instances listed twice are collected once: one
//     Result per distinct (instance, command).
//   - cancelled-before-start: Collect with a cancelled context returns an
//     error matching context.Canceled and a Result for every pair, each
//     StatusCancelled: nothing was started.
//   - cancelled-mid-run: with Hang set, the suite cancels a run of Commands
//     and Hang; Collect returns (no wall-clock limit: only a hang, past
//     HangTimeout, breaks the rule) an error matching context.Canceled and a
//     Result for every pair, Hang's StatusCancelled. Skipped when Hang is
//     nil.
//   - batches-cover-pairs: a collect.BatchCollector's CollectBatches over
//     Instances and Failing gives each pair's Result in exactly one batch,
//     an instance's Results all in one, never calling fn concurrently.
//     Skipped for a Collector that is not one.
//   - batches-stop-on-error: CollectBatches returns the error of fn, and
//     calls fn no more after it. Skipped likewise.
//   - concurrent-use: runs from several goroutines at once each return one
//     successful Result per pair (run the suite with -race).
//   - does-not-modify-inputs: Collect leaves the instances (tags too) and
//     commands it was given as they were.
//   - returns-copies: changing the rows of the Results returned does not
//     show in the next run's Results.
//
// A call that panics, or does not return within HangTimeout, breaks the
// rule that made it.
func TestCollector(t *testing.T, newHarness func(t *testing.T) CollectorHarness) {
	t.Helper()
	runTest(t, "Collector", collectorRules, newHarness)
}

// CheckCollector runs the rules of TestCollector without a *testing.T,
// each on a fresh harness from newHarness, and returns every rule broken as
// a *Violation, joined with errors.Join; nil when the Collector keeps them
// all.
func CheckCollector(newHarness func() (CollectorHarness, error)) error {
	return runCheck("Collector", collectorRules, newHarness)
}

// midRunPause is how long the cancelled-mid-run rule lets a run go before
// cancelling it. It only makes it likely that the hanging command has
// started; the rule holds whenever the cancel lands.
const midRunPause = 200 * time.Millisecond

var collectorRules = []rule[CollectorHarness]{
	{"one-result-per-pair", func(ctx context.Context, h CollectorHarness) error {
		rs, err := collectRun(ctx, h.Collector, h.Instances, h.Commands)
		if err != nil {
			return fmt.Errorf("Collect: %w", err)
		}
		return checkPairs(rs, h.Instances, h.Commands)
	}},
	{"results-valid", func(ctx context.Context, h CollectorHarness) error {
		insts := append(slices.Clone(h.Instances), h.Failing...)
		rs, err := collectRun(ctx, h.Collector, insts, h.Commands)
		if err != nil {
			return fmt.Errorf("Collect: %w", err)
		}
		var errs []error
		for _, r := range rs {
			if err := validResult(r); err != nil {
				errs = append(errs, err)
			}
		}
		return errors.Join(errs...)
	}},
	{"commands-succeed", func(ctx context.Context, h CollectorHarness) error {
		rs, err := collectRun(ctx, h.Collector, h.Instances, h.Commands)
		if err != nil {
			return fmt.Errorf("Collect: %w", err)
		}
		return allSucceeded(rs)
	}},
	{"failing-instance", func(ctx context.Context, h CollectorHarness) error {
		if len(h.Failing) == 0 {
			return skip("the harness has no Failing instance")
		}
		// Put the failing instances among the good ones, not only at the end.
		insts := make([]target.Instance, 0, len(h.Instances)+len(h.Failing))
		insts = append(insts, h.Failing[0])
		insts = append(insts, h.Instances...)
		insts = append(insts, h.Failing[1:]...)
		rs, err := collectRun(ctx, h.Collector, insts, h.Commands)
		if err != nil {
			return fmt.Errorf("Collect with %d failing instances among %d: the run failed (%w), want each failure in its instance's Results", len(h.Failing), len(insts), err)
		}
		if err := checkPairs(rs, insts, h.Commands); err != nil {
			return err
		}
		failing := map[string]bool{}
		for _, in := range h.Failing {
			failing[in.ID] = true
		}
		var errs []error
		var good []collect.Result
		for _, r := range rs {
			switch {
			case !failing[r.InstanceID]:
				good = append(good, r)
			case r.Status == collect.StatusSuccess:
				errs = append(errs, fmt.Errorf("failing instance %q: command %q has StatusSuccess", r.InstanceID, r.CommandID))
			case r.Error == "":
				errs = append(errs, fmt.Errorf("failing instance %q: command %q has status %s and no Error saying why", r.InstanceID, r.CommandID, r.Status))
			}
		}
		if err := allSucceeded(good); err != nil {
			errs = append(errs, fmt.Errorf("beside failing instances: %w", err))
		}
		return errors.Join(errs...)
	}},
	{"duplicate-instances", func(ctx context.Context, h CollectorHarness) error {
		insts := append(slices.Clone(h.Instances), h.Instances...)
		insts = append(insts, h.Instances[0])
		rs, err := collectRun(ctx, h.Collector, insts, h.Commands)
		if err != nil {
			return fmt.Errorf("Collect with every instance listed twice: %w", err)
		}
		if err := checkPairs(rs, h.Instances, h.Commands); err != nil {
			return fmt.Errorf("with every instance listed twice: %w", err)
		}
		return nil
	}},
	{"cancelled-before-start", func(ctx context.Context, h CollectorHarness) error {
		rs, err := collectRun(cancelled(ctx), h.Collector, h.Instances, h.Commands)
		if err := wantCanceled("Collect", err); err != nil {
			return err
		}
		if err := checkPairs(rs, h.Instances, h.Commands); err != nil {
			return fmt.Errorf("with a cancelled context: %w", err)
		}
		for _, r := range rs {
			if r.Status != collect.StatusCancelled {
				return fmt.Errorf("with a cancelled context, instance %q command %q has status %s, want %s: nothing should start", r.InstanceID, r.CommandID, r.Status, collect.StatusCancelled)
			}
		}
		return nil
	}},
	{"cancelled-mid-run", func(ctx context.Context, h CollectorHarness) error {
		if h.Hang == nil {
			return skip("the harness has no Hang command")
		}
		cmds := append(slices.Clone(h.Commands), *h.Hang)
		cctx, cancel := context.WithCancel(ctx)
		defer cancel()
		go func() {
			time.Sleep(midRunPause)
			cancel()
		}()
		rs, err := collectRun(cctx, h.Collector, h.Instances, cmds)
		switch {
		case asCallError(err) != nil:
			return fmt.Errorf("after cancelling a run with a hanging command: %w", err)
		case err == nil:
			return fmt.Errorf("Collect of the hanging command %q returned no error after its context was cancelled", h.Hang.ID)
		case !errors.Is(err, context.Canceled):
			return fmt.Errorf("Collect cancelled mid-run returned %v, which does not match context.Canceled", err)
		}
		if err := checkPairs(rs, h.Instances, cmds); err != nil {
			return fmt.Errorf("cancelled mid-run: %w", err)
		}
		var errs []error
		for _, r := range rs {
			if !r.Status.Done() {
				errs = append(errs, fmt.Errorf("cancelled mid-run: instance %q command %q has status %q, not a final one", r.InstanceID, r.CommandID, r.Status))
			}
			if r.CommandID == h.Hang.ID && r.Status != collect.StatusCancelled {
				errs = append(errs, fmt.Errorf("cancelled mid-run: instance %q hanging command %q has status %s, want %s", r.InstanceID, r.CommandID, r.Status, collect.StatusCancelled))
			}
		}
		return errors.Join(errs...)
	}},
	{"batches-cover-pairs", func(ctx context.Context, h CollectorHarness) error {
		bc, ok := h.Collector.(collect.BatchCollector)
		if !ok {
			return skip("the Collector is not a collect.BatchCollector")
		}
		insts := append(slices.Clone(h.Instances), h.Failing...)
		var (
			all     []collect.Result
			inCall  atomic.Int32
			overlap bool
		)
		batchOf := map[string]int{}
		n := 0
		_, err := call("CollectBatches", func() ([]collect.Result, error) {
			return nil, bc.CollectBatches(ctx, cloneInstances(insts), slices.Clone(h.Commands), func(b []collect.Result) error {
				if inCall.Add(1) > 1 {
					overlap = true
				}
				defer inCall.Add(-1)
				n++
				for _, r := range b {
					if k, seen := batchOf[r.InstanceID]; seen && k != n {
						return fmt.Errorf("instance %q has Results in batches %d and %d", r.InstanceID, k, n)
					}
					batchOf[r.InstanceID] = n
				}
				all = append(all, b...)
				return nil
			})
		})
		switch {
		case err != nil:
			return fmt.Errorf("CollectBatches: %w", err)
		case overlap:
			return errors.New("CollectBatches called fn concurrently")
		}
		return checkPairs(all, insts, h.Commands)
	}},
	{"batches-stop-on-error", func(ctx context.Context, h CollectorHarness) error {
		bc, ok := h.Collector.(collect.BatchCollector)
		if !ok {
			return skip("the Collector is not a collect.BatchCollector")
		}
		stop := errors.New("stop here")
		calls := 0
		_, err := call("CollectBatches", func() ([]collect.Result, error) {
			return nil, bc.CollectBatches(ctx, cloneInstances(h.Instances), slices.Clone(h.Commands), func([]collect.Result) error {
				calls++
				return stop
			})
		})
		switch {
		case asCallError(err) != nil:
			return fmt.Errorf("CollectBatches with an fn that fails: %w", err)
		case !errors.Is(err, stop):
			return fmt.Errorf("CollectBatches returned %v, not the error of fn", err)
		case calls != 1:
			return fmt.Errorf("fn was called %d times after it failed, want 1 call", calls)
		}
		return nil
	}},
	{"concurrent-use", func(ctx context.Context, h CollectorHarness) error {
		return parallel(concurrency, func(i int) error {
			rs, err := collectRun(ctx, h.Collector, h.Instances, h.Commands)
			if err != nil {
				return fmt.Errorf("concurrent run %d: Collect: %w", i, err)
			}
			if err := checkPairs(rs, h.Instances, h.Commands); err != nil {
				return fmt.Errorf("concurrent run %d: %w", i, err)
			}
			if err := allSucceeded(rs); err != nil {
				return fmt.Errorf("concurrent run %d: %w", i, err)
			}
			return nil
		})
	}},
	{"does-not-modify-inputs", func(ctx context.Context, h CollectorHarness) error {
		insts := append(slices.Clone(h.Instances), h.Failing...)
		wantInsts, wantCmds := cloneInstances(insts), slices.Clone(h.Commands)
		cmds := slices.Clone(h.Commands)
		if _, err := collectRaw(ctx, h.Collector, insts, cmds); err != nil {
			return fmt.Errorf("Collect: %w", err)
		}
		if d := diffInstances(wantInsts, insts); d != "" {
			return fmt.Errorf("Collect changed the instances it was given: %s", d)
		}
		if d := diffCommands(wantCmds, cmds); d != "" {
			return fmt.Errorf("Collect changed the commands it was given: %s", d)
		}
		return nil
	}},
	{"returns-copies", func(ctx context.Context, h CollectorHarness) error {
		first, err := collectRun(ctx, h.Collector, h.Instances, h.Commands)
		if err != nil {
			return fmt.Errorf("Collect: %w", err)
		}
		for i := range first {
			for _, row := range first[i].Rows {
				for k := range row {
					row[k] = "changed-by-diffytest"
				}
				row["diffytest-marker"] = "changed-by-diffytest"
			}
			first[i].Rows = append(first[i].Rows, collect.Row{"diffytest-marker": "changed-by-diffytest"})
		}
		again, err := collectRun(ctx, h.Collector, h.Instances, h.Commands)
		if err != nil {
			return fmt.Errorf("second Collect: %w", err)
		}
		for _, r := range again {
			for _, row := range r.Rows {
				for k, v := range row {
					if k == "diffytest-marker" || v == "changed-by-diffytest" {
						return fmt.Errorf("changing the rows of one run's Results showed in the next run: instance %q command %q has a row %v", r.InstanceID, r.CommandID, row)
					}
				}
			}
		}
		return nil
	}},
}

// collectRun calls c.Collect on copies of insts and cmds, so that a
// collector that changes its inputs cannot change the harness (that is the
// does-not-modify-inputs rule's to find).
func collectRun(ctx context.Context, c collect.Collector, insts []target.Instance, cmds []payload.Command) ([]collect.Result, error) {
	return collectRaw(ctx, c, cloneInstances(insts), slices.Clone(cmds))
}

// collectRaw calls c.Collect on insts and cmds as they are.
func collectRaw(ctx context.Context, c collect.Collector, insts []target.Instance, cmds []payload.Command) ([]collect.Result, error) {
	return call(fmt.Sprintf("Collect(%d instances, %d commands)", len(insts), len(cmds)), func() ([]collect.Result, error) {
		return c.Collect(ctx, insts, cmds)
	})
}

// checkPairs checks that rs holds exactly one Result per pair of a distinct
// instance of insts and a command of cmds, and nothing else.
func checkPairs(rs []collect.Result, insts []target.Instance, cmds []payload.Command) error {
	type pair struct{ inst, cmd string }
	want := map[pair]bool{}
	for _, in := range insts {
		for _, c := range cmds {
			want[pair{in.ID, c.ID}] = true
		}
	}
	got := map[pair]int{}
	var errs []error
	for _, r := range rs {
		p := pair{r.InstanceID, r.CommandID}
		got[p]++
		switch {
		case !want[p]:
			errs = append(errs, fmt.Errorf("a Result for instance %q command %q, a pair not asked for", p.inst, p.cmd))
		case got[p] == 2:
			errs = append(errs, fmt.Errorf("more than one Result for instance %q command %q", p.inst, p.cmd))
		}
	}
	var missing []string
	for p := range want {
		if got[p] == 0 {
			missing = append(missing, p.inst+"/"+p.cmd)
		}
	}
	if len(missing) > 0 {
		slices.Sort(missing)
		errs = append(errs, fmt.Errorf("%d of %d (instance, command) pairs have no Result: %s", len(missing), len(want), abbreviate(missing, 10)))
	}
	if len(errs) > 10 {
		errs = append(errs[:10], fmt.Errorf("and %d more problems", len(errs)-10))
	}
	return errors.Join(errs...)
}

// validResult checks the invariants of one Result.
func validResult(r collect.Result) error {
	where := fmt.Sprintf("instance %q command %q", r.InstanceID, r.CommandID)
	switch {
	case !r.Status.Done():
		return fmt.Errorf("%s: status %q is not a final status", where, r.Status)
	case r.CollectedAt.IsZero():
		return fmt.Errorf("%s: CollectedAt is not set", where)
	case r.Status != collect.StatusSuccess && r.Rows != nil:
		return fmt.Errorf("%s: status %s with %d rows; only a success carries rows", where, r.Status, len(r.Rows))
	case r.Status != collect.StatusSuccess && r.Error == "":
		return fmt.Errorf("%s: status %s with no Error saying why", where, r.Status)
	case r.Status != collect.StatusSuccess && !strings.Contains(r.Error, r.CommandID):
		return fmt.Errorf("%s: status %s with an Error that does not name the command: %q", where, r.Status, r.Error)
	case r.Truncated && (r.Status != collect.StatusFailed || r.Rows != nil):
		return fmt.Errorf("%s: truncated, with status %s and %d rows; want StatusFailed and no rows", where, r.Status, len(r.Rows))
	}
	return nil
}

// allSucceeded checks that every Result of rs has StatusSuccess.
func allSucceeded(rs []collect.Result) error {
	var bad []string
	for _, r := range rs {
		if r.Status != collect.StatusSuccess {
			bad = append(bad, fmt.Sprintf("%s/%s: %s: %s", r.InstanceID, r.CommandID, r.Status, r.Error))
		}
	}
	if len(bad) > 0 {
		return fmt.Errorf("%d of %d Results did not succeed: %s", len(bad), len(rs), abbreviate(bad, 5))
	}
	return nil
}

// abbreviate joins the first n of items, saying how many more there are.
func abbreviate(items []string, n int) string {
	if len(items) <= n {
		return strings.Join(items, "; ")
	}
	return strings.Join(items[:n], "; ") + fmt.Sprintf("; and %d more", len(items)-n)
}

// cloneResults returns a deep copy of rs.
func cloneResults(rs []collect.Result) []collect.Result {
	if rs == nil {
		return nil
	}
	out := make([]collect.Result, len(rs))
	for i, r := range rs {
		r.Rows = cloneRows(r.Rows)
		out[i] = r
	}
	return out
}

// cloneRows returns a deep copy of rows.
func cloneRows(rows []collect.Row) []collect.Row {
	if rows == nil {
		return nil
	}
	out := make([]collect.Row, len(rows))
	for i, row := range rows {
		out[i] = maps.Clone(row)
	}
	return out
}
