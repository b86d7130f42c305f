package diffy

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/diffy-dfir/diffy/collect"
	"github.com/diffy-dfir/diffy/persist"
)

// put stores rs as a JSON array under (kind, key).
func (d *Diffy) put(ctx context.Context, kind persist.Kind, key string, rs []collect.Result) error {
	doc, err := json.Marshal(rs)
	if err != nil {
		return fmt.Errorf("encoding %d results: %w", len(rs), err)
	}
	if err := d.store.Put(ctx, kind, key, doc); err != nil {
		return stageErr("persist", d.store, err)
	}
	return nil
}
