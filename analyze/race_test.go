//go:build race

package analyze_test

// raceEnabled is set when the tests run with -race: the largest simulated
// fleets are left to bench/cluster then.
const raceEnabled = true
