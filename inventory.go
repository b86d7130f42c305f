package diffy

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/diffy-dfir/diffy/inventory"
	"github.com/diffy-dfir/diffy/persist"
)

// BaselineInventory baselines every key of the inventory that has no
// baseline in the store yet, from the entry's instance when it names one
// (else as Baseline chooses), and returns the keys it baselined, in
// inventory order. A key that fails does not stop the others: its error is
// joined into the returned one, which names the key. Progress is reported
// as stage "inventory".
func (d *Diffy) BaselineInventory(ctx context.Context) ([]string, error) {
	entries, err := d.inventory.Entries(ctx)
	if err != nil {
		return nil, stageErr("inventory", d.inventory, err)
	}
	stored, err := d.store.List(ctx, persist.KindBaseline)
	if err != nil {
		return nil, stageErr("persist", d.store, err)
	}
	have := make(map[string]bool, len(stored))
	for _, k := range stored {
		have[k] = true
	}
	var keys []string
	var errs []error
	d.report("inventory", 0, len(entries))
	for i, e := range entries {
		if err := ctx.Err(); err != nil {
			errs = append(errs, err)
			break
		}
		sk, err := StoreKey(e.Key)
		switch {
		case err != nil:
			errs = append(errs, fmt.Errorf("inventory key %q: %w", e.Key, err))
		case have[sk]:
		default:
			inst := e.Instance
			if inst == "" {
				inst = d.baselineInstance
			}
			if _, err := d.baseline(ctx, e.Key, inst); err != nil {
				errs = append(errs, fmt.Errorf("inventory key %q: %w", e.Key, err))
			} else {
				keys = append(keys, e.Key)
				have[sk] = true
			}
		}
		d.report("inventory", i+1, len(entries))
	}
	return keys, errors.Join(errs...)
}

// KindInventorySeen is the kind of the document in which InventoryRound
// keeps the inventory keys it has seen (key InventorySeenKey).
const KindInventorySeen persist.Kind = "inventory.seen"

// InventorySeenKey is the store key of InventoryRound's seen set.
const InventorySeenKey = "seen"

// maxSeen bounds the seen set InventoryRound keeps: beyond it, the keys
// seen longest ago are forgotten (and, when they come back without a
// baseline, handed out again).
const maxSeen = 100_000

// seenSet is the stored document of InventoryRound: when each key was
// first seen.
type seenSet struct {
	Keys map[string]time.Time `json:"keys"`
}

// InventoryRound does one round of an inventory watch: it lists the
// inventory, hands each entry whose key it has not seen before to handle
// (a job server queues a baseline of it; handle may also baseline it
// itself), and remembers the key as seen, in the store (kind
// KindInventorySeen), once handle returned nil, so that the next round,
// in this process or after a restart, does not hand it out again. An
// entry whose key already has a baseline in the store is marked seen
// without being handed out: the first round of a watch over a store that
// was already in use baselines only what is new. It returns the entries
// handed out, in inventory order.
//
// A handle error does not stop the round: the entry stays unseen (the next
// round tries again) and the error, naming the key, is joined into the
// returned one. The inventory's and the store's errors stop the round
// (wrapped in a *StageError). Calls must not overlap (a watch calls it from
// one goroutine): each reads the seen set, then writes it whole.
func (d *Diffy) InventoryRound(ctx context.Context, handle func(context.Context, inventory.Entry) error) ([]inventory.Entry, error) {
	entries, err := d.inventory.Entries(ctx)
	if err != nil {
		return nil, stageErr("inventory", d.inventory, err)
	}
	seen := seenSet{Keys: map[string]time.Time{}}
	doc, err := d.store.Get(ctx, KindInventorySeen, InventorySeenKey)
	switch {
	case errors.Is(err, ErrNotFound):
	case err != nil:
		return nil, stageErr("persist", d.store, err)
	default:
		if err := json.Unmarshal(doc, &seen); err != nil || seen.Keys == nil {
			// A damaged set is not fatal: the baselines in the store
			// still keep known groups from being handed out again.
			d.log.Warn("inventory seen set is damaged, starting afresh", "kind", KindInventorySeen, "err", err)
			seen.Keys = map[string]time.Time{}
		}
	}
	stored, err := d.store.List(ctx, persist.KindBaseline)
	if err != nil {
		return nil, stageErr("persist", d.store, err)
	}
	based := make(map[string]bool, len(stored))
	for _, k := range stored {
		based[k] = true
	}
	var out []inventory.Entry
	var errs []error
	changed := false
	now := time.Now().UTC()
	d.report("inventory", 0, len(entries))
	for i, e := range entries {
		if err := ctx.Err(); err != nil {
			errs = append(errs, err)
			break
		}
		if _, ok := seen.Keys[e.Key]; ok {
			d.report("inventory", i+1, len(entries))
			continue
		}
		sk, err := StoreKey(e.Key)
		switch {
		case err != nil:
			errs = append(errs, fmt.Errorf("inventory key %q: %w", e.Key, err))
		case based[sk]:
			seen.Keys[e.Key], changed = now, true
		default:
			if err := handle(ctx, e); err != nil {
				errs = append(errs, fmt.Errorf("inventory key %q: %w", e.Key, err))
				break
			}
			out = append(out, e)
			seen.Keys[e.Key], changed = now, true
			// Saved at once: a crash later in the round must not hand
			// this entry out again.
			if err := d.saveSeen(ctx, seen); err != nil {
				return out, errors.Join(append(errs, err)...)
			}
			changed = false
		}
		d.report("inventory", i+1, len(entries))
	}
	if changed {
		if err := d.saveSeen(ctx, seen); err != nil {
			errs = append(errs, err)
		}
	}
	return out, errors.Join(errs...)
}

// saveSeen stores the seen set, forgetting the oldest keys beyond maxSeen.
func (d *Diffy) saveSeen(ctx context.Context, seen seenSet) error {
	if len(seen.Keys) > maxSeen {
		keys := slices.SortedFunc(maps.Keys(seen.Keys), func(a, b string) int {
			return cmp.Or(seen.Keys[b].Compare(seen.Keys[a]), cmp.Compare(a, b))
		})
		for _, k := range keys[maxSeen:] {
			delete(seen.Keys, k)
		}
	}
	doc, err := json.Marshal(seen)
	if err != nil {
		return err
	}
	return stageErr("persist", d.store, d.store.Put(ctx, KindInventorySeen, InventorySeenKey, doc))
}
