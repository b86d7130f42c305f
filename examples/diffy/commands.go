package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"text/tabwriter"

	"golang.org/x/term"

	"github.com/diffy-dfir/diffy"
	"github.com/diffy-dfir/diffy/analyze"
	"github.com/diffy-dfir/diffy/collect"
	"github.com/diffy-dfir/diffy/examples/internal/cli"
	"github.com/diffy-dfir/diffy/payload"
	"github.com/diffy-dfir/diffy/persist"
	"github.com/diffy-dfir/diffy/render"
	"github.com/diffy-dfir/diffy/target"
)

// cmdBaseline runs `diffy baseline KEY`.
func cmdBaseline(ctx context.Context, c *config, args []string, stdout, stderr io.Writer) error {
	if len(args) != 1 {
		return cli.Usagef("baseline takes one KEY, got %d arguments (see diffy -h)", len(args))
	}
	if err := c.only("baseline", "from", "baseline-from", "o", "format", "analyzer", "before", "run", "since", "to"); err != nil {
		return err
	}
	if c.all && c.instance != "" {
		return cli.Usagef("baseline: --all keeps every instance, --instance one: give one of them (see diffy help baseline)")
	}
	key := args[0]
	prog := newProgressLine(stderr, key)
	d, err := build(ctx, c, true, prog, stderr)
	if err != nil {
		return err
	}
	baseline := d.Baseline
	if c.all {
		baseline = d.BaselineFleet
	}
	rs, err := baseline(ctx, key)
	prog.clear()
	if err != nil {
		return err
	}
	failed := 0
	for i := range rs {
		if !rs[i].OK() {
			failed++
			fmt.Fprintf(stderr, "diffy: warning: %s %s: %s\n", render.Escape(rs[i].InstanceID), render.Escape(rs[i].CommandID), cli.OneLine(rs[i].Error))
		}
	}
	if c.all {
		insts := map[string]bool{}
		for i := range rs {
			insts[rs[i].InstanceID] = true
		}
		fmt.Fprintf(stdout, "fleet baseline of %s saved from %d instances: %d results, %d failed (store: %s)\n",
			render.Escape(key), len(insts), len(rs), failed, render.Escape(storeName(c)))
		return nil
	}
	inst := ""
	if len(rs) > 0 {
		inst = rs[0].InstanceID
	}
	how := ""
	if c.instance == "" {
		how = ", the most typical of the group (the medoid of its cluster analysis; --instance ID names another)"
	}
	fmt.Fprintf(stdout, "baseline of %s saved from instance %s%s: %d commands, %d failed (store: %s)\n",
		render.Escape(key), render.Escape(inst), how, len(rs), failed, render.Escape(storeName(c)))
	return nil
}

// cmdAnalyze runs `diffy analyze KEY` and `diffy analyze --from DIR [KEY]`.
func cmdAnalyze(ctx context.Context, c *config, args []string, stdout, stderr io.Writer) error {
	write, err := cli.NewWriter(c.format, reportOptions(c, stdout)...)
	if err != nil {
		return err
	}
	if err := c.only("analyze", "instance", "all", "before", "run", "since", "to"); err != nil {
		return err
	}
	// A report that cannot be written is found out now, not after the
	// collection.
	if c.output != "" {
		if err := cli.CheckOutput(c.output); err != nil {
			return err
		}
	}
	if c.from != "" {
		return analyzeFrom(ctx, c, args, write, stdout, stderr)
	}
	if c.baselineFrom != "" {
		return cli.Usagef("--baseline-from goes with --from DIR (see diffy -h)")
	}
	if len(args) != 1 {
		return cli.Usagef("analyze takes one KEY, got %d arguments (see diffy -h)", len(args))
	}
	key := args[0]
	prog := newProgressLine(stderr, key)
	d, err := build(ctx, c, true, prog, stderr)
	if err != nil {
		return err
	}
	noteInterrupted(ctx, d, key, stderr)
	rep, err := d.Analyze(ctx, key)
	prog.clear()
	if err := incomplete(err, key); err != nil {
		return err
	}
	return output(c, rep, write, stdout)
}

// incomplete returns err of a run that collects, telling of an interrupted
// collection how far it got and how to resume.
func incomplete(err error, key string) error {
	var ie *diffy.IncompleteError
	if errors.As(err, &ie) && ie.Done == 0 {
		if errors.Is(err, context.Canceled) {
			return fmt.Errorf("interrupted before any instance of %s was collected", key)
		}
		return ie.Err // nothing was collected: just the cause
	}
	if errors.As(err, &ie) {
		return fmt.Errorf("stopped after collecting %d of %d instances of %s (%v); what was collected is kept in the store: run the same command with --incident %s to resume",
			ie.Done, ie.Total, key, ie.Err, ie.Incident)
	}
	return err
}

// analyzeFrom runs `diffy analyze --from DIR [KEY]`.
func analyzeFrom(ctx context.Context, c *config, args []string, write cli.ReportWriter, stdout, stderr io.Writer) error {
	if len(args) > 1 {
		return cli.Usagef("analyze --from takes at most one KEY, got %d arguments (see diffy -h)", len(args))
	}
	if err := c.only("analyze --from", "target", "collector", "batch-size", "incident", "osquery-url", "osquery-sha256"); err != nil {
		return err
	}
	if c.baselineFrom != "" && c.analyzer == "cluster" {
		// The cluster analysis judges each host against the rest of the
		// group: a baseline given to it would be dropped without a word.
		return cli.Usagef("--baseline-from does not apply to --analyzer cluster, which compares the hosts with one another (drop it, or use --analyzer baseline)")
	}
	key := keyOf(c.from)
	if len(args) == 1 {
		key = args[0]
	}
	// The baseline first: the analysis reads the files of --from one at a
	// time (Diffy.AnalyzeFiles), without holding them all.
	var base []collect.Result
	var bskips []analyze.Skip
	if c.baselineFrom != "" {
		var err error
		base, bskips, err = diffy.LoadResults(c.baselineFrom)
		if err != nil {
			printSkips(stderr, "baseline ", bskips)
			return fmt.Errorf("--baseline-from: %w", err)
		}
	}
	d, err := build(ctx, c, false, nil, stderr)
	if err != nil {
		return err
	}
	if c.format == "json" {
		return analyzeFromJSON(ctx, c, d, key, base, bskips, stdout, stderr)
	}
	rep, skips, err := d.AnalyzeFiles(ctx, key, []string{c.from}, base, bskips)
	printSkips(stderr, "", skips)
	printSkips(stderr, "baseline ", bskips)
	if err != nil {
		return err
	}
	return output(c, rep, write, stdout)
}

// analyzeFromJSON is analyzeFrom with --format json: the Report is
// stored, and written to -o (or stdout), from one encoding made as the
// analysis hands its hosts over (Diffy.AnalyzeFilesTo), so that a large
// Report is neither encoded twice nor held whole.
func analyzeFromJSON(ctx context.Context, c *config, d *diffy.Diffy, key string, base []collect.Result, bskips []analyze.Skip, stdout, stderr io.Writer) error {
	var sr diffy.StreamedReport
	var skips []analyze.Skip
	run := func(w io.Writer) error {
		var err error
		sr, skips, err = d.AnalyzeFilesTo(ctx, key, []string{c.from}, base, bskips, w)
		return err
	}
	var err error
	if c.output == "" {
		err = run(stdout)
	} else {
		err = cli.WriteFileFrom(c.output, run)
	}
	printSkips(stderr, "", skips)
	printSkips(stderr, "baseline ", bskips)
	if err != nil {
		return err
	}
	if c.output != "" {
		cli.Written(stdout, sr.Report.Key, sr.Hosts, sr.Outliers, c.output)
	}
	return nil
}

// keyOf returns the default KEY of --from PATH: the directory's name, or
// the file's without its extension.
func keyOf(path string) string {
	if abs, err := filepath.Abs(path); err == nil {
		path = abs
	}
	base := filepath.Base(path)
	if ext := filepath.Ext(base); ext != "" && ext != base && !isDir(path) {
		base = strings.TrimSuffix(base, ext)
	}
	return base
}

// printSkips tells on stderr which inputs were skipped and why.
func printSkips(stderr io.Writer, what string, skips []analyze.Skip) {
	for _, s := range skips {
		fmt.Fprintf(stderr, "diffy: skipped %sinput %s: %s\n", what, render.Escape(s.Source), cli.OneLine(s.Reason))
	}
}

// noteInterrupted tells on stderr about interrupted runs of key left in
// the store.
func noteInterrupted(ctx context.Context, d *diffy.Diffy, key string, stderr io.Writer) {
	runs, err := d.Partial(ctx, key)
	if err != nil {
		return // the run itself will meet the store's trouble and say so
	}
	for _, r := range runs {
		if r.Incident == d.Incident() {
			fmt.Fprintf(stderr, "diffy: resuming incident %s: %d instances of %s already collected\n", r.Incident, r.Instances, render.Escape(key))
			continue
		}
		fmt.Fprintf(stderr, "diffy: note: an interrupted run of %s (incident %s) left results of %d instances in the store; add --incident %s to resume it\n",
			render.Escape(key), r.Incident, r.Instances, r.Incident)
	}
}

// output writes the report to -o FILE (atomically) or stdout.
func output(c *config, rep *analyze.Report, write cli.ReportWriter, stdout io.Writer) error {
	return cli.WriteReport(c.output, rep, write, stdout)
}

// reportOptions are the table's and the page's options of the flags: -v
// lists every cluster's traits and folds long rows; a table on a terminal
// is as wide as the terminal (at least render.MinWidth columns); the page
// names this program's version.
func reportOptions(c *config, stdout io.Writer) []render.Option {
	opts := []render.Option{render.WithVerbose(c.verbose), render.WithVersion(cli.Version("diffy"))}
	if f, ok := stdout.(*os.File); ok && c.output == "" && term.IsTerminal(int(f.Fd())) {
		if w, _, err := term.GetSize(int(f.Fd())); err == nil && w >= render.MinWidth {
			opts = append(opts, render.WithWidth(w))
		}
	}
	return opts
}

// build wires a Diffy from the flags. collecting says whether the target
// and collector are needed (not for --from).
func build(ctx context.Context, c *config, collecting bool, prog *progressLine, stderr io.Writer) (*diffy.Diffy, error) {
	incident := c.incident
	if incident == "" {
		incident = diffy.NewIncidentID()
	}
	level := slog.LevelWarn
	if c.verbose {
		level = slog.LevelDebug
	}
	logger := cli.NewLogger(stderr, level)
	c.aws.Logger = logger
	opts := []diffy.Option{
		diffy.WithIncident(incident),
		diffy.WithLogger(logger),
		diffy.WithBaselineInstance(c.instance),
	}
	if c.set["batch-size"] {
		opts = append(opts, diffy.WithBatchSize(c.batchSize))
	}
	if prog != nil {
		opts = append(opts, diffy.WithProgress(prog.update))
	}
	an, err := cli.NewAnalyzer(c.analyzer)
	if err != nil {
		return nil, err
	}
	opts = append(opts, diffy.WithAnalyzer(an))
	st, err := c.aws.Store(ctx, c.store)
	if err != nil {
		return nil, err
	}
	opts = append(opts, diffy.WithStore(st))
	if collecting {
		var tg target.Target = target.Local{}
		if c.target != "local" {
			if tg, err = c.aws.Target(ctx, c.target); err != nil {
				return nil, fmt.Errorf("--target %s: %w", c.target, err)
			}
		}
		var col collect.Collector = collect.Local{}
		if b := c.aws.SameBucket(c.store); b != "" {
			fmt.Fprintf(stderr, "diffy: warning: --store and --output-bucket name the same bucket %s: the instances that may write "+
				"their output there may overwrite the store's baselines too; use a bucket for SSM output alone\n", b)
		}
		if c.collector == "ssm" {
			if col, err = c.aws.Collector(ctx, incident); err != nil {
				return nil, fmt.Errorf("--collector ssm: %w", err)
			}
		}
		if c.osqueryURL != "" {
			f, err := osqueryFetch(ctx, c)
			if err != nil {
				return nil, err
			}
			opts = append(opts, diffy.WithPayload(payload.FetchPayload(payload.Osquery{}, f)))
		}
		opts = append(opts, diffy.WithTarget(tg), diffy.WithCollector(col))
	}
	return diffy.New(opts...)
}

// storeName says where the store is, for messages.
func storeName(c *config) string {
	if c.store == "" {
		return persist.DefaultDir()
	}
	return c.store
}

// cmdPlugins runs `diffy plugins`: a plain table of what is built in.
func cmdPlugins(c *config, args []string, stdout io.Writer) error {
	if len(args) != 0 {
		return cli.Usagef("plugins takes no argument, got %d (see diffy -h)", len(args))
	}
	for _, n := range slices.Sorted(maps.Keys(c.set)) {
		if n != "v" {
			return cli.Usagef("--%s does not apply to plugins, which takes no flag", n)
		}
	}
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "KIND\tNAME\tWHAT")
	rows := []struct {
		kind string
		ps   []plugin
	}{
		{"target", []plugin{
			{"local", `this machine (KEY "local" or "localhost")`},
			{"asg", "EC2 instances of an Auto Scaling group (KEY: the group's name)"},
			{"tag", "EC2 instances with a tag (KEY: Name=Value)"},
			{"ids", "EC2 instances by ID (KEY: i-1,i-2,...)"},
		}},
		{"payload", []plugin{{"osquery", "the standard query pack: listening_ports, processes, crontab, kernel_modules, users, authorized_keys"}}},
		{"collector", []plugin{
			{"local", "this machine: osqueryi when on PATH, built-in probes otherwise"},
			{"ssm", "AWS Systems Manager Run Command"},
		}},
		{"store", []plugin{
			{"DIR", "JSON files in a directory (default " + persist.DefaultDir() + ")"},
			{"s3://bucket/prefix", "JSON objects in S3"},
		}},
		{"analyzer", analyzers},
		{"format", formats},
	}
	for _, r := range rows {
		for _, p := range r.ps {
			fmt.Fprintf(tw, "%s\t%s\t%s\n", r.kind, p.name, p.what)
		}
	}
	return tw.Flush()
}
