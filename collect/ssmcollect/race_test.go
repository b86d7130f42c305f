//go:build race

package ssmcollect_test

// raceEnabled is set when the tests run with -race: the fault matrix then
// runs without compression only the case that has every fault (see
// TestFaultMatrix), to stay within go test's time limit.
const raceEnabled = true
