package diffy

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/diffy-dfir/diffy/analyze"
	"github.com/diffy-dfir/diffy/collect"
	"github.com/diffy-dfir/diffy/inventory"
	"github.com/diffy-dfir/diffy/payload"
	"github.com/diffy-dfir/diffy/persist"
	"github.com/diffy-dfir/diffy/redact"
	"github.com/diffy-dfir/diffy/render"
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
//
// A nil plugin given to an option counts as not set. New returns an error
// matching ErrInvalidInput for a batch size that is not positive or an
// incident ID that is not 1 to 64 ASCII letters, digits, '_' or '-'.
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
		if err := validIncident(o.incident); err != nil {
			return nil, err
		}
	}
	fillDefaults(&o)
	return &Diffy{
		target: o.target, payload: o.payload, collector: o.collector,
		store: o.store, analyzer: o.analyzer, inventory: o.inventory,
		log: o.logger, incident: o.incident, progress: o.progress,
		baselineInstance: o.baselineInstance, batchSize: o.batchSize,
	}, nil
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

// Baseline collects the payload from one instance of key, the one set by
// WithBaselineInstance or else the target's first, and stores the Results
// as key's baseline (persist.KindBaseline, under StoreKey(key)), replacing
// any earlier one. It returns the Results.
//
// An instance set by WithBaselineInstance that is not among key's
// instances is an error matching ErrNotFound naming it. When every command
// failed nothing is stored, and the Results come back with an error
// matching ErrAllFailed; when only some failed, the baseline is stored and
// a warning logged. Plugin errors come wrapped in a *StageError.
func (d *Diffy) Baseline(ctx context.Context, key string) ([]collect.Result, error) {
	return d.baseline(ctx, key, d.baselineInstance)
}

func (d *Diffy) baseline(ctx context.Context, key, instanceID string) ([]collect.Result, error) {
	sk, err := StoreKey(key)
	if err != nil {
		return nil, err
	}
	insts, err := d.targets(ctx, key)
	if err != nil {
		return nil, err
	}
	inst := insts[0]
	if instanceID != "" {
		i := slices.IndexFunc(insts, func(in target.Instance) bool { return in.ID == instanceID })
		if i < 0 {
			return nil, fmt.Errorf("baseline instance %q is not among the %d instances of %q: %w", instanceID, len(insts), key, ErrNotFound)
		}
		inst = insts[i]
	}
	cmds, err := d.commands(ctx)
	if err != nil {
		return nil, err
	}
	d.log.Info("collecting baseline", "key", key, "instance", inst.ID, "commands", len(cmds))
	one := []target.Instance{inst}
	d.report("collect", 0, 1)
	rs, cerr := d.collector.Collect(ctx, one, cmds)
	rs = account(one, cmds, rs, cerr != nil)
	d.report("collect", 1, 1)
	if cerr != nil {
		return rs, stageErr("collect", d.collector, cerr)
	}
	ok := 0
	for i := range rs {
		if rs[i].OK() {
			ok++
		}
	}
	if ok == 0 {
		return rs, fmt.Errorf("baseline of %q from instance %s: all %d commands failed (first: %s); no baseline stored: %w",
			key, inst.ID, len(rs), firstError(rs), ErrAllFailed)
	}
	if ok < len(rs) {
		d.log.Warn("baseline has failed commands", "key", key, "instance", inst.ID, "failed", len(rs)-ok, "first", firstError(rs))
	}
	if err := d.put(ctx, persist.KindBaseline, sk, rs); err != nil {
		return rs, err
	}
	d.log.Info("baseline stored", "key", key, "instance", inst.ID, "results", len(rs))
	return rs, nil
}

// Collect collects the payload from every instance of key and stores the
// whole collection (persist.KindCollection, under StoreKey(key), replacing
// the previous one). It returns one Result per instance and command, sorted
// by the target's instance order and then the payload's command order.
//
// Instances are collected in batches (WithBatchSize); each batch's Results
// are stored as soon as it ends, as a KindPartial document, and the parts
// are deleted once the whole collection is stored, when the store
// implements persist.Deleter. So when ctx is cancelled, or the collector or
// store fails, or the process is killed, everything collected before is in
// the store. In the first two cases Collect returns the Results collected
// so far with an *IncompleteError. Running Collect again with the same
// incident ID (WithIncident) resumes: the instances whose every command has
// a final Result other than Cancelled in the parts are not collected again.
//
// Equal rows of different instances are one map (collect.RowPool), so that
// a fleet's Results are held in memory together at a fraction of the cost:
// treat their rows as read-only (see collect.Row).
//
// Plugin errors come wrapped in a *StageError.
func (d *Diffy) Collect(ctx context.Context, key string) ([]collect.Result, error) {
	sk, err := StoreKey(key)
	if err != nil {
		return nil, err
	}
	rs, _, err := d.collect(ctx, key, sk)
	return rs, err
}

// collect is Collect; resumed counts the instances whose Results came from
// the parts of an earlier run of the same incident.
func (d *Diffy) collect(ctx context.Context, key, sk string) (results []collect.Result, resumed int, err error) {
	insts, err := d.targets(ctx, key)
	if err != nil {
		return nil, 0, err
	}
	cmds, err := d.commands(ctx)
	if err != nil {
		return nil, 0, err
	}
	prior, next, err := d.loadParts(ctx, sk, d.incident)
	if err != nil {
		return nil, 0, err
	}
	inTarget := make(map[string]bool, len(insts))
	for _, in := range insts {
		inTarget[in.ID] = true
	}
	// The Results of every batch are held together until the end: equal
	// rows of different batches become one map, as the collector may
	// already have done within a batch (collect.RowPool).
	var pool collect.RowPool
	prior = latest(prior)
	have := completeInstances(prior, cmds)
	for _, r := range prior {
		if have[r.InstanceID] && inTarget[r.InstanceID] {
			pool.Share(r.Rows)
			results = append(results, r)
		}
	}
	var todo []target.Instance
	for _, in := range insts {
		if !have[in.ID] {
			todo = append(todo, in)
		}
	}
	done := len(insts) - len(todo)
	resumed = done
	if done > 0 {
		d.log.Info("resuming collection", "key", key, "incident", d.incident, "already_collected", done)
	}
	d.report("collect", done, len(insts))
	for start := 0; start < len(todo); start += d.batchSize {
		batch := todo[start:min(start+d.batchSize, len(todo))]
		rs, cerr := d.collector.Collect(ctx, batch, cmds)
		got := len(rs)
		rs = account(batch, cmds, rs, cerr != nil || ctx.Err() != nil)
		// The batch is kept even when the run is being cancelled: that is
		// the point of storing it. A collector that returned nothing left
		// nothing to keep.
		var perr error
		if got > 0 {
			perr = d.putPart(ctx, sk, next, rs)
			next++
		}
		for i := range rs {
			pool.Share(rs[i].Rows)
		}
		results = append(results, rs...)
		finished := completeInstances(rs, cmds)
		for _, in := range batch {
			if finished[in.ID] {
				done++
			}
		}
		d.report("collect", done, len(insts))
		d.log.Info("batch collected", "key", key, "instances", len(batch), "done", done, "total", len(insts))
		var stop error
		switch {
		case cerr != nil:
			stop = stageErr("collect", d.collector, cerr)
		case perr != nil:
			stop = perr
		case ctx.Err() != nil:
			stop = ctx.Err()
		}
		if stop != nil {
			sortResults(results, insts, cmds)
			return results, resumed, &IncompleteError{Key: key, Incident: d.incident, Done: done, Total: len(insts), Results: results, Err: stop}
		}
	}
	sortResults(results, insts, cmds)
	if err := d.put(ctx, persist.KindCollection, sk, results); err != nil {
		return results, resumed, &IncompleteError{Key: key, Incident: d.incident, Done: done, Total: len(insts), Results: results, Err: err}
	}
	d.dropParts(ctx, sk, d.incident)
	return results, resumed, nil
}

// Analyze collects from every instance of key (as Collect does, storing the
// collection), analyzes the Results and stores the Report
// (persist.KindAnalysis, under StoreKey(key)).
//
// When the analyzer needs a baseline (analyze.BaselineUser), the key's
// stored baseline is loaded first, before anything is collected; when there
// is none the error matches ErrNoBaseline and says to run `diffy baseline
// KEY`, unless the key names no instance at all (a typo): then it is the
// target's ErrNotFound. A collection that stops part way returns a nil
// Report and an *IncompleteError holding what was collected. Plugin errors
// come wrapped in a *StageError.
func (d *Diffy) Analyze(ctx context.Context, key string) (*analyze.Report, error) {
	sk, err := StoreKey(key)
	if err != nil {
		return nil, err
	}
	var base []collect.Result
	if d.NeedsBaseline() {
		if base, err = d.loadBaseline(ctx, key, sk); err != nil {
			// A key without a baseline may be a key that names nothing
			// (a typo): that is the error to tell, not the baseline.
			if errors.Is(err, ErrNoBaseline) {
				if _, terr := d.targets(ctx, key); errors.Is(terr, ErrNotFound) {
					return nil, terr
				}
			}
			return nil, err
		}
	}
	results, resumed, err := d.collect(ctx, key, sk)
	if err != nil {
		return nil, err
	}
	var notes []string
	if resumed > 0 {
		notes = append(notes, fmt.Sprintf("%d instances were collected by an earlier, interrupted run of incident %s, which this run resumed", resumed, d.incident))
	}
	return d.analyze(ctx, key, sk, results, base, nil, notes...)
}

// AnalyzeResults analyzes Results collected earlier (loaded with
// LoadResults, say) as the Results of key, and stores the Report under
// StoreKey(key); the Results themselves are not stored. baseline holds the
// baseline Results; when it is empty and the analyzer needs a baseline, the
// key's stored baseline is used (an error matching ErrNoBaseline when there
// is none). skipped lists inputs that were not loaded; the Report carries
// them.
func (d *Diffy) AnalyzeResults(ctx context.Context, key string, results, baseline []collect.Result, skipped []analyze.Skip) (*analyze.Report, error) {
	sk, err := StoreKey(key)
	if err != nil {
		return nil, err
	}
	if len(baseline) == 0 && d.NeedsBaseline() {
		if baseline, err = d.loadBaseline(ctx, key, sk); err != nil {
			return nil, err
		}
	}
	return d.analyze(ctx, key, sk, results, baseline, skipped)
}

// AnalyzeFiles analyzes the Results saved in paths (files, or directories
// of them, read as ScanResults does) as the Results of key, like
// LoadResults followed by AnalyzeResults, and stores the Report under
// StoreKey(key). When the analyzer is an analyze.Streamer, each file's
// Results are handed to the stream and dropped as soon as read, so memory
// does not grow with the number of files (only with what the analyzer
// keeps); the files are decoded on one goroutine, at most a few files
// ahead of the stream's Add on another. Otherwise all are loaded first. baseline and skipped are as in
// AnalyzeResults; the Report's Skipped has the files' Skips, then skipped.
// The files' Skips are also returned, whatever the error.
//
// Duplicates: LoadResults keeps, of the same instance and command found
// twice, the Result with the later collected_at. A stream keeps nothing
// to replace, so with a Streamer the Results found twice count as one set
// of rows (their union), as Results given to an analyzer at once do.
func (d *Diffy) AnalyzeFiles(ctx context.Context, key string, paths []string, baseline []collect.Result, skipped []analyze.Skip) (*analyze.Report, []analyze.Skip, error) {
	sk, err := StoreKey(key)
	if err != nil {
		return nil, nil, err
	}
	st, ok := d.analyzer.(analyze.Streamer)
	if !ok {
		results, skips, err := LoadResults(paths...)
		if err != nil {
			return nil, skips, err
		}
		rep, err := d.AnalyzeResults(ctx, key, results, baseline, append(slices.Clone(skips), skipped...))
		return rep, skips, err
	}
	if len(baseline) == 0 && d.NeedsBaseline() {
		if baseline, err = d.loadBaseline(ctx, key, sk); err != nil {
			return nil, nil, err
		}
	}
	d.report("analyze", 0, 1)
	stream, err := st.NewStream(key, baseline)
	if err != nil {
		return nil, nil, stageErr("analyze", d.analyzer, err)
	}
	// Files are decoded on this goroutine and added to the stream on
	// another, a few files behind, so that decoding and analysis overlap.
	batches := make(chan []collect.Result, streamAhead)
	failed, done := make(chan struct{}), make(chan struct{})
	var addErr error
	go func() {
		defer close(done)
		for rs := range batches {
			if addErr == nil {
				if addErr = stream.Add(ctx, rs); addErr != nil {
					close(failed)
				}
			}
		}
	}()
	skips, err := ScanResults(paths, func(source string, rs []collect.Result) error {
		select {
		case batches <- rs:
			return nil
		case <-failed:
			return errStreamFailed
		}
	})
	close(batches)
	<-done
	switch {
	case addErr != nil:
		return nil, skips, stageErr("analyze", d.analyzer, addErr)
	case err != nil:
		return nil, skips, err
	}
	all := append(slices.Clone(skips), skipped...)
	rep, err := stream.Report(ctx, all)
	rep, err = d.storeReport(ctx, key, sk, rep, err, all)
	return rep, skips, err
}

// streamAhead is how many files AnalyzeFiles decodes ahead of the stream.
const streamAhead = 4

// errStreamFailed stops the scan of AnalyzeFiles once the stream failed.
var errStreamFailed = errors.New("stream failed")

// analyze runs the analyzer and stores the Report, with notes added to it.
func (d *Diffy) analyze(ctx context.Context, key, sk string, results, baseline []collect.Result, skipped []analyze.Skip, notes ...string) (*analyze.Report, error) {
	d.report("analyze", 0, 1)
	rep, err := d.analyzer.Analyze(ctx, analyze.Input{Key: key, Results: results, Baseline: baseline, Skipped: skipped})
	return d.storeReport(ctx, key, sk, rep, err, skipped, notes...)
}

// storeReport checks the Report (or error) of the analyzer, adds notes to
// it and stores it.
func (d *Diffy) storeReport(ctx context.Context, key, sk string, rep *analyze.Report, err error, skipped []analyze.Skip, notes ...string) (*analyze.Report, error) {
	if err != nil {
		return nil, stageErr("analyze", d.analyzer, err)
	}
	if rep == nil {
		return nil, stageErr("analyze", d.analyzer, errors.New("analyzer returned no report and no error"))
	}
	if rep.Key == "" {
		rep.Key = key
	}
	if len(rep.Skipped) == 0 && len(skipped) > 0 {
		rep.Skipped = slices.Clone(skipped)
	}
	rep.Notes = append(rep.Notes, notes...)
	var buf bytes.Buffer
	if err := render.JSON(&buf, rep); err != nil {
		return rep, fmt.Errorf("report of %q: %w", key, err)
	}
	if err := d.store.Put(ctx, persist.KindAnalysis, sk, buf.Bytes()); err != nil {
		return rep, stageErr("persist", d.store, err)
	}
	d.report("analyze", 1, 1)
	d.log.Info("analysis stored", "key", key, "hosts", len(rep.Hosts), "outliers", len(rep.Outliers()))
	return rep, nil
}

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

// PartialRun is what an interrupted collection left in the store.
type PartialRun struct {
	// Incident is the run's incident ID; give it to WithIncident to resume.
	Incident string
	// Parts is how many batches were stored.
	Parts int
	// Instances counts the distinct instances with Results.
	Instances int
	// Results are the Results collected, in batch order, one per
	// instance and command (the latest), without those the interruption
	// cancelled.
	Results []collect.Result
}

// Partial returns the runs of key whose parts are still in the store: runs
// that were interrupted (or whose parts could not be deleted), sorted by
// incident ID; none when every collection of key completed.
func (d *Diffy) Partial(ctx context.Context, key string) ([]PartialRun, error) {
	sk, err := StoreKey(key)
	if err != nil {
		return nil, err
	}
	keys, err := d.store.List(ctx, KindPartial)
	if err != nil {
		return nil, stageErr("persist", d.store, err)
	}
	incidents := map[string]bool{}
	for _, k := range keys {
		if s, inc, _, ok := parsePartKey(k); ok && s == sk {
			incidents[inc] = true
		}
	}
	var runs []PartialRun
	for _, inc := range slices.Sorted(maps.Keys(incidents)) {
		rs, next, err := d.loadParts(ctx, sk, inc)
		if err != nil {
			return runs, err
		}
		var kept []collect.Result
		ids := map[string]bool{}
		for _, r := range latest(rs) {
			if r.Status != collect.StatusCancelled {
				kept = append(kept, r)
				ids[r.InstanceID] = true
			}
		}
		runs = append(runs, PartialRun{Incident: inc, Parts: next, Instances: len(ids), Results: kept})
	}
	return runs, nil
}

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

// loadBaseline returns key's stored baseline.
func (d *Diffy) loadBaseline(ctx context.Context, key, sk string) ([]collect.Result, error) {
	doc, err := d.store.Get(ctx, persist.KindBaseline, sk)
	if errors.Is(err, ErrNotFound) {
		return nil, fmt.Errorf("no baseline stored for %q; run `diffy baseline %s` (or Diffy.Baseline) first: %w", key, shellWord(key), ErrNoBaseline)
	}
	if err != nil {
		return nil, stageErr("persist", d.store, err)
	}
	var rs []collect.Result
	if err := json.Unmarshal(doc, &rs); err != nil {
		return nil, fmt.Errorf("stored baseline of %q is not a JSON array of Results: %v: %w", key, err, ErrInvalidInput)
	}
	if len(rs) == 0 {
		return nil, fmt.Errorf("stored baseline of %q holds no Result: %w", key, ErrNoBaseline)
	}
	return rs, nil
}

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

// saveTimeout bounds the store write of a batch collected while ctx was
// being cancelled; that write runs on a context without ctx's cancellation.
const saveTimeout = time.Minute

// putPart stores batch n of the collection of sk.
func (d *Diffy) putPart(ctx context.Context, sk string, n int, rs []collect.Result) error {
	if ctx.Err() != nil {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(context.WithoutCancel(ctx), saveTimeout)
		defer cancel()
	}
	return d.put(ctx, KindPartial, partKey(sk, d.incident, n), rs)
}

// loadParts returns the Results stored as parts of incident's collection of
// sk, in batch order, and the number of the next batch. A part that cannot
// be read is logged and left out.
func (d *Diffy) loadParts(ctx context.Context, sk, incident string) ([]collect.Result, int, error) {
	keys, err := d.store.List(ctx, KindPartial)
	if err != nil {
		return nil, 0, stageErr("persist", d.store, err)
	}
	type part struct {
		key string
		n   int
	}
	var parts []part
	for _, k := range keys {
		if s, inc, n, ok := parsePartKey(k); ok && s == sk && inc == incident {
			parts = append(parts, part{k, n})
		}
	}
	slices.SortFunc(parts, func(a, b part) int { return cmp.Compare(a.n, b.n) })
	var rs []collect.Result
	next := 0
	for _, p := range parts {
		next = max(next, p.n+1)
		doc, err := d.store.Get(ctx, KindPartial, p.key)
		if err != nil {
			if ctx.Err() != nil {
				return nil, 0, stageErr("persist", d.store, err)
			}
			d.log.Warn("cannot read a part of an interrupted collection", "part", p.key, "err", err)
			continue
		}
		var batch []collect.Result
		if err := json.Unmarshal(doc, &batch); err != nil {
			d.log.Warn("a part of an interrupted collection is not a JSON array of Results", "part", p.key, "err", err)
			continue
		}
		rs = append(rs, batch...)
	}
	return rs, next, nil
}

// dropParts deletes the parts of incident's collection of sk, when the
// store can delete. Failures are logged: the whole collection is stored by
// then, and leftover parts only cost space.
func (d *Diffy) dropParts(ctx context.Context, sk, incident string) {
	del, ok := d.store.(persist.Deleter)
	if !ok {
		return
	}
	keys, err := d.store.List(ctx, KindPartial)
	if err != nil {
		d.log.Warn("cannot list the parts of a finished collection", "err", err)
		return
	}
	for _, k := range keys {
		if s, inc, _, ok := parsePartKey(k); ok && s == sk && inc == incident {
			if err := del.Delete(ctx, KindPartial, k); err != nil && !errors.Is(err, ErrNotFound) {
				d.log.Warn("cannot delete a part of a finished collection", "part", k, "err", err)
			}
		}
	}
}

// completeInstances returns the instances of rs that have a Result other
// than Cancelled for every command.
func completeInstances(rs []collect.Result, cmds []payload.Command) map[string]bool {
	got := map[string]map[string]bool{}
	for _, r := range rs {
		if r.Status == collect.StatusCancelled || !r.Status.Done() {
			continue
		}
		if got[r.InstanceID] == nil {
			got[r.InstanceID] = map[string]bool{}
		}
		got[r.InstanceID][r.CommandID] = true
	}
	out := make(map[string]bool, len(got))
	for id, cs := range got {
		all := true
		for _, c := range cmds {
			if !cs[c.ID] {
				all = false
				break
			}
		}
		if all {
			out[id] = true
		}
	}
	return out
}

// latest keeps one Result per (instance, command) of rs, which are in
// batch order: the last one, unless it is Cancelled and an earlier one is
// not.
func latest(rs []collect.Result) []collect.Result {
	type pair struct{ inst, cmd string }
	at := make(map[pair]int, len(rs))
	var out []collect.Result
	for _, r := range rs {
		p := pair{r.InstanceID, r.CommandID}
		i, seen := at[p]
		switch {
		case !seen:
			at[p] = len(out)
			out = append(out, r)
		case r.Status != collect.StatusCancelled || out[i].Status == collect.StatusCancelled:
			out[i] = r
		}
	}
	return out
}

// account makes sure every (instance, command) pair asked for has a
// Result: a missing one is added as Cancelled when the run stopped, and as
// Failed otherwise (the collector broke its contract).
func account(insts []target.Instance, cmds []payload.Command, rs []collect.Result, stopped bool) []collect.Result {
	type pair struct{ inst, cmd string }
	have := make(map[pair]bool, len(rs))
	for _, r := range rs {
		have[pair{r.InstanceID, r.CommandID}] = true
	}
	now := time.Now().UTC()
	for _, in := range insts {
		for _, c := range cmds {
			if have[pair{in.ID, c.ID}] {
				continue
			}
			r := collect.Result{InstanceID: in.ID, CommandID: c.ID, CollectedAt: now, ExitCode: -1}
			if stopped {
				r.Status = collect.StatusCancelled
				r.Error = fmt.Sprintf("command %s: the run stopped before it ran", c.ID)
			} else {
				r.Status = collect.StatusFailed
				r.Error = fmt.Sprintf("command %s: the collector returned no result for it", c.ID)
			}
			rs = append(rs, r)
		}
	}
	return rs
}

// sortResults sorts rs by the instances' order and then the commands'
// order; anything the collector added beyond them goes last, by ID.
func sortResults(rs []collect.Result, insts []target.Instance, cmds []payload.Command) {
	io := make(map[string]int, len(insts))
	for i, in := range insts {
		io[in.ID] = i
	}
	co := make(map[string]int, len(cmds))
	for i, c := range cmds {
		co[c.ID] = i
	}
	rank := func(m map[string]int, k string) int {
		if i, ok := m[k]; ok {
			return i
		}
		return len(m)
	}
	slices.SortStableFunc(rs, func(a, b collect.Result) int {
		return cmp.Or(
			cmp.Compare(rank(io, a.InstanceID), rank(io, b.InstanceID)),
			cmp.Compare(a.InstanceID, b.InstanceID),
			cmp.Compare(rank(co, a.CommandID), rank(co, b.CommandID)),
			cmp.Compare(a.CommandID, b.CommandID),
		)
	})
}

// shellWord returns s as one word for a POSIX shell: as it is when it
// holds only characters no shell treats specially, else quoted.
func shellWord(s string) string {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("_-.,:=@%+/", c) >= 0) {
			return payload.ShellQuote(s)
		}
	}
	return s
}

// firstError returns the Error of the first Result that has one.
func firstError(rs []collect.Result) string {
	for _, r := range rs {
		if r.Error != "" {
			return r.Error
		}
	}
	return "no error text"
}
