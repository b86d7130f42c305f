package main

import "testing"

// TestMemoryLimitFiles: MemTotal and the cgroup limit files as Linux
// writes them; "max" and v1's near-2^63 are no limit.
func TestMemoryLimitFiles(t *testing.T) {
	if n, ok := memTotal("MemFree:  1 kB\nMemTotal:       24683568 kB\n"); !ok || n != 24683568<<10 {
		t.Errorf("MemTotal: %d, %v", n, ok)
	}
	if _, ok := memTotal("nothing\n"); ok {
		t.Error("no MemTotal line: read as known")
	}
	for _, c := range []struct {
		text string
		n    uint64
		ok   bool
	}{
		{"max\n", 0, false},
		{"9223372036854771712\n", 0, false},
		{"2147483648\n", 2 << 30, true},
		{"", 0, false},
	} {
		if n, ok := cgroupLimit(c.text); n != c.n || ok != c.ok {
			t.Errorf("cgroupLimit(%q) = %d, %v; want %d, %v", c.text, n, ok, c.n, c.ok)
		}
	}
	if mem, ok := memoryLimit(); !ok || mem == 0 {
		t.Errorf("this machine's memory limit: %d, %v; want one read", mem, ok)
	}
}
