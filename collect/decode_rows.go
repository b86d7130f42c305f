package collect

import (
	"bytes"
	"hash/maphash"

	"github.com/go-json-experiment/json/jsontext"
)

// readRows reads the array of rows that dec is at. Past d.maxRows rows
// (all of them, once the input is over its budget) it only checks the
// rest, and says so with a *rowsCapError if that is all that is wrong.
// err is an error of dec; bad says why the array, valid JSON, is not an
// array of rows (it has been read whole). An array of no rows is a non-nil
// empty slice.
func (d *decoder) readRows(dec *jsontext.Decoder) (_ []Row, bad, err error) {
	if _, err := dec.ReadToken(); err != nil {
		return nil, nil, err
	}
	maxRows := d.maxRows
	if d.over {
		maxRows = 0
	}
	rows := d.rows[:0]
	defer func() {
		clear(rows)
		d.rows = rows[:0]
	}()
	n := 0
	for dec.PeekKind() != ']' {
		n++
		if k := dec.PeekKind(); k != '{' || bad != nil {
			if bad == nil {
				if k == 'n' {
					bad = invalid("row %d is null, not an object", n)
				} else {
					bad = invalid("row %d is %s, not an object", n, kindName(byte(k)))
				}
			}
			if err := dec.SkipValue(); err != nil {
				return nil, nil, err
			}
			continue
		}
		v, err := dec.ReadValue()
		if err != nil {
			return nil, nil, err
		}
		if n > maxRows {
			if err := d.readRow(v, n); err != nil { // only checked
				bad = err
			}
			continue
		}
		row, err := d.rowOf(v, n)
		if err != nil {
			bad = err
			continue
		}
		if len(rows) == cap(rows) {
			// Twice as large: append grows a large slice by a quarter,
			// which would allocate about five times its final size.
			grown := make([]Row, len(rows), max(2*cap(rows), 64))
			copy(grown, rows)
			rows = grown
		}
		rows = append(rows, row)
	}
	if _, err := dec.ReadToken(); err != nil {
		return nil, nil, err
	}
	switch {
	case bad != nil:
		return nil, bad, nil
	case n > maxRows:
		return nil, &rowsCapError{rows: n, cap: maxRows}, nil
	}
	return append(make([]Row, 0, len(rows)), rows...), nil, nil
}

// rowOf returns the row whose object (checked by the grammar) is v, the
// n-th of its output. The same text is the same row: a row whose text the
// decoder has seen lately (see rawRows) is found by it, without reading
// it again.
func (d *decoder) rowOf(v []byte, n int) (Row, error) {
	if d.pool == nil {
		// Rows shared with no one: ParseRows and UnmarshalJSON give
		// their caller rows of its own.
		if err := d.readRow(v, n); err != nil {
			return nil, err
		}
		row, _ := d.intern()
		return row, nil
	}
	if d.raw.pool != d.pool {
		d.pool.init()
		d.raw = rawRows{pool: d.pool}
	}
	sum := maphash.Bytes(d.pool.seed, v)
	if row, ok := d.raw.get(sum, v); ok {
		return row, nil
	}
	if err := d.readRow(v, n); err != nil {
		return nil, err
	}
	row, added := d.intern()
	d.budget -= added
	d.raw.put(sum, v, row)
	return row, nil
}

// rawRows maps the JSON text of rows a decoder read lately to the rows of
// its pool they are: a fleet's hosts print their common rows the same
// way, byte for byte, and finding a row by its text costs a fraction of
// reading it. It keeps at most rawRowsLimit texts of each of two
// generations, as a RowPool with a Limit does.
type rawRows struct {
	pool     *RowPool // whose rows these are
	cur, old map[uint64]rawRow
}

type rawRow struct {
	text string
	row  Row
}

// rawRowsLimit is the most texts of a generation of rawRows: with two
// generations, up to about 1 MiB for rows of 128 bytes. The texts found
// again are those of the rows hosts have in common, printed the same way
// (a host's own rows differ in a pid or an address); each host's rows
// pass through, so a generation holds the last 4096/175 = 23 hosts' rows
// of a simulated xlarge fleet: a common row, on more than one host in 23,
// is found by its text; a rarer one is read and found in the RowPool,
// which costs time, not memory. 16384 cost 2 to 4 MiB per decoder more,
// for no CPU the benchmarks could see (bench/README.md, issue 14).
const rawRowsLimit = 1 << 12

func (c *rawRows) get(sum uint64, text []byte) (Row, bool) {
	if e, ok := c.cur[sum]; ok && e.text == string(text) {
		return e.row, true
	}
	if e, ok := c.old[sum]; ok && e.text == string(text) {
		c.put(sum, text, e.row)
		return e.row, true
	}
	return nil, false
}

func (c *rawRows) put(sum uint64, text []byte, row Row) {
	if c.cur == nil || len(c.cur) >= rawRowsLimit {
		c.old, c.cur = c.cur, make(map[uint64]rawRow, rawRowsLimit/4)
	}
	c.cur[sum] = rawRow{string(text), row}
}

// readRow reads the row object v (checked by the grammar), the n-th of its
// output, into d.row: its values as they are for strings, their JSON text
// for numbers and booleans, "" for null; a nested object or array is an
// error.
func (d *decoder) readRow(v []byte, n int) error {
	s := &d.row
	s.reset()
	i := skipSpace(v, 1)
	if v[i] == '}' {
		return nil
	}
	for {
		start := len(s.buf)
		nameEnd, plain := stringEnd(v, i)
		s.buf = appendText(s.buf, v[i:nameEnd], plain)
		mid := len(s.buf)
		s.buf = append(s.buf, 0)
		i = skipSpace(v, skipSpace(v, nameEnd)+1) // the colon
		switch c := v[i]; c {
		case '"':
			end, plain := stringEnd(v, i)
			s.buf = appendText(s.buf, v[i:end], plain)
			i = end
		case 't':
			s.buf = append(s.buf, "true"...)
			i += 4
		case 'f':
			s.buf = append(s.buf, "false"...)
			i += 5
		case 'n': // null is ""
			i += 4
		case '{', '[':
			return invalid("row %d column %q holds a nested value (%s), not a scalar", n, s.buf[start:mid], kindName(c))
		default: // a number, as written
			end := numberEnd(v, i)
			s.buf = append(s.buf, v[i:end]...)
			i = end
		}
		s.cols = append(s.cols, scratchCol{start, mid, len(s.buf)})
		i = skipSpace(v, i)
		if v[i] == '}' {
			return nil
		}
		i = skipSpace(v, i+1) // the comma
	}
}

// intern returns the Row of d.row, shared through d.pool, and the bytes
// it added to the pool.
func (d *decoder) intern() (Row, int64) {
	s := &d.row
	if !d.distinctNames() {
		s.dedupe()
	}
	if d.pool == nil {
		e, added := s.build()
		return e.row, added
	}
	d.pool.init()
	return d.pool.intern(s, s.sum(d.pool.seed))
}

// distinctNames reports whether no name of d.row is there twice. The rows
// of one output nearly always have the same names in the same order, so
// it first compares them with the last row's.
func (d *decoder) distinctNames() bool {
	s, last := &d.row, &d.dup
	if len(s.cols) == len(last.cols) {
		same := true
		for i, c := range s.cols {
			if !bytes.Equal(s.name(c), last.name(last.cols[i])) {
				same = false
				break
			}
		}
		if same {
			return true
		}
	}
	if len(s.cols) > 16 {
		seen := make(map[string]bool, len(s.cols))
		for _, c := range s.cols {
			if seen[string(s.name(c))] {
				return false
			}
			seen[string(s.name(c))] = true
		}
	} else {
		for i, c := range s.cols {
			for _, e := range s.cols[:i] {
				if bytes.Equal(s.name(c), s.name(e)) {
					return false
				}
			}
		}
	}
	last.reset()
	for _, c := range s.cols {
		addCol(last, s.name(c), nil)
	}
	return true
}

// dedupe drops the columns whose name comes again later: the last value
// of a name counts, as it does in a map.
func (s *rowScratch) dedupe() {
	last := make(map[string]int, len(s.cols))
	for i, c := range s.cols {
		last[string(s.name(c))] = i
	}
	keep := s.cols[:0]
	for i, c := range s.cols {
		if last[string(s.name(c))] == i {
			keep = append(keep, c)
		}
	}
	s.cols = keep
}
