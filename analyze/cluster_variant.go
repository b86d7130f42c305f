package analyze

import (
	"cmp"
	"slices"
	"strings"
)

// Variants of common rows.
const (
	// variantSimilarity is the least Jaccard similarity between the words
	// of a rare row's free text and a common row's, with the same
	// structured columns, for the rare row to count as a variant of it.
	variantSimilarity = 0.75
	// maxVariantPeers bounds the common rows a rare row is compared with.
	maxVariantPeers = 64
)

// variants tells whether a rare row is a variant of a common row: a row
// whose structured columns (everything but FreeTextColumns, in coarse form)
// equal a common row's, and whose free text shares at least
// variantSimilarity of its words (Jaccard, coarse form) with that row's.
// Another --service-cluster name in a sidecar's command line, another
// version in a path, are variants; a listener on a new port, a user or a
// kernel module of a new name, a crontab line or a process path that looks
// like nothing common are not. Results are memoized per feature; a
// variants is used by one goroutine.
type variants struct {
	order   []*clusterCmd
	offsets []int32
	featCmd []int32
	// common lists, by structured-column hash, the common features
	// (carried by more than the rare threshold of hosts), most common
	// first, at most maxVariantPeers.
	common map[uint64][]int32
	memo   map[int32]bool
}

func newVariants(order []*clusterCmd, offsets, featCmd, fineCount []int32, fleetT int32) *variants {
	v := &variants{order: order, offsets: offsets, featCmd: featCmd, common: map[uint64][]int32{}, memo: map[int32]bool{}}
	for f, cnt := range fineCount {
		if cnt > fleetT {
			sh := v.feat(int32(f)).shape
			v.common[sh] = append(v.common[sh], int32(f))
		}
	}
	for sh, fs := range v.common {
		slices.SortStableFunc(fs, func(a, b int32) int { return cmp.Compare(fineCount[b], fineCount[a]) })
		if len(fs) > maxVariantPeers {
			v.common[sh] = fs[:maxVariantPeers]
		}
	}
	return v
}

func (v *variants) feat(f int32) *cfeat {
	ci := v.featCmd[f]
	return &v.order[ci].feats[f-v.offsets[ci]]
}

// variant reports whether feature f is a variant of a common feature.
func (v *variants) variant(f int32) bool {
	if r, ok := v.memo[f]; ok {
		return r
	}
	peers := v.common[v.feat(f).shape]
	r := false
	if len(peers) > 0 {
		words := freeWords(v.feat(f).key)
		for _, p := range peers {
			if p != f && jaccard(words, freeWords(v.feat(p).key)) >= variantSimilarity {
				r = true
				break
			}
		}
	}
	v.memo[f] = r
	return r
}

// freeWords returns the sorted, unique words of the free-text columns of a
// normalized row key, in coarse form, each prefixed by its column.
func freeWords(key string) []string {
	var words []string
	for col, val := range keyPairs([]byte(key)) {
		if !isFreeText(col) {
			continue
		}
		for _, w := range strings.Fields(coarseText(val)) {
			words = append(words, col+"\x00"+w)
		}
		if val == "" {
			words = append(words, col+"\x00")
		}
	}
	slices.Sort(words)
	return slices.Compact(words)
}

// jaccard returns |a∩b| / |a∪b| of two sorted sets; 1 when both are empty.
func jaccard(a, b []string) float64 {
	if len(a) == 0 && len(b) == 0 {
		return 1
	}
	i, j, inter := 0, 0, 0
	for i < len(a) && j < len(b) {
		switch c := strings.Compare(a[i], b[j]); {
		case c == 0:
			inter++
			i++
			j++
		case c < 0:
			i++
		default:
			j++
		}
	}
	return float64(inter) / float64(len(a)+len(b)-inter)
}
