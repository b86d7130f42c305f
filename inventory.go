package diffy

import (
	"context"
	"errors"
	"fmt"

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
