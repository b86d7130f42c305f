package analyze

import (
	"cmp"
	"context"
	"encoding/binary"
	"fmt"
	"hash/maphash"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/diffy-dfir/diffy/collect"
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
	// normalize: rows go through NormalizeRow before they become features
	// (tokens replaced); without it the feature is the stripped row.
	normalize bool
	// parents: rows that have pid, parent and name columns, parent being
	// volatile, get the name of their parent process (see parentNames).
	parents bool
	// running: the command's rows are of something running: they carry a
	// pid (processes, listening sockets).
	running bool
	buf     []byte
	norm    []byte
	// raw maps the hash of a row's volatile-stripped key to its raw row
	// number; rawFeat gives the feature of each raw row, and rawKey its
	// volatile-stripped key when that differs from the feature's
	// normalized key ("" when it is the same). fine maps the hash of the
	// normalized key to the feature.
	raw     map[uint64]int32
	rawFeat []int32
	rawKey  []string
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
	lastName  string
	lastID    int32
	// Per stream host number (first sight): the (feature, raw row, parent)
	// of each row of the kept Results, in the order added; the errors of
	// its failed kept Results; the collected_at of the kept Results, how
	// many Results share it, and the collected_at of those dropped.
	seen    [][]hostFeat
	serrs   [][]string
	at      []time.Time
	sameAt  []int32
	dropped [][]time.Time
	// Set by finish, by host number (instance ID order): each host's
	// features, sorted, unique; first the raw row each was first seen as;
	// parent the parent names of its features (one feature, several rows
	// with parents of their own: a master process and its workers), when
	// the command has parents;
	// errs the errors; ok whether a Result succeeded.
	perHost [][]int32
	first   [][]int32
	parent  [][]featParent
	// young lists, per host, the indexes in perHost[h] of its features
	// whose rows are all processes caught running (see young); nil when
	// none is.
	young [][]int32
	errs  [][]string
	ok    []bool
}

// hostFeat is one row of a host: its feature, raw row and parent name
// (-1 when it has none), and whether it is a process caught running
// (see young).
type hostFeat struct {
	feat, raw, parent int32
	pfeat             int32 // the parent's feature, -1 when none
	young             bool
}

// featParent is one parent of the feature at index i of a host's sorted
// features: the parent's name p and its feature pf (local to the
// command).
type featParent struct{ i, p, pf int32 }

func newCmdRows(id string, vol Volatile, normalize, parents bool) *cmdRows {
	c := &cmdRows{id: id, keyer: vol.Keyer(id), normalize: normalize,
		raw: map[uint64]int32{}, fine: map[uint64]int32{}, parentID: map[string]int32{}}
	cols := vol.Columns(id)
	c.parents = parents && slices.Contains(cols, "parent") && !slices.Contains(cols, "name")
	if c.parents {
		c.keyer.captureColumns("pid", "name", "parent", "start_time")
	}
	return c
}

// feature returns the feature and raw row number of row, whose parent
// process is named parent ("" when unknown), interning them when new.
func (c *cmdRows) feature(row collect.Row) (feat, raw int32) {
	c.buf = c.keyer.AppendKey(c.buf[:0], row)
	rh := maphash.Bytes(hashSeed, c.buf)
	if r, ok := c.raw[rh]; ok {
		return c.rawFeat[r], r
	}
	c.norm = c.norm[:0]
	for col, val := range keyPairs(c.buf) {
		if c.normalize {
			val = normalizeColumn(c.id, col, val)
		}
		c.norm = appendPair(c.norm, col, val)
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
	rk := ""
	if string(c.buf) != c.feats[f].key {
		rk = string(c.buf)
	}
	c.rawKey = append(c.rawKey, rk)
	return f, raw
}

// row returns the volatile-stripped row that host h (instance ID order)
// first had as local feature lf, or the normalized row when the host
// does not have it.
func (c *cmdRows) row(h int, lf int32) collect.Row {
	if i, ok := slices.BinarySearch(c.perHost[h], lf); ok {
		if k := c.rawKey[c.first[h][i]]; k != "" {
			return rowOfKey(k)
		}
	}
	return rowOfKey(c.feats[lf].key)
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
	c.seen = append(c.seen, make([][]hostFeat, k)...)
	c.serrs = append(c.serrs, make([][]string, k)...)
	c.at = append(c.at, make([]time.Time, k)...)
	c.sameAt = append(c.sameAt, make([]int32, k)...)
	c.dropped = append(c.dropped, make([][]time.Time, k)...)
}

// add adds the Results rs[i] for i in idx, of hosts hosts[i] (stream
// numbers), to the command. Of several Results of one host, the one
// collected last is kept and the others dropped (and reported, see
// duplicates); Results collected at the same time are merged, as neither
// is later. The outcome does not depend on the order of the Results.
func (c *cmdRows) add(ctx context.Context, rs []collect.Result, idx []int, hosts []int32) error {
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
			c.dropped[h] = append(c.dropped[h], r.CollectedAt)
			continue
		case r.CollectedAt.After(c.at[h]):
			for range c.sameAt[h] {
				c.dropped[h] = append(c.dropped[h], c.at[h])
			}
			c.seen[h], c.serrs[h], c.sameAt[h] = nil, nil, 0
			c.at[h] = r.CollectedAt
		}
		c.sameAt[h]++
		if !r.OK() {
			c.serrs[h] = append(c.serrs[h], resultError(r))
			continue
		}
		start := len(c.seen[h])
		c.pids = c.pids[:0]
		if !c.running && len(r.Rows) > 0 {
			_, c.running = r.Rows[0]["pid"]
		}
		for _, row := range r.Rows {
			f, raw := c.feature(row)
			c.seen[h] = append(c.seen[h], hostFeat{feat: f, raw: raw, parent: -1, pfeat: -1})
			if c.parents {
				c.pids = append(c.pids, c.keyer.captured[:3]...)
				if young(c.keyer.captured[3], r.CollectedAt) {
					c.seen[h][len(c.seen[h])-1].young = true
				}
			}
		}
		if names := c.parentNamesOf(r.Rows); names != nil {
			for i, p := range names {
				if p >= 0 {
					hf := &c.seen[h][start+i]
					hf.parent, hf.pfeat = p, c.seen[h][start+int(c.parentRow[i])].feat
				}
			}
		}
		if c.seen[h] == nil {
			c.seen[h] = []hostFeat{} // a successful Result, even of no row
		}
	}
	return nil
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
// started and still be taken as caught running: a job (or a session)
// whose presence depends on when the collection ran, not on what the host
// is. A job seen on at most ρ of the hosts that runs at most daily runs
// at most ρ of the time, ρ·24 h (14.4 minutes); daemons run for hours or
// days, and so do the implants an investigation finds.
const transientAge = rareShare * 24 * 60 * 60 // seconds

// young reports whether a process started (start_time, seconds since the
// epoch) less than transientAge before its collection at at. A missing
// or unreadable start time is not young.
func young(start string, at time.Time) bool {
	if start == "" || at.IsZero() {
		return false
	}
	st, err := strconv.ParseInt(start, 10, 64)
	if err != nil || st <= 0 {
		return false
	}
	age := at.Unix() - st
	return age >= 0 && float64(age) < transientAge
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
	c.first = make([][]int32, n)
	c.errs = make([][]string, n)
	c.ok = make([]bool, n)
	if len(c.parentNames) > 0 {
		c.parent = make([][]featParent, n)
	}
	renum := make([]int32, len(c.feats))
	for i := range renum {
		renum[i] = -1
	}
	feats := make([]cfeat, 0, len(c.feats))
	for h, s := range oldOf {
		if int(s) >= len(c.seen) {
			continue
		}
		c.errs[h] = c.serrs[s]
		hf := c.seen[s]
		c.ok[h] = hf != nil
		if len(hf) == 0 {
			continue
		}
		for i := range hf {
			f := &hf[i].feat
			if renum[*f] < 0 {
				renum[*f] = int32(len(feats))
				feats = append(feats, c.feats[*f])
			}
			*f = renum[*f]
		}
		for i := range hf {
			if pf := &hf[i].pfeat; *pf >= 0 {
				*pf = renum[*pf]
			}
		}
		slices.SortStableFunc(hf, func(x, y hostFeat) int { return cmp.Compare(x.feat, y.feat) })
		var par []featParent
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
		fs, first := make([]int32, len(hf)), make([]int32, len(hf))
		var young []int32
		for i, x := range hf {
			fs[i], first[i] = x.feat, x.raw
			if x.young {
				young = append(young, int32(i))
			}
		}
		c.perHost[h], c.first[h] = fs, first
		if young != nil {
			if c.young == nil {
				c.young = make([][]int32, n)
			}
			c.young[h] = young
		}
		if c.parent != nil {
			c.parent[h] = slices.Clip(par)
		}
		c.seen[s] = nil
	}
	c.feats = feats
	c.seen, c.serrs, c.raw, c.rawFeat, c.fine, c.parentID, c.byPid, c.names, c.pids, c.parentRow = nil, nil, nil, nil, nil, nil, nil, nil, nil, nil
}

// duplicates returns a Skip for each host, in instance ID order (host h
// is stream host oldOf[h], named ids[h]), of which Results of the command
// were dropped as duplicates, and the number of hosts whose Results
// collected at the same time were merged.
func (c *cmdRows) duplicates(oldOf []int32, ids []string) (skips []Skip, merged int) {
	for i, s := range oldOf {
		h := int(s)
		if h >= len(c.dropped) {
			continue
		}
		if c.sameAt[h] > 1 {
			merged++
		}
		d := c.dropped[h]
		if len(d) == 0 {
			continue
		}
		slices.SortFunc(d, func(a, b time.Time) int { return a.Compare(b) })
		var at []string
		for _, t := range d {
			at = append(at, t.UTC().Format(time.RFC3339Nano))
		}
		skips = append(skips, Skip{
			Source: fmt.Sprintf("instance %s, command %s: %d result(s) collected at %s", ids[i], displayID(c.id), len(d), strings.Join(at, ", ")),
			Reason: fmt.Sprintf("dropped as duplicates of the same instance and command; kept the one collected later, at %s",
				c.at[h].UTC().Format(time.RFC3339Nano)),
		})
	}
	return skips, merged
}
