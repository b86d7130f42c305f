package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/diffy-dfir/diffy"
	"github.com/diffy-dfir/diffy/examples/internal/cli"
	"github.com/diffy-dfir/diffy/persist"
	"github.com/diffy-dfir/diffy/render"
)

// cmdLs runs `diffy ls [KEY]`: the keys of the store, or one key's runs,
// as a table or (--format json) JSON.
func cmdLs(ctx context.Context, c *config, args []string, stdout, stderr io.Writer) error {
	if len(args) > 1 {
		return cli.Usagef("ls takes at most one KEY, got %d arguments (see diffy help ls)", len(args))
	}
	if err := c.allow("ls", append([]string{"format"}, storeFlags...)...); err != nil {
		return err
	}
	if c.format != "table" && c.format != "json" {
		return cli.Usagef("ls prints a table or JSON: --format table or json, not %q", c.format)
	}
	d, err := build(ctx, c, false, nil, stderr)
	if err != nil {
		return err
	}
	if len(args) == 0 {
		keys, err := d.Keys(ctx)
		if err != nil {
			return err
		}
		if c.format == "json" {
			return writeJSON(stdout, keys)
		}
		tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "KEY\tBASELINES\tCOLLECTIONS\tREPORTS\tSIZE\tNEWEST")
		for _, k := range keys {
			name := k.Key
			if name == "" {
				name = k.StoreKey // shortened by StoreKey: its store key names it
			}
			fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%s\t%s\n", render.Escape(name), k.Runs[persist.KindBaseline],
				k.Runs[persist.KindCollection], k.Runs[persist.KindAnalysis], size(k.Size), when(k.Newest))
		}
		if err := tw.Flush(); err != nil {
			return err
		}
		if len(keys) == 0 {
			fmt.Fprintf(stderr, "diffy: the store %s holds nothing yet\n", render.Escape(storeName(c)))
		}
		return nil
	}
	key := args[0]
	runs, err := d.Runs(ctx, key)
	if err != nil {
		return err
	}
	if len(runs) == 0 {
		return fmt.Errorf("nothing is stored for %s in %s (diffy ls lists the keys): %w", render.Escape(key), render.Escape(storeName(c)), diffy.ErrNotFound)
	}
	if c.format == "json" {
		return writeJSON(stdout, runs)
	}
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "RUN\tKIND\tTIME\tSIZE\t")
	for _, r := range runs {
		mark := ""
		switch {
		case r.Legacy:
			mark = "latest (stored before history was kept)"
		case r.Latest:
			mark = "latest"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", r.ID, kindName(r.Kind), when(r.Time), size(r.Size), mark)
	}
	return tw.Flush()
}

// cmdRm runs `diffy rm KEY [--before TIME]`.
func cmdRm(ctx context.Context, c *config, args []string, stdout, stderr io.Writer) error {
	if len(args) != 1 {
		return cli.Usagef("rm takes one KEY, got %d arguments (see diffy help rm)", len(args))
	}
	if err := c.allow("rm", append([]string{"before"}, storeFlags...)...); err != nil {
		return err
	}
	var before time.Time
	if c.set["before"] {
		var err error
		if before, err = cli.ParseTime("before", c.before, time.Now()); err != nil {
			return err
		}
	}
	key := args[0]
	d, err := build(ctx, c, false, nil, stderr)
	if err != nil {
		return err
	}
	runs, err := d.Runs(ctx, key)
	if err != nil {
		return err
	}
	if len(runs) == 0 {
		return fmt.Errorf("nothing is stored for %s in %s (diffy ls lists the keys): %w", render.Escape(key), render.Escape(storeName(c)), diffy.ErrNotFound)
	}
	gone, err := d.DeleteRuns(ctx, key, before)
	if len(gone) > 0 || err == nil {
		what := "every run"
		if !before.IsZero() {
			what = "the runs before " + before.Format(time.RFC3339)
		}
		fmt.Fprintf(stdout, "%s: deleted %s: %s; %d left\n", render.Escape(key), what, countKinds(gone), len(runs)-len(gone))
	}
	return err
}

// cmdShow runs `diffy show KEY [--run ID]`: a stored report in any format.
func cmdShow(ctx context.Context, c *config, args []string, stdout, stderr io.Writer) error {
	if len(args) != 1 {
		return cli.Usagef("show takes one KEY, got %d arguments (see diffy help show)", len(args))
	}
	if err := c.allow("show", append([]string{"run", "format", "o"}, storeFlags...)...); err != nil {
		return err
	}
	if c.run != "" && c.run != diffy.LatestRun {
		if err := diffy.ValidRunID(c.run); err != nil {
			return cli.Usagef("--run: %v", err)
		}
	}
	write, err := cli.NewWriter(c.format, reportOptions(c, stdout)...)
	if err != nil {
		return err
	}
	if c.output != "" {
		if err := cli.CheckOutput(c.output); err != nil {
			return err
		}
	}
	d, err := build(ctx, c, false, nil, stderr)
	if err != nil {
		return err
	}
	rep, err := d.LoadReport(ctx, args[0], c.run)
	if err != nil {
		return err
	}
	return output(c, rep, write, stdout)
}

// writeJSON writes v as indented JSON.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// kindName is the kind of a run in words.
func kindName(k persist.Kind) string {
	if k == persist.KindAnalysis {
		return "report"
	}
	return string(k)
}

// countKinds says how many runs of each kind rs holds: "2 collections, 1
// report", or "none".
func countKinds(rs []diffy.Run) string {
	n := map[persist.Kind]int{}
	for _, r := range rs {
		n[r.Kind]++
	}
	var parts []string
	for _, k := range []persist.Kind{persist.KindBaseline, persist.KindCollection, persist.KindAnalysis} {
		if n[k] > 0 {
			name := kindName(k)
			if n[k] > 1 {
				name += "s"
			}
			parts = append(parts, fmt.Sprintf("%d %s", n[k], name))
		}
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ", ")
}

// size says n bytes in KiB, MiB or GiB; "?" when unknown (-1).
func size(n int64) string {
	switch {
	case n < 0:
		return "?"
	case n < 1<<10:
		return fmt.Sprintf("%d B", n)
	case n < 1<<20:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	case n < 1<<30:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	}
	return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
}

// when formats a run's time in UTC; "unknown" for the zero Time.
func when(t time.Time) string {
	if t.IsZero() {
		return "unknown"
	}
	return t.UTC().Format("2006-01-02 15:04:05.000Z")
}

// cmdDiff runs `diffy diff KEY [--since T|--run ID] [--to ID]`: each host
// against its own earlier collection, collecting now, or comparing two
// stored runs (--to).
func cmdDiff(ctx context.Context, c *config, args []string, stdout, stderr io.Writer) error {
	if len(args) != 1 {
		return cli.Usagef("diff takes one KEY, got %d arguments (see diffy help diff)", len(args))
	}
	if err := c.only("diff", "analyzer", "instance", "all", "from", "baseline-from", "before"); err != nil {
		return err
	}
	if c.set["since"] && c.set["run"] {
		return cli.Usagef("--since and --run both choose the earlier collection: give one")
	}
	var e diffy.Earlier
	if c.set["since"] {
		t, err := cli.ParseTime("since", c.since, time.Now())
		if err != nil {
			return err
		}
		e.Since = t
	}
	for _, f := range []struct{ name, id string }{{"run", c.run}, {"to", c.to}} {
		if c.set[f.name] && f.id != diffy.LatestRun {
			if err := diffy.ValidRunID(f.id); err != nil {
				return cli.Usagef("--%s: %v", f.name, err)
			}
		}
	}
	e.Run = c.run
	write, err := cli.NewWriter(c.format, reportOptions(c, stdout)...)
	if err != nil {
		return err
	}
	if c.output != "" {
		if err := cli.CheckOutput(c.output); err != nil {
			return err
		}
	}
	key := args[0]
	if c.set["to"] {
		if err := c.only("diff --to", "target", "collector", "incident", "batch-size", "osquery-url", "osquery-sha256", "output-bucket"); err != nil {
			return err
		}
		d, err := build(ctx, c, false, nil, stderr)
		if err != nil {
			return err
		}
		rep, err := d.DiffRuns(ctx, key, e, c.to)
		if err != nil {
			return err
		}
		return output(c, rep, write, stdout)
	}
	prog := newProgressLine(stderr, key)
	d, err := build(ctx, c, true, prog, stderr)
	if err != nil {
		return err
	}
	noteInterrupted(ctx, d, key, stderr)
	rep, err := d.Diff(ctx, key, e)
	prog.clear()
	if errors.Is(err, diffy.ErrNoEarlier) {
		// The first diff of a key: nothing to compare yet, and that is
		// not a failure.
		fmt.Fprintf(stderr, "diffy: %s\n", cli.OneLine(err.Error()))
		return nil
	}
	if err := incomplete(err, key); err != nil {
		return err
	}
	return output(c, rep, write, stdout)
}
