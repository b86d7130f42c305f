package diffytest

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sync"

	"github.com/diffy-dfir/diffy/diffyerr"
	"github.com/diffy-dfir/diffy/target"
)

// FakeTarget is an in-memory target.Target: each key maps to its
// instances. It records the keys it was asked for, is safe for concurrent
// use, and returns copies. It passes TestTarget.
type FakeTarget struct {
	mu    sync.Mutex
	keys  map[string][]target.Instance
	calls []string
}

// NewFakeTarget returns a FakeTarget serving a copy of keys.
func NewFakeTarget(keys map[string][]target.Instance) *FakeTarget {
	t := &FakeTarget{keys: map[string][]target.Instance{}}
	for k, insts := range keys {
		t.keys[k] = cloneInstances(insts)
	}
	return t
}

// Set makes key stand for a copy of insts, replacing what it stood for;
// with no instance, key names nothing any more.
func (t *FakeTarget) Set(key string, insts ...target.Instance) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.keys == nil {
		t.keys = map[string][]target.Instance{}
	}
	if len(insts) == 0 {
		delete(t.keys, key)
		return
	}
	t.keys[key] = cloneInstances(insts)
}

// Targets returns a copy of key's instances without duplicate IDs, in the
// order set, or an error matching diffyerr.ErrNotFound naming the key.
func (t *FakeTarget) Targets(ctx context.Context, key string) ([]target.Instance, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.calls = append(t.calls, key)
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("fake target %q: %w", key, err)
	}
	insts, ok := t.keys[key]
	if !ok {
		return nil, fmt.Errorf("fake target: key %q names nothing (it knows %d keys): %w", key, len(t.keys), diffyerr.ErrNotFound)
	}
	out := make([]target.Instance, 0, len(insts))
	seen := map[string]bool{}
	for _, in := range insts {
		if !seen[in.ID] {
			seen[in.ID] = true
			in.Tags = maps.Clone(in.Tags)
			out = append(out, in)
		}
	}
	return out, nil
}

// Calls returns the keys Targets was asked for, in order.
func (t *FakeTarget) Calls() []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return slices.Clone(t.calls)
}
