package main

import (
	"os"
	"strconv"
	"strings"
)

// systemMemory returns the least of the machine's memory (MemTotal) and
// the memory limit of the process's cgroup as it sees it (v2
// memory.max, v1 memory.limit_in_bytes, at the root of its cgroup
// namespace), in bytes, and whether any was read.
func systemMemory() (uint64, bool) {
	var least uint64
	var ok bool
	take := func(v uint64, known bool) {
		if known && v > 0 && (!ok || v < least) {
			least, ok = v, true
		}
	}
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		take(memTotal(string(b)))
	}
	for _, f := range []string{"/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"} {
		if b, err := os.ReadFile(f); err == nil {
			take(cgroupLimit(string(b)))
		}
	}
	return least, ok
}

// memTotal reads MemTotal of /proc/meminfo's text, in bytes.
func memTotal(meminfo string) (uint64, bool) {
	for _, l := range strings.Split(meminfo, "\n") {
		if v, ok := strings.CutPrefix(l, "MemTotal:"); ok {
			n, err := strconv.ParseUint(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return n << 10, err == nil
		}
	}
	return 0, false
}

// cgroupLimit reads a cgroup memory limit file: a number of bytes, "max"
// (v2) or a number near 2^63 (v1) for none.
func cgroupLimit(text string) (uint64, bool) {
	n, err := strconv.ParseUint(strings.TrimSpace(text), 10, 64)
	if err != nil || n >= 1<<62 {
		return 0, false
	}
	return n, true
}
