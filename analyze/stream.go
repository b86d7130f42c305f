package analyze

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/diffy-dfir/diffy/collect"
)

// Streamer is implemented by analyzers that can analyze Results given in
// batches, without holding them all: a caller reading many files hands
// each file's Results to the Stream and drops them. diffy.Diffy's
// AnalyzeFiles uses it when the analyzer has it.
//
// NewStream starts the analysis of key against baseline (the Results of
// one clean instance, for analyzers that need one; see BaselineUser). The
// Report of a Stream given Results in any number of batches, in any order,
// is the one Analyze gives on all of them at once (but for CreatedAt).
type Streamer interface {
	NewStream(key string, baseline []collect.Result) (Stream, error)
}

// Stream is one analysis in progress (see Streamer).
//
// Add adds a batch of Results; it may be called any number of times, but
// not concurrently. It does not retain results: the caller may reuse or
// change them once Add returns. Report analyzes everything added and
// returns the Report, with skipped (inputs dropped before the analysis)
// first in Report.Skipped; it is called once, after the last Add. Both
// honour ctx (returning its error). An error of Add is final: the stream
// is unusable after it.
type Stream interface {
	Add(ctx context.Context, results []collect.Result) error
	Report(ctx context.Context, skipped []Skip) (*Report, error)
}

// streamRun is the bookkeeping both built-in Streams share: the hosts'
// rows, and the rules of Stream (an error of Add is final, Report once).
type streamRun struct {
	name string // "cluster stream", for errors
	rows *rowStream
	done bool
	err  error // of a failed Add: the stream is unusable
}

// Add adds a batch of Results.
func (s *streamRun) Add(ctx context.Context, results []collect.Result) error {
	if s.done {
		return errors.New(s.name + ": Add after Report")
	}
	if s.err != nil {
		return fmt.Errorf("%s: an earlier Add failed: %w", s.name, s.err)
	}
	if err := ctx.Err(); err != nil {
		s.err = err
		return err
	}
	if err := s.rows.add(ctx, results); err != nil {
		s.err = err
		return err
	}
	return nil
}

// begin starts Report: it fails when Report was called before, an Add
// failed or ctx is done.
func (s *streamRun) begin(ctx context.Context) error {
	if s.done {
		return errors.New(s.name + ": Report called twice")
	}
	s.done = true
	if s.err != nil {
		return fmt.Errorf("%s: an earlier Add failed: %w", s.name, s.err)
	}
	return ctx.Err()
}

// newReport starts the Report of an analyzer: key, name, the time of now
// (time.Now when nil), no host yet, and skipped then the Results the
// stream skipped (boundSkips).
func (s *streamRun) newReport(key, analyzer string, now func() time.Time, skipped []Skip) *Report {
	if now == nil {
		now = time.Now
	}
	return &Report{Key: key, Analyzer: analyzer, CreatedAt: now().UTC(), Hosts: []Host{},
		Skipped: boundSkips(append(slices.Clone(skipped), s.rows.skipped...))}
}

// HostStream is implemented by the Streams that can hand their Report
// over a host at a time, so that a Report too large to hold (100,000
// hosts that each differ from a baseline in a few dozen rows) is never
// whole in memory: each host is made when its turn comes, given to host
// and dropped. The built-in Baseline's Stream implements it.
//
// ReportHosts ends the stream as Report does (it is called instead of
// Report, once, after the last Add). It calls begin, when not nil, once
// with the Report's fields that come before its hosts in the JSON form
// (Key, Analyzer, CreatedAt, BaselineInstance, BaselineHosts; the others
// may be set too, and Hosts is nil), then host once for each host in
// Report order, and returns the Report, Hosts nil, whose other fields are
// final. The hosts are those Report would give; the *Host is valid only
// during the call (copy what is kept). An error of begin or host ends
// ReportHosts and is returned; ctx is honoured between hosts.
type HostStream interface {
	Stream
	ReportHosts(ctx context.Context, skipped []Skip, begin func(*Report) error, host func(*Host) error) (*Report, error)
}
