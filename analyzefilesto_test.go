package diffy_test

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"

	"github.com/diffy-dfir/diffy"
	"github.com/diffy-dfir/diffy/analyze"
	"github.com/diffy-dfir/diffy/persist"
)

// failingWriter fails every write after the first n bytes.
type failingWriter struct{ n int }

var errOut = errors.New("no space left on the output")

func (w *failingWriter) Write(p []byte) (int, error) {
	if len(p) > w.n {
		return 0, errOut
	}
	w.n -= len(p)
	return len(p), nil
}

// TestAnalyzeFilesTo (issue 14.3) checks that AnalyzeFilesTo stores the
// Report AnalyzeFiles stores for the same files, byte for byte (the clock
// fixed), writes the same bytes to w, and counts its hosts and outliers,
// for the Baseline analyzer (a HostStream), the Clustering one (a Stream)
// and one without a Stream, with a Dir store (a StreamPutter) and a store
// without the capability; and that an output failing part way is its
// error, with nothing stored.
func TestAnalyzeFilesTo(t *testing.T) {
	ctx := context.Background()
	dir, all := fleetDir(t, 40)
	base := firstHost(all)
	now := func() time.Time { return time.Date(2026, 11, 27, 0, 0, 0, 0, time.UTC) }
	for _, tc := range []struct {
		name string
		an   analyze.Analyzer
	}{
		{"baseline", analyze.Baseline{Now: now}},
		{"cluster", analyze.Clustering{Now: now}},
		{"no stream", noStream{analyze.Baseline{Now: now}}},
	} {
		for _, plain := range []bool{false, true} {
			name := tc.name
			if plain {
				name += ", store without PutFrom"
			}
			t.Run(name, func(t *testing.T) {
				newStore := func() persist.Store {
					if plain {
						return plainStore{persist.NewMemory()}
					}
					return persist.NewDir(t.TempDir())
				}
				st1, st2 := newStore(), newStore()
				rep, _, err := mustNew(t, diffy.WithAnalyzer(tc.an), diffy.WithStore(st1)).AnalyzeFiles(ctx, "fleet", []string{dir}, base, nil)
				if err != nil {
					t.Fatal(err)
				}
				var out bytes.Buffer
				sr, skips, err := mustNew(t, diffy.WithAnalyzer(tc.an), diffy.WithStore(st2)).AnalyzeFilesTo(ctx, "fleet", []string{dir}, base, nil, &out)
				if err != nil {
					t.Fatal(err)
				}
				if len(skips) != 1 {
					t.Errorf("skips %+v, want the broken file", skips)
				}
				want, err := st1.Get(ctx, persist.KindAnalysis, "fleet")
				if err != nil {
					t.Fatal(err)
				}
				got, err := st2.Get(ctx, persist.KindAnalysis, "fleet")
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(got, want) {
					t.Errorf("AnalyzeFilesTo stored %d bytes, AnalyzeFiles %d: not the same Report", len(got), len(want))
				}
				if !bytes.Equal(out.Bytes(), want) {
					t.Errorf("AnalyzeFilesTo wrote %d bytes to w, not the %d stored", out.Len(), len(want))
				}
				if sr.Hosts != len(rep.Hosts) || sr.Outliers != len(rep.Outliers()) || sr.Outliers == 0 || sr.Report.Hosts != nil || sr.Report.Key != "fleet" {
					t.Errorf("AnalyzeFilesTo: %d hosts, %d outliers, key %q, %d hosts returned; AnalyzeFiles: %d hosts, %d outliers",
						sr.Hosts, sr.Outliers, sr.Report.Key, len(sr.Report.Hosts), len(rep.Hosts), len(rep.Outliers()))
				}
				st3 := newStore()
				_, _, err = mustNew(t, diffy.WithAnalyzer(tc.an), diffy.WithStore(st3)).AnalyzeFilesTo(ctx, "fleet", []string{dir}, base, nil, &failingWriter{n: 5000})
				if !errors.Is(err, errOut) {
					t.Errorf("output failing part way: %v, want its error", err)
				}
				if _, err := st3.Get(ctx, persist.KindAnalysis, "fleet"); !errors.Is(err, diffy.ErrNotFound) {
					t.Errorf("output failing part way: the report was stored anyway (%v)", err)
				}
			})
		}
	}
}

// plainStore is a Store without the optional capabilities of the one it
// holds.
type plainStore struct{ persist.Store }
