// Package diffy is a differencing engine for digital forensics and incident
// response in the cloud: it collects the same facts (listening ports,
// processes, crontabs, kernel modules, users, SSH keys) from a group of
// machines that should be alike, and finds the ones that differ.
//
// A Diffy is wired from six plugins, each an interface of its own package:
// a target.Target turns a key (an Auto Scaling group, a tag, instance IDs,
// "local") into instances; a payload.Payload says what to run; a
// collect.Collector runs it; a persist.Store keeps baselines, collections
// and reports; an analyze.Analyzer finds the outliers; an
// inventory.Inventory lists the keys to baseline.
//
//	d, err := diffy.New(diffy.WithStore(persist.NewDir("/var/lib/diffy")))
//	if err != nil { ... }
//	if _, err := d.Baseline(ctx, "local"); err != nil { ... }   // a clean machine
//	report, err := d.Analyze(ctx, "local")                      // later, or elsewhere
//	for _, h := range report.Outliers() { ... }
//
// Baseline collects from one clean instance and stores its Results as the
// key's baseline. Analyze collects from every instance of the key, compares
// them (with the baseline, for analyzers that use one) and stores both the
// collection and the Report. Collect only collects; AnalyzeResults analyzes
// Results saved earlier, which LoadResults reads from files; AnalyzeFiles
// does both, and with an analyzer that is an analyze.Streamer (the cluster
// analyzer) reads the files one at a time (ScanResults) without holding
// them all.
//
// # Defaults
//
// New fills in what is not set, after applying the options: target.Local{},
// payload.Osquery{}, collect.Local{}, a persist.Dir at persist.DefaultDir()
// ($XDG_DATA_HOME/diffy, else ~/.local/share/diffy, else ./.diffy), the zero
// analyze.Baseline, an empty inventory.Static, a logger that discards
// everything, an incident ID from NewIncidentID, batches of
// DefaultBatchSize (500) instances, DefaultRetention (the newest 30 runs of
// each key and kind). So diffy.New() works on a laptop with
// nothing installed, on the key "local".
//
// Documents are stored under StoreKey(key): the target key with '/', '\\',
// '%', '~', control bytes and a leading '.' escaped as %XX, and shortened
// with a hash when long (a long list of instance IDs).
//
// # History
//
// Every baseline, collection and report is kept as a run of its key, under
// a run ID that begins with the time the call began
// ("20261126T120000.123Z-1a2b3c"; one call, one run: an Analyze's
// collection and Report share it), beside the plain document of the newest
// one, which is what Analyze reads and what stores written before history
// hold. Runs lists a key's runs, Keys every key, LoadRun, LoadReport and
// LoadCollection read one (LatestRun for the newest), DeleteRuns drops
// those older than a time. WithRetention bounds how many are kept
// (DefaultRetention: the newest 30 of each key and kind). Stores that
// implement persist.InfoLister give the runs' sizes without reading them.
//
// # Nothing lost
//
// Collect asks the collector for one batch of instances at a time and
// stores each batch's Results as soon as it is collected
// (persist.KindPartial), then the whole collection, then deletes the parts. A run that is
// cancelled, fails, or is killed keeps everything collected before;
// Partial shows it, and a run with the same incident ID resumes it.
//
// # Errors
//
// Errors match the sentinels ErrNotFound, ErrNoBaseline, ErrInvalidKey,
// ErrInvalidInput (the values of package diffyerr, which plugins use) and
// ErrAllFailed with errors.Is. A plugin's error comes wrapped in a
// *StageError naming the stage ("target", "payload", "collect", "persist",
// "analyze", "inventory") and the plugin's type; a collection that stopped
// part way is an *IncompleteError holding what was collected.
//
// # Testing
//
// Package diffytest holds the conformance suites of every plugin
// interface, for plugin authors; persist.Memory and target.Static make
// in-memory runs easy (see the examples).
package diffy
