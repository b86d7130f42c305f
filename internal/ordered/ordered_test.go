package ordered

import (
	"errors"
	"math/rand/v2"
	"slices"
	"sync/atomic"
	"testing"
)

// TestRunShuffledCompletion: whatever order the jobs finish in, they are
// delivered in order, each once, with its own result. The jobs finish in
// an order chosen at random: each job waits at a gate, and whenever every
// job started is waiting, one of them, drawn at random, is let through.
func TestRunShuffledCompletion(t *testing.T) {
	for seed := range uint64(20) {
		const n, w = 200, 6
		rng := rand.New(rand.NewPCG(seed, 1))
		gates := make([]chan struct{}, n)
		for i := range gates {
			gates[i] = make(chan struct{})
		}
		type event struct {
			arrived   int // a job at its gate, or -1
			delivered bool
		}
		events := make(chan event)
		var finished []int
		go func() {
			var waiting []int
			released, delivered := 0, 0
			for released < n {
				e := <-events
				if e.delivered {
					delivered++
				} else {
					waiting = append(waiting, e.arrived)
				}
				// With as many workers as the window, every job
				// started runs; when all of those not let through are
				// at their gates, nothing moves until one is.
				for started := min(delivered+w, n); len(waiting) > 0 && len(waiting) == started-released; {
					k := rng.IntN(len(waiting))
					i := waiting[k]
					waiting = slices.Delete(waiting, k, k+1)
					finished = append(finished, i)
					released++
					close(gates[i])
				}
			}
			for range n - delivered {
				<-events
			}
		}()
		var got []int
		err := Run(n, Options{Workers: w, Window: w}, func(i int) int {
			events <- event{arrived: i}
			<-gates[i]
			return i * i
		}, func(i, v int) error {
			if v != i*i {
				t.Errorf("job %d delivered with %d, the result of another", i, v)
			}
			got = append(got, i)
			events <- event{delivered: true}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != n || !slices.IsSorted(got) || slices.Compact(got)[n-1] != n-1 {
			t.Fatalf("seed %d: delivered %v, want 0..%d in order", seed, got, n-1)
		}
		if slices.IsSorted(finished) {
			t.Fatalf("seed %d: the jobs finished in order; the test did not shuffle them", seed)
		}
	}
}

// TestRunBounds: no more jobs are started ahead of the deliveries than the
// window and the weight allow; a job heavier than the bound runs alone.
func TestRunBounds(t *testing.T) {
	weights := []int64{5, 5, 5, 50, 1, 1, 1, 1, 1, 1, 9, 1}
	var inFlight, weight, maxInFlight, maxWeight atomic.Int64
	err := Run(len(weights), Options{Workers: 4, Window: 4, MaxWeight: 10, Weight: func(i int) int64 { return weights[i] }},
		func(i int) int64 {
			n := inFlight.Add(1)
			w := weight.Add(min(weights[i], 10))
			for m := maxInFlight.Load(); n > m && !maxInFlight.CompareAndSwap(m, n); m = maxInFlight.Load() {
			}
			for m := maxWeight.Load(); w > m && !maxWeight.CompareAndSwap(m, w); m = maxWeight.Load() {
			}
			return int64(i)
		}, func(i int, v int64) error {
			inFlight.Add(-1)
			weight.Add(-min(weights[i], 10))
			return nil
		})
	if err != nil {
		t.Fatal(err)
	}
	if maxInFlight.Load() > 4 || maxWeight.Load() > 10 {
		t.Errorf("at most %d jobs and a weight of %d in flight; want 4 and 10", maxInFlight.Load(), maxWeight.Load())
	}
}

// TestRunStops: an error of deliver is returned, and no job starts after
// it (but those already started, within the window).
func TestRunStops(t *testing.T) {
	stop := errors.New("stop")
	var started atomic.Int64
	err := Run(1000, Options{Workers: 2, Window: 4}, func(i int) int {
		started.Add(1)
		return i
	}, func(i, v int) error {
		if i == 10 {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) {
		t.Fatalf("Run = %v, want the error of deliver", err)
	}
	if n := started.Load(); n > 11+4 {
		t.Errorf("%d jobs started; at most 15 (the 11 delivered and a window of 4)", n)
	}
	if err := Run(0, Options{}, func(int) int { return 0 }, func(int, int) error { return stop }); err != nil {
		t.Errorf("Run of no job = %v", err)
	}
}
