package diffy

import (
	"context"
	"fmt"

	"github.com/diffy-dfir/diffy/payload"
	"github.com/diffy-dfir/diffy/target"
)

// targets asks the target for key's instances, dropping repeated IDs.
func (d *Diffy) targets(ctx context.Context, key string) ([]target.Instance, error) {
	insts, err := d.target.Targets(ctx, key)
	if err != nil {
		return nil, stageErr("target", d.target, err)
	}
	seen := make(map[string]bool, len(insts))
	out := insts[:0:0]
	for _, in := range insts {
		if in.ID == "" {
			return nil, stageErr("target", d.target, fmt.Errorf("target %q: an instance has an empty ID: %w", key, ErrInvalidInput))
		}
		if !seen[in.ID] {
			seen[in.ID] = true
			out = append(out, in)
		}
	}
	if len(out) == 0 {
		return nil, stageErr("target", d.target, fmt.Errorf("target %q has no instance: %w", key, ErrNotFound))
	}
	d.report("target", len(out), len(out))
	return out, nil
}

// commands asks the payload for its commands and checks them.
func (d *Diffy) commands(ctx context.Context) ([]payload.Command, error) {
	cmds, err := d.payload.Generate(ctx, d.incident)
	if err == nil {
		err = payload.Validate(cmds)
	}
	if err != nil {
		return nil, stageErr("payload", d.payload, err)
	}
	return cmds, nil
}
