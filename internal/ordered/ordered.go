// Package ordered runs jobs on several goroutines and hands their results
// over one at a time, in the order of the jobs: the work uses every core,
// and what is done with the results does not depend on which job finished
// first.
package ordered

import (
	"context"
	"sync"

	"golang.org/x/sync/semaphore"
)

// Options bound a Run.
type Options struct {
	// Workers is the number of goroutines running jobs (at least 1).
	Workers int
	// Window is the most jobs started and not yet delivered (at least
	// Workers): how far the work may run ahead of the deliveries.
	Window int
	// MaxWeight, when positive, bounds the sum of Weight(i) over the jobs
	// started and not yet delivered; a job heavier than MaxWeight counts
	// as MaxWeight, so it runs, alone.
	MaxWeight int64
	// Weight is the weight of job i (nil: no weight).
	Weight func(i int) int64
}

// Run calls work(i) for every i in [0, n) on up to o.Workers goroutines,
// and deliver(i, work(i)) for each i in increasing order, on the calling
// goroutine, never two at once. An error of deliver stops the Run: no job
// is started after it, Run waits for the jobs running, and returns the
// error. Otherwise Run returns nil once every result is delivered.
func Run[T any](n int, o Options, work func(i int) T, deliver func(i int, v T) error) error {
	workers := max(o.Workers, 1)
	window := max(o.Window, workers)
	weight := func(i int) int64 {
		if o.Weight == nil || o.MaxWeight <= 0 {
			return 0
		}
		return min(max(o.Weight(i), 0), o.MaxWeight)
	}
	var sem *semaphore.Weighted
	if o.MaxWeight > 0 {
		sem = semaphore.NewWeighted(o.MaxWeight)
	}
	ctx, stop := context.WithCancel(context.Background())
	defer stop()

	// Job i's result goes to slot i%window: the window keeps two jobs
	// from sharing a slot at once.
	slots := make([]chan T, window)
	weights := make([]int64, window) // of the jobs in the slots
	for i := range slots {
		slots[i] = make(chan T, 1)
	}
	tokens := make(chan struct{}, window)
	jobs := make(chan int)
	var wg sync.WaitGroup
	for range min(workers, n) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				slots[i%window] <- work(i)
			}
		}()
	}
	// The jobs are started in order by one goroutine, so that the window
	// and the weight are taken in order too: job i never waits for room
	// that a later job holds.
	go func() {
		defer close(jobs)
		for i := range n {
			select {
			case tokens <- struct{}{}:
			case <-ctx.Done():
				return
			}
			if sem != nil {
				w := weight(i)
				if sem.Acquire(ctx, w) != nil {
					return
				}
				weights[i%window] = w
			}
			select {
			case jobs <- i:
			case <-ctx.Done():
				return
			}
		}
	}()
	var err error
	for i := range n {
		v := <-slots[i%window]
		err = deliver(i, v)
		if sem != nil {
			sem.Release(weights[i%window])
		}
		<-tokens
		if err != nil {
			break
		}
	}
	stop()
	wg.Wait()
	return err
}
