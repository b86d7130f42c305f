package sample_test

import (
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/diffy-dfir/diffy/bench/internal/sample"
)

// TestEvery: f is called once per interval, the first an interval after
// Every, and never once stop has returned (stop may be called twice).
func TestEvery(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var n atomic.Int64
		calls := func() int64 { return n.Load() }
		stop := sample.Every(100*time.Millisecond, func() { n.Add(1) })
		time.Sleep(50 * time.Millisecond)
		synctest.Wait()
		if calls() != 0 {
			t.Errorf("%d calls before the first interval", calls())
		}
		time.Sleep(300 * time.Millisecond)
		synctest.Wait()
		stop()
		if calls() != 3 {
			t.Errorf("%d calls in 350 ms at 100 ms, want 3", calls())
		}
		time.Sleep(time.Second)
		stop()
		if calls() != 3 {
			t.Errorf("%d calls after stop, want 3", calls())
		}
	})
}

// TestWriteProfile: the profile is written, replacing the file; a path
// that cannot be created is an error.
func TestWriteProfile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "heap.pb.gz")
	for range 2 {
		if err := sample.WriteProfile(path, "heap"); err != nil {
			t.Fatal(err)
		}
	}
	if b, err := os.ReadFile(path); err != nil || len(b) < 2 || b[0] != 0x1f || b[1] != 0x8b {
		t.Errorf("the profile is not gzip: %d bytes, %v", len(b), err)
	}
	if err := sample.WriteProfile(filepath.Join(path, "x"), "heap"); err == nil {
		t.Error("a path under a file: no error")
	}
}
