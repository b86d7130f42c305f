package collect

import (
	"hash/maphash"
	"maps"
	"sync"
	"unique"
)

// RowPool shares rows between the Results of one collection. A fleet's
// hosts have most of their rows in common (the same users, kernel modules,
// crontabs, authorized keys, and the processes of the image they were
// built from), and a Row is a small map that costs about 350 bytes however
// short its values are: holding one map per distinct row instead of one
// per row and host is what keeps the Results of a collection of thousands
// of instances in memory together within bounds.
//
// Share replaces each row by an equal row the pool has seen before, and a
// row it has not seen by a copy whose column names and values are
// canonical strings (unique.Make), which it keeps for the next ones. Rows
// shared this way must be treated as read-only: a change to one would show
// in every Result that shares it (see Row). The pool holds one table slot
// per distinct row (about 30 bytes); drop it with the collection.
//
// The zero value is ready to use, and a RowPool is safe for concurrent use.
type RowPool struct {
	once sync.Once
	seed maphash.Seed

	mu   sync.Mutex
	rows map[uint64]Row
}

// Share replaces the rows of rows in place by shared ones (see RowPool); a
// nil row stays nil.
func (p *RowPool) Share(rows []Row) {
	if len(rows) == 0 {
		return
	}
	p.once.Do(func() { p.seed = maphash.MakeSeed() })
	sums := make([]uint64, len(rows))
	for i, row := range rows {
		sums[i] = p.sum(row)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.rows == nil {
		p.rows = make(map[uint64]Row)
	}
	for i, row := range rows {
		if row == nil {
			continue // kept as it is: nil is not an empty row
		}
		if seen, ok := p.rows[sums[i]]; ok {
			if maps.Equal(seen, row) {
				rows[i] = seen
				continue
			}
			// A collision of two different rows: the row is kept
			// apart, its strings still canonical.
			rows[i] = canonical(row)
			continue
		}
		c := canonical(row)
		p.rows[sums[i]] = c
		rows[i] = c
	}
}

// Len returns how many distinct rows the pool holds.
func (p *RowPool) Len() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.rows)
}

// sum hashes a row independently of the order of its columns.
func (p *RowPool) sum(row Row) uint64 {
	var h maphash.Hash
	h.SetSeed(p.seed)
	s := uint64(len(row))
	for k, v := range row {
		h.Reset()
		h.WriteString(k)
		h.WriteByte(0)
		h.WriteString(v)
		s += h.Sum64()
	}
	return s
}

// canonical returns a copy of row whose column names and values are
// canonical strings: rows that are not shared still share their strings.
func canonical(row Row) Row {
	c := make(Row, len(row))
	for k, v := range row {
		c[unique.Make(k).Value()] = unique.Make(v).Value()
	}
	return c
}
