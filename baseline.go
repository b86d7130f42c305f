package diffy

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/diffy-dfir/diffy/collect"
	"github.com/diffy-dfir/diffy/payload"
	"github.com/diffy-dfir/diffy/persist"
	"github.com/diffy-dfir/diffy/target"
)

// Baseline collects the payload from one instance of key, the one set by
// WithBaselineInstance or else the target's first, and stores the Results
// as key's baseline (persist.KindBaseline, under StoreKey(key)), the
// earlier ones kept as runs (see Runs). It returns the Results.
//
// An instance set by WithBaselineInstance that is not among key's
// instances is an error matching ErrNotFound naming it. When every command
// failed nothing is stored, and the Results come back with an error
// matching ErrAllFailed; when only some failed, the baseline is stored and
// a warning logged. Plugin errors come wrapped in a *StageError.
func (d *Diffy) Baseline(ctx context.Context, key string) ([]collect.Result, error) {
	ctx = d.startRun(ctx)
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
	i := slices.IndexFunc(insts, func(in target.Instance) bool { return in.Unavailable == "" })
	if instanceID != "" {
		i = slices.IndexFunc(insts, func(in target.Instance) bool { return in.ID == instanceID })
		if i < 0 {
			return nil, fmt.Errorf("baseline instance %q is not among the %d instances of %q: %w", instanceID, len(insts), key, ErrNotFound)
		}
	}
	if i < 0 || insts[i].Unavailable != "" {
		what := "no instance of " + strconv.Quote(key) + " can be collected"
		if i >= 0 {
			what = fmt.Sprintf("baseline instance %s cannot be collected: %s", insts[i].ID, insts[i].Unavailable)
		}
		return nil, fmt.Errorf("%s: %w", what, ErrNotFound)
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
