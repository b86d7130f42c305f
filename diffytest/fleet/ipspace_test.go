package fleet

import "testing"

// TestIPSpaceEnds: every identity number gets an address out of the
// block's first and last 16, and the walk ends even where a start's whole
// cycle lies among those (here the identity map, whose cycles are single
// addresses: the walk from 0 came back to 0 forever, and NewSim hung on
// such a draw).
func TestIPSpaceEnds(t *testing.T) {
	for _, p := range []ipSpace{
		{base: 10 << 24, bits: 12, mul: 1, add: 0},
		{base: 10 << 24, bits: 12, mul: 4095, add: 4095},
		{base: 10 << 24, bits: 12, mul: 2049, add: 8},
	} {
		mask := uint32(1)<<p.bits - 1
		for k := range uint64(1 << p.bits) {
			x := p.of(k) &^ p.base
			if x < 16 || x >= mask-16 {
				t.Fatalf("%+v: of(%d) = %d, one of the block's first or last 16 addresses", p, k, x)
			}
		}
	}
}
