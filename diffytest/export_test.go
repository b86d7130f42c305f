package diffytest

import "time"

// SetHangTimeout sets how long the suites wait for a call before reporting
// a hang, and returns a function restoring the previous value. Tests that
// use it must not run in parallel with other suite runs.
func SetHangTimeout(d time.Duration) (restore func()) {
	old := hangTimeout
	hangTimeout = d
	return func() { hangTimeout = old }
}
