package collect

import (
	"encoding/binary"
	"hash/maphash"
	"sync"
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
// row it has not seen by a copy, which it keeps for the next ones; the
// decoders of this package (ResultDecoder, Limits.FillShared) build their
// rows straight into a pool, and make no map for a row it has. The
// strings of a row the pool makes (its names and values) are parts of
// one string. Rows shared this way must be treated as read-only: a change
// to one would show in every Result that shares it (see Row).
//
// A pool with no Limit keeps every distinct row (about 40 bytes of table
// per row besides the row): drop it with the collection. A pool with a
// Limit keeps about that many rows at most (between Limit and twice it):
// when it is full, the rows not seen again since it last was are
// forgotten. A forgotten row stays valid where it is; it is no longer
// shared with the rows that come after. That suits a reader that drops
// the Results once it has used them (an analysis stream).
//
// The zero value is ready to use, and a RowPool is safe for concurrent
// use. Set Limit before the first use.
type RowPool struct {
	// Limit, when positive, bounds the number of rows kept (see RowPool).
	Limit int

	once   sync.Once
	seed   maphash.Seed
	shards [poolShards]poolShard
}

// poolShards is the number of independently locked parts of a RowPool:
// enough that decoders on every core rarely wait for one another.
const poolShards = 64

// poolShard holds the rows whose hash falls in it.
type poolShard struct {
	mu sync.Mutex
	// rows are the rows kept, by hash; old, in a pool with a Limit, are
	// the rows kept before rows last filled up.
	rows, old map[uint64]pooled
	_         [40]byte // a cache line of its own
}

// pooled is a row of a pool, with the string its names and values are
// parts of: the key of its columns in the order they were read (see
// rowScratch.key), which tells a row read again in the same order at
// once.
type pooled struct {
	row Row
	key string
}

// Share replaces the rows of rows in place by shared ones (see RowPool); a
// nil row stays nil. The caller's maps are not kept or changed.
func (p *RowPool) Share(rows []Row) {
	if len(rows) == 0 {
		return
	}
	p.init()
	var s rowScratch
	for i, row := range rows {
		if row == nil {
			continue // kept as it is: nil is not an empty row
		}
		s.reset()
		for k, v := range row {
			addCol(&s, k, v)
		}
		rows[i], _ = p.intern(&s, s.sum(p.seed))
	}
}

// Len returns how many distinct rows the pool holds.
func (p *RowPool) Len() int {
	n := 0
	for i := range p.shards {
		sh := &p.shards[i]
		sh.mu.Lock()
		n += len(sh.rows) + len(sh.old)
		sh.mu.Unlock()
	}
	return n
}

func (p *RowPool) init() { p.once.Do(func() { p.seed = maphash.MakeSeed() }) }

// intern returns the pool's row equal to the columns in s, whose sum is
// sum, making it when the pool has none. added is the estimated number of
// bytes a new row holds, 0 for a shared one. A row whose sum is that of a
// different row the pool has is made and kept apart.
func (p *RowPool) intern(s *rowScratch, sum uint64) (row Row, added int64) {
	sh := &p.shards[sum%poolShards]
	sh.mu.Lock()
	defer sh.mu.Unlock()
	seen, ok := sh.rows[sum]
	if ok && s.is(seen) {
		return seen.row, 0
	}
	if !ok && sh.old != nil {
		if e, found := sh.old[sum]; found && s.is(e) {
			sh.put(p.Limit, sum, e)
			return e.row, 0
		}
	}
	e, added := s.build()
	if !ok {
		sh.put(p.Limit, sum, e)
	}
	return e.row, added
}

// put keeps e under sum; in a pool with a limit, a full shard first
// forgets its old rows.
func (sh *poolShard) put(limit int, sum uint64, e pooled) {
	if sh.rows == nil {
		sh.rows = make(map[uint64]pooled)
	}
	if limit > 0 && len(sh.rows) >= max(limit/poolShards, 1) {
		sh.old, sh.rows = sh.rows, make(map[uint64]pooled, len(sh.rows))
	}
	sh.rows[sum] = e
}

// rowScratch holds the columns of one row as they were decoded, before
// the row is looked up in a pool or made.
type rowScratch struct {
	// buf holds each column as name, a zero byte, value.
	buf  []byte
	cols []scratchCol
	// head is the start of the row's key (see key), when headOK.
	head   []byte
	headOK bool
}

// scratchCol is one column of a rowScratch: its name is buf[start:mid],
// its value buf[mid+1:end].
type scratchCol struct{ start, mid, end int }

func (s *rowScratch) reset() { s.buf, s.cols, s.headOK = s.buf[:0], s.cols[:0], false }

// addCol adds a column to s.
func addCol[T string | []byte](s *rowScratch, name, value T) {
	start := len(s.buf)
	s.buf = append(s.buf, name...)
	mid := len(s.buf)
	s.buf = append(s.buf, 0)
	s.buf = append(s.buf, value...)
	s.cols = append(s.cols, scratchCol{start, mid, len(s.buf)})
}

func (s *rowScratch) name(c scratchCol) []byte  { return s.buf[c.start:c.mid] }
func (s *rowScratch) value(c scratchCol) []byte { return s.buf[c.mid+1 : c.end] }

// sum hashes the row independently of the order of its columns: the
// number of columns plus the hash of each column. The columns must have
// distinct names.
func (s *rowScratch) sum(seed maphash.Seed) uint64 {
	sum := uint64(len(s.cols))
	for _, c := range s.cols {
		sum += maphash.Bytes(seed, s.buf[c.start:c.end])
	}
	return sum
}

// keyHead returns the start of the key of s: the number of columns and
// the length of each name and value (uvarints), which make the key (the
// head, then buf) tell apart any two lists of columns.
func (s *rowScratch) keyHead() []byte {
	if !s.headOK {
		s.head = binary.AppendUvarint(s.head[:0], uint64(len(s.cols)))
		for _, c := range s.cols {
			s.head = binary.AppendUvarint(s.head, uint64(c.mid-c.start))
			s.head = binary.AppendUvarint(s.head, uint64(c.end-c.mid-1))
		}
		s.headOK = true
	}
	return s.head
}

// is reports whether e is the row of s: the same columns in the same
// order (its key), or else, in any order. The columns of s must have
// distinct names.
func (s *rowScratch) is(e pooled) bool {
	head := s.keyHead()
	if len(e.key) == len(head)+len(s.buf) && e.key[:len(head)] == string(head) && e.key[len(head):] == string(s.buf) {
		return true
	}
	if len(e.row) != len(s.cols) {
		return false
	}
	for _, c := range s.cols {
		if v, ok := e.row[string(s.name(c))]; !ok || v != string(s.value(c)) {
			return false
		}
	}
	return true
}

// build makes the Row of s, whose names and values are parts of its key,
// one string. added estimates the bytes it holds (see rowBytes).
func (s *rowScratch) build() (e pooled, added int64) {
	head := s.keyHead()
	key := string(append(head, s.buf...))
	s.head = head[:0]
	s.headOK = false
	at := len(head)
	row := make(Row, len(s.cols))
	for _, c := range s.cols {
		row[key[at+c.start:at+c.mid]] = key[at+c.mid+1 : at+c.end]
	}
	return pooled{row, key}, rowBytes(len(s.cols)) + int64(len(key)) + stringHeader
}

// stringHeader is the size of a string header, the cost of a string
// besides its bytes.
const stringHeader = 16

// rowBytes estimates the memory of a Row map of n columns, its strings
// aside, plus the pool's table slot for it (poolSlot). Go's maps hold up
// to 8 entries in one group of 8 slots (8 control bytes and 8 slots of a
// 16-byte name and a 16-byte value: 264 bytes, allocated as 288) behind a
// 48-byte header, and no group at all for no entry; larger ones keep
// groups at a load of at most 7/8, in tables of a power of two groups,
// allocated in size classes up to 12% larger, with 40 bytes of table.
// TestRowBytes checks it against the allocator.
func rowBytes(n int) int64 {
	const header, group, table = 48, 264, 40
	switch {
	case n == 0:
		return header + poolSlot
	case n <= 8:
		return header + 288 + poolSlot
	}
	groups := int64(2)
	for groups*7 < int64(n) {
		groups *= 2
	}
	return header + table + groups*group*9/8 + poolSlot
}

// poolSlot is the memory of a row's place in a RowPool's table: its hash
// and pooled, at a load of 7/8.
const poolSlot = (8 + 8 + 16) * 8 / 7
