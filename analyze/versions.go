package analyze

import (
	"math"
	"slices"
)

// versionLinks finds which rows changed with a version: for each row
// (its hosts in rows[i], sorted), the version change (an id of
// hostVersions) whose hosts nearly coincide with the row's, or -1. A
// version change is a row that differs from its template's usual one only
// in free-text numbers (another release in a path or command line, a
// worker count); hostVersions lists each host's, versionHosts counts the
// hosts of each. A row and a version change coincide when
//
//	|R∩V| ≥ (1−φ)·|R|,  |V| ≤ |R|/(1−φ)
//
// and the overlap is beyond chance, P(O ≥ |R∩V|)·K·M < 1 (O
// hypergeometric over the n hosts, K rows and M version changes tried:
// expected false links below one). Rows on fewer than two hosts are never
// linked: on one host a coincidence says nothing. A canary that opens a
// port of its own shows the port on exactly the hosts that run its
// release; an attacker's row is not on the hosts of a release.
func versionLinks(rows [][]int32, hostVersions [][]int64, versionHosts map[int64]int32, n int) []int64 {
	out := make([]int64, len(rows))
	for i := range out {
		out[i] = -1
	}
	tried := 0
	for _, r := range rows {
		if len(r) >= 2 {
			tried++
		}
	}
	if tried == 0 || len(versionHosts) == 0 {
		return out
	}
	budget := math.Log(float64(tried) * float64(len(versionHosts)))
	count := map[int64]int32{}
	for i, r := range rows {
		if len(r) < 2 {
			continue
		}
		clear(count)
		for _, h := range r {
			for _, v := range hostVersions[h] {
				count[v]++
			}
		}
		best, bestP := int64(-1), 0.0
		for _, v := range slices.Sorted(func(yield func(int64) bool) {
			for v := range count {
				if !yield(v) {
					return
				}
			}
		}) {
			o, vh := count[v], versionHosts[v]
			if float64(o) < (1-fifth)*float64(len(r)) || float64(vh) > float64(len(r))/(1-fifth) {
				continue
			}
			if p := logHyperTail(n, int(vh), len(r), int(o)); p+budget < 0 && (best < 0 || p < bestP) {
				best, bestP = v, p
			}
		}
		out[i] = best
	}
	return out
}

// isVersionChange reports whether feature f of a template, whose key is
// key, differs from the usual feature of its template top only in the
// values of free-text columns (the template being the same, only their
// numbers): another version of the row.
func isVersionChange(key, top string) bool {
	if key == top {
		return false
	}
	a, b := rowOfKey(key), rowOfKey(top)
	free := false
	for col, v := range a {
		if b[col] == v {
			continue
		}
		if !isFreeText(col) {
			return false
		}
		free = true
	}
	return free
}
