package diffytest

import (
	"context"
	"fmt"
	"maps"
	"testing"

	"github.com/diffy-dfir/diffy/inventory"
)

// TestInventory runs the Inventory suite: each rule below is a subtest of
// t, run on a fresh Inventory from newInventory. A broken rule fails its
// subtest with a message naming the rule. The rules, from the doc comment
// of inventory.Inventory:
//
//   - entries: Entries returns nil error, and every entry has a non-empty
//     Key.
//   - unique-keys: no key appears twice.
//   - deterministic: two calls return the same entries in the same order.
//   - cancelled-context: Entries with a cancelled context returns an error
//     matching context.Canceled.
//   - concurrent-use: calls from several goroutines at once return the
//     same entries as a lone call (run the suite with -race).
//   - returns-copies: changing the returned entries (a key, a label) does
//     not change what the next call returns.
//
// An inventory may be empty; give the suite one with entries to test
// more. A call that panics, or does not return within HangTimeout, breaks
// the rule that made it.
func TestInventory(t *testing.T, newInventory func(t *testing.T) inventory.Inventory) {
	t.Helper()
	runTest(t, "Inventory", inventoryRules, newInventory)
}

// CheckInventory runs the rules of TestInventory without a *testing.T,
// each on a fresh Inventory from newInventory, and returns every rule
// broken as a *Violation, joined with errors.Join; nil when the Inventory
// keeps them all.
func CheckInventory(newInventory func() (inventory.Inventory, error)) error {
	return runCheck("Inventory", inventoryRules, newInventory)
}

var inventoryRules = []rule[inventory.Inventory]{
	{"entries", func(ctx context.Context, inv inventory.Inventory) error {
		es, err := entries(ctx, inv)
		if err != nil {
			return fmt.Errorf("Entries: %w", err)
		}
		for i, e := range es {
			if e.Key == "" {
				return fmt.Errorf("Entries: entry %d has an empty key", i)
			}
		}
		return nil
	}},
	{"unique-keys", func(ctx context.Context, inv inventory.Inventory) error {
		es, err := entries(ctx, inv)
		if err != nil {
			return fmt.Errorf("Entries: %w", err)
		}
		seen := map[string]bool{}
		for _, e := range es {
			if seen[e.Key] {
				return fmt.Errorf("Entries returned key %q twice", e.Key)
			}
			seen[e.Key] = true
		}
		return nil
	}},
	{"deterministic", func(ctx context.Context, inv inventory.Inventory) error {
		a, err := entries(ctx, inv)
		if err != nil {
			return fmt.Errorf("first Entries: %w", err)
		}
		b, err := entries(ctx, inv)
		if err != nil {
			return fmt.Errorf("second Entries: %w", err)
		}
		if d := diffEntries(a, b); d != "" {
			return fmt.Errorf("two calls of Entries differ: %s", d)
		}
		return nil
	}},
	{"cancelled-context", func(ctx context.Context, inv inventory.Inventory) error {
		_, err := entries(cancelled(ctx), inv)
		return wantCanceled("Entries", err)
	}},
	{"concurrent-use", func(ctx context.Context, inv inventory.Inventory) error {
		want, err := entries(ctx, inv)
		if err != nil {
			return fmt.Errorf("Entries: %w", err)
		}
		return parallel(concurrency, func(i int) error {
			got, err := entries(ctx, inv)
			if err != nil {
				return fmt.Errorf("concurrent call %d of Entries: %w", i, err)
			}
			if d := diffEntries(want, got); d != "" {
				return fmt.Errorf("concurrent call %d of Entries differs from a lone call: %s", i, d)
			}
			return nil
		})
	}},
	{"returns-copies", func(ctx context.Context, inv inventory.Inventory) error {
		first, err := entries(ctx, inv)
		if err != nil {
			return fmt.Errorf("Entries: %w", err)
		}
		want := make([]inventory.Entry, len(first))
		for i, e := range first {
			e.Labels = maps.Clone(e.Labels)
			want[i] = e
		}
		for i := range first {
			first[i].Key += "-changed"
			if first[i].Labels != nil {
				first[i].Labels["diffytest"] = "changed"
			}
		}
		again, err := entries(ctx, inv)
		if err != nil {
			return fmt.Errorf("second Entries: %w", err)
		}
		if d := diffEntries(want, again); d != "" {
			return fmt.Errorf("changing what Entries returned changed the next answer: %s", d)
		}
		return nil
	}},
}

func entries(ctx context.Context, inv inventory.Inventory) ([]inventory.Entry, error) {
	return call("Entries", func() ([]inventory.Entry, error) { return inv.Entries(ctx) })
}

// diffEntries describes the first difference between a and b, or returns
// "".
func diffEntries(a, b []inventory.Entry) string {
	if len(a) != len(b) {
		return fmt.Sprintf("%d entries, then %d", len(a), len(b))
	}
	for i := range a {
		if a[i].Key != b[i].Key || a[i].Instance != b[i].Instance || !maps.Equal(a[i].Labels, b[i].Labels) {
			return fmt.Sprintf("entry %d is %+v, then %+v", i, a[i], b[i])
		}
	}
	return ""
}
