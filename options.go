package diffy

import (
	"log/slog"

	"github.com/diffy-dfir/diffy/analyze"
	"github.com/diffy-dfir/diffy/collect"
	"github.com/diffy-dfir/diffy/inventory"
	"github.com/diffy-dfir/diffy/payload"
	"github.com/diffy-dfir/diffy/persist"
	"github.com/diffy-dfir/diffy/target"
)

// DefaultBatchSize is how many instances Collect asks the collector for at
// a time when WithBatchSize is not given. After each batch the Results are
// stored, so at most one batch of work is lost when a run is killed.
const DefaultBatchSize = 500

// Option sets one of New's settings. Options are applied in order; the
// defaults are filled in afterwards, only for settings still empty.
type Option func(*options)

// options holds New's settings before the defaults are filled in.
type options struct {
	target           target.Target
	payload          payload.Payload
	collector        collect.Collector
	store            persist.Store
	analyzer         analyze.Analyzer
	inventory        inventory.Inventory
	logger           *slog.Logger
	incident         string
	progress         func(Progress)
	baselineInstance string
	batchSize        int
	batchSizeSet     bool
	retention        Retention
	retentionSet     bool
	run              string
	stop             <-chan struct{}
}

// WithTarget sets the Target that turns a key into instances. Default:
// target.Local{} (this machine, keys "local" and "localhost").
func WithTarget(t target.Target) Option { return func(o *options) { o.target = t } }

// WithPayload sets the Payload that says what to run. Default:
// payload.Osquery{} (the standard query pack).
func WithPayload(p payload.Payload) Option { return func(o *options) { o.payload = p } }

// WithCollector sets the Collector that runs the payload on instances.
// Default: collect.Local{} (this machine; osqueryi when present, built-in
// probes otherwise).
func WithCollector(c collect.Collector) Option { return func(o *options) { o.collector = c } }

// WithStore sets the Store of baselines, collections and reports. Default:
// a persist.Dir at persist.DefaultDir() ($XDG_DATA_HOME/diffy, else
// ~/.local/share/diffy, else ./.diffy).
func WithStore(s persist.Store) Option { return func(o *options) { o.store = s } }

// WithAnalyzer sets the Analyzer. Default: analyze.Baseline's zero value
// (row diff against the key's stored baseline, default volatile columns).
func WithAnalyzer(a analyze.Analyzer) Option { return func(o *options) { o.analyzer = a } }

// WithInventory sets the Inventory that BaselineInventory walks. Default:
// an empty inventory.Static, so BaselineInventory baselines nothing.
func WithInventory(i inventory.Inventory) Option { return func(o *options) { o.inventory = i } }

// WithLogger sets the logger. Its records pass through redact.NewHandler
// first, so AWS secrets never reach its handler. Default: a logger that
// discards everything (a library does not write to the program's log
// unless asked).
func WithLogger(l *slog.Logger) Option { return func(o *options) { o.logger = l } }

// WithIncident sets the incident ID, which the payload may use and which
// names the parts of an interrupted collection. It is 1 to 64 ASCII
// letters, digits, '_' or '-'. Default: a new ID from NewIncidentID
// ("diffy-20261126T120000Z-1a2b3c"). Giving the ID of an interrupted run
// resumes it (see Diffy.Collect).
func WithIncident(id string) Option { return func(o *options) { o.incident = id } }

// WithProgress sets a function called as a run advances (see Progress).
// It is called from the goroutine that called the Diffy method, one call at
// a time, and should return quickly. Default: none.
func WithProgress(f func(Progress)) Option { return func(o *options) { o.progress = f } }

// WithBaselineInstance sets the ID of the instance Baseline collects from;
// it must be one of the key's instances. Default: none, and Baseline
// keeps the group's most typical instance (the medoid of its cluster
// analysis, see Baseline).
func WithBaselineInstance(id string) Option { return func(o *options) { o.baselineInstance = id } }

// WithBatchSize sets how many instances Collect asks the collector for at a
// time; the Results are stored after each batch. Batches run one after the
// other, each as parallel as the collector makes it, so the size trades
// speed (a batch waits for its slowest instance before the next starts)
// against what a killed run can lose (at most one batch). n must be
// positive; New refuses anything else. Default: DefaultBatchSize.
func WithBatchSize(n int) Option {
	return func(o *options) { o.batchSize, o.batchSizeSet = n, true }
}

// WithRetention sets how many runs of each key and kind the store keeps
// (see Retention); Retention{} keeps them all. Runs and MaxAge must not be
// negative; New refuses them. Default: DefaultRetention (the newest 30).
func WithRetention(r Retention) Option {
	return func(o *options) { o.retention, o.retentionSet = r, true }
}

// WithRun sets the run ID under which every baseline, collection and report
// d stores is kept (see Run): the form of NewRunID's IDs, which New checks.
// A run ID names one run: give each Diffy call its own (as a job server
// does, with With). Default: a new ID for each call of Baseline, Collect,
// Analyze, AnalyzeResults, AnalyzeFiles and Diff.
func WithRun(id string) Option { return func(o *options) { o.run = id } }

// WithStopAfterBatch sets a channel that, once closed, stops collections
// at the next batch boundary: the batch in flight finishes and is stored
// as usual, no further batch starts, and Collect (or Analyze, Diff) returns
// the Results so far with an *IncompleteError wrapping ErrStopped; run
// again with the same incident to resume. A program shutting down closes
// it to keep every command it sent, where cancelling the context would
// cancel them. Default: none (only the context stops a collection).
func WithStopAfterBatch(stop <-chan struct{}) Option { return func(o *options) { o.stop = stop } }
