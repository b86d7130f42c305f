package analyze

import (
	"context"

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
