package analyze_test

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"

	"github.com/diffy-dfir/diffy/analyze"
	"github.com/diffy-dfir/diffy/collect"
	"github.com/diffy-dfir/diffy/diffytest/fleet"
)

// TestBaselineReportHosts checks that the Baseline's Report handed over a
// host at a time (HostStream.ReportHosts) is its Report: written as JSON,
// the same bytes, against one clean instance and against a fleet
// baseline, with MaxFindings cutting some hosts' lists; and that an error
// of the host callback ends it.
func TestBaselineReportHosts(t *testing.T) {
	ctx := context.Background()
	f := fleet.Generate(fleet.Scenario("medium"))
	results := f.Results(collectedAt)
	// The baselines: one clean host, and every clean host (a fleet).
	var clean, earlier []collect.Result
	for i := range f.Hosts {
		if !f.Hosts[i].Compromised {
			if clean == nil {
				clean = f.Hosts[i].Results(collectedAt.Add(-time.Hour))
			}
			earlier = append(earlier, f.Hosts[i].Results(collectedAt.Add(-time.Hour))...)
		}
	}
	for _, tc := range []struct {
		name string
		b    analyze.Baseline
		base []collect.Result
	}{
		{"one instance", analyze.Baseline{}, clean},
		{"one instance, MaxFindings 3", analyze.Baseline{MaxFindings: 3}, clean},
		{"fleet", analyze.Baseline{}, earlier},
		{"fleet, MaxFindings 2", analyze.Baseline{MaxFindings: 2}, earlier},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.b.Now = func() time.Time { return collectedAt }
			stream := func() analyze.Stream {
				s, err := tc.b.NewStream("k", tc.base)
				if err != nil {
					t.Fatal(err)
				}
				if err := s.Add(ctx, results); err != nil {
					t.Fatal(err)
				}
				return s
			}
			whole, err := stream().Report(ctx, nil)
			if err != nil {
				t.Fatal(err)
			}
			var want, got bytes.Buffer
			if err := whole.WriteJSON(&want); err != nil {
				t.Fatal(err)
			}
			hs, ok := stream().(analyze.HostStream)
			if !ok {
				t.Fatal("the Baseline's Stream is no HostStream")
			}
			jw := analyze.NewJSONWriter(&got)
			hosts, outliers := 0, 0
			rep, err := hs.ReportHosts(ctx, nil, jw.Begin, func(h *analyze.Host) error {
				hosts++
				if h.Outlier {
					outliers++
				}
				return jw.Host(h)
			})
			if err != nil {
				t.Fatal(err)
			}
			if rep.Hosts != nil {
				t.Errorf("ReportHosts returned %d hosts, want none (they were handed over)", len(rep.Hosts))
			}
			if err := jw.End(rep); err != nil {
				t.Fatal(err)
			}
			if hosts != len(whole.Hosts) || outliers != len(whole.Outliers()) || outliers == 0 {
				t.Errorf("ReportHosts gave %d hosts, %d outliers; Report %d, %d", hosts, outliers, len(whole.Hosts), len(whole.Outliers()))
			}
			if !bytes.Equal(got.Bytes(), want.Bytes()) {
				t.Errorf("ReportHosts written host by host (%d bytes) is not Report's JSON (%d bytes)", got.Len(), want.Len())
			}
			stop := errors.New("stop")
			calls := 0
			_, err = stream().(analyze.HostStream).ReportHosts(ctx, nil, nil, func(*analyze.Host) error { calls++; return stop })
			if !errors.Is(err, stop) || calls != 1 {
				t.Errorf("host callback failing: ReportHosts = %v after %d calls, want its error after 1", err, calls)
			}
		})
	}
}
