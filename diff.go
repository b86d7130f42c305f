package diffy

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/diffy-dfir/diffy/analyze"
	"github.com/diffy-dfir/diffy/collect"
	"github.com/diffy-dfir/diffy/internal/history"
	"github.com/diffy-dfir/diffy/persist"
)

// Earlier chooses the earlier collection that Diff and DiffRuns compare
// each host with. At most one field is set; the zero Earlier chooses the
// newest collection before the one compared.
type Earlier struct {
	// Run is the run ID of the earlier collection (LatestRun: the newest
	// stored).
	Run string
	// Since chooses the newest collection that began at or before Since:
	// the fleet as it was then.
	Since time.Time
}

// Diff collects from every instance of key now (as Collect does, storing
// the collection as a run) and compares each host with its own Results in
// an earlier collection of key, chosen by e: rows added and removed since,
// volatile columns dropped (analyze.Changes, or d's analyzer when it is
// one). Hosts new since then are in the Report without findings, hosts
// gone are in its Skipped; a note names the earlier run. The Report
// (analyzer "diff") is stored as the analysis of the same run. The earlier
// collection is chosen and loaded before anything is collected, so that a
// wrong run ID or time fails at once.
//
// When key has no earlier collection (the first Diff of a key), the
// collection is stored all the same, for the next Diff, and the error
// matches ErrNoEarlier (and ErrNotFound) and names its run. A run ID not stored is an error
// matching ErrNotFound, a malformed one ErrInvalidInput. A collection that
// stops part way returns an *IncompleteError, as Analyze does.
func (d *Diffy) Diff(ctx context.Context, key string, e Earlier) (*analyze.Report, error) {
	ctx = d.startRun(ctx)
	sk, err := StoreKey(key)
	if err != nil {
		return nil, err
	}
	earlier, base, err := d.earlier(ctx, key, sk, e, "")
	first := errors.Is(err, errNoEarlier)
	if err != nil && !first {
		return nil, err
	}
	results, insts, _, err := d.collect(ctx, key, sk)
	if err != nil {
		return nil, err
	}
	if first {
		return nil, fmt.Errorf("no collection of %q was stored before this one, run %s, which is kept for the next diff to compare with: %w: %w", key, d.runID(ctx), ErrNoEarlier, ErrNotFound)
	}
	rep, err := d.changes().Analyze(ctx, analyze.Input{Key: key, Results: results, Baseline: base})
	if err == nil && rep != nil {
		describeHosts(rep, insts)
	}
	return d.storeReport(ctx, key, sk, rep, err, nil, comparedNote(earlier, d.runID(ctx)))
}

// DiffRuns compares each host of key's stored collection of run later
// (LatestRun, or "", for the newest) with its own Results in an earlier
// collection chosen by e (relative to later: the zero Earlier chooses the
// one before it), as Diff does without collecting, and stores the Report
// as a new run. Errors are Diff's.
func (d *Diffy) DiffRuns(ctx context.Context, key string, e Earlier, later string) (*analyze.Report, error) {
	ctx = d.startRun(ctx)
	sk, err := d.historyKey(ctx, key)
	if err != nil {
		return nil, err
	}
	runs, err := history.All(ctx, d.store, persist.KindCollection, sk)
	if err != nil {
		return nil, stageErr("persist", d.store, err)
	}
	var laterRun *history.Run
	for i := range runs {
		if runs[i].ID == later || (later == "" || later == LatestRun) && runs[i].Latest {
			laterRun = &runs[i]
		}
	}
	if laterRun == nil {
		if later != "" && later != LatestRun {
			if err := ValidRunID(later); err != nil {
				return nil, err
			}
		}
		return nil, fmt.Errorf("no collection of %q stored as run %s (diffy ls %s lists its runs): %w", key, orLatest(later), shellWord(key), ErrNotFound)
	}
	results, err := d.loadCollection(ctx, key, sk, laterRun.ID)
	if err != nil {
		return nil, err
	}
	before := laterRun.ID
	if laterRun.Legacy {
		before = "" // the only run: nothing is before it
	}
	earlier, base, err := d.earlier(ctx, key, sk, e, before)
	if errors.Is(err, errNoEarlier) || err == nil && earlier.ID == laterRun.ID {
		return nil, fmt.Errorf("no collection of %q was stored before run %s: %w", key, laterRun.ID, ErrNotFound)
	}
	if err != nil {
		return nil, err
	}
	rep, err := d.changes().Analyze(ctx, analyze.Input{Key: key, Results: results, Baseline: base})
	return d.storeReport(ctx, key, sk, rep, err, nil, comparedNote(earlier, laterRun.ID))
}

// ErrNoEarlier means the first Diff of a key: there was no earlier
// collection to compare with, and the one collected is stored for the next.
var ErrNoEarlier = errors.New("no earlier collection to compare with")

// errNoEarlier: key has no collection before the one to compare.
var errNoEarlier = errors.New("no earlier collection")

// earlier chooses the earlier collection of sk by e, among the runs before
// the run ID before ("" for all), and loads it. With the zero e and no run
// to choose, the error is errNoEarlier.
func (d *Diffy) earlier(ctx context.Context, key, sk string, e Earlier, before string) (history.Run, []collect.Result, error) {
	var none history.Run
	if e.Run != "" && !e.Since.IsZero() {
		return none, nil, fmt.Errorf("choose the earlier collection by run ID or by time, not both: %w", ErrInvalidInput)
	}
	if e.Run != "" && e.Run != LatestRun {
		if err := ValidRunID(e.Run); err != nil {
			return none, nil, err
		}
	}
	runs, err := history.All(ctx, d.store, persist.KindCollection, sk)
	if err != nil {
		return none, nil, stageErr("persist", d.store, err)
	}
	var pick *history.Run
	for i := range runs {
		r := &runs[i]
		if before != "" && !r.Legacy && r.ID >= before {
			continue
		}
		switch {
		case e.Run != "":
			if r.ID == e.Run || e.Run == LatestRun && r.Latest {
				pick = r
			}
		case !e.Since.IsZero():
			if !r.Time.IsZero() && !r.Time.After(e.Since) {
				pick = r // runs are oldest first: the last one wins
			}
		default:
			pick = r
		}
	}
	if pick == nil {
		switch {
		case e.Run != "":
			return none, nil, fmt.Errorf("no collection of %q stored as run %s to compare with (diffy ls %s lists its runs): %w", key, e.Run, shellWord(key), ErrNotFound)
		case !e.Since.IsZero() && len(runs) > 0:
			return none, nil, fmt.Errorf("no collection of %q began at or before %s; the earliest stored began %s: %w",
				key, e.Since.UTC().Format(time.RFC3339), runs[0].Time.UTC().Format(time.RFC3339), ErrNotFound)
		case !e.Since.IsZero():
			return none, nil, fmt.Errorf("no collection of %q is stored to compare with: %w", key, ErrNotFound)
		}
		return none, nil, errNoEarlier
	}
	rs, err := d.loadCollection(ctx, key, sk, pick.ID)
	if err != nil {
		return none, nil, err
	}
	return *pick, rs, nil
}

// changes returns the analyzer of Diff: d's analyzer when it is an
// analyze.Changes, else the zero one.
func (d *Diffy) changes() analyze.Changes {
	if c, ok := d.analyzer.(analyze.Changes); ok {
		return c
	}
	return analyze.Changes{}
}

// comparedNote is the note of a diff Report on the runs compared.
func comparedNote(earlier history.Run, later string) string {
	if earlier.Legacy {
		return fmt.Sprintf("each host of run %s compared with its own Results in the collection stored before history was kept (written %s)", later, whenText(earlier.Time))
	}
	gap := ""
	if lt := history.IDTime(later); !lt.IsZero() && !earlier.Time.IsZero() {
		gap = ", " + lt.Sub(earlier.Time).Round(time.Second).String() + " earlier"
	}
	return fmt.Sprintf("each host of run %s compared with its own Results in the collection of run %s (began %s%s)", later, earlier.ID, whenText(earlier.Time), gap)
}

// whenText is a time for a note; "at an unknown time" for the zero Time.
func whenText(t time.Time) string {
	if t.IsZero() {
		return "at an unknown time"
	}
	return t.UTC().Format(time.RFC3339)
}
