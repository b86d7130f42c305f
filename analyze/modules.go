package analyze

import (
	"strings"

	"github.com/diffy-dfir/diffy/payload"
)

// usedByAdded returns, for host h's kernel_modules row f whose verdict v
// says it deviates from the usual row of its module in used_by alone
// (the modules that hold a reference to it), the names its used_by adds
// to the usual row's, split into those the host lists as modules of its
// own and those it does not; ok is false for any other row.
//
// A module's used_by changes when, and only when, a module that depends
// on it is loaded or unloaded (docs/kernel-modules.md, fact 1): an added
// name the host lists is the trace of that module's row, which is judged
// itself, and does not decide; an added name the host does not list is
// the trace of a module hidden from /proc/modules (a rootkit that
// unlinked itself from the list keeps the references it took), and
// decides.
func usedByAdded(m *cmdModel, h int, f int32, v verdict) (listed, hidden []string, ok bool) {
	c := m.rows
	if c.id != payload.KernelModules || v.col != "used_by" || v.usual < 0 {
		return nil, nil, false
	}
	key, usual := c.feats[f].key, c.feats[v.usual].key
	for col, val := range keyPairs([]byte(key)) {
		if u, _ := keyValue(usual, col); col != "used_by" && u != val {
			return nil, nil, false
		}
	}
	mine, _ := keyValue(key, "used_by")
	theirs, _ := keyValue(usual, "used_by")
	before := holders(theirs)
	var names map[string]bool
	for _, name := range holders(mine) {
		if containsString(before, name) {
			continue
		}
		if names == nil {
			names = map[string]bool{}
			for _, g := range c.perHost[h] {
				if n, ok := keyValue(c.feats[g].key, "name"); ok {
					names[n] = true
				}
			}
		}
		if names[name] {
			listed = append(listed, name)
		} else {
			hidden = append(hidden, name)
		}
	}
	return listed, hidden, true
}

// holders splits a used_by value into module names: /proc/modules
// separates them by commas (with a trailing one) and writes "-" for none.
func holders(s string) []string {
	var out []string
	for _, name := range strings.Split(s, ",") {
		if name = strings.TrimSpace(name); name != "" && name != "-" {
			out = append(out, name)
		}
	}
	return out
}
