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
// keeps the inventory keys and instances it has seen (key
// InventorySeenKey).
const KindInventorySeen persist.Kind = "inventory.seen"

// InventorySeenKey is the store key of InventoryRound's seen set.
const InventorySeenKey = "seen"

// maxSeen bounds the keys, and separately the instances, the seen set
// keeps: beyond it, those seen longest ago are forgotten (a key that comes
// back without a baseline is handed out again; an instance, only if it is
// again the one its entry names). A key or an instance costs about 60
// bytes in the document, so at most ~12 MB.
const maxSeen = 100_000

// seenSet is the stored document of InventoryRound: when each key was
// first seen, and, for the entries that name an instance, when each
// instance of a key was first seen. A set stored before instances were
// kept has no Instances: the instances its keys name at the next round
// are recorded, not handed out.
type seenSet struct {
	Keys      map[string]time.Time            `json:"keys"`
	Instances map[string]map[string]time.Time `json:"instances,omitempty"`
}

// InventoryRound does one round of an inventory watch: it lists the
// inventory and hands to handle each entry whose key it has not seen
// before, or whose instance it has not seen before for that key (a new
// instance of a known group: ec2inventory names a group's newest, so a
// deploy or a scale-out is handed out). A job server queues a baseline of
// a new key, and checks a new instance of a known key against the key's
// baseline (diffy-server analyzes the group): making a newcomer the
// baseline would let whoever can put an instance into a group set what
// it is compared with. Once handle returned nil the key and instance are remembered
// as seen, in the store (kind KindInventorySeen), so that the next round,
// in this process or after a restart, does not hand them out again; an
// instance seen before (a scale-in that makes an older instance the
// newest again) is not handed out. An entry whose key already has a
// baseline in the store, when its key was never seen, is marked seen
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
			seen = seenSet{Keys: map[string]time.Time{}}
		}
	}
	if seen.Instances == nil {
		seen.Instances = map[string]map[string]time.Time{}
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
	mark := func(e inventory.Entry) {
		if _, ok := seen.Keys[e.Key]; !ok {
			seen.Keys[e.Key] = now
		}
		if e.Instance != "" {
			if seen.Instances[e.Key] == nil {
				seen.Instances[e.Key] = map[string]time.Time{}
			}
			seen.Instances[e.Key][e.Instance] = now
		}
		changed = true
	}
	d.report("inventory", 0, len(entries))
	for i, e := range entries {
		if err := ctx.Err(); err != nil {
			errs = append(errs, err)
			break
		}
		_, keySeen := seen.Keys[e.Key]
		insts, instsKept := seen.Instances[e.Key]
		_, instSeen := insts[e.Instance]
		if keySeen && (e.Instance == "" || instSeen) {
			d.report("inventory", i+1, len(entries))
			continue
		}
		sk, err := StoreKey(e.Key)
		switch {
		case err != nil:
			errs = append(errs, fmt.Errorf("inventory key %q: %w", e.Key, err))
		case !keySeen && based[sk], keySeen && !instsKept:
			// A known key whose instances were never kept (a set of
			// before they were): its instance now is not news.
			mark(e)
		default:
			if err := handle(ctx, e); err != nil {
				errs = append(errs, fmt.Errorf("inventory key %q: %w", e.Key, err))
				break
			}
			out = append(out, e)
			mark(e)
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

// saveSeen stores the seen set, forgetting the oldest keys, and the
// oldest instances, beyond maxSeen.
func (d *Diffy) saveSeen(ctx context.Context, seen seenSet) error {
	if len(seen.Keys) > maxSeen {
		keys := slices.SortedFunc(maps.Keys(seen.Keys), func(a, b string) int {
			return cmp.Or(seen.Keys[b].Compare(seen.Keys[a]), cmp.Compare(a, b))
		})
		for _, k := range keys[maxSeen:] {
			delete(seen.Keys, k)
			delete(seen.Instances, k)
		}
	}
	type inst struct {
		key, id string
		at      time.Time
	}
	var all []inst
	for k, ids := range seen.Instances {
		for id, at := range ids {
			all = append(all, inst{k, id, at})
		}
	}
	if len(all) > maxSeen {
		slices.SortFunc(all, func(a, b inst) int {
			return cmp.Or(b.at.Compare(a.at), cmp.Compare(a.key, b.key), cmp.Compare(a.id, b.id))
		})
		for _, in := range all[maxSeen:] {
			delete(seen.Instances[in.key], in.id)
		}
	}
	doc, err := json.Marshal(seen)
	if err != nil {
		return err
	}
	return stageErr("persist", d.store, d.store.Put(ctx, KindInventorySeen, InventorySeenKey, doc))
}
