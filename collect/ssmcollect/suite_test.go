package ssmcollect_test

import (
	"testing"

	"github.com/diffy-dfir/diffy/collect/ssmcollect"
	"github.com/diffy-dfir/diffy/diffytest"
	"github.com/diffy-dfir/diffy/diffytest/awsfake"
	"github.com/diffy-dfir/diffy/payload"
	"github.com/diffy-dfir/diffy/target"
)

// TestCollectorSuite runs the diffytest Collector suite on the collector
// in both output modes, with compression on the hosts and off (-plain),
// with the real SSM and S3 clients against awsfake.
// Failing are instances EC2 knows and SSM does not manage, plus an ID
// nobody knows. The cancelled-mid-run rule's command sleeps for an hour
// (on the fake's clock: its invocations stay InProgress).
func TestCollectorSuite(t *testing.T) {
	for _, mode := range []struct {
		name, bucket string
		plain        bool
	}{{"api", "", false}, {"s3", "diffy-suite", false}, {"api-plain", "", true}, {"s3-plain", "diffy-suite", true}} {
		bucket := mode.bucket
		t.Run(mode.name, func(t *testing.T) {
			diffytest.TestCollector(t, func(t *testing.T) diffytest.CollectorHarness {
				e := newEnv(t, 8, awsfake.WithFaults(awsfake.Faults{Seed: 11, Unmanaged: 0.25}))
				unmanaged := map[string]bool{}
				for _, id := range e.srv.Selected(awsfake.FaultUnmanaged) {
					unmanaged[id] = true
				}
				h := diffytest.CollectorHarness{
					Collector: e.collector(t, bucket, ssmcollect.WithCompression(!mode.plain)),
					// Small queries, whose output fits in API mode too.
					Commands: []payload.Command{payload.StandardPack()[2], payload.StandardPack()[5]},
					Failing:  []target.Instance{{ID: "i-0000000000000dead"}},
					Hang:     &payload.Command{ID: "hang", Shell: "sleep 3600"},
				}
				for _, in := range e.fleet.Instances() {
					if unmanaged[in.ID] {
						h.Failing = append(h.Failing, in)
					} else {
						h.Instances = append(h.Instances, in)
					}
				}
				return h
			})
		})
	}
}
