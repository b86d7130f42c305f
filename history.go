package diffy

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"time"

	"github.com/diffy-dfir/diffy/analyze"
	"github.com/diffy-dfir/diffy/collect"
	"github.com/diffy-dfir/diffy/internal/history"
	"github.com/diffy-dfir/diffy/internal/parts"
	"github.com/diffy-dfir/diffy/persist"
)

// History: every baseline, collection and report Diffy stores is kept as a
// run of its key, under a run ID, beside the plain document that holds the
// newest one (what Analyze reads as the baseline, what older versions of
// Diffy wrote and read). Retention bounds how many runs of a key and kind
// are kept.

// LatestRun is the run ID that names the newest run of a key and kind.
const LatestRun = history.Latest

// Run is one stored baseline, collection or report of a key.
type Run struct {
	// Kind is persist.KindBaseline, KindCollection or KindAnalysis.
	Kind persist.Kind `json:"kind"`
	// Key is the store key (StoreKey of the target key).
	Key string `json:"key"`
	// ID is the run ID: the UTC time the run began and a random suffix,
	// "20261126T120000.123Z-1a2b3c". A document stored before Diffy kept
	// history has the ID LatestRun and Legacy set.
	ID string `json:"id"`
	// Time is when the run began; for a legacy document, when the store
	// wrote it (the zero Time when the store cannot tell).
	Time time.Time `json:"time"`
	// Size is the document's length in bytes, or -1 when the store cannot
	// tell without reading it (it does not implement persist.InfoLister).
	Size int64 `json:"size"`
	// Latest marks the newest run of its kind: the one LatestRun names.
	Latest bool `json:"latest,omitempty"`
	// Legacy marks a document stored before Diffy kept history: the key's
	// only run of its kind, until a newer one is stored (it then becomes a
	// run of its own time).
	Legacy bool `json:"legacy,omitempty"`
}

// StoredKey is a key with documents in the store, and its runs.
type StoredKey struct {
	// Key is the target key the store key stands for, when StoreKey did
	// not shorten it (see TargetKey); "" otherwise.
	Key string `json:"key,omitempty"`
	// StoreKey is the key under which the documents are stored.
	StoreKey string `json:"store_key"`
	// Runs counts the key's runs of each kind.
	Runs map[persist.Kind]int `json:"runs"`
	// Size adds up the sizes of the runs (-1 when the store cannot tell).
	Size int64 `json:"size"`
	// Newest is the time of the newest run.
	Newest time.Time `json:"newest"`
}

// Retention says how many runs of a key and kind the store keeps: after a
// new run is stored, the runs beyond the newest Runs, and those that began
// more than MaxAge ago, are deleted (when the store implements
// persist.Deleter). The newest run is always kept. Zero fields set no
// limit: Retention{} keeps every run.
type Retention struct {
	// Runs is how many runs of each key and kind to keep; 0 for all.
	Runs int
	// MaxAge is how old a run may be; 0 for any age.
	MaxAge time.Duration
}

// DefaultRetention is the Retention when WithRetention is not given: the
// newest 30 runs of each key and kind (a month of daily runs), of any age.
var DefaultRetention = Retention{Runs: 30}

// runKey is the context key of the run ID of a call.
type runKey struct{}

// startRun returns ctx carrying the run ID of the call about to store
// documents: the one WithRun gave, or a new one, unless ctx already holds
// one (a call made by another, as Analyze calls collect).
func (d *Diffy) startRun(ctx context.Context) context.Context {
	if _, ok := ctx.Value(runKey{}).(string); ok {
		return ctx
	}
	id := d.run
	if id == "" {
		id = history.NewID(time.Now())
	}
	return context.WithValue(ctx, runKey{}, id)
}

// runID returns the run ID of ctx (see startRun), or a new one.
func (d *Diffy) runID(ctx context.Context) string {
	if id, ok := ctx.Value(runKey{}).(string); ok {
		return id
	}
	if d.run != "" {
		return d.run
	}
	return history.NewID(time.Now())
}

// RunID returns the run ID of the runs d stores: the ID given to WithRun,
// or "" when every call takes a new one.
func (d *Diffy) RunID() string { return d.run }

// putRun stores doc as run of (kind, sk), and as the key's latest document,
// and applies the retention. A failure to delete old runs is logged: the
// run is stored.
func (d *Diffy) putRun(ctx context.Context, kind persist.Kind, sk string, doc []byte) error {
	id := d.runID(ctx)
	err := history.Put(ctx, d.store, kind, sk, id, doc, history.Retention(d.retention), time.Now())
	if errors.Is(err, history.ErrPrune) {
		d.log.Warn("cannot drop runs beyond the retention", "kind", kind, "key", sk, "err", err)
		return nil
	}
	if err != nil {
		return stageErr("persist", d.store, err)
	}
	return nil
}

// putRunStream is putRun of the document write writes, in one pass
// (history.PutStream: never whole in memory when the store is a
// persist.StreamPutter); the error is PutStream's, as it is.
func (d *Diffy) putRunStream(ctx context.Context, kind persist.Kind, sk string, write func(io.Writer) error) error {
	return history.PutStream(ctx, d.store, kind, sk, d.runID(ctx), write, history.Retention(d.retention), time.Now())
}

// Keys returns every key with a baseline, collection or report in the
// store, sorted by store key, with how many runs of each kind it has.
func (d *Diffy) Keys(ctx context.Context) ([]StoredKey, error) {
	byKey := map[string]*StoredKey{}
	for _, kind := range history.Kinds {
		runs, err := history.All(ctx, d.store, kind, "")
		if err != nil {
			return nil, stageErr("persist", d.store, err)
		}
		for _, r := range runs {
			k := byKey[r.Key]
			if k == nil {
				tk, _ := TargetKey(r.Key)
				k = &StoredKey{Key: tk, StoreKey: r.Key, Runs: map[persist.Kind]int{}}
				byKey[r.Key] = k
			}
			k.Runs[kind]++
			if r.Size < 0 || k.Size < 0 {
				k.Size = -1
			} else {
				k.Size += r.Size
			}
			if r.Time.After(k.Newest) {
				k.Newest = r.Time
			}
		}
	}
	out := make([]StoredKey, 0, len(byKey))
	for _, sk := range slices.Sorted(maps.Keys(byKey)) {
		out = append(out, *byKey[sk])
	}
	return out, nil
}

// Runs returns the runs of key (a target key, or a store key as Keys lists
// it), of every kind, oldest first (for equal times: baselines, then
// collections, then reports). A key with nothing stored gives no run and
// no error.
func (d *Diffy) Runs(ctx context.Context, key string) ([]Run, error) {
	sk, err := d.historyKey(ctx, key)
	if err != nil {
		return nil, err
	}
	return d.runs(ctx, sk)
}

// runs returns the runs of the store key sk, as Runs does.
func (d *Diffy) runs(ctx context.Context, sk string) ([]Run, error) {
	var out []Run
	for _, kind := range history.Kinds {
		runs, err := history.All(ctx, d.store, kind, sk)
		if err != nil {
			return nil, stageErr("persist", d.store, err)
		}
		for _, r := range runs {
			out = append(out, Run(r))
		}
	}
	slices.SortStableFunc(out, func(a, b Run) int { return a.Time.Compare(b.Time) })
	return out, nil
}

// historyKey returns the store key of key: StoreKey(key), unless nothing
// is stored under it and key is itself a store key with documents (a
// shortened one, as Keys lists it).
func (d *Diffy) historyKey(ctx context.Context, key string) (string, error) {
	sk, err := StoreKey(key)
	if err != nil {
		return "", err
	}
	if sk == key || persist.ValidKey(key) != nil {
		return sk, nil
	}
	if runs, err := d.runs(ctx, sk); err != nil || len(runs) > 0 {
		return sk, err
	}
	if runs, err := d.runs(ctx, key); err == nil && len(runs) > 0 {
		return key, nil
	}
	return sk, nil
}

// LoadRun returns the document of run id of key's kind (LatestRun, or "",
// for the newest). A run never stored, or since deleted, is an error
// matching ErrNotFound naming the key, kind and run; an ID that is not a
// run ID one matching ErrInvalidInput.
func (d *Diffy) LoadRun(ctx context.Context, kind persist.Kind, key, id string) ([]byte, error) {
	sk, err := d.historyKey(ctx, key)
	if err != nil {
		return nil, err
	}
	return d.loadRun(ctx, kind, key, sk, id)
}

// loadRun is LoadRun of the store key sk (key names it in errors).
func (d *Diffy) loadRun(ctx context.Context, kind persist.Kind, key, sk, id string) ([]byte, error) {
	if !slices.Contains(history.Kinds, kind) {
		return nil, fmt.Errorf("kind %q has no history (want baseline, collection or analysis): %w", kind, ErrInvalidInput)
	}
	doc, err := history.Get(ctx, d.store, kind, sk, id)
	switch {
	case errors.Is(err, ErrNotFound):
		return nil, fmt.Errorf("no %s of %q stored as run %s (diffy ls %s lists its runs): %w", kind, key, orLatest(id), shellWord(key), ErrNotFound)
	case errors.Is(err, ErrInvalidInput):
		return nil, err
	case err != nil:
		return nil, stageErr("persist", d.store, err)
	}
	return doc, nil
}

// LoadReport returns the Report of run id of key (LatestRun, or "", for
// the newest), as Analyze stored it. Errors are LoadRun's, and one matching
// ErrInvalidInput for a stored document that is not a Report.
func (d *Diffy) LoadReport(ctx context.Context, key, id string) (*analyze.Report, error) {
	doc, err := d.LoadRun(ctx, persist.KindAnalysis, key, id)
	if err != nil {
		return nil, err
	}
	rep, err := DecodeReport(doc)
	if err != nil {
		return nil, fmt.Errorf("stored report of %q (run %s) %w", key, orLatest(id), err)
	}
	return rep, nil
}

// DecodeReport returns the Report of a stored report document, as
// LoadReport reads it: for a caller that has the document already
// (LoadRun's), so that what it decodes is what it read. A document that is
// not a Report is an error matching ErrInvalidInput.
func DecodeReport(doc []byte) (*analyze.Report, error) {
	var rep analyze.Report
	dec := json.NewDecoder(bytes.NewReader(doc))
	if err := dec.Decode(&rep); err != nil {
		return nil, fmt.Errorf("is not a Report: %v: %w", err, ErrInvalidInput)
	}
	if rep.Hosts == nil {
		return nil, fmt.Errorf("has no hosts list: %w", ErrInvalidInput)
	}
	return &rep, nil
}

// LoadCollection returns the Results of run id of key's collections
// (LatestRun, or "", for the newest). Errors are LoadRun's, and one
// matching ErrInvalidInput for a stored document that is not an array of
// Results.
func (d *Diffy) LoadCollection(ctx context.Context, key, id string) ([]collect.Result, error) {
	sk, err := d.historyKey(ctx, key)
	if err != nil {
		return nil, err
	}
	return d.loadCollection(ctx, key, sk, id)
}

// loadCollection is LoadCollection of the store key sk.
func (d *Diffy) loadCollection(ctx context.Context, key, sk, id string) ([]collect.Result, error) {
	doc, err := d.loadRun(ctx, persist.KindCollection, key, sk, id)
	if err != nil {
		return nil, err
	}
	var rs []collect.Result
	if err := json.Unmarshal(doc, &rs); err != nil {
		return nil, fmt.Errorf("stored collection of %q (run %s) is not a JSON array of Results: %v: %w", key, orLatest(id), err, ErrInvalidInput)
	}
	return rs, nil
}

func orLatest(id string) string {
	if id == "" {
		return LatestRun
	}
	return id
}

// DeleteRuns deletes the runs of key, of every kind, that began before
// before, and returns them. When a kind's newest run goes, the newest run
// left takes its place as the latest. With the zero before, everything
// stored of key goes: every run, and the parts of interrupted collections.
// A legacy document whose time the store cannot tell goes only then. The
// store must implement persist.Deleter (an error matching ErrInvalidInput
// otherwise).
func (d *Diffy) DeleteRuns(ctx context.Context, key string, before time.Time) ([]Run, error) {
	sk, err := d.historyKey(ctx, key)
	if err != nil {
		return nil, err
	}
	var out []Run
	for _, kind := range history.Kinds {
		runs, err := history.Delete(ctx, d.store, kind, sk, before)
		for _, r := range runs {
			out = append(out, Run(r))
		}
		if errors.Is(err, ErrInvalidInput) {
			return out, err
		}
		if err != nil {
			return out, stageErr("persist", d.store, err)
		}
	}
	if before.IsZero() {
		if err := d.dropParts(ctx, sk); err != nil {
			return out, err
		}
	}
	return out, nil
}

// dropParts deletes every part of every interrupted collection of sk.
func (d *Diffy) dropParts(ctx context.Context, sk string) error {
	keys, err := d.store.List(ctx, persist.KindPartial)
	if err != nil {
		return stageErr("persist", d.store, err)
	}
	incidents := map[string]bool{}
	for _, k := range keys {
		if s, inc, _, ok := parts.ParseKey(k); ok && s == sk {
			incidents[inc] = true
		}
	}
	for inc := range incidents {
		parts.Drop(ctx, d.store, d.log, sk, inc)
	}
	return nil
}
