//go:build unix

package collect_test

import (
	"syscall"
	"time"
)

// cpuTime returns the CPU time (user and system) this process has used:
// on a shared machine a benchmark's CPU time per op says more than its
// wall time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
