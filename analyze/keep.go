package analyze

import (
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/diffy-dfir/diffy/internal/textcut"
)

// MaxValueBytes is the most bytes of one value a Finding keeps (in its
// Row, Template and Usual): 4,096, Linux's PATH_MAX, so every path a
// program can open is kept whole. A longer value (a command line a host
// made megabytes long) is kept as its first bytes, cut at a character,
// followed by a mark that says it was cut, its length and its SHA-256,
// and the Finding's Cut lists it. The analysis compares whole values:
// only the copy the report keeps is cut, so a report is at most about
// MaxValueBytes per column of the findings it lists, whatever a host
// prints.
const MaxValueBytes = 4096

// maxWhyBytes bounds a Finding's Why: the words quote at most two values
// (the host's and the usual one) and describe one other row, each of
// whose values is cut to MaxValueBytes when it is quoted from the row;
// what is longer still is cut as a value is.
const maxWhyBytes = 4 * MaxValueBytes

// Cut says that a value a Finding keeps was cut (see MaxValueBytes).
type Cut struct {
	// Field is the Finding's field holding the value: "row", "template",
	// "usual" or "why".
	Field string `json:"field"`
	// Column is the value's column, for the row and the template.
	Column string `json:"column,omitempty"`
	// Bytes is the length of the whole value.
	Bytes int `json:"bytes"`
	// SHA256 is the hex SHA-256 of the whole value.
	SHA256 string `json:"sha256"`
}

// cutValue returns v, or its first bytes (at most limit, at a character
// boundary) and the mark of a cut, with the Cut that says so.
func cutValue(v string, limit int, field, col string) (string, *Cut) {
	kept, sum, cut := textcut.Cut(v, limit)
	if !cut {
		return v, nil
	}
	return kept, &Cut{Field: field, Column: col, Bytes: len(v), SHA256: sum}
}

// cutText is s cut as a value is (see MaxValueBytes): what a Report
// quotes of a host's error or of a skipped input.
func cutText(s string) string {
	kept, _, _ := textcut.Cut(s, MaxValueBytes)
	return kept
}

// boundSkips returns skips with each Source and Reason cut by cutText,
// copied when one is cut: an input's name or problem may quote what a
// host sent (an instance ID, an error, a timestamp megabytes long).
func boundSkips(skips []Skip) []Skip {
	var out []Skip
	for i, s := range skips {
		src, why := cutText(s.Source), cutText(s.Reason)
		if len(src) == len(s.Source) && len(why) == len(s.Reason) {
			continue
		}
		if out == nil {
			out = slices.Clone(skips)
		}
		out[i] = Skip{Source: src, Reason: why}
	}
	if out == nil {
		return skips
	}
	return out
}

// keep bounds what f keeps (see MaxValueBytes): its row's, template's
// and usual values, and its Why, where the quoted values are replaced by
// their cut copies. Rows are shared between findings: a row with a long
// value is copied, never changed in place.
func (f *Finding) keep() {
	why := f.Why
	var quoted []string // old, new pairs for why
	cutRow := func(field string, row map[string]string) map[string]string {
		var out map[string]string
		for _, col := range slices.Sorted(maps.Keys(row)) { // Cut in column order: the same report each run
			v := row[col]
			kept, c := cutValue(v, MaxValueBytes, field, col)
			if c == nil {
				continue
			}
			if out == nil {
				out = maps.Clone(row)
			}
			out[col] = kept
			f.Cut = append(f.Cut, *c)
			quoted = append(quoted, strconv.Quote(v), strconv.Quote(kept))
		}
		if out == nil {
			return row
		}
		return out
	}
	f.Row = cutRow("row", f.Row)
	f.Template = cutRow("template", f.Template)
	if kept, c := cutValue(f.Usual, MaxValueBytes, "usual", f.Column); c != nil {
		quoted = append(quoted, strconv.Quote(f.Usual), strconv.Quote(kept))
		f.Usual = kept
		f.Cut = append(f.Cut, *c)
	}
	if len(why) <= maxWhyBytes {
		return
	}
	if len(quoted) > 0 {
		why = strings.NewReplacer(quoted...).Replace(why)
	}
	kept, c := cutValue(why, maxWhyBytes, "why", "")
	if c != nil { // Bytes and SHA256 of the words with the values cut
		f.Cut = append(f.Cut, *c)
	}
	f.Why = kept
}
