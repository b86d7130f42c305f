package diffy

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"

	"github.com/diffy-dfir/diffy/analyze"
	"github.com/diffy-dfir/diffy/collect"
	"github.com/diffy-dfir/diffy/internal/history"
	"github.com/diffy-dfir/diffy/internal/parts"
	"github.com/diffy-dfir/diffy/persist"
	"github.com/diffy-dfir/diffy/target"
)

// Analyze collects from every instance of key (as Collect does, storing the
// collection), analyzes the Results and stores the Report
// (persist.KindAnalysis, under StoreKey(key)); the collection and the
// Report are one run of the key's history (see Runs).
//
// When the analyzer needs a baseline (analyze.BaselineUser), the key's
// stored baseline is loaded first, before anything is collected; when there
// is none the error matches ErrNoBaseline and says to run `diffy baseline
// KEY`, unless the key names no instance at all (a typo): then it is the
// target's ErrNotFound. The Report's hosts carry what the target knew of
// their instances (Host.Name, PrivateIP and Tags). A collection that stops
// part way returns a nil Report and an *IncompleteError holding what was
// collected. Plugin errors come wrapped in a *StageError.
//
// When the analyzer is an analyze.Streamer (the cluster analyzer), the
// Results are not held together: each batch the collector delivers
// (collect.BatchCollector, such as ssmcollect's batches of 50) is stored
// as a part, added to the stream and dropped, so the Results of the fleet
// are never held together. The collection is then stored as Collect
// stores it, joined from the parts as JSON, never decoded (its JSON is in
// memory once: persist.Store takes a document whole), and an
// *IncompleteError holds no Results (the parts do).
func (d *Diffy) Analyze(ctx context.Context, key string) (*analyze.Report, error) {
	ctx = d.startRun(ctx)
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
	if st, ok := d.analyzer.(analyze.Streamer); ok {
		return d.analyzeStream(ctx, key, sk, st, base)
	}
	results, insts, resumed, err := d.collect(ctx, key, sk)
	if err != nil {
		return nil, err
	}
	var notes []string
	if n := unavailableNote(insts); n != "" {
		notes = append(notes, n)
	}
	if resumed > 0 {
		notes = append(notes, fmt.Sprintf("%d instances were collected by an earlier, interrupted run of incident %s, which this run resumed", resumed, d.incident))
	}
	d.report("analyze", 0, 1)
	rep, err := d.analyzer.Analyze(ctx, analyze.Input{Key: key, Results: results, Baseline: base})
	if err == nil && rep != nil {
		describeHosts(rep, insts)
	}
	return d.storeReport(ctx, key, sk, rep, err, nil, notes...)
}

// analyzeStream is Analyze with an analyze.Streamer: each batch the
// collector delivers is stored as a part, added to the stream and dropped,
// so that the fleet's Results are never held together (but for what the
// analyzer keeps); the collection is then stored from the parts
// (putCollectionFromParts).
func (d *Diffy) analyzeStream(ctx context.Context, key, sk string, st analyze.Streamer, base []collect.Result) (*analyze.Report, error) {
	stream, err := st.NewStream(key, base)
	if err != nil {
		return nil, stageErr("analyze", d.analyzer, err)
	}
	var addErr error
	c, err := d.collectEach(ctx, key, sk, true, func(rs []collect.Result) error {
		if addErr = stream.Add(ctx, rs); addErr != nil {
			return addErr
		}
		return nil
	})
	switch {
	case c.insts == nil && err != nil:
		return nil, err
	case addErr != nil:
		return nil, stageErr("analyze", d.analyzer, addErr)
	case err != nil:
		return nil, &IncompleteError{Key: key, Incident: d.incident, Done: c.done, Total: len(c.insts), Err: err}
	}
	if err := d.putCollectionFromParts(ctx, sk, c.first, c.next); err != nil {
		return nil, &IncompleteError{Key: key, Incident: d.incident, Done: c.done, Total: len(c.insts), Err: err}
	}
	parts.Drop(ctx, d.store, d.log, sk, d.incident)
	var notes []string
	if n := unavailableNote(c.insts); n != "" {
		notes = append(notes, n)
	}
	if c.resumed > 0 {
		notes = append(notes, fmt.Sprintf("%d instances were collected by an earlier, interrupted run of incident %s, which this run resumed", c.resumed, d.incident))
	}
	d.report("analyze", 0, 1)
	rep, err := stream.Report(ctx, nil)
	if err == nil && rep != nil {
		describeHosts(rep, c.insts)
	}
	return d.storeReport(ctx, key, sk, rep, err, nil, notes...)
}

// AnalyzeResults analyzes Results collected earlier (loaded with
// LoadResults, say) as the Results of key, and stores the Report under
// StoreKey(key); the Results themselves are not stored. baseline holds the
// baseline Results; when it is empty and the analyzer needs a baseline, the
// key's stored baseline is used (an error matching ErrNoBaseline when there
// is none). skipped lists inputs that were not loaded; the Report carries
// them.
func (d *Diffy) AnalyzeResults(ctx context.Context, key string, results, baseline []collect.Result, skipped []analyze.Skip) (*analyze.Report, error) {
	ctx = d.startRun(ctx)
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
// keeps); the files are decoded on every core, a few files ahead of the
// stream, which gets their Results in the order of the files, whatever
// the order their decoding ends in. Otherwise all are loaded first.
// baseline and skipped are as in AnalyzeResults; the Report's Skipped has
// the files' Skips, then skipped. The files' Skips are also returned,
// whatever the error. A cancelled ctx stops the reading between files.
//
// Duplicates: of the same instance and command found twice, LoadResults
// keeps the Result with the later collected_at (on a tie, the one read
// last); the built-in analyzers' streams keep the later one too (on a
// tie, both, their rows merged, whatever the order the files are read
// in), and name the dropped ones in Report.Skipped.
func (d *Diffy) AnalyzeFiles(ctx context.Context, key string, paths []string, baseline []collect.Result, skipped []analyze.Skip) (*analyze.Report, []analyze.Skip, error) {
	ctx = d.startRun(ctx)
	sk, err := StoreKey(key)
	if err != nil {
		return nil, nil, err
	}
	st, ok := d.analyzer.(analyze.Streamer)
	if !ok {
		results, skips, err := loadResults(ctx, paths)
		if err != nil {
			return nil, skips, err
		}
		rep, err := d.AnalyzeResults(ctx, key, results, baseline, append(slices.Clone(skips), skipped...))
		return rep, skips, err
	}
	baseline, skips, err := d.filesBaseline(ctx, key, sk, paths, baseline)
	if err != nil {
		return nil, skips, err
	}
	d.report("analyze", 0, 1)
	var hosts []analyze.Host
	rep, _, skips, err := d.analyzeFilesStream(ctx, key, sk, st, paths, baseline, skipped, nil, func(h *analyze.Host) {
		hosts = append(hosts, *h)
	})
	if rep != nil {
		rep.Hosts = hosts
		if hosts == nil {
			rep.Hosts = []analyze.Host{}
		}
	}
	return rep, skips, err
}

// StreamedReport is what AnalyzeFilesTo tells of the Report it stored and
// wrote: the Report without its hosts (Hosts nil), and how many hosts it
// has and how many of them are outliers.
type StreamedReport struct {
	// Report has every field of the Report but Hosts.
	Report *analyze.Report
	// Hosts and Outliers count the Report's hosts and its outliers.
	Hosts, Outliers int
}

// AnalyzeFilesTo is AnalyzeFiles for a Report too large to hold (100,000
// hosts that each differ from a baseline instance in a few dozen rows
// make about 1 GB of JSON): the Report is stored, and written to w as
// JSON (analyze.Report.WriteJSON's bytes; w may be nil), in one pass, as
// the analysis hands its hosts over; the hosts are not returned. Memory
// is then bounded by what the analyzer keeps and one host's part of the
// Report when the analyzer's stream is an analyze.HostStream (the
// Baseline analyzer's is) and the store a persist.StreamPutter (Dir,
// Memory); otherwise the Report or its JSON is held whole on the way, as
// by AnalyzeFiles. The stored Report is the one AnalyzeFiles stores for
// the same files (but for CreatedAt). An analyzer that is no
// analyze.Streamer gets every Result loaded first, as in AnalyzeFiles.
// When the analysis, the store or w fails part way, nothing is stored,
// and what was written to w is a part of the document: the caller throws
// it away (the CLI writes -o through a temporary file).
func (d *Diffy) AnalyzeFilesTo(ctx context.Context, key string, paths []string, baseline []collect.Result, skipped []analyze.Skip, w io.Writer) (StreamedReport, []analyze.Skip, error) {
	ctx = d.startRun(ctx)
	sk, err := StoreKey(key)
	if err != nil {
		return StreamedReport{}, nil, err
	}
	baseline, skips, err := d.filesBaseline(ctx, key, sk, paths, baseline)
	if err != nil {
		return StreamedReport{}, skips, err
	}
	var rep *analyze.Report
	var counts hostCounts
	if st, ok := d.analyzer.(analyze.Streamer); ok {
		d.report("analyze", 0, 1)
		rep, counts, skips, err = d.analyzeFilesStream(ctx, key, sk, st, paths, baseline, skipped, w, nil)
	} else {
		var results []collect.Result
		if results, skips, err = loadResults(ctx, paths); err != nil {
			return StreamedReport{}, skips, err
		}
		d.report("analyze", 0, 1)
		all := append(slices.Clone(skips), skipped...)
		whole, aerr := d.analyzer.Analyze(ctx, analyze.Input{Key: key, Results: results, Baseline: baseline, Skipped: all})
		results = nil
		switch {
		case aerr != nil:
			return StreamedReport{}, skips, stageErr("analyze", d.analyzer, aerr)
		case whole == nil:
			return StreamedReport{}, skips, stageErr("analyze", d.analyzer, errors.New("analyzer returned no report and no error"))
		}
		rep, counts, err = d.storeStream(ctx, key, sk, wholeSource(whole), all, w, nil)
	}
	if err != nil {
		return StreamedReport{}, skips, err
	}
	return StreamedReport{Report: rep, Hosts: counts.hosts, Outliers: counts.outliers}, skips, nil
}

// analyzeFilesStream reads the files of paths into a stream of st, then
// stores its Report (storeStream: written to out too, each host given to
// keep), and returns it without its hosts.
func (d *Diffy) analyzeFilesStream(ctx context.Context, key, sk string, st analyze.Streamer, paths []string, baseline []collect.Result, skipped []analyze.Skip, out io.Writer, keep func(*analyze.Host)) (*analyze.Report, hostCounts, []analyze.Skip, error) {
	stream, err := st.NewStream(key, baseline)
	if err != nil {
		return nil, hostCounts{}, nil, stageErr("analyze", d.analyzer, err)
	}
	// The files are decoded on every core, a few ahead of this goroutine,
	// which adds their Results to the stream in the order of the files,
	// several files' at a time (an Add has a cost of its own).
	var batch []collect.Result
	var addErr error
	add := func() error {
		if len(batch) > 0 {
			addErr = stream.Add(ctx, batch)
			clear(batch)
			batch = batch[:0]
		}
		return addErr
	}
	skips, err := scanResults(ctx, paths, &collect.RowPool{Limit: scanPoolRows}, func(source string, rs []collect.Result) error {
		batch = append(batch, rs...)
		if len(batch) < streamBatch {
			return nil
		}
		return add()
	})
	if err == nil {
		err = add()
	}
	switch {
	case addErr != nil:
		return nil, hostCounts{}, skips, stageErr("analyze", d.analyzer, addErr)
	case err != nil:
		return nil, hostCounts{}, skips, err
	}
	batch = nil
	all := append(slices.Clone(skips), skipped...)
	rep, counts, err := d.storeStream(ctx, key, sk, streamSource(ctx, stream, all), all, out, keep)
	return rep, counts, skips, err
}

// filesBaseline returns baseline, or, when it is empty and the analyzer
// needs one, the key's stored baseline. Inputs that hold no file are the
// more basic error: that one is said first (with the Skips of paths).
func (d *Diffy) filesBaseline(ctx context.Context, key, sk string, paths []string, baseline []collect.Result) ([]collect.Result, []analyze.Skip, error) {
	if len(baseline) > 0 || !d.NeedsBaseline() {
		return baseline, nil, nil
	}
	baseline, err := d.loadBaseline(ctx, key, sk)
	if err != nil && !anyInputFile(paths) {
		skips, serr := ScanResults(paths, func(string, []collect.Result) error { return nil })
		return nil, skips, serr
	}
	return baseline, nil, err
}

// streamBatch is the number of Results AnalyzeFiles gathers for an Add to
// its stream: a few hundred files' worth of a few commands each.
const streamBatch = 1024

// anyInputFile reports whether some path is, or holds, a file to read.
func anyInputFile(paths []string) bool {
	for _, p := range paths {
		if files, _ := expand(p); len(files) > 0 {
			return true
		}
	}
	return false
}

// analyze runs the analyzer and stores the Report.
func (d *Diffy) analyze(ctx context.Context, key, sk string, results, baseline []collect.Result, skipped []analyze.Skip) (*analyze.Report, error) {
	d.report("analyze", 0, 1)
	rep, err := d.analyzer.Analyze(ctx, analyze.Input{Key: key, Results: results, Baseline: baseline, Skipped: skipped})
	return d.storeReport(ctx, key, sk, rep, err, skipped)
}

// describeHosts gives the Report's hosts what the target knew of their
// instances: name, private address and tags (copied: the Report is the
// caller's).
func describeHosts(rep *analyze.Report, insts []target.Instance) {
	byID := make(map[string]*target.Instance, len(insts))
	for i := range insts {
		byID[insts[i].ID] = &insts[i]
	}
	for i := range rep.Hosts {
		h := &rep.Hosts[i]
		if in, ok := byID[h.InstanceID]; ok {
			h.Name, h.PrivateIP, h.Tags = in.Name, in.PrivateIP, maps.Clone(in.Tags)
		}
	}
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
	hosts := rep.Hosts
	stored, _, err := d.storeStream(ctx, key, sk, wholeSource(rep), skipped, nil, nil, notes...)
	if stored != nil {
		stored.Hosts = hosts
	}
	return stored, err
}

// reportSource hands a Report over to begin (its fields before the
// hosts), then host by host, and returns the Report, Hosts nil (see
// analyze.HostStream).
type reportSource func(begin func(*analyze.Report) error, host func(*analyze.Host) error) (*analyze.Report, error)

// wholeSource is the reportSource of a Report already made.
func wholeSource(rep *analyze.Report) reportSource {
	return func(begin func(*analyze.Report) error, host func(*analyze.Host) error) (*analyze.Report, error) {
		head := *rep
		head.Hosts = nil
		if err := begin(&head); err != nil {
			return nil, err
		}
		for i := range rep.Hosts {
			if err := host(&rep.Hosts[i]); err != nil {
				return nil, err
			}
		}
		return &head, nil
	}
}

// streamSource is the reportSource of a stream: host by host when it is an
// analyze.HostStream, else its whole Report.
func streamSource(ctx context.Context, stream analyze.Stream, skipped []analyze.Skip) reportSource {
	return func(begin func(*analyze.Report) error, host func(*analyze.Host) error) (*analyze.Report, error) {
		if hs, ok := stream.(analyze.HostStream); ok {
			return hs.ReportHosts(ctx, skipped, begin, host)
		}
		rep, err := stream.Report(ctx, skipped)
		if err != nil {
			return nil, err
		}
		if rep == nil {
			return nil, errors.New("analyzer returned no report and no error")
		}
		return wholeSource(rep)(begin, host)
	}
}

// hostCounts counts the hosts of a stored Report and its outliers.
type hostCounts struct{ hosts, outliers int }

// analyzerError marks an error of the analyzer (the source) inside the
// store's write, to tell it from the store's; outError one of writing to
// storeStream's out.
type (
	analyzerError struct{ err error }
	outError      struct{ err error }
)

func (e analyzerError) Error() string { return e.err.Error() }
func (e outError) Error() string      { return e.err.Error() }
func (e outError) Unwrap() error      { return e.err }

// outWriter is storeStream's out, its errors marked.
type outWriter struct{ w io.Writer }

func (o outWriter) Write(p []byte) (int, error) {
	n, err := o.w.Write(p)
	if err != nil {
		err = outError{err}
	}
	return n, err
}

// storeStream stores the Report that src hands over, as JSON made in one
// pass (analyze.JSONWriter), under StoreKey(key) as a run of the key's
// history, and writes the same bytes to out (when not nil). Each host is
// counted and given to keep (when not nil) as it passes. The Report gets
// key when it has none, skipped when it has no Skipped, and notes after
// its own. It returns the Report without its hosts. An error of the
// analyzer is a *StageError of stage analyze, of the store of stage
// persist; one of out is returned as it is.
func (d *Diffy) storeStream(ctx context.Context, key, sk string, src reportSource, skipped []analyze.Skip, out io.Writer, keep func(*analyze.Host), notes ...string) (*analyze.Report, hostCounts, error) {
	var rep *analyze.Report
	var counts hostCounts
	fill := func(r *analyze.Report) {
		if r.Key == "" {
			r.Key = key
		}
	}
	write := func(w io.Writer) error {
		if out != nil {
			w = io.MultiWriter(w, outWriter{out})
		}
		jw := analyze.NewJSONWriter(w)
		var werr error // the JSONWriter's: a write failed
		r, err := src(func(r *analyze.Report) error {
			fill(r)
			werr = jw.Begin(r)
			return werr
		}, func(h *analyze.Host) error {
			counts.hosts++
			if h.Outlier {
				counts.outliers++
			}
			if keep != nil {
				keep(h)
			}
			werr = jw.Host(h)
			return werr
		})
		switch {
		case werr != nil:
			return werr
		case err != nil:
			return analyzerError{err}
		case r == nil:
			return analyzerError{errors.New("analyzer returned no report and no error")}
		}
		fill(r)
		if len(r.Skipped) == 0 && len(skipped) > 0 {
			r.Skipped = slices.Clone(skipped)
		}
		r.Notes = append(r.Notes, notes...)
		rep = r
		return jw.End(r)
	}
	err := d.putRunStream(ctx, persist.KindAnalysis, sk, write)
	var ae analyzerError
	var oe outError
	switch {
	case errors.As(err, &ae):
		return nil, counts, stageErr("analyze", d.analyzer, ae.err)
	case errors.As(err, &oe):
		return nil, counts, oe.err
	case errors.Is(err, history.ErrPrune):
		d.log.Warn("cannot drop runs beyond the retention", "kind", persist.KindAnalysis, "key", sk, "err", err)
	case err != nil:
		return rep, counts, stageErr("persist", d.store, err)
	}
	d.report("analyze", 1, 1)
	d.log.Info("analysis stored", "key", key, "hosts", counts.hosts, "outliers", counts.outliers)
	return rep, counts, nil
}
