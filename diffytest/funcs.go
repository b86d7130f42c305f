package diffytest

import (
	"context"
	"errors"

	"github.com/diffy-dfir/diffy/analyze"
	"github.com/diffy-dfir/diffy/collect"
	"github.com/diffy-dfir/diffy/inventory"
	"github.com/diffy-dfir/diffy/payload"
	"github.com/diffy-dfir/diffy/persist"
	"github.com/diffy-dfir/diffy/target"
)

// The function adapters turn a function into a plugin, for quick stubs in
// tests, as http.HandlerFunc does for handlers. They add nothing: the
// function alone has to keep the interface's contract.
var (
	_ target.Target        = TargetFunc(nil)
	_ payload.Payload      = PayloadFunc(nil)
	_ collect.Collector    = CollectorFunc(nil)
	_ persist.Store        = StoreFuncs{}
	_ analyze.Analyzer     = AnalyzerFunc(nil)
	_ inventory.Inventory  = InventoryFunc(nil)
	_ analyze.BaselineUser = (*FakeAnalyzer)(nil)
	_ collect.Collector    = (*FakeCollector)(nil)
	_ persist.Store        = (*FakeStore)(nil)
	_ target.Target        = (*FakeTarget)(nil)
	_ payload.Payload      = (*FakePayload)(nil)
	_ inventory.Inventory  = (*FakeInventory)(nil)
)

// TargetFunc is a target.Target that calls itself.
type TargetFunc func(ctx context.Context, key string) ([]target.Instance, error)

// Targets returns f(ctx, key).
func (f TargetFunc) Targets(ctx context.Context, key string) ([]target.Instance, error) {
	return f(ctx, key)
}

// PayloadFunc is a payload.Payload that calls itself.
type PayloadFunc func(ctx context.Context, incident string) ([]payload.Command, error)

// Generate returns f(ctx, incident).
func (f PayloadFunc) Generate(ctx context.Context, incident string) ([]payload.Command, error) {
	return f(ctx, incident)
}

// CollectorFunc is a collect.Collector that calls itself.
type CollectorFunc func(ctx context.Context, instances []target.Instance, commands []payload.Command) ([]collect.Result, error)

// Collect returns f(ctx, instances, commands).
func (f CollectorFunc) Collect(ctx context.Context, instances []target.Instance, commands []payload.Command) ([]collect.Result, error) {
	return f(ctx, instances, commands)
}

// AnalyzerFunc is an analyze.Analyzer that calls itself. It needs no
// baseline (it does not implement analyze.BaselineUser).
type AnalyzerFunc func(ctx context.Context, in analyze.Input) (*analyze.Report, error)

// Analyze returns f(ctx, in).
func (f AnalyzerFunc) Analyze(ctx context.Context, in analyze.Input) (*analyze.Report, error) {
	return f(ctx, in)
}

// InventoryFunc is an inventory.Inventory that calls itself.
type InventoryFunc func(ctx context.Context) ([]inventory.Entry, error)

// Entries returns f(ctx).
func (f InventoryFunc) Entries(ctx context.Context) ([]inventory.Entry, error) { return f(ctx) }

// StoreFuncs is a persist.Store made of three functions. A method whose
// function is nil returns ErrUnset.
type StoreFuncs struct {
	// PutFunc is called by Put.
	PutFunc func(ctx context.Context, kind persist.Kind, key string, doc []byte) error
	// GetFunc is called by Get.
	GetFunc func(ctx context.Context, kind persist.Kind, key string) ([]byte, error)
	// ListFunc is called by List.
	ListFunc func(ctx context.Context, kind persist.Kind) ([]string, error)
}

// ErrUnset is returned by a method of StoreFuncs whose function is nil.
var ErrUnset = errors.New("diffytest: the function of this method is not set")

// Put returns s.PutFunc(ctx, kind, key, doc).
func (s StoreFuncs) Put(ctx context.Context, kind persist.Kind, key string, doc []byte) error {
	if s.PutFunc == nil {
		return ErrUnset
	}
	return s.PutFunc(ctx, kind, key, doc)
}

// Get returns s.GetFunc(ctx, kind, key).
func (s StoreFuncs) Get(ctx context.Context, kind persist.Kind, key string) ([]byte, error) {
	if s.GetFunc == nil {
		return nil, ErrUnset
	}
	return s.GetFunc(ctx, kind, key)
}

// List returns s.ListFunc(ctx, kind).
func (s StoreFuncs) List(ctx context.Context, kind persist.Kind) ([]string, error) {
	if s.ListFunc == nil {
		return nil, ErrUnset
	}
	return s.ListFunc(ctx, kind)
}
