package fleet

import (
	"math/rand/v2"
	"strconv"
)

// Random streams. Every draw of a Sim comes from a PCG seeded from the
// Sim's Seed and a stream key: one stream per family for the fleet-wide
// draws (shares, counts, catalogs), one per family and host identity for
// what a host keeps (its splay minute, its size), and one per family, host
// identity and collection for what moves on between collections (pids of
// restarted services, the jobs running). A host's rows are thus a function
// of (Seed, its slot, its identity, the collection) alone: hosts can be
// generated in any order, in parallel, one at a time; and switching a
// family off changes no other family's draws.

// mix64 is SplitMix64's finalizer: a bijection of uint64 that spreads
// every input bit over every output bit.
func mix64(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// streamRand returns the stream of seed and keys.
func streamRand(seed int64, keys ...uint64) *rand.Rand {
	a := mix64(uint64(seed))
	b := mix64(a ^ 0x5bd1e9955bd1e995)
	for _, k := range keys {
		a = mix64(a ^ k)
		b = mix64(b + k*0x9e3779b97f4a7c15)
	}
	return rand.New(rand.NewPCG(a, b))
}

// unit returns a uniform number in [0, 1) determined by seed and keys, for
// one-off per-host draws that need no stream.
func unit(seed int64, keys ...uint64) float64 {
	a := mix64(uint64(seed) ^ 0x2545f4914f6cdd1d)
	for _, k := range keys {
		a = mix64(a ^ k)
	}
	return float64(a>>11) / (1 << 53)
}

// between returns a uniform number in [lo, hi).
func between(r *rand.Rand, lo, hi float64) float64 { return lo + (hi-lo)*r.Float64() }

// intBetween returns a uniform integer in [lo, hi].
func intBetween(r *rand.Rand, lo, hi int) int {
	if hi <= lo {
		return lo
	}
	return lo + r.IntN(hi-lo+1)
}

// chance reports true with probability p.
func chance(r *rand.Rand, p float64) bool { return r.Float64() < p }

// pickOne returns one of s.
func pickOne[T any](r *rand.Rand, s ...T) T { return s[r.IntN(len(s))] }

// pickWeighted returns an index drawn with the given weights.
func pickWeighted(r *rand.Rand, w []float64) int {
	var sum float64
	for _, x := range w {
		sum += x
	}
	u := r.Float64() * sum
	for i, x := range w {
		if u < x {
			return i
		}
		u -= x
	}
	return len(w) - 1
}

// indexByShare returns the index i of shares (summing to 1) such that u
// falls in the i-th share's interval: a host's fixed u then picks the same
// entry as long as the shares stay.
func indexByShare(u float64, shares []float64) int {
	for i, s := range shares {
		if u < s {
			return i
		}
		u -= s
	}
	return len(shares) - 1
}

const lowerLetters = "abcdefghijklmnopqrstuvwxyz"

func randHex(r *rand.Rand, n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = hexDigits[r.IntN(16)]
	}
	return string(b)
}

func randB64(r *rand.Rand, n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = b64Digits[r.IntN(64)]
	}
	return string(b)
}

func randLetters(r *rand.Rand, n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = lowerLetters[r.IntN(len(lowerLetters))]
	}
	return string(b)
}

// randUUID returns a version 4 UUID.
func randUUID(r *rand.Rand) string {
	h := randHex(r, 32)
	return h[:8] + "-" + h[8:12] + "-4" + h[13:16] + "-a" + h[17:20] + "-" + h[20:]
}

// randEd25519, randRSA (3072 bits) and randECDSA (P-256) return the
// base64 of an SSH public key of the kind: the fixed prefix of the key
// type's wire encoding, then random characters to the key's length.
func randEd25519(r *rand.Rand) string { return "AAAAC3NzaC1lZDI1NTE5AAAAI" + randB64(r, 43) }

func randRSA(r *rand.Rand) string { return "AAAAB3NzaC1yc2EAAAADAQABAAABgQ" + randB64(r, 513) + "=" }

func randECDSA(r *rand.Rand) string {
	return "AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBB" + randB64(r, 87) + "="
}

func itoa(i int) string { return strconv.Itoa(i) }
