package collect

import (
	"fmt"
	"runtime"
	"testing"
)

// TestRowBytes checks rowBytes, which DecodedSizeFactor's budget counts
// with, against the allocator: within 15% for rows of 0 to 100 columns.
func TestRowBytes(t *testing.T) {
	for _, n := range []int{0, 1, 4, 8, 9, 14, 15, 20, 32, 64, 100} {
		keys := make([]string, n)
		for i := range keys {
			keys[i] = fmt.Sprint("k", i)
		}
		const reps = 1000
		keep := make([]Row, reps)
		runtime.GC()
		var m0, m1 runtime.MemStats
		runtime.ReadMemStats(&m0)
		for r := range keep {
			row := make(Row, n)
			for _, k := range keys {
				row[k] = k
			}
			keep[r] = row
		}
		runtime.ReadMemStats(&m1)
		got := float64(m1.TotalAlloc-m0.TotalAlloc) / reps
		want := float64(rowBytes(n) - poolSlot)
		if got < want*0.85 || got > want*1.15 {
			t.Errorf("a map of %d entries takes %.0f bytes; rowBytes says %.0f", n, got, want)
		}
	}
}
