package diffy

import (
	"fmt"
	"log/slog"
	"slices"

	"github.com/diffy-dfir/diffy/analyze"
	"github.com/diffy-dfir/diffy/collect"
	"github.com/diffy-dfir/diffy/internal/parts"
	"github.com/diffy-dfir/diffy/inventory"
	"github.com/diffy-dfir/diffy/payload"
	"github.com/diffy-dfir/diffy/persist"
	"github.com/diffy-dfir/diffy/redact"
	"github.com/diffy-dfir/diffy/target"
)

// Diffy runs baselines, collections and analyses with one set of plugins.
// Create it with New. Its methods may be called concurrently, as far as the
// plugins allow (the built-in ones all do); two concurrent collections of
// the same key and incident would share their parts in the store, so give
// each its own incident.
type Diffy struct {
	target           target.Target
	payload          payload.Payload
	collector        collect.Collector
	store            persist.Store
	analyzer         analyze.Analyzer
	inventory        inventory.Inventory
	log              *slog.Logger
	incident         string
	progress         func(Progress)
	baselineInstance string
	batchSize        int
	retention        Retention
	run              string
	stop             <-chan struct{}
	// opts are the options New was given, for With.
	opts []Option
}

// New returns a Diffy with the given options. Options are applied in order;
// afterwards every setting still empty takes its default:
//
//   - target: target.Local{} (this machine, keys "local" and "localhost")
//   - payload: payload.Osquery{} (the standard query pack)
//   - collector: collect.Local{} (osqueryi when present, built-in probes
//     otherwise)
//   - store: a persist.Dir at persist.DefaultDir()
//   - analyzer: the zero analyze.Baseline (row diff against the stored
//     baseline)
//   - inventory: an empty inventory.Static
//   - logger: one that discards everything
//   - incident: a new ID from NewIncidentID
//   - batch size: DefaultBatchSize instances
//   - baseline instance: the target's first instance
//   - retention: DefaultRetention (the newest 30 runs of each key and kind)
//   - run ID: a new one for each call (NewRunID)
//
// A nil plugin given to an option counts as not set. New returns an error
// matching ErrInvalidInput for a batch size that is not positive, an
// incident ID that is not 1 to 64 ASCII letters, digits, '_' or '-', a
// negative retention, or a run ID not of NewRunID's form.
func New(opts ...Option) (*Diffy, error) {
	var o options
	for _, opt := range opts {
		if opt != nil {
			opt(&o)
		}
	}
	if o.batchSizeSet && o.batchSize <= 0 {
		return nil, fmt.Errorf("batch size %d: must be at least 1: %w", o.batchSize, ErrInvalidInput)
	}
	if o.incident != "" {
		if err := parts.ValidIncident(o.incident); err != nil {
			return nil, err
		}
	}
	if o.retention.Runs < 0 || o.retention.MaxAge < 0 {
		return nil, fmt.Errorf("retention of %d runs, %v: must not be negative: %w", o.retention.Runs, o.retention.MaxAge, ErrInvalidInput)
	}
	if o.run != "" {
		if err := ValidRunID(o.run); err != nil {
			return nil, err
		}
	}
	fillDefaults(&o)
	return &Diffy{
		target: o.target, payload: o.payload, collector: o.collector,
		store: o.store, analyzer: o.analyzer, inventory: o.inventory,
		log: o.logger, incident: o.incident, progress: o.progress,
		baselineInstance: o.baselineInstance, batchSize: o.batchSize,
		retention: o.retention, run: o.run, stop: o.stop,
		opts: slices.Clone(opts),
	}, nil
}

// With returns a new Diffy with d's settings and plugins, changed by opts
// (applied after the options d was made with): a job with its own
// incident, run ID, analyzer or progress function, over the plugins of one
// configured Diffy. The defaults d took are kept, the incident ID among
// them, unless opts set them. Its errors are New's.
func (d *Diffy) With(opts ...Option) (*Diffy, error) {
	keep := func(o *options) {
		// What New filled in for d stays, where opts do not change it.
		o.target, o.payload, o.collector, o.store = d.target, d.payload, d.collector, d.store
		o.analyzer, o.inventory, o.incident = d.analyzer, d.inventory, d.incident
	}
	all := append([]Option{keep}, d.opts...)
	return New(append(all, opts...)...)
}

// fillDefaults sets every setting still empty to its default.
func fillDefaults(o *options) {
	if o.target == nil {
		o.target = target.Local{}
	}
	if o.payload == nil {
		o.payload = payload.Osquery{}
	}
	if o.collector == nil {
		o.collector = collect.Local{}
	}
	if o.store == nil {
		o.store = persist.NewDir(persist.DefaultDir())
	}
	if o.analyzer == nil {
		o.analyzer = analyze.Baseline{}
	}
	if o.inventory == nil {
		o.inventory = inventory.Static{}
	}
	if o.logger == nil {
		o.logger = slog.New(slog.DiscardHandler)
	} else {
		// Whatever handler the caller gives, no AWS secret reaches it.
		o.logger = slog.New(redact.NewHandler(o.logger.Handler()))
	}
	if o.incident == "" {
		o.incident = NewIncidentID()
	}
	if o.batchSize <= 0 {
		o.batchSize = DefaultBatchSize
	}
	if !o.retentionSet {
		o.retention = DefaultRetention
	}
}

// Incident returns the incident ID of d's runs.
func (d *Diffy) Incident() string { return d.incident }

// Store returns d's store.
func (d *Diffy) Store() persist.Store { return d.store }

// NeedsBaseline reports whether d's analyzer compares against a stored
// baseline (it implements analyze.BaselineUser and says so).
func (d *Diffy) NeedsBaseline() bool {
	bu, ok := d.analyzer.(analyze.BaselineUser)
	return ok && bu.NeedsBaseline()
}
