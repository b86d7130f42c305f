package diffytest

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/diffy-dfir/diffy/diffyerr"
	"github.com/diffy-dfir/diffy/target"
)

// TargetHarness is what the Target suite needs: a fresh Target and what it
// knows.
type TargetHarness struct {
	// Target is the Target under test, new for each rule.
	Target target.Target
	// Key is a key that names at least one instance.
	Key string
	// Want, when set, lists the instance IDs Key stands for, in any
	// order; the suite then checks that Targets returns exactly these.
	Want []string
	// Missing is a key that names nothing.
	Missing string
	// Malformed, when set, is a key the Target refuses as malformed
	// (diffyerr.ErrInvalidKey). Leave it empty when every key is
	// well-formed for this Target.
	Malformed string
}

func (h TargetHarness) validate() error {
	switch {
	case h.Target == nil:
		return errors.New("TargetHarness.Target is nil")
	case h.Key == "":
		return errors.New("TargetHarness.Key is empty")
	case h.Missing == "":
		return errors.New("TargetHarness.Missing is empty")
	case h.Key == h.Missing:
		return fmt.Errorf("TargetHarness.Key and Missing are both %q", h.Key)
	}
	return nil
}

// TestTarget runs the Target suite: each rule below is a subtest of t, run
// on a fresh harness from newHarness. A broken rule fails its subtest with
// a message naming the rule. The rules, from the doc comment of
// target.Target:
//
//   - known-key: Targets(Key) returns at least one instance, every one with
//     a non-empty ID, and nil error; with Want set, exactly the IDs of Want.
//   - no-duplicates: no instance ID appears twice in the answer for Key.
//   - deterministic: two calls for Key return the same instances in the same
//     order.
//   - unknown-key: Targets(Missing) returns an error matching
//     diffyerr.ErrNotFound whose message contains Missing, and no instance.
//   - malformed-key: with Malformed set, Targets(Malformed) returns an error
//     matching diffyerr.ErrInvalidKey. Skipped when Malformed is empty.
//   - cancelled-context: Targets with a cancelled context returns an error
//     matching context.Canceled.
//   - concurrent-use: calls from several goroutines at once return the
//     same answer as a lone call (run the suite with -race).
//   - returns-copies: changing the returned instances (an ID, a tag) does
//     not change what the next call returns.
//
// A call that panics, or does not return within HangTimeout, breaks the
// rule that made it.
func TestTarget(t *testing.T, newHarness func(t *testing.T) TargetHarness) {
	t.Helper()
	runTest(t, "Target", targetRules, newHarness)
}

// CheckTarget runs the rules of TestTarget without a *testing.T, each on a
// fresh harness from newHarness, and returns every rule broken as a
// *Violation, joined with errors.Join; nil when the Target keeps them all.
func CheckTarget(newHarness func() (TargetHarness, error)) error {
	return runCheck("Target", targetRules, newHarness)
}

var targetRules = []rule[TargetHarness]{
	{"known-key", func(ctx context.Context, h TargetHarness) error {
		insts, err := targets(ctx, h.Target, h.Key)
		if err != nil {
			return fmt.Errorf("Targets(%q): %w", h.Key, err)
		}
		if len(insts) == 0 {
			return fmt.Errorf("Targets(%q) returned no instance and no error", h.Key)
		}
		ids := make([]string, len(insts))
		for i, in := range insts {
			if in.ID == "" {
				return fmt.Errorf("Targets(%q): instance %d has an empty ID", h.Key, i)
			}
			ids[i] = in.ID
		}
		if h.Want != nil {
			got, want := slices.Sorted(slices.Values(ids)), slices.Sorted(slices.Values(h.Want))
			if !slices.Equal(got, want) {
				return fmt.Errorf("Targets(%q) returned IDs %q, want %q", h.Key, got, want)
			}
		}
		return nil
	}},
	{"no-duplicates", func(ctx context.Context, h TargetHarness) error {
		insts, err := targets(ctx, h.Target, h.Key)
		if err != nil {
			return fmt.Errorf("Targets(%q): %w", h.Key, err)
		}
		seen := map[string]bool{}
		for _, in := range insts {
			if seen[in.ID] {
				return fmt.Errorf("Targets(%q) returned instance %q twice", h.Key, in.ID)
			}
			seen[in.ID] = true
		}
		return nil
	}},
	{"deterministic", func(ctx context.Context, h TargetHarness) error {
		a, err := targets(ctx, h.Target, h.Key)
		if err != nil {
			return fmt.Errorf("first Targets(%q): %w", h.Key, err)
		}
		b, err := targets(ctx, h.Target, h.Key)
		if err != nil {
			return fmt.Errorf("second Targets(%q): %w", h.Key, err)
		}
		if d := diffInstances(a, b); d != "" {
			return fmt.Errorf("two calls of Targets(%q) differ: %s", h.Key, d)
		}
		return nil
	}},
	{"unknown-key", func(ctx context.Context, h TargetHarness) error {
		insts, err := targets(ctx, h.Target, h.Missing)
		switch {
		case asCallError(err) != nil:
			return err
		case err == nil:
			return fmt.Errorf("Targets(%q) of a key that names nothing returned %d instances and no error, want an error matching ErrNotFound", h.Missing, len(insts))
		case !errors.Is(err, diffyerr.ErrNotFound):
			return fmt.Errorf("Targets(%q) of a key that names nothing returned %v, which does not match ErrNotFound", h.Missing, err)
		case !strings.Contains(err.Error(), h.Missing):
			return fmt.Errorf("Targets(%q): the error %q does not name the key", h.Missing, err)
		case len(insts) != 0:
			return fmt.Errorf("Targets(%q) returned %d instances with its error", h.Missing, len(insts))
		}
		return nil
	}},
	{"malformed-key", func(ctx context.Context, h TargetHarness) error {
		if h.Malformed == "" {
			return skip("the harness has no Malformed key")
		}
		_, err := targets(ctx, h.Target, h.Malformed)
		switch {
		case asCallError(err) != nil:
			return err
		case err == nil:
			return fmt.Errorf("Targets(%q) of a malformed key returned no error, want one matching ErrInvalidKey", h.Malformed)
		case !errors.Is(err, diffyerr.ErrInvalidKey):
			return fmt.Errorf("Targets(%q) of a malformed key returned %v, which does not match ErrInvalidKey", h.Malformed, err)
		}
		return nil
	}},
	{"cancelled-context", func(ctx context.Context, h TargetHarness) error {
		_, err := targets(cancelled(ctx), h.Target, h.Key)
		return wantCanceled(fmt.Sprintf("Targets(%q)", h.Key), err)
	}},
	{"concurrent-use", func(ctx context.Context, h TargetHarness) error {
		want, err := targets(ctx, h.Target, h.Key)
		if err != nil {
			return fmt.Errorf("Targets(%q): %w", h.Key, err)
		}
		return parallel(concurrency, func(i int) error {
			got, err := targets(ctx, h.Target, h.Key)
			if err != nil {
				return fmt.Errorf("concurrent call %d of Targets(%q): %w", i, h.Key, err)
			}
			if d := diffInstances(want, got); d != "" {
				return fmt.Errorf("concurrent call %d of Targets(%q) differs from a lone call: %s", i, h.Key, d)
			}
			return nil
		})
	}},
	{"returns-copies", func(ctx context.Context, h TargetHarness) error {
		first, err := targets(ctx, h.Target, h.Key)
		if err != nil {
			return fmt.Errorf("Targets(%q): %w", h.Key, err)
		}
		want := cloneInstances(first)
		for i := range first {
			first[i].ID += "-changed-by-diffytest"
			first[i].Name = "changed-by-diffytest"
			if first[i].Tags != nil {
				first[i].Tags["diffytest"] = "changed"
			}
		}
		again, err := targets(ctx, h.Target, h.Key)
		if err != nil {
			return fmt.Errorf("second Targets(%q): %w", h.Key, err)
		}
		if d := diffInstances(want, again); d != "" {
			return fmt.Errorf("changing what Targets(%q) returned changed the next answer: %s", h.Key, d)
		}
		return nil
	}},
}

func targets(ctx context.Context, tg target.Target, key string) ([]target.Instance, error) {
	return call(fmt.Sprintf("Targets(%q)", key), func() ([]target.Instance, error) { return tg.Targets(ctx, key) })
}

// cloneInstances returns a deep copy of insts.
func cloneInstances(insts []target.Instance) []target.Instance {
	if insts == nil {
		return nil
	}
	out := make([]target.Instance, len(insts))
	for i, in := range insts {
		in.Tags = maps.Clone(in.Tags)
		out[i] = in
	}
	return out
}

// diffInstances describes the first difference between a and b, or
// returns "".
func diffInstances(a, b []target.Instance) string {
	if len(a) != len(b) {
		return fmt.Sprintf("%d instances, then %d", len(a), len(b))
	}
	for i := range a {
		x, y := a[i], b[i]
		if x.ID != y.ID || x.Name != y.Name || x.Region != y.Region || x.Account != y.Account ||
			x.PrivateIP != y.PrivateIP || x.ImageID != y.ImageID || !x.LaunchTime.Equal(y.LaunchTime) ||
			!maps.Equal(x.Tags, y.Tags) {
			return fmt.Sprintf("instance %d is %+v, then %+v", i, x, y)
		}
	}
	return ""
}
