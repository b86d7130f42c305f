package analyze

import (
	"math"
	"slices"
)

// noLink is activityLinks' answer for a row of no activity.
const noLink int64 = math.MinInt64

// activityLinks finds which rows are part of a benign minority activity:
// for each row (its hosts in rows[i], sorted), the activity row (an id of
// hostActivity) whose hosts nearly coincide with the row's, or -1. An
// activity row is a row on at most a fifth of the hosts that does not
// decide there (another version of a common row, a session's process, a
// job, a container); hostActivity lists each host's, activityHosts counts
// the hosts of each. A row and an activity row coincide when
//
//	|R∩V| ≥ (1−φ)·|R|,  |V| ≤ |R|/(1−φ)
//
// and the overlap is beyond chance, P(O ≥ |R∩V|)·K·M < 1 (O
// hypergeometric over the n hosts, K rows and M activity rows tried:
// expected false links below one). Rows on fewer than two hosts are never
// linked: on one host a coincidence says nothing. A canary that opens a
// port of its own shows the port on exactly the hosts that run its
// release; the account Session Manager creates is on exactly the hosts it
// ran sessions on; an attacker's row is on the hosts of no activity.
//
// Activity ids are the caller's; noLink is returned for a row linked to
// none, so that the ids may be negative.
func activityLinks(p params, rows [][]int32, hostActivity [][]int64, activityHosts map[int64]int32, n int) []int64 {
	hostVersions, versionHosts := hostActivity, activityHosts
	out := make([]int64, len(rows))
	for i := range out {
		out[i] = noLink
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
		best, bestP, found := noLink, 0.0, false
		for _, v := range slices.Sorted(func(yield func(int64) bool) {
			for v := range count {
				if !yield(v) {
					return
				}
			}
		}) {
			o, vh := count[v], versionHosts[v]
			if float64(o) < (1-p.phi)*float64(len(r)) || float64(vh) > float64(len(r))/(1-p.phi) {
				continue
			}
			if p := logHyperTail(n, int(vh), len(r), int(o)); p+budget < 0 && (!found || p < bestP) {
				best, bestP, found = v, p, true
			}
		}
		out[i] = best
	}
	return out
}
