package analyze

import "math"

// medoidSample bounds the hosts whose distances a medoid is computed over
// (O(m²)): a cost bound, evenly spread over the candidates.
const medoidSample = 2000

// Medoid returns the report's most typical host: of the hosts of the
// largest cluster that are not outliers and had no error (or, when there
// is none, of all the hosts that are not outliers), the one whose position
// on the map (Host.Position) has the least sum of distances to the
// others, the medoid; ties go to the smaller instance ID. Over
// medoidSample candidates, the distances are summed over that many,
// spread evenly. ok is false when every host is an outlier (or the report
// has none). A report without positions (a baseline analysis) gives the
// first candidate.
//
// The medoid is what Diffy.Baseline keeps as a group's one-host baseline
// when no instance is named: a host like most of its group, which the
// analysis does not flag.
func (r *Report) Medoid() (id string, ok bool) {
	var cands []int
	for pass := range 2 {
		for i, h := range r.Hosts {
			if !h.Outlier && (pass == 1 || h.Cluster == 0 && len(h.Errors) == 0) {
				cands = append(cands, i)
			}
		}
		if len(cands) > 0 {
			break
		}
	}
	if len(cands) == 0 {
		return "", false
	}
	others := make([]int, 0, min(len(cands), medoidSample))
	for _, j := range spread(len(cands), medoidSample) {
		others = append(others, cands[j])
	}
	best, bestSum := -1, math.Inf(1)
	for _, i := range cands {
		sum := 0.0
		for _, j := range others {
			sum += distance(r.Hosts[i].Position, r.Hosts[j].Position)
		}
		if sum < bestSum-1e-12 || math.Abs(sum-bestSum) <= 1e-12 && r.Hosts[i].InstanceID < r.Hosts[best].InstanceID {
			best, bestSum = i, sum
		}
	}
	return r.Hosts[best].InstanceID, true
}

// distance is the Euclidean distance of two positions (missing
// coordinates are 0).
func distance(a, b []float64) float64 {
	n := max(len(a), len(b))
	s := 0.0
	for k := range n {
		x, y := 0.0, 0.0
		if k < len(a) {
			x = a[k]
		}
		if k < len(b) {
			y = b[k]
		}
		s += (x - y) * (x - y)
	}
	return math.Sqrt(s)
}
