package inventory

import (
	"context"
	"fmt"
	"maps"

	"github.com/diffy-dfir/diffy/diffyerr"
)

// Static is an Inventory of a fixed list of entries. Entries returns a copy,
// and refuses a list with an empty or repeated key.
type Static []Entry

// Entries returns a copy of the list.
func (s Static) Entries(ctx context.Context) ([]Entry, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	seen := make(map[string]bool, len(s))
	out := make([]Entry, len(s))
	for i, e := range s {
		if e.Key == "" {
			return nil, fmt.Errorf("inventory entry %d has an empty key: %w", i+1, diffyerr.ErrInvalidInput)
		}
		if seen[e.Key] {
			return nil, fmt.Errorf("inventory key %q appears twice: %w", e.Key, diffyerr.ErrInvalidInput)
		}
		seen[e.Key] = true
		e.Labels = maps.Clone(e.Labels)
		out[i] = e
	}
	return out, nil
}
