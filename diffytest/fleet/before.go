package fleet

import (
	"maps"
	"slices"

	"github.com/diffy-dfir/diffy/collect"
)

// RowsBefore returns the host's rows as they were before its compromise:
// its planted rows taken out and the genuine rows they took the place of
// (Planted.Replaced) put back, by command ID. A clean host's rows are its
// Rows. The rows are shared with the fleet: treat them as read-only.
//
// A collection of every host's RowsBefore is the group as a baseline taken
// before the incident would have seen it: see the fleet baseline of
// package analyze.
func (h *Host) RowsBefore() map[string][]collect.Row {
	if len(h.Planted) == 0 {
		return h.Rows
	}
	out := make(map[string][]collect.Row, len(h.Rows))
	for cmd, rows := range h.Rows {
		// Each planted row takes out one row equal to it: a planted row
		// may equal a genuine one of the host in every column.
		taken := make([]bool, len(h.Planted))
		kept := make([]collect.Row, 0, len(rows))
		for _, row := range rows {
			i := slices.IndexFunc(h.Planted, func(p Planted) bool { return p.CommandID == cmd && maps.Equal(p.Row, row) })
			for i >= 0 && taken[i] {
				j := slices.IndexFunc(h.Planted[i+1:], func(p Planted) bool { return p.CommandID == cmd && maps.Equal(p.Row, row) })
				if j < 0 {
					i = -1
					break
				}
				i += 1 + j
			}
			if i >= 0 {
				taken[i] = true
				continue
			}
			kept = append(kept, row)
		}
		for _, p := range h.Planted {
			if p.CommandID == cmd && p.Replaced != nil {
				kept = append(kept, p.Replaced)
			}
		}
		out[cmd] = kept
	}
	return out
}
