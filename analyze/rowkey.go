package analyze

import (
	"encoding/binary"
	"slices"

	"github.com/diffy-dfir/diffy/collect"
)

// RowKey returns the canonical key of row: its columns sorted by name, each
// written as the length of the name (uvarint), the name, the length of the
// value (uvarint) and the value. Because every part is length-prefixed, the
// encoding is injective: two rows have the same key exactly when they have
// the same columns with the same values (an empty value is not a missing
// column). The key is binary, not for display; use it for set membership,
// hashing and as a stable sort order. An empty or nil row has the key "".
func RowKey(row collect.Row) string {
	return string(appendKey(nil, row, nil, nil))
}

// AppendRowKey appends RowKey(row) to dst and returns the extended slice,
// leaving out the columns named in drop, as if they were not in row. With a
// reused dst it allocates nothing for rows of up to 32 columns, so a caller
// can look the key up as m[string(key)] without a copy.
func AppendRowKey(dst []byte, row collect.Row, drop []string) []byte {
	return appendKey(dst, row, drop, nil)
}

// appendKey appends the key of row without the columns in dropA or dropB.
func appendKey(dst []byte, row collect.Row, dropA, dropB []string) []byte {
	var stack [32]string
	cols := stack[:0]
	for c := range row {
		if !slices.Contains(dropA, c) && !slices.Contains(dropB, c) {
			cols = append(cols, c)
		}
	}
	slices.Sort(cols)
	for _, c := range cols {
		v := row[c]
		dst = binary.AppendUvarint(dst, uint64(len(c)))
		dst = append(dst, c...)
		dst = binary.AppendUvarint(dst, uint64(len(v)))
		dst = append(dst, v...)
	}
	return dst
}

// Keyer keys the rows of one command without their volatile columns, as
// Volatile.AppendKey does, faster: it remembers the columns of the last
// row (the rows of one command nearly always share them), and keys a row
// with the same columns by looking each one up in sorted order, with no
// sorting and no allocation. A Keyer is not safe for concurrent use; make
// one per goroutine with Volatile.Keyer.
type Keyer struct {
	dropAny, dropCmd []string
	// cols are the sorted columns of the last row keyed; keep[i] says
	// whether cols[i] is part of the key (not volatile).
	cols []string
	keep []bool
	// capture names columns whose values AppendKey keeps in captured
	// (by position in capture), for the caller; slot[i] is cols[i]'s
	// position in capture, -1 if none.
	capture  []string
	captured []string
	slot     []int
}

// captureColumns makes AppendKey keep the values of cols, in that order,
// in k.captured ("" for a column the row lacks): values the caller needs
// besides the key, looked up once.
func (k *Keyer) captureColumns(cols ...string) {
	k.capture = cols
	k.captured = make([]string, len(cols))
	k.cols = nil // recompute the slots with the next row
}

// Keyer returns a Keyer for the rows of commandID.
func (v Volatile) Keyer(commandID string) *Keyer {
	return &Keyer{dropAny: v[AnyCommand], dropCmd: v[commandID]}
}

// AppendKey appends the key of row (without its volatile columns) to dst
// and returns the extended slice. The key is the same as
// Volatile.AppendKey's for the Keyer's command.
func (k *Keyer) AppendKey(dst []byte, row collect.Row) []byte {
	if len(row) == len(k.cols) && len(row) > 0 {
		start := len(dst)
		same := true
		for i, c := range k.cols {
			v, ok := row[c]
			if !ok {
				same = false
				break
			}
			if k.slot != nil && k.slot[i] >= 0 {
				k.captured[k.slot[i]] = v
			}
			if k.keep[i] {
				dst = binary.AppendUvarint(dst, uint64(len(c)))
				dst = append(dst, c...)
				dst = binary.AppendUvarint(dst, uint64(len(v)))
				dst = append(dst, v...)
			}
		}
		if same {
			return dst
		}
		dst = dst[:start]
	}
	// A new set of columns: remember it, then key as usual.
	k.cols = k.cols[:0]
	for c := range row {
		k.cols = append(k.cols, c)
	}
	slices.Sort(k.cols)
	k.keep = k.keep[:0]
	for _, c := range k.cols {
		k.keep = append(k.keep, !slices.Contains(k.dropAny, c) && !slices.Contains(k.dropCmd, c))
	}
	if k.capture != nil {
		k.slot = k.slot[:0]
		for _, c := range k.cols {
			k.slot = append(k.slot, slices.Index(k.capture, c))
		}
		for i, c := range k.capture {
			k.captured[i] = row[c]
		}
	}
	return appendKey(dst, row, k.dropAny, k.dropCmd)
}
