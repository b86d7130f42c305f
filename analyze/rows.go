package analyze

import (
	"cmp"
	"context"
	"encoding/binary"
	"fmt"
	"hash/maphash"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"
	"unsafe"

	"github.com/diffy-dfir/diffy/collect"
	"github.com/diffy-dfir/diffy/payload"
)

// hashSeed seeds the row hashes. Hashes only intern rows; no order or
// output depends on their values.
var hashSeed = maphash.MakeSeed()

// cfeat is one normalized row of one command: a feature.
type cfeat struct {
	key  string // the normalized RowKey, for display and ordering
	tmpl int32  // its template (local to the command), set by the model
}

// cmdRows holds what a stream knows of one command: each distinct row
// once, and per host the numbers of its rows. While Results are added each
// cmdRows is touched by one goroutine only.
type cmdRows struct {
	id    string
	keyer *Keyer
	p     params // the analysis's ρ and φ
	// normalize: rows go through NormalizeRow before they become features
	// (tokens replaced); without it the feature is the stripped row.
	normalize bool
	// parents: rows that have pid, parent and name columns, parent being
	// volatile, get the name of their parent process (see parentNames).
	parents bool
	// running: the command's rows are of something running: they carry a
	// pid (processes, listening sockets).
	running bool
	// sizes tallies the sizes of a kernel_modules command's rows, whose
	// size column is volatile (nil for any other command, or when size
	// is not volatile): see moduleSizes.
	sizes *moduleSizes
	// nameRows gives a kernel_modules command's names their most
	// common feature, once asked (usualOfName).
	nameRows map[string]int32
	buf      []byte
	norm     []byte
	// memo maps the rows of the current add, by identity (the map), to
	// their place in memoed (see feature). Only within one add: the rows
	// are the caller's, who may change them once Add returns.
	memo   map[unsafe.Pointer]int32
	memoed []memoRow
	// raw maps the hash of a row's volatile-stripped key to its raw row
	// number; rawFeat gives the feature of each raw row, and rawKey how
	// its volatile-stripped key differs from the feature's normalized
	// key: what normalizing changed of its columns (see appendPatch;
	// empty when nothing), in patches. A fleet's per-host tokens make
	// most raw rows; their patches are a few bytes where their keys are a
	// few hundred. rawFull has the whole key of the raw rows whose
	// feature is not their normalized key (the hashes of two keys
	// collided). fine maps the hash of the normalized key to the feature.
	raw     map[uint64]int32
	rawFeat []int32
	rawKey  []patchRef
	patches patchArena
	rawFull map[int32]string
	patch   []byte
	fine    map[uint64]int32
	feats   []cfeat
	// Parent process names, interned: parentNames[parentID[name]] = name.
	parentID    map[string]int32
	parentNames []string
	// Reused by parentNamesOf.
	byPid     map[string]int32
	pids      []string // pid, name, parent of each row of a Result
	names     []int32
	parentRow []int32 // the row index of each row's parent
	raws      []int32 // the raw row of each row of a Result
	youngs    []bool  // whether each is young (see young)
	rowSizes  []int32 // the size of each, when the command has sizes
	enc       []byte  // the rows of a Result, encoded (appendRows)
	lastName  string
	lastID    int32
	// Per stream host number (first sight): the rows of the kept
	// Results, in the order added, encoded by appendRows (the raw row of
	// each, and when the command has parents, each row's parent); nil
	// when no Result succeeded. Then the errors of its failed kept
	// Results; the collected_at of the kept Results, how many Results
	// share it, and the collected_at of those dropped. A host's rows take
	// 2 to 3 bytes each (2 to 3 more with a parent; they took 4 and 8 as
	// numbers of their own): what a stream holds grows with them.
	seen  [][]byte
	serrs map[int32][]string // only hosts with errors
	// started is, per stream host number, the earliest start_time
	// (seconds since the epoch) of the rows of its kept Results, when the
	// command has parents (a process table): when the host booted; 0
	// when no row has one.
	started []int64
	at      []time.Time
	sameAt  []int32
	dropped map[int32][]time.Time // only hosts with drops
	// Set by finish, by host number (instance ID order): each host's
	// features, sorted, unique; featFirst, by feature, the raw row it was
	// first seen as on the first host that has it, and firstOther, in
	// host then index order, the features (by host and index in
	// perHost[h]) that a host first had as another raw row, and which:
	// most rows are the same raw row on every host, so that a host keeps
	// only its own, in one list for all hosts (see firstRaw);
	// parent the parent names of its features (one feature, several rows
	// with parents of their own: a master process and its workers), when
	// the command has parents;
	// errs the errors; ok whether a Result succeeded.
	perHost    [][]int32 // equal lists share their array: read-only
	featFirst  []int32
	firstOther []rawAt
	parent     [][]featParent // equal lists share their array: read-only
	// young lists, per host, the indexes in perHost[h] of its features
	// whose rows are all processes caught running (see young); nil when
	// none is.
	young [][]int32
	// boot is, by host number, when the host booted (started, the
	// earliest start_time of its processes), 0 when unknown; nil when
	// the command has no parents.
	boot []int64
	errs map[int][]string // only hosts with errors
	ok   []bool
	// hf, parScratch, youngScratch, otherScratch and fsScratch are
	// finish's scratch: one host's rows, and what is kept of them
	// (otherScratch of all hosts).
	hf           []hostFeat
	parScratch   []featParent
	youngScratch []int32
	otherScratch []rawAt
	fsScratch    []int32
	// featRows are the rows of featRow, by feature.
	featRows []collect.Row
}

// hostFeat is one row of a host, in finish: its feature, raw row and
// parent name (-1 when it has none), and whether it is a process caught
// running (see young).
type hostFeat struct {
	feat, raw, parent int32
	pfeat             int32 // the parent's feature, -1 when none
	size              int32 // its size (moduleSizes), when the command has sizes
	young             bool
}

// featParent is one parent of the feature at index i of a host's sorted
// features: the parent's name p and its feature pf (local to the
// command).
type featParent struct{ i, p, pf int32 }

func newCmdRows(id string, vol Volatile, normalize, parents bool, p params) *cmdRows {
	c := &cmdRows{id: id, keyer: vol.Keyer(id), normalize: normalize, p: p,
		raw: map[uint64]int32{}, fine: map[uint64]int32{}, parentID: map[string]int32{}}
	cols := vol.Columns(id)
	c.parents = parents && slices.Contains(cols, "parent") && !slices.Contains(cols, "name")
	if c.parents {
		c.keyer.captureColumns(capturedColumns[:]...)
	} else if id == payload.KernelModules && slices.Contains(cols, "size") {
		c.sizes = newModuleSizes()
		c.keyer.captureColumns("size")
	}
	return c
}

// feature returns the raw row number of row (its feature is
// c.rawFeat[raw]), interning it when new, with the values of the
// Keyer's captured columns in c.keyer.captured. A row that is the very map of a row seen before in
// the same add (the rows of a collection read from files are shared, see
// collect.RowPool) is found by its identity, without keying it again.
func (c *cmdRows) feature(row collect.Row) (raw int32) {
	id := reflect.ValueOf(row).UnsafePointer() // nil for a nil row
	if id != nil {
		if i, ok := c.memo[id]; ok {
			m := &c.memoed[i]
			if c.parents || c.sizes != nil {
				copy(c.keyer.captured, m.captured[:])
			}
			return m.raw
		}
	}
	_, raw = c.intern(row)
	if id != nil {
		if c.memo == nil {
			c.memo = map[unsafe.Pointer]int32{}
		}
		m := memoRow{raw: raw}
		if c.parents || c.sizes != nil {
			copy(m.captured[:], c.keyer.captured)
		}
		c.memo[id] = int32(len(c.memoed))
		c.memoed = append(c.memoed, m)
	}
	return raw
}

// memoRow is what feature found of a row: its raw row number and
// captured values.
type memoRow struct {
	raw      int32
	captured [len(capturedColumns)]string
}

// capturedColumns are the columns a command with parents captures (see
// newCmdRows): pid, name and parent give parent names (parentNamesOf),
// start_time whether the process is young.
var capturedColumns = [...]string{"pid", "name", "parent", "start_time"}

// intern returns the feature and raw row number of row, interning them
// when new.
func (c *cmdRows) intern(row collect.Row) (feat, raw int32) {
	c.buf = c.keyer.AppendKey(c.buf[:0], row)
	rh := maphash.Bytes(hashSeed, c.buf)
	if r, ok := c.raw[rh]; ok {
		return c.rawFeat[r], r
	}
	c.norm, c.patch = c.norm[:0], c.patch[:0]
	for col, val := range keyPairs(c.buf) {
		nv := val
		if c.normalize {
			nv = normalizeColumn(c.id, col, val)
		}
		if nv != val {
			c.patch = appendPatch(c.patch, col, val, nv)
		}
		c.norm = appendPair(c.norm, col, nv)
	}
	nh := maphash.Bytes(hashSeed, c.norm)
	f, ok := c.fine[nh]
	if !ok {
		f = int32(len(c.feats))
		c.fine[nh] = f
		c.feats = append(c.feats, cfeat{key: string(c.norm)})
	}
	raw = int32(len(c.rawFeat))
	c.raw[rh] = raw
	c.rawFeat = append(c.rawFeat, f)
	c.rawKey = append(c.rawKey, c.patches.add(c.patch))
	if string(c.norm) != c.feats[f].key {
		if c.rawFull == nil {
			c.rawFull = map[int32]string{}
		}
		c.rawFull[raw] = string(c.buf)
	}
	return f, raw
}

// row returns the volatile-stripped row that host h (instance ID order)
// first had as local feature lf, or the normalized row when the host
// does not have it.
func (c *cmdRows) row(h int, lf int32) collect.Row {
	row := rowOfKey(c.feats[lf].key)
	if i, ok := slices.BinarySearch(c.perHost[h], lf); ok {
		raw := c.firstRaw(h, int32(i))
		if k, ok := c.rawFull[raw]; ok {
			return rowOfKey(k)
		}
		unpatch(row, c.patches.get(c.rawKey[raw]))
	}
	return row
}

// firstRaw returns the raw row host h first had as its feature at index
// i of perHost[h]: the feature's featFirst, unless firstOther says
// otherwise.
func (c *cmdRows) firstRaw(h int, i int32) int32 {
	at := rawAt{h: int32(h), i: i}
	if j, ok := slices.BinarySearchFunc(c.firstOther, at, func(x, y rawAt) int { return cmp.Or(cmp.Compare(x.h, y.h), cmp.Compare(x.i, y.i)) }); ok {
		return c.firstOther[j].raw
	}
	return c.featFirst[c.perHost[h][i]]
}

// sharer gives the slices it is given one backing array each time they
// are equal: the hosts of one kind have the same features of most
// commands, so that a fleet keeps each list once, not once a host (at
// 20,000 hosts of the xlarge scenario, 31 to 51 distinct lists of 20,000
// for the commands but processes, and 1,504 distinct lists of parents).
// Those who get a slice from it must not change it. T must be of fixed
// size without padding (its bytes are hashed).
type sharer[T comparable] struct {
	m map[uint64][]T
}

// share returns a slice equal to x (nil when x is empty) that is not x:
// one given before, or a copy of x of its size.
func (s *sharer[T]) share(x []T) []T {
	if len(x) == 0 {
		return nil
	}
	var zero T
	b := unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(x))), len(x)*int(unsafe.Sizeof(zero)))
	k := maphash.Bytes(hashSeed, b)
	y, ok := s.m[k]
	if ok && slices.Equal(x, y) {
		return y
	}
	y = exact(x)
	if !ok { // on a collision, the first keeps the key
		if s.m == nil {
			s.m = map[uint64][]T{}
		}
		s.m[k] = y
	}
	return y
}

// exact returns a copy of s of its length (nil when empty).
func exact[T any](s []T) []T {
	if len(s) == 0 {
		return nil
	}
	return append(make([]T, 0, len(s)), s...)
}

// rawAt says that the feature at index i of host h's perHost was first
// seen there as the raw row raw.
type rawAt struct{ h, i, raw int32 }

// patchArena holds the raw rows' patches end to end in blocks of
// patchBlock bytes (a patch larger than that has a block of its own),
// each a uvarint length then its bytes: 8 bytes a raw row to find it
// (patchRef) where a string took 16 and its own allocation, rounded up
// to a size class. Blocks are never moved, so that growing the arena
// never holds two copies of it.
type patchArena struct {
	blocks [][]byte
}

// patchBlock is the size of patchArena's blocks: large enough that their
// headers are nothing beside them, small enough that the unused tail of
// the last is nothing beside a fleet's patches.
const patchBlock = 64 << 10

// patchRef locates a patch in a patchArena: its block and offset.
type patchRef struct{ blk, off uint32 }

// add appends p to the arena and returns where it is.
func (a *patchArena) add(p []byte) patchRef {
	need := binary.MaxVarintLen64 + len(p)
	if len(a.blocks) == 0 || cap(a.blocks[len(a.blocks)-1])-len(a.blocks[len(a.blocks)-1]) < need {
		a.blocks = append(a.blocks, make([]byte, 0, max(patchBlock, need)))
	}
	k := len(a.blocks) - 1
	b := a.blocks[k]
	ref := patchRef{blk: uint32(k), off: uint32(len(b))}
	b = binary.AppendUvarint(b, uint64(len(p)))
	a.blocks[k] = append(b, p...)
	return ref
}

// get returns the patch at ref.
func (a *patchArena) get(ref patchRef) string {
	b := a.blocks[ref.blk][ref.off:]
	n, w := binary.Uvarint(b)
	return string(b[w : w+int(n)])
}

// appendPatch appends to dst how value, of column col, became norm: the
// column's name, the lengths of the prefix and of the suffix value and
// norm share, and the rest of value (strings length-prefixed, lengths as
// uvarints), from which unpatch makes value again.
func appendPatch(dst []byte, col, value, norm string) []byte {
	p := 0
	for p < len(value) && p < len(norm) && value[p] == norm[p] {
		p++
	}
	q := 0
	for q < len(value)-p && q < len(norm)-p && value[len(value)-1-q] == norm[len(norm)-1-q] {
		q++
	}
	dst = binary.AppendUvarint(dst, uint64(len(col)))
	dst = append(dst, col...)
	dst = binary.AppendUvarint(dst, uint64(p))
	dst = binary.AppendUvarint(dst, uint64(q))
	mid := value[p : len(value)-q]
	dst = binary.AppendUvarint(dst, uint64(len(mid)))
	return append(dst, mid...)
}

// unpatch gives the columns of row (a normalized row) the values a patch
// of appendPatch says they had.
func unpatch(row collect.Row, patch string) {
	uv := func() int {
		n, w := binary.Uvarint([]byte(patch))
		patch = patch[w:]
		return int(n)
	}
	for len(patch) > 0 {
		n := uv()
		col := patch[:n]
		patch = patch[n:]
		p, q := uv(), uv()
		n = uv()
		mid := patch[:n]
		patch = patch[n:]
		norm := row[col]
		row[col] = norm[:p] + mid + norm[len(norm)-q:]
	}
}

// featRow returns the normalized row of feature lf, one map per feature
// however many Findings show it (a baseline's Report can have hundreds
// of thousands): callers must not change it. Not safe for concurrent
// use.
func (c *cmdRows) featRow(lf int32) collect.Row {
	if c.featRows == nil {
		c.featRows = make([]collect.Row, len(c.feats))
	}
	if c.featRows[lf] == nil {
		c.featRows[lf] = rowOfKey(c.feats[lf].key)
	}
	return c.featRows[lf]
}

// keyPairs yields the (column, value) pairs of a RowKey.
func keyPairs(key []byte) func(yield func(string, string) bool) {
	return func(yield func(string, string) bool) {
		for len(key) > 0 {
			n, w := binary.Uvarint(key)
			if w <= 0 || uint64(len(key)-w) < n {
				return
			}
			col := string(key[w : w+int(n)])
			key = key[w+int(n):]
			n, w = binary.Uvarint(key)
			if w <= 0 || uint64(len(key)-w) < n {
				return
			}
			val := string(key[w : w+int(n)])
			key = key[w+int(n):]
			if !yield(col, val) {
				return
			}
		}
	}
}

// keyValue returns the value of column col in a RowKey, and whether the
// key has it.
func keyValue(key, col string) (string, bool) {
	for c, v := range keyPairs([]byte(key)) {
		if c == col {
			return v, true
		}
	}
	return "", false
}

// appendPair appends a column and value in RowKey's encoding.
func appendPair(dst []byte, col, val string) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(col)))
	dst = append(dst, col...)
	dst = binary.AppendUvarint(dst, uint64(len(val)))
	return append(dst, val...)
}

// rowOfKey turns a RowKey back into a Row.
func rowOfKey(key string) collect.Row {
	row := collect.Row{}
	for c, v := range keyPairs([]byte(key)) {
		row[c] = v
	}
	return row
}

// growHosts makes room for stream host h.
func (c *cmdRows) growHosts(h int) {
	if h < len(c.seen) {
		return
	}
	k := h + 1 - len(c.seen)
	c.seen = append(c.seen, make([][]byte, k)...)
	c.at = append(c.at, make([]time.Time, k)...)
	c.sameAt = append(c.sameAt, make([]int32, k)...)
	if c.parents {
		c.started = append(c.started, make([]int64, k)...)
	}
}

// add adds the Results rs[i] for i in idx, of hosts hosts[i] (stream
// numbers), to the command. Of several Results of one host, the one
// collected last is kept and the others dropped (and reported, see
// duplicates); Results collected at the same time are merged, as neither
// is later. The outcome does not depend on the order of the Results.
func (c *cmdRows) add(ctx context.Context, rs []collect.Result, idx []int, hosts []int32) error {
	defer func() {
		clear(c.memo) // keeps no row of the caller's alive
		clear(c.memoed)
		c.memoed = c.memoed[:0]
	}()
	for j, ri := range idx {
		if j%256 == 255 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		r := &rs[ri]
		h := int(hosts[ri])
		c.growHosts(h)
		switch {
		case c.sameAt[h] == 0:
			c.at[h] = r.CollectedAt
		case r.CollectedAt.Before(c.at[h]):
			c.drop(h, r.CollectedAt)
			continue
		case r.CollectedAt.After(c.at[h]):
			for range c.sameAt[h] {
				c.drop(h, c.at[h])
			}
			c.seen[h], c.sameAt[h] = nil, 0
			if c.parents {
				c.started[h] = 0
			}
			delete(c.serrs, int32(h))
			c.at[h] = r.CollectedAt
		}
		c.sameAt[h]++
		if !r.OK() {
			if c.serrs == nil {
				c.serrs = map[int32][]string{}
			}
			c.serrs[int32(h)] = append(c.serrs[int32(h)], resultError(r))
			continue
		}
		c.pids, c.raws, c.youngs, c.rowSizes = c.pids[:0], c.raws[:0], c.youngs[:0], c.rowSizes[:0]
		if !c.running && len(r.Rows) > 0 {
			_, c.running = r.Rows[0]["pid"]
		}
		for _, row := range r.Rows {
			c.raws = append(c.raws, c.feature(row))
			if c.sizes != nil {
				c.rowSizes = append(c.rowSizes, c.sizes.sizeOf(c.keyer.captured[0]))
			}
			if c.parents {
				c.pids = append(c.pids, c.keyer.captured[:3]...)
				c.youngs = append(c.youngs, c.p.young(c.keyer.captured[3], r.CollectedAt))
				if st, err := strconv.ParseInt(c.keyer.captured[3], 10, 64); err == nil && st > 0 && (c.started[h] == 0 || st < c.started[h]) {
					c.started[h] = st
				}
			}
		}
		c.enc = c.appendRows(c.enc[:0], c.parentNamesOf(r.Rows))
		if c.seen[h] == nil {
			// Of its size (a successful Result, even of no row, is not nil).
			c.seen[h] = append(make([]byte, 0, len(c.enc)), c.enc...)
		} else {
			c.seen[h] = append(c.seen[h], c.enc...)
		}
	}
	return nil
}

// appendRows appends to dst the rows of one Result (their raw rows in
// c.raws; whether each is young in c.youngs and names, from
// parentNamesOf, when the command has parents): each row is the uvarint
// of its raw row then, when the command has sizes (moduleSizes), the
// uvarint of its size, and when it has parents, the uvarint of its
// parent's name plus one (0 when it has none) shifted left by one, the
// low bit saying whether the row is young, and when it has a parent, the
// varint of the parent row's index less the row's own (within the
// Result). Raw rows are numbered as first seen, so a fleet's common rows
// take one or two bytes.
func (c *cmdRows) appendRows(dst []byte, names []int32) []byte {
	for i, raw := range c.raws {
		dst = binary.AppendUvarint(dst, uint64(raw))
		if c.sizes != nil {
			dst = binary.AppendUvarint(dst, uint64(c.rowSizes[i]))
		}
		if !c.parents {
			continue
		}
		var v uint64
		if names != nil && names[i] >= 0 {
			v = uint64(names[i]+1) << 1
		}
		if c.youngs[i] {
			v |= 1
		}
		dst = binary.AppendUvarint(dst, v)
		if v>>1 != 0 {
			dst = binary.AppendVarint(dst, int64(c.parentRow[i])-int64(i))
		}
	}
	return dst
}

// drop notes a Result of stream host h collected at at as dropped.
func (c *cmdRows) drop(h int, at time.Time) {
	if c.dropped == nil {
		c.dropped = map[int32][]time.Time{}
	}
	c.dropped[int32(h)] = append(c.dropped[int32(h)], at)
}

// isYoung reports whether host h's feature at index i of perHost[h] is
// a process caught running (see young).
func (c *cmdRows) isYoung(h, i int) bool {
	if c.young == nil {
		return false
	}
	_, ok := slices.BinarySearch(c.young[h], int32(i))
	return ok
}

// transientAge is how long before its collection a process may have
// started and still be taken as caught running, in seconds: a job (or a
// session) whose presence depends on when the collection ran, not on
// what the host is. A job seen on at most ρ of the hosts that runs at
// most daily runs at most ρ of the time, ρ·24 h (14.4 minutes); daemons
// run for hours or days, and so do the implants an investigation finds.
func (p params) transientAge() float64 { return p.rho * 24 * 60 * 60 }

// young reports whether a process started (start_time, seconds since the
// epoch) less than transientAge before its collection at at. A missing
// or unreadable start time is not young.
func (p params) young(start string, at time.Time) bool {
	if start == "" || at.IsZero() {
		return false
	}
	st, err := strconv.ParseInt(start, 10, 64)
	if err != nil || st <= 0 {
		return false
	}
	age := at.Unix() - st
	return age >= 0 && float64(age) < p.transientAge()
}

// parentNamesOf returns, for each row of one Result, the interned name of
// its parent process: the name of the row of the same Result whose pid is
// the row's parent (its index in c.parentRow); -1 when the parent is not
// among the rows, or is 0. c.pids holds the pid, name and parent of each
// row (see add).
// nil when the command has no parents (see cmdRows.parents). A parent not
// found gives no value at all, rather than a value of its own, so that a
// collector whose parent pids do not match its pids (a random parent)
// shows no parent anywhere, never a rare one by coincidence.
func (c *cmdRows) parentNamesOf(rows []collect.Row) []int32 {
	if !c.parents || len(rows) == 0 {
		return nil
	}
	if c.byPid == nil {
		c.byPid = make(map[string]int32, len(rows))
	}
	byPid := c.byPid
	clear(byPid)
	for i := range rows {
		pid := c.pids[3*i]
		if _, dup := byPid[pid]; !dup && pid != "" {
			byPid[pid] = int32(i)
		}
	}
	out := slices.Grow(c.names[:0], len(rows))[:len(rows)]
	c.names = out
	c.parentRow = slices.Grow(c.parentRow[:0], len(rows))[:len(rows)]
	for i := range rows {
		out[i] = -1
		pid, parent := c.pids[3*i], c.pids[3*i+2]
		j, ok := byPid[parent]
		if !ok || parent == "0" || parent == pid {
			continue
		}
		c.parentRow[i] = j
		name := c.pids[3*j+1]
		if i > 0 && name == c.lastName {
			out[i] = c.lastID
			continue
		}
		id, ok := c.parentID[name]
		if !ok {
			id = int32(len(c.parentNames))
			c.parentID[name] = id
			c.parentNames = append(c.parentNames, name)
		}
		out[i], c.lastName, c.lastID = id, name, id
	}
	return out
}

// finish renumbers the hosts and the features: host h (instance ID
// order) is stream host oldOf[h]; features are numbered in the order the
// hosts, in that order, first have them, so that neither the order of the
// Results nor their batches matter. Each host's features become sorted
// and unique, each with the raw row it was first seen as, and the
// distinct parent names of its rows.
func (c *cmdRows) finish(oldOf []int32) {
	n := len(oldOf)
	c.perHost = make([][]int32, n)
	c.errs = map[int][]string{}
	c.ok = make([]bool, n)
	if len(c.parentNames) > 0 {
		c.parent = make([][]featParent, n)
	}
	if c.parents {
		c.boot = make([]int64, n)
		for h, s := range oldOf {
			if int(s) < len(c.started) {
				c.boot[h] = c.started[s]
			}
		}
	}
	renum := make([]int32, len(c.feats))
	for i := range renum {
		renum[i] = -1
	}
	feats := make([]cfeat, 0, len(c.feats))
	featFirst := make([]int32, 0, len(c.feats))
	// Equal lists of hosts' features, and of their parents, are kept once.
	var feats1 sharer[int32]
	var pars sharer[featParent]
	for h, s := range oldOf {
		if int(s) >= len(c.seen) {
			continue
		}
		if e := c.serrs[s]; len(e) > 0 {
			c.errs[h] = e
		}
		c.ok[h] = c.seen[s] != nil
		if len(c.seen[s]) == 0 {
			continue
		}
		hf := c.hostRows(int(s))
		if c.sizes != nil {
			c.sizes.host(int32(h), hf, c.feats, c.p.minority(n))
		}
		for i := range hf {
			f := &hf[i].feat
			if renum[*f] < 0 {
				renum[*f] = int32(len(feats))
				feats = append(feats, c.feats[*f])
				featFirst = append(featFirst, hf[i].raw)
			}
			*f = renum[*f]
		}
		for i := range hf {
			if pf := &hf[i].pfeat; *pf >= 0 {
				*pf = renum[*pf]
			}
		}
		slices.SortStableFunc(hf, func(x, y hostFeat) int { return cmp.Compare(x.feat, y.feat) })
		par := c.parScratch[:0]
		if c.parent != nil {
			k := int32(-1)
			for i, x := range hf {
				if i == 0 || x.feat != hf[i-1].feat {
					k++
				}
				if x.parent >= 0 {
					par = append(par, featParent{k, x.parent, x.pfeat})
				}
			}
			slices.SortFunc(par, func(a, b featParent) int {
				return cmp.Or(cmp.Compare(a.i, b.i), cmp.Compare(a.p, b.p), cmp.Compare(a.pf, b.pf))
			})
			par = slices.Compact(par)
		}
		// A feature is young on a host when every row of it there is.
		for i := len(hf) - 1; i > 0; i-- {
			if hf[i].feat == hf[i-1].feat && !hf[i].young {
				hf[i-1].young = false
			}
		}
		hf = slices.CompactFunc(hf, func(x, y hostFeat) bool { return x.feat == y.feat })
		fs := slices.Grow(c.fsScratch[:0], len(hf))[:len(hf)]
		young, other := c.youngScratch[:0], c.otherScratch
		for i, x := range hf {
			fs[i] = x.feat
			if x.raw != featFirst[x.feat] {
				other = append(other, rawAt{int32(h), int32(i), x.raw})
			}
			if x.young {
				young = append(young, int32(i))
			}
		}
		// What is kept is of its exact size (the scratch slices grow by
		// doubling): a fleet's hosts keep millions of these.
		c.perHost[h] = feats1.share(fs)
		if len(young) > 0 {
			if c.young == nil {
				c.young = make([][]int32, n)
			}
			c.young[h] = exact(young)
		}
		if c.parent != nil {
			c.parent[h] = pars.share(par)
		}
		c.parScratch, c.youngScratch, c.otherScratch, c.fsScratch = par, young, other, fs
		c.seen[s] = nil
	}
	c.feats, c.featFirst, c.firstOther = feats, slices.Clip(featFirst), exact(c.otherScratch)
	if c.sizes != nil {
		c.sizes.done(c.p.minority(n))
	}
	c.hf, c.raws, c.youngs, c.rowSizes, c.enc, c.parScratch, c.youngScratch, c.otherScratch, c.fsScratch = nil, nil, nil, nil, nil, nil, nil, nil, nil
	c.seen, c.serrs, c.raw, c.rawFeat, c.fine, c.parentID, c.byPid, c.names, c.pids, c.parentRow = nil, nil, nil, nil, nil, nil, nil, nil, nil, nil
}

// hostRows returns the rows of stream host s (see appendRows) as
// hostFeats (in c.hf, reused), their features and parents' features from
// their raw rows.
func (c *cmdRows) hostRows(s int) []hostFeat {
	hf := c.hf[:0]
	b := c.seen[s]
	uv := func() uint64 {
		n, w := binary.Uvarint(b)
		b = b[w:]
		return n
	}
	for len(b) > 0 {
		raw := int32(uv())
		x := hostFeat{feat: c.rawFeat[raw], raw: raw, parent: -1, pfeat: -1}
		if c.sizes != nil {
			x.size = int32(uv())
		}
		if c.parents {
			v := uv()
			x.young = v&1 != 0
			if p := int32(v >> 1); p != 0 {
				d, w := binary.Varint(b)
				b = b[w:]
				// The parent's index, resolved below (it may come later).
				x.parent, x.pfeat = p-1, int32(int64(len(hf))+d)
			}
		}
		hf = append(hf, x)
	}
	if c.parents {
		for i := range hf {
			if x := &hf[i]; x.parent >= 0 {
				x.pfeat = hf[x.pfeat].feat
			}
		}
	}
	c.hf = hf
	return hf
}

// duplicates returns a Skip for each host, in instance ID order (host h
// is stream host oldOf[h], named ids[h]), of which Results of the command
// were dropped as duplicates, and the number of hosts whose Results
// collected at the same time were merged. It is the last to need the
// Results' times: it drops them.
func (c *cmdRows) duplicates(oldOf []int32, ids []string) (skips []Skip, merged int) {
	defer func() { c.at, c.sameAt, c.dropped = nil, nil, nil }()
	for i, s := range oldOf {
		h := int(s)
		if h >= len(c.sameAt) {
			continue
		}
		if c.sameAt[h] > 1 {
			merged++
		}
		d := c.dropped[s]
		if len(d) == 0 {
			continue
		}
		slices.SortFunc(d, func(a, b time.Time) int { return a.Compare(b) })
		var at []string
		for _, t := range d {
			at = append(at, t.UTC().Format(time.RFC3339Nano))
		}
		skips = append(skips, Skip{
			Source: cutText(fmt.Sprintf("instance %s, command %s: %d result(s) collected at %s", ids[i], displayID(c.id), len(d), strings.Join(at, ", "))),
			Reason: fmt.Sprintf("dropped as duplicates of the same instance and command; kept the one collected later, at %s",
				c.at[h].UTC().Format(time.RFC3339Nano)),
		})
	}
	return skips, merged
}
