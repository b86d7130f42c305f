package analyze

import (
	"fmt"
	"math"

	"github.com/diffy-dfir/diffy/diffyerr"
)

// The two constants of the decision. Neither is fitted to a fleet: ρ is
// what "rare" means (a row on at most 1% of the hosts, as in 1%
// stacking), φ is the share at which a difference stops being an anomaly
// and becomes a kind of host (issue 11: "when more than a fifth of the
// group would be flagged, the decision is not to be trusted"). The curves
// of the detection figures over both are in bench/README.md; the fields
// RareShare and MinorityShare of Clustering and Baseline set others, to
// draw those curves.
const (
	// DefaultRareShare is ρ: a row or value is rare when at most
	// rareCount(n) = max(1, ⌊ρ·n⌋) of the n hosts carry it.
	DefaultRareShare = 0.01
	// DefaultMinorityShare is φ. A value is usual in a context when at
	// least 1−φ of the context's hosts have it (isUsual); a context is
	// dominated when at least 1−φ of its rows have a usual value
	// (isDominated); a new row decides only where at most φ of the other
	// hosts show one (decides); a decision flagging more than φ of the
	// hosts is not trusted.
	DefaultMinorityShare = 0.2
)

// params are the constants of one analysis: rho is ρ, phi is φ.
type params struct{ rho, phi float64 }

// defaultParams are ρ and φ of the zero Clustering and Baseline.
var defaultParams = params{DefaultRareShare, DefaultMinorityShare}

// newParams returns the params of an analyzer's RareShare and
// MinorityShare fields (0: the default), or an error naming the field
// when a share is not in (0, 1) (φ: (0, 0.5), so that 1−φ is most).
func newParams(analyzer string, rare, minority float64) (params, error) {
	p := defaultParams
	if rare != 0 {
		p.rho = rare
	}
	if minority != 0 {
		p.phi = minority
	}
	if !(p.rho > 0 && p.rho < 1) {
		return p, fmt.Errorf("%s analysis: RareShare %v is not a share between 0 and 1: %w", analyzer, rare, diffyerr.ErrInvalidInput)
	}
	if !(p.phi > 0 && p.phi < 0.5) {
		return p, fmt.Errorf("%s analysis: MinorityShare %v is not a share between 0 and 0.5: %w", analyzer, minority, diffyerr.ErrInvalidInput)
	}
	return p, nil
}

// minorityWords says φ in the words of the notes: "a fifth" for the
// default, a percentage otherwise.
func (p params) minorityWords() string {
	if p.phi == DefaultMinorityShare {
		return "a fifth"
	}
	return fmt.Sprintf("%g%%", 100*p.phi)
}

// minority returns the most hosts of n a minority row may be on:
// max(rareCount(n), ⌊φ·n⌋).
func (p params) minority(n int) int32 {
	return max(p.rareCount(n), int32(p.phi*float64(n)))
}

// rareCount returns the most hosts of n a rare row may be on:
//
//	r(n) = max(1, ⌊ρ·n⌋)
//
// A distinctive planted row is on one host or a few; a benign minority (a
// canary version, a job caught running) is on a few percent of the hosts,
// which at 200 hosts and more is beyond r. Below 1/ρ = 100 hosts r is one
// host, and a benign minority lands on a single host often: the report
// then says its decision is weak (see clusterNotes).
func (p params) rareCount(n int) int32 {
	return int32(max(1, int(math.Floor(p.rho*float64(n)))))
}

// isUsual reports whether a value carried by count of the hosts of a
// context of hosts hosts (the host judged left out) is usual there:
//
//	count > r  and  count ≥ (1−φ)·hosts
//
// A usual value is one that "most hosts have": sshd's path on 999 of
// 1,000 hosts is usual, a splayed minute on 2% of them is not, nor is a
// value on too few hosts to say (count ≤ r).
func (p params) isUsual(count, hosts, r int32) bool {
	return count > r && float64(count) >= (1-p.phi)*float64(hosts)
}

// hostSig returns host h's part of a host set's signature: the
// signature of a set of hosts is the XOR of its hosts' parts, so that two
// values of a context carried by exactly the same hosts have the same
// signature (and two sets that differ, another one, but for a chance of
// 2⁻⁶⁴). It is splitmix64's finalizer of h+1.
func hostSig(h int) uint64 {
	z := uint64(h) + 1 + 0x9e3779b97f4a7c15
	z = (z ^ z>>30) * 0xbf58476d1ce4e5b9
	z = (z ^ z>>27) * 0x94d049bb133111eb
	return z ^ z>>31
}

// settledDraws returns the draws of the settled values of a context of
// hosts hosts (the host judged left out): its n values, in decreasing
// order of count(i), the hosts that carry value i, whose host set has
// the signature sig(i) (hostSig); the value at index skip (-1: none) is
// left out. A value is settled when it is usual (isUsual), or when it is
// a kind of host's: on more than r and more than φ of the hosts, and
// carried by exactly the hosts of another such value,
//
//	count > max(r, φ·hosts)  and  hosts(value) = hosts(another value)
//
// φ is the share at which a difference becomes a kind of host. A kind's
// values come as a set, loaded or run together on each of its hosts: the
// container runtime's modules on the workers, a kernel build's own
// modules on the hosts of its image. They are carried beside the usual
// values, not instead of them, and do not make the context spread: a
// module name no kind of host has, on one host, stays a deviation
// however many kinds of host the group has. Values drawn on each host
// apart (a version rolling out in halves, one per host; kworker names,
// several a host, each on its own share) never share their hosts
// exactly, and stay what spreads a context.
func (p params) settledDraws(n int, count func(i int) int32, sig func(i int) uint64, skip int, hosts, r int32) int64 {
	var u int64
	i := 0
	for ; i < n && p.isUsual(count(i), hosts, r); i++ {
		if i != skip {
			u += int64(count(i))
		}
	}
	// Values of one host set have one count: a partner is among the
	// neighbours of equal count.
	partner := func(k int) bool {
		for l := k - 1; l >= i && count(l) == count(k); l-- {
			if l != skip && sig(l) == sig(k) {
				return true
			}
		}
		for l := k + 1; l < n && count(l) == count(k); l++ {
			if l != skip && sig(l) == sig(k) {
				return true
			}
		}
		return false
	}
	for k := i; k < n; k++ {
		c := count(k)
		if c <= r || float64(c) <= p.phi*float64(hosts) {
			break
		}
		if k != skip && partner(k) {
			u += int64(c)
		}
	}
	return u
}

// isDominated reports whether a context is dominated: whether, of its
// draws rows (the host judged left out), at least 1−φ have a settled
// value (settled counts them; see settledDraws: a usual value, or a
// kind of host's):
//
//	settled ≥ (1−φ)·draws
//
// In a dominated context (sshd's path; the names of the kernel modules
// of one shape, on every host or on a kind of host) a rare value is a
// deviation to flag. In one that is not (a splayed minute, a random
// port, a container id, a version rolling out in large shares) values
// are spread over many hosts with none dominant: benign variation, and a
// new value is expected. Counting rows, not hosts, keeps contexts where
// each host has several values (kworker names, per-CPU threads) right:
// none of those values is on most hosts, nor are they a kind's set, so
// the context is not dominated.
func (p params) isDominated(settled, draws int64) bool {
	return draws > 0 && float64(settled) >= (1-p.phi)*float64(draws)
}

// noveltyRate is the probability that a host of a context, other than
// the one judged, shows something as new as what the judged host shows,
// by the rule of succession over the others: of the others hosts, novel
// showed something seen on at most r hosts,
//
//	p = (novel + 1) / (others + 1)
//
// It is the Good–Turing estimate of the missing mass with one pseudo
// count, so that a context where no other host shows novelty still gives
// p = 1/(others+1), not zero: the finding's surprise (and so the score)
// grows with the number of hosts that agree.
func noveltyRate(novel, others int32) float64 {
	return (float64(max(novel, 0)) + 1) / (float64(max(others, 0)) + 1)
}

// decides reports whether a new or deviating row, in a context where
// novel of the others other hosts show one too, is evidence: whether the
// share of the others that show novelty there (the leave-one-out
// Good–Turing missing mass) is at most φ,
//
//	novel / others ≤ φ
//
// Where more than a fifth of the hosts show new rows, a new row is the
// norm of that command or context (variation this analysis did not
// learn), not evidence: it is listed, it does not decide. With no other
// host nothing decides: there is nothing to compare with.
func (p params) decides(novel, others int32) bool {
	return others > 0 && float64(max(novel, 0)) <= p.phi*float64(others)
}

// surprise returns the evidence, in bits, of an event of probability p:
//
//	s = −log₂ p
//
// Host.Score sums the surprise of a host's deciding findings, one per
// cause (see causeKey).
func surprise(p float64) float64 {
	if p <= 0 {
		return 0
	}
	return -math.Log2(math.Min(p, 1))
}
