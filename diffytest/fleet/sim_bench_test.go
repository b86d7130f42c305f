package fleet

import (
	"encoding/json"
	"fmt"
	"runtime"
	"runtime/metrics"
	"testing"
)

// liveHeap returns the bytes of live and not yet swept heap objects.
func liveHeap() uint64 {
	s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

// BenchmarkSimStream streams every host of a Sim of all families and
// attacks through AppendJSON, as WriteDir does without the disk, at 1,000
// to 100,000 hosts, and reports the time per host and the peak heap
// (sampled every 500 hosts) beside the heap the Sim itself holds: the
// peak must not grow with the number of hosts beyond the Sim's few bytes
// per host. The floor beside it ("marshal") is the same hosts generated
// as Hosts and printed by encoding/json, at 1,000 hosts.
//
//	go test ./diffytest/fleet -run XXX -bench SimStream -benchtime 1x
func BenchmarkSimStream(b *testing.B) {
	for _, n := range []int{1000, 10000, 100000} {
		b.Run(fmt.Sprintf("hosts=%d", n), func(b *testing.B) {
			runtime.GC()
			before := liveHeap()
			s := NewSim(SimConfig{Seed: 1, Hosts: n, Families: AllFamilies, Attacks: allAttacks})
			runtime.GC()
			sim := liveHeap() - before
			var peak uint64
			var written int64
			for b.Loop() {
				var buf []byte
				for i := 0; i < n; i++ {
					buf = s.AppendJSON(buf[:0], i)
					written += int64(len(buf))
					if i%500 == 0 {
						peak = max(peak, liveHeap()-before)
					}
				}
			}
			b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N*n), "µs/host")
			b.ReportMetric(float64(written)/float64(b.N*n)/1024, "KiB/host")
			b.ReportMetric(float64(sim)/(1<<20), "sim-MiB")
			b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MiB")
		})
	}
	b.Run("marshal/hosts=1000", func(b *testing.B) {
		s := NewSim(SimConfig{Seed: 1, Hosts: 1000, Families: AllFamilies, Attacks: allAttacks})
		for b.Loop() {
			for i := 0; i < 1000; i++ {
				if _, err := json.Marshal(s.Results(i)); err != nil {
					b.Fatal(err)
				}
			}
		}
		b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N*1000), "µs/host")
	})
}
