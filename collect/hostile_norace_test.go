//go:build !race

package collect_test

// hostileRSSFactor is how many times DefaultMaxBytes the peak RSS may grow
// by in the hostile tests: the capped buffer can double while it grows,
// and the garbage of earlier growth waits for the collector.
const hostileRSSFactor = 8
