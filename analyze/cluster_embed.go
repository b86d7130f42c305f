package analyze

import (
	"cmp"
	"math"
	"math/rand/v2"
	"slices"

	"gonum.org/v1/gonum/floats"
	"gonum.org/v1/gonum/mat"
)

// Limits of the embedding and the clustering.
const (
	maxPCAFeatures  = 300  // columns of the covariance matrix
	maxComponents   = 8    // principal components kept
	explainedShare  = 0.90 // variance the kept components explain
	maxClusters     = 8    // clusters tried
	fitSample       = 4000 // hosts k-means is fitted on
	silSample       = 600  // hosts the silhouette is measured on
	minSilhouette   = 0.4  // below it, one cluster
	silhouetteSlack = 0.05 // the fewest clusters this close to the best silhouette win
)

// embedding holds every host's coordinates on the principal components of
// the informative coarse features: n×dims, one row per host.
type embedding struct {
	dims   int
	coords [][]float64
}

// position returns host h's first two coordinates (0 where missing).
func (e *embedding) position(h int) []float64 {
	p := []float64{0, 0}
	copy(p, e.coords[h])
	for i := range p {
		p[i] = math.Round(p[i]*1e6) / 1e6
	}
	return p
}

// embed computes the PCA embedding of the hosts. The informative features
// are the coarse rows carried by at least max(2, 5%) of the hosts and
// lacked by as many (at most maxPCAFeatures of them, the most variable).
// Their d×d covariance is accumulated from the sparse host vectors, never
// an n×d matrix, and factorized with mat.EigenSym; the components that
// explain explainedShare of the variance (1 to maxComponents, at least 2
// for the map) are kept, each signed so that its largest loading is
// positive, for determinism.
func embed(hostCoarse [][]int32, coarseCount []int32, n int) *embedding {
	e := &embedding{coords: make([][]float64, n)}
	lo := int32(max(2, int(math.Ceil(0.05*float64(n)))))
	hi := int32(n) - lo
	var cols []int32
	for c, cnt := range coarseCount {
		if cnt >= lo && cnt <= hi {
			cols = append(cols, int32(c))
		}
	}
	if len(cols) == 0 {
		return e
	}
	variance := func(c int32) float64 {
		p := float64(coarseCount[c]) / float64(n)
		return p * (1 - p)
	}
	if len(cols) > maxPCAFeatures {
		slices.SortStableFunc(cols, func(a, b int32) int { return cmp.Compare(variance(b), variance(a)) })
		cols = cols[:maxPCAFeatures]
		slices.Sort(cols)
	}
	d := len(cols)
	colOf := make(map[int32]int, d)
	for j, c := range cols {
		colOf[c] = j
	}
	// Co-occurrence counts, then the covariance.
	co := make([]float64, d*d)
	var idx []int
	for _, cs := range hostCoarse {
		idx = idx[:0]
		for _, c := range cs {
			if j, ok := colOf[c]; ok {
				idx = append(idx, j)
			}
		}
		for a, i := range idx {
			for _, j := range idx[a:] {
				co[i*d+j]++
			}
		}
	}
	mean := make([]float64, d)
	for j, c := range cols {
		mean[j] = float64(coarseCount[c]) / float64(n)
	}
	cov := mat.NewSymDense(d, nil)
	for i := range d {
		for j := i; j < d; j++ {
			cov.SetSym(i, j, co[i*d+j]/float64(n)-mean[i]*mean[j])
		}
	}
	var eig mat.EigenSym
	if !eig.Factorize(cov, true) {
		return e
	}
	vals := eig.Values(nil) // ascending
	var vecs mat.Dense
	eig.VectorsTo(&vecs)
	totalVar := 0.0
	for _, v := range vals {
		totalVar += math.Max(v, 0)
	}
	if totalVar <= 1e-12 {
		return e
	}
	r, acc := 0, 0.0
	for i := d - 1; i >= 0 && r < maxComponents; i-- {
		if vals[i] <= 1e-12*totalVar {
			break
		}
		r++
		acc += vals[i]
		if acc >= explainedShare*totalVar && r >= min(2, d) {
			break
		}
	}
	if r == 0 {
		return e
	}
	// load[j][k]: loading of column j on component k.
	load := make([][]float64, d)
	for j := range load {
		load[j] = make([]float64, r)
	}
	for k := range r {
		col := d - 1 - k
		big, sign := 0.0, 1.0
		for j := range d {
			if v := vecs.At(j, col); math.Abs(v) > big+1e-12 {
				big = math.Abs(v)
				sign = math.Copysign(1, v)
			}
		}
		for j := range d {
			load[j][k] = sign * vecs.At(j, col)
		}
	}
	center := make([]float64, r)
	for j := range d {
		floats.AddScaled(center, mean[j], load[j])
	}
	e.dims = r
	flat := make([]float64, n*r)
	for h, cs := range hostCoarse {
		y := flat[h*r : (h+1)*r : (h+1)*r]
		for _, c := range cs {
			if j, ok := colOf[c]; ok {
				floats.Add(y, load[j])
			}
		}
		floats.Sub(y, center)
		e.coords[h] = y
	}
	return e
}

// clusterHosts groups the hosts by k-means on their embedding and returns
// each host's cluster and the number of clusters, numbered by size,
// largest first. k is chosen by the mean silhouette (from 2 to
// maxClusters): the smallest k within silhouetteSlack of the best, and 1
// when no k reaches minSilhouette (the hosts show no clear groups). k-means (k-means++ seeding, Lloyd iterations, three
// restarts, a fixed seed) is fitted on at most fitSample hosts spread
// evenly over the instance ID order, then every host joins its nearest
// centre.
func clusterHosts(e *embedding, n int) ([]int, int) {
	assign := make([]int, n)
	if e.dims == 0 || n < 4 {
		return assign, 1
	}
	sample := spread(n, fitSample)
	pts := make([][]float64, len(sample))
	for i, h := range sample {
		pts[i] = e.coords[h]
	}
	evalIdx := spread(len(pts), silSample)
	// The fewest clusters whose silhouette is within silhouetteSlack of
	// the best: more clusters only split off small groups that differ in
	// one incidental row.
	var cents [][][]float64
	var sils []float64
	best := minSilhouette
	for k := 2; k <= min(maxClusters, len(pts)/2); k++ {
		cent := kmeans(pts, k)
		s := silhouette(pts, evalIdx, cent)
		cents, sils = append(cents, cent), append(sils, s)
		best = math.Max(best, s)
	}
	bestK := 1
	var bestCent [][]float64
	for i, s := range sils {
		if s >= minSilhouette && s >= best-silhouetteSlack {
			bestK, bestCent = i+2, cents[i]
			break
		}
	}
	if bestK == 1 {
		return assign, 1
	}
	size := make([]int, bestK)
	for h := range n {
		assign[h] = nearest(e.coords[h], bestCent)
		size[assign[h]]++
	}
	// Renumber by size, largest first; drop empty clusters.
	ids := make([]int, bestK)
	for i := range ids {
		ids[i] = i
	}
	slices.SortStableFunc(ids, func(a, b int) int { return cmp.Compare(size[b], size[a]) })
	newID := make([]int, bestK)
	k := 0
	for _, old := range ids {
		if size[old] > 0 {
			newID[old] = k
			k++
		}
	}
	for h := range assign {
		assign[h] = newID[assign[h]]
	}
	return assign, k
}

// spread returns at most m indices of 0..n-1, evenly spaced.
func spread(n, m int) []int {
	if n <= m {
		out := make([]int, n)
		for i := range out {
			out[i] = i
		}
		return out
	}
	out := make([]int, m)
	for i := range out {
		out[i] = int(int64(i) * int64(n) / int64(m))
	}
	return out
}

// kmeans returns k centres for pts: the best of three k-means++ seeded
// Lloyd runs by inertia, with a fixed seed.
func kmeans(pts [][]float64, k int) [][]float64 {
	rng := rand.New(rand.NewPCG(uint64(k), 0xd1ff7))
	var best [][]float64
	bestInertia := math.Inf(1)
	for range 3 {
		cent := seedPlusPlus(pts, k, rng)
		inertia := lloyd(pts, cent)
		if inertia < bestInertia {
			best, bestInertia = cent, inertia
		}
	}
	return best
}

// seedPlusPlus picks k starting centres by k-means++.
func seedPlusPlus(pts [][]float64, k int, rng *rand.Rand) [][]float64 {
	cent := [][]float64{slices.Clone(pts[rng.IntN(len(pts))])}
	dist := make([]float64, len(pts))
	for len(cent) < k {
		sum := 0.0
		for i, p := range pts {
			dist[i] = sqDist(p, cent[nearest(p, cent)])
			sum += dist[i]
		}
		if sum == 0 {
			cent = append(cent, slices.Clone(pts[rng.IntN(len(pts))]))
			continue
		}
		x := rng.Float64() * sum
		i := 0
		for ; i < len(pts)-1 && x >= dist[i]; i++ {
			x -= dist[i]
		}
		cent = append(cent, slices.Clone(pts[i]))
	}
	return cent
}

// lloyd runs Lloyd iterations until the assignment is stable (at most 100)
// and returns the inertia: the sum of squared distances to the centres.
func lloyd(pts [][]float64, cent [][]float64) float64 {
	dims := len(pts[0])
	assign := make([]int, len(pts))
	for i := range assign {
		assign[i] = -1
	}
	sums := make([][]float64, len(cent))
	for i := range sums {
		sums[i] = make([]float64, dims)
	}
	counts := make([]int, len(cent))
	for range 100 {
		changed := false
		for i, p := range pts {
			c := nearest(p, cent)
			if c != assign[i] {
				assign[i], changed = c, true
			}
		}
		if !changed {
			break
		}
		for c := range sums {
			clear(sums[c])
			counts[c] = 0
		}
		for i, p := range pts {
			floats.Add(sums[assign[i]], p)
			counts[assign[i]]++
		}
		for c := range cent {
			if counts[c] > 0 {
				floats.ScaleTo(cent[c], 1/float64(counts[c]), sums[c])
			}
		}
	}
	inertia := 0.0
	for i, p := range pts {
		inertia += sqDist(p, cent[assign[i]])
	}
	return inertia
}

// silhouette returns the mean silhouette of the points evalIdx under the
// nearest-centre assignment of cent, measured against all of pts.
func silhouette(pts [][]float64, evalIdx []int, cent [][]float64) float64 {
	k := len(cent)
	assign := make([]int, len(pts))
	size := make([]int, k)
	for i, p := range pts {
		assign[i] = nearest(p, cent)
		size[assign[i]]++
	}
	// Distances are measured to the evaluated points only, for speed.
	sum := make([]float64, k)
	cnt := make([]int, k)
	total, used := 0.0, 0
	for _, i := range evalIdx {
		clear(sum)
		clear(cnt)
		for _, j := range evalIdx {
			if i == j {
				continue
			}
			sum[assign[j]] += math.Sqrt(sqDist(pts[i], pts[j]))
			cnt[assign[j]]++
		}
		own := assign[i]
		if cnt[own] == 0 {
			continue // a singleton's silhouette is 0
		}
		a := sum[own] / float64(cnt[own])
		b := math.Inf(1)
		for c := range k {
			if c != own && cnt[c] > 0 {
				b = math.Min(b, sum[c]/float64(cnt[c]))
			}
		}
		used++
		if math.IsInf(b, 1) {
			continue
		}
		if m := math.Max(a, b); m > 0 {
			total += (b - a) / m
		}
	}
	if used == 0 {
		return 0
	}
	return total / float64(used)
}

// nearest returns the index of the centre closest to p.
func nearest(p []float64, cent [][]float64) int {
	best, bd := 0, math.Inf(1)
	for c, q := range cent {
		if d := sqDist(p, q); d < bd {
			best, bd = c, d
		}
	}
	return best
}

func sqDist(a, b []float64) float64 {
	s := 0.0
	for i := range a {
		d := a[i] - b[i]
		s += d * d
	}
	return s
}
