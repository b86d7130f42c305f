//go:build !race

package fleet

// raceEnabled is set under -race: the largest fleets are left out then.
const raceEnabled = false
