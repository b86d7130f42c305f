package diffy

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/diffy-dfir/diffy/collect"
	"github.com/diffy-dfir/diffy/persist"
)

// put stores rs as a JSON array under (kind, key): as a run of key's
// history (putRun) for a baseline or a collection.
func (d *Diffy) put(ctx context.Context, kind persist.Kind, key string, rs []collect.Result) error {
	doc, err := json.Marshal(rs)
	if err != nil {
		return fmt.Errorf("encoding %d results: %w", len(rs), err)
	}
	if kind == persist.KindBaseline || kind == persist.KindCollection {
		return d.putRun(ctx, kind, key, doc)
	}
	if err := d.store.Put(ctx, kind, key, doc); err != nil {
		return stageErr("persist", d.store, err)
	}
	return nil
}
