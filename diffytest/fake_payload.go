package diffytest

import (
	"context"
	"fmt"
	"slices"
	"sync"

	"github.com/diffy-dfir/diffy/payload"
)

// FakePayload is an in-memory payload.Payload of a fixed list of
// commands. It records the incident IDs it was asked for, is safe for
// concurrent use, and returns copies. It passes TestPayload.
type FakePayload struct {
	mu        sync.Mutex
	cmds      []payload.Command
	incidents []string
}

// NewFakePayload returns a FakePayload of a copy of cmds. Generate checks
// them with payload.Validate.
func NewFakePayload(cmds ...payload.Command) *FakePayload {
	return &FakePayload{cmds: slices.Clone(cmds)}
}

// Generate returns a copy of the commands, or the error of
// payload.Validate when they are not valid.
func (p *FakePayload) Generate(ctx context.Context, incident string) ([]payload.Command, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.incidents = append(p.incidents, incident)
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("fake payload: %w", err)
	}
	if err := payload.Validate(p.cmds); err != nil {
		return nil, fmt.Errorf("fake payload: %w", err)
	}
	return slices.Clone(p.cmds), nil
}

// Incidents returns the incident IDs Generate was called with, in order.
func (p *FakePayload) Incidents() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.incidents)
}
