//go:build race

package collect_test

// hostileRSSFactor is how many times DefaultMaxBytes the peak RSS may grow
// by in the hostile tests: the race detector keeps shadow memory for every
// heap byte, about twice its size.
const hostileRSSFactor = 16
