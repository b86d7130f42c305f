// Package sample is what the bench drivers share to watch a run while it
// goes: a function called at a fixed interval (to sample a process's RSS,
// the live heap) and the writing of a runtime/pprof profile.
package sample

import (
	"os"
	"runtime/pprof"
	"sync"
	"time"
)

// Every calls f every d, on a goroutine of its own, until the function it
// returns is called: that stops the calls and returns once the last one
// has ended, so that what f wrote may then be read without a lock. The
// first call is d after Every. d must be positive.
func Every(d time.Duration, f func()) (stop func()) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(d)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				f()
			}
		}
	})
	var once sync.Once
	return func() {
		once.Do(func() { close(done) })
		wg.Wait()
	}
}

// WriteProfile writes the runtime/pprof profile of that name ("heap",
// "allocs", ...) to the file path, replacing it.
func WriteProfile(path, name string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := pprof.Lookup(name).WriteTo(f, 0); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
