package diffytest

import (
	"context"
	"fmt"
	"maps"
	"sync"

	"github.com/diffy-dfir/diffy/diffyerr"
	"github.com/diffy-dfir/diffy/inventory"
)

// FakeInventory is an in-memory inventory.Inventory whose entries can
// grow, as new Auto Scaling groups appear in a watched account. It counts
// its calls, is safe for concurrent use, and returns copies. It passes
// TestInventory.
type FakeInventory struct {
	mu      sync.Mutex
	entries []inventory.Entry
	calls   int
}

// NewFakeInventory returns a FakeInventory of a copy of entries.
func NewFakeInventory(entries ...inventory.Entry) *FakeInventory {
	inv := &FakeInventory{}
	for _, e := range entries {
		inv.Add(e)
	}
	return inv
}

// Add appends a copy of e to the entries, as a new key appearing.
func (inv *FakeInventory) Add(e inventory.Entry) {
	inv.mu.Lock()
	defer inv.mu.Unlock()
	e.Labels = maps.Clone(e.Labels)
	inv.entries = append(inv.entries, e)
}

// Entries returns a copy of the entries in the order added, or an error
// matching diffyerr.ErrInvalidInput when a key is empty or was added twice.
func (inv *FakeInventory) Entries(ctx context.Context) ([]inventory.Entry, error) {
	inv.mu.Lock()
	defer inv.mu.Unlock()
	inv.calls++
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("fake inventory: %w", err)
	}
	out := make([]inventory.Entry, len(inv.entries))
	seen := map[string]bool{}
	for i, e := range inv.entries {
		if e.Key == "" || seen[e.Key] {
			return nil, fmt.Errorf("fake inventory: entry %d has an empty or repeated key %q: %w", i+1, e.Key, diffyerr.ErrInvalidInput)
		}
		seen[e.Key] = true
		e.Labels = maps.Clone(e.Labels)
		out[i] = e
	}
	return out, nil
}

// Calls returns how many times Entries was called.
func (inv *FakeInventory) Calls() int {
	inv.mu.Lock()
	defer inv.mu.Unlock()
	return inv.calls
}
