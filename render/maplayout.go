package render

import (
	"cmp"
	"math"
	"slices"
	"sort"

	"github.com/diffy-dfir/diffy/analyze"
)

// The map's geometry, in slot units: neighbouring hosts are at least one
// unit apart (see spiralC).
const (
	// spiralC scales Vogel's sunflower spiral, whose slot i sits at radius
	// spiralC·√(i+½) and angle i·(golden angle): at spiralC = 1 the
	// closest two slots of a spiral of any length are 1.546 apart (slots 0
	// and 1, measured for spirals of 10 to 10,000 slots), so 1/1.546 puts
	// every host at least one unit from any other of its cluster.
	spiralC = 0.65
	// dotRadius and outlierRadius are the radii of a host's dot and of an
	// outlier's: both under ½, so that no dot covers a neighbour's.
	dotRadius     = 0.34
	outlierRadius = 0.48
	// discGap is the least space between two clusters' discs.
	discGap = 2.5
	// mapMargin surrounds the discs (and their labels, above them).
	mapMargin = 2
)

// hostMap is the map of the hosts: each host on its own slot of its
// cluster's disc, the discs placed as the clusters' centroids lie on the
// analyzer's map, pushed apart until none overlaps.
type hostMap struct {
	// MinX, MinY, W and H are the map's extent (the SVG viewBox).
	MinX, MinY, W, H float64
	// Dots holds one dot per host, in report order.
	Dots []mapDot
	// Discs holds one disc per cluster, by cluster ID.
	Discs []mapDisc
}

// mapDot is one host's place.
type mapDot struct {
	X, Y float64
}

// mapDisc is one cluster's disc.
type mapDisc struct {
	Cluster, Size int
	X, Y, R       float64
}

// layoutMap places the hosts. Inside a cluster, hosts are ordered by their
// distance from the cluster's centroid on the analyzer's map (Position),
// then by score (lowest first), then by report order: the most typical sit
// at the centre and the least typical at the rim, each on its own slot of
// the cluster's spiral. Within each ring of √n consecutive slots, the
// hosts take the slots in the order of their direction from the centroid,
// so that the disc keeps the shape of the analyzer's map. Hosts without a
// Position count as at their cluster's centroid.
func layoutMap(hosts []analyze.Host) hostMap {
	m := hostMap{Dots: make([]mapDot, len(hosts))}
	byCluster := map[int][]int{}
	for i, h := range hosts {
		byCluster[h.Cluster] = append(byCluster[h.Cluster], i)
	}
	ids := make([]int, 0, len(byCluster))
	for id := range byCluster {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	pos := func(i int) (float64, float64) {
		if p := hosts[i].Position; len(p) >= 2 && finite(p[0]) && finite(p[1]) {
			return p[0], p[1]
		}
		return math.NaN(), math.NaN()
	}
	// Each cluster's centroid on the analyzer's map and its disc's radius.
	cent := make([][2]float64, len(ids))
	for k, id := range ids {
		var sx, sy float64
		n := 0
		for _, i := range byCluster[id] {
			if x, y := pos(i); !math.IsNaN(x) {
				sx, sy, n = sx+x, sy+y, n+1
			}
		}
		if n > 0 {
			cent[k] = [2]float64{sx / float64(n), sy / float64(n)}
		}
		size := len(byCluster[id])
		m.Discs = append(m.Discs, mapDisc{Cluster: id, Size: size, R: spiralC*math.Sqrt(float64(size)) + outlierRadius})
	}
	placeDiscs(m.Discs, cent)

	for k, id := range ids {
		members := byCluster[id]
		type member struct {
			i           int
			dist, angle float64
		}
		ms := make([]member, len(members))
		for j, i := range members {
			ms[j] = member{i: i}
			if x, y := pos(i); !math.IsNaN(x) {
				dx, dy := x-cent[k][0], y-cent[k][1]
				ms[j].dist, ms[j].angle = math.Hypot(dx, dy), math.Atan2(dy, dx)
			}
		}
		slices.SortStableFunc(ms, func(a, b member) int {
			return cmp.Or(cmp.Compare(a.dist, b.dist), cmp.Compare(hosts[a.i].Score, hosts[b.i].Score))
		})
		ring := max(1, int(math.Ceil(math.Sqrt(float64(len(ms))))))
		for start := 0; start < len(ms); start += ring {
			end := min(start+ring, len(ms))
			slots := make([]int, 0, end-start)
			for s := start; s < end; s++ {
				slots = append(slots, s)
			}
			sort.SliceStable(slots, func(a, b int) bool { return slotAngle(slots[a]) < slotAngle(slots[b]) })
			chunk := ms[start:end]
			slices.SortStableFunc(chunk, func(a, b member) int { return cmp.Compare(a.angle, b.angle) })
			for j, mb := range chunk {
				r, a := spiralC*math.Sqrt(float64(slots[j])+0.5), slotTheta(slots[j])
				m.Dots[mb.i] = mapDot{X: m.Discs[k].X + r*math.Cos(a), Y: m.Discs[k].Y - r*math.Sin(a)}
			}
		}
	}

	minX, minY, maxX, maxY := math.Inf(1), math.Inf(1), math.Inf(-1), math.Inf(-1)
	for _, d := range m.Discs {
		minX, maxX = math.Min(minX, d.X-d.R), math.Max(maxX, d.X+d.R)
		minY, maxY = math.Min(minY, d.Y-d.R), math.Max(maxY, d.Y+d.R)
	}
	if len(m.Discs) == 0 {
		minX, minY, maxX, maxY = 0, 0, 0, 0
	}
	m.MinX, m.MinY = minX-mapMargin, minY-labelRoom-mapMargin
	m.W, m.H = maxX-m.MinX+mapMargin, maxY-m.MinY+mapMargin
	return m
}

// goldenAngle is the angle between consecutive slots of the spiral.
var goldenAngle = math.Pi * (3 - math.Sqrt(5))

// slotTheta is slot s's angle on the spiral; slotAngle the same in
// (-π, π], as math.Atan2 gives a host's direction.
func slotTheta(s int) float64 { return float64(s) * goldenAngle }

func slotAngle(s int) float64 {
	a := math.Mod(slotTheta(s), 2*math.Pi)
	if a > math.Pi {
		a -= 2 * math.Pi
	}
	return a
}

// placeDiscs sets the discs' centres: the clusters' centroids (cent, on
// the analyzer's map) scaled so that the median distance between two
// centroids is the sum of two median radii, then pushed apart until no two
// discs (with room for their labels) are closer than discGap, then drawn
// together towards their common centre, step by step, as far as they go
// without overlapping: the clusters keep their directions from each other
// and the map wastes little room. Centroids that coincide are split along
// fixed directions, so the result depends only on the input.
func placeDiscs(discs []mapDisc, cent [][2]float64) {
	if len(discs) < 2 {
		return
	}
	var dists, radii []float64
	for i := range discs {
		radii = append(radii, discs[i].R)
		for j := i + 1; j < len(discs); j++ {
			if d := math.Hypot(cent[i][0]-cent[j][0], cent[i][1]-cent[j][1]); d > 0 {
				dists = append(dists, d)
			}
		}
	}
	scale := 0.0
	if len(dists) > 0 {
		scale = 2 * median(radii) / median(dists)
	}
	for i := range discs {
		// The analyzer's y grows upwards, the SVG's downwards.
		discs[i].X, discs[i].Y = cent[i][0]*scale, -cent[i][1]*scale
	}
	separate(discs)
	for range 60 {
		var cx, cy, w float64
		for _, d := range discs {
			cx, cy, w = cx+d.X*d.R, cy+d.Y*d.R, w+d.R
		}
		cx, cy = cx/w, cy/w
		for i := range discs {
			discs[i].X -= 0.15 * (discs[i].X - cx)
			discs[i].Y -= 0.15 * (discs[i].Y - cy)
		}
		separate(discs)
	}
}

// labelRoom is the room kept above each disc for its label, in slot
// units: the label is mapLabelPx high at no less than mapMinScale pixels
// per unit.
const labelRoom = 1.4 * mapLabelPx / mapMinScale

// separate pushes the discs apart, pair by pair, until no two are closer
// than discGap (with labelRoom above each).
func separate(discs []mapDisc) {
	for range 10000 {
		moved := false
		for i := range discs {
			for j := i + 1; j < len(discs); j++ {
				a, b := &discs[i], &discs[j]
				need := a.R + b.R + discGap + labelRoom
				dx, dy := b.X-a.X, b.Y-a.Y
				d := math.Hypot(dx, dy)
				if d >= need-1e-9 {
					continue
				}
				if d < 1e-9 {
					t := float64(i*len(discs)+j) * goldenAngle
					dx, dy, d = math.Cos(t), math.Sin(t), 1
				}
				push := (need - d) / 2 * 1.0001
				a.X, a.Y = a.X-dx/d*push, a.Y-dy/d*push
				b.X, b.Y = b.X+dx/d*push, b.Y+dy/d*push
				moved = true
			}
		}
		if !moved {
			return
		}
	}
}

func median(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	return s[len(s)/2]
}

func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }
