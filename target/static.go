package target

import (
	"context"
	"fmt"
	"maps"
	"slices"

	"github.com/diffy-dfir/diffy/diffyerr"
)

// Static is a Target over fixed lists of instances: each key maps to its
// instances. It is safe for concurrent use once built, and returns copies.
type Static map[string][]Instance

// StaticIDs returns a Static with one key whose instances are the given IDs.
func StaticIDs(key string, ids ...string) Static {
	insts := make([]Instance, len(ids))
	for i, id := range ids {
		insts[i] = Instance{ID: id}
	}
	return Static{key: insts}
}

// Targets returns a copy of the instances listed under key, without
// duplicate IDs, in the order given.
func (s Static) Targets(ctx context.Context, key string) ([]Instance, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	insts, ok := s[key]
	if !ok || len(insts) == 0 {
		return nil, fmt.Errorf("target %q: no such key among %d static keys: %w", key, len(s), diffyerr.ErrNotFound)
	}
	seen := make(map[string]bool, len(insts))
	out := make([]Instance, 0, len(insts))
	for _, in := range insts {
		if in.ID == "" {
			return nil, fmt.Errorf("target %q: an instance has an empty ID: %w", key, diffyerr.ErrInvalidInput)
		}
		if seen[in.ID] {
			continue
		}
		seen[in.ID] = true
		in.Tags = maps.Clone(in.Tags)
		out = append(out, in)
	}
	return out, nil
}

// Keys returns the keys of s, sorted.
func (s Static) Keys() []string {
	return slices.Sorted(maps.Keys(s))
}
