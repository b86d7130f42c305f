package diffy

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/diffy-dfir/diffy/analyze"
	"github.com/diffy-dfir/diffy/collect"
	"github.com/diffy-dfir/diffy/payload"
	"github.com/diffy-dfir/diffy/persist"
	"github.com/diffy-dfir/diffy/target"
)

// Baseline stores the Results of one instance of key as key's baseline
// (persist.KindBaseline, under StoreKey(key)), the earlier ones kept as
// runs (see Runs), and returns them. The instance is the one set by
// WithBaselineInstance, collected alone; else the most typical host of the
// group: Baseline collects every instance that can be collected (in
// batches of WithBatchSize, streamed into analyze.Clustering, nothing
// held or stored), takes the report's medoid (analyze.Report.Medoid: of
// the hosts of the largest cluster the analysis does not flag, the most
// central on its map), logs which, and collects it again alone for the
// baseline. It never takes a host the cluster analysis calls an outlier
// unless WithBaselineInstance names it; a group of one instance is that
// instance.
//
// An instance set by WithBaselineInstance that is not among key's
// instances is an error matching ErrNotFound naming it, and so is a group
// whose every instance is an outlier (name the clean one). When every
// command failed nothing is stored, and the Results come back with an error
// matching ErrAllFailed; when only some failed, the baseline is stored and
// a warning logged. Plugin errors come wrapped in a *StageError.
func (d *Diffy) Baseline(ctx context.Context, key string) ([]collect.Result, error) {
	ctx = d.startRun(ctx)
	return d.baseline(ctx, key, d.baselineInstance)
}

// BaselineFleet stores the Results of every instance of key as key's
// baseline: a fleet baseline, which analyze.Baseline compares later
// collections with as a whole (its roles, splays and versions are no
// findings; what appeared since is). It collects as Collect does (the
// collection stored too) and returns the Results. When every Result
// failed nothing is stored, with an error matching ErrAllFailed; an
// interrupted collection stores nothing and returns its error (see
// IncompleteError).
func (d *Diffy) BaselineFleet(ctx context.Context, key string) ([]collect.Result, error) {
	ctx = d.startRun(ctx)
	sk, err := StoreKey(key)
	if err != nil {
		return nil, err
	}
	rs, insts, _, err := d.collect(ctx, key, sk)
	if err != nil {
		return rs, err
	}
	ok := 0
	for i := range rs {
		if rs[i].OK() {
			ok++
		}
	}
	if ok == 0 {
		return rs, fmt.Errorf("fleet baseline of %q: all %d Results of %d instances failed (first: %s); no baseline stored: %w",
			key, len(rs), len(insts), firstError(rs), ErrAllFailed)
	}
	if err := d.put(ctx, persist.KindBaseline, sk, rs); err != nil {
		return rs, err
	}
	d.log.Info("fleet baseline stored", "key", key, "instances", len(insts), "results", len(rs), "failed", len(rs)-ok)
	return rs, nil
}

func (d *Diffy) baseline(ctx context.Context, key, instanceID string) ([]collect.Result, error) {
	sk, err := StoreKey(key)
	if err != nil {
		return nil, err
	}
	if instanceID == "" {
		return d.typicalBaseline(ctx, key, sk)
	}
	insts, err := d.targets(ctx, key)
	if err != nil {
		return nil, err
	}
	i := slices.IndexFunc(insts, func(in target.Instance) bool { return in.ID == instanceID })
	if i < 0 {
		return nil, fmt.Errorf("baseline instance %q is not among the %d instances of %q: %w", instanceID, len(insts), key, ErrNotFound)
	}
	if insts[i].Unavailable != "" {
		return nil, fmt.Errorf("baseline instance %s cannot be collected: %s: %w", insts[i].ID, insts[i].Unavailable, ErrNotFound)
	}
	inst := insts[i]
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
	return d.putBaseline(ctx, key, sk, inst.ID, rs)
}

// putBaseline stores the Results rs of instance id as key's baseline,
// unless every one failed.
func (d *Diffy) putBaseline(ctx context.Context, key, sk, id string, rs []collect.Result) ([]collect.Result, error) {
	ok := 0
	for i := range rs {
		if rs[i].OK() {
			ok++
		}
	}
	if ok == 0 {
		return rs, fmt.Errorf("baseline of %q from instance %s: all %d commands failed (first: %s); no baseline stored: %w",
			key, id, len(rs), firstError(rs), ErrAllFailed)
	}
	if ok < len(rs) {
		d.log.Warn("baseline has failed commands", "key", key, "instance", id, "failed", len(rs)-ok, "first", firstError(rs))
	}
	if err := d.put(ctx, persist.KindBaseline, sk, rs); err != nil {
		return rs, err
	}
	d.log.Info("baseline stored", "key", key, "instance", id, "results", len(rs))
	return rs, nil
}

// typicalBaseline streams the Results of every instance of key that can
// be collected into a cluster analysis, batch by batch and without storing
// or holding them, then collects the report's medoid alone and stores its
// Results as key's baseline (see Baseline).
func (d *Diffy) typicalBaseline(ctx context.Context, key, sk string) ([]collect.Result, error) {
	targets, err := d.targets(ctx, key)
	if err != nil {
		return nil, err
	}
	var insts []target.Instance
	for _, in := range targets {
		if in.Unavailable == "" {
			insts = append(insts, in)
		}
	}
	if len(insts) == 0 {
		return nil, fmt.Errorf("no instance of %q can be collected: %w", key, ErrNotFound)
	}
	cmds, err := d.commands(ctx)
	if err != nil {
		return nil, err
	}
	inst := insts[0]
	if len(insts) > 1 {
		d.log.Info("collecting the group to find its most typical instance", "key", key, "instances", len(insts), "commands", len(cmds))
		var c analyze.Clustering
		stream, err := c.NewStream(key, nil)
		if err != nil {
			return nil, stageErr("analyze", c, err)
		}
		d.report("collect", 0, len(insts))
		for start := 0; start < len(insts); start += d.batchSize {
			batch := insts[start:min(start+d.batchSize, len(insts))]
			rs, cerr := d.collector.Collect(ctx, batch, cmds)
			if cerr != nil {
				return nil, stageErr("collect", d.collector, cerr)
			}
			if err := stream.Add(ctx, account(batch, cmds, rs, false)); err != nil {
				return nil, stageErr("analyze", c, err)
			}
			d.report("collect", start+len(batch), len(insts))
		}
		rep, err := stream.Report(ctx, nil)
		if err != nil {
			return nil, stageErr("analyze", c, err)
		}
		id, ok := rep.Medoid()
		if !ok {
			return nil, fmt.Errorf("no typical instance of %q: the cluster analysis of its %d instances flags every one; name the clean one (WithBaselineInstance, --instance): %w",
				key, len(insts), ErrNotFound)
		}
		inst = insts[slices.IndexFunc(insts, func(in target.Instance) bool { return in.ID == id })]
		d.log.Info("baseline instance chosen", "key", key, "instance", id, "instances", len(insts), "outliers", len(rep.Outliers()),
			"how", "the medoid of the cluster analysis: of the hosts of its largest cluster it does not flag, the most central on its map")
	}
	rs, cerr := d.collector.Collect(ctx, []target.Instance{inst}, cmds)
	rs = account([]target.Instance{inst}, cmds, rs, cerr != nil)
	if cerr != nil {
		return rs, stageErr("collect", d.collector, cerr)
	}
	return d.putBaseline(ctx, key, sk, inst.ID, rs)
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

// firstError returns the Error of the first Result that has one.
func firstError(rs []collect.Result) string {
	for _, r := range rs {
		if r.Error != "" {
			return r.Error
		}
	}
	return "no error text"
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
