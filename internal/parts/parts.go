// Package parts keeps the checkpoint of a collection in a store: the
// Results of each batch, stored as a persist.KindPartial document as soon as
// the batch is collected, under the key "<store key>.<incident>.<batch
// number, 5 digits>". A collection cut short loses at most one batch, and a
// collection run again with the same incident resumes from its parts
// (diffy.Diffy.Collect, diffy.Diffy.Partial).
package parts

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"

	"github.com/diffy-dfir/diffy/collect"
	"github.com/diffy-dfir/diffy/diffyerr"
	"github.com/diffy-dfir/diffy/payload"
	"github.com/diffy-dfir/diffy/persist"
)

// MaxIncident is the longest incident ID.
const MaxIncident = 64

// ValidIncident checks an incident ID: 1 to 64 ASCII letters, digits, '_'
// or '-'. It names parts in the store, so it holds no '.'. The error
// matches diffyerr.ErrInvalidInput.
func ValidIncident(id string) error {
	if id == "" || len(id) > MaxIncident {
		return fmt.Errorf("incident ID %q: must be 1 to %d characters: %w", id, MaxIncident, diffyerr.ErrInvalidInput)
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return fmt.Errorf("incident ID %q: character %q is not an ASCII letter, digit, '_' or '-': %w", id, c, diffyerr.ErrInvalidInput)
		}
	}
	return nil
}

// Key returns the store key of batch n of incident's collection of the
// store key sk.
func Key(sk, incident string, n int) string {
	return fmt.Sprintf("%s.%s.%05d", sk, incident, n)
}

// ParseKey splits a partial key into store key, incident and batch
// number; ok is false for a key that is not one.
func ParseKey(k string) (sk, incident string, n int, ok bool) {
	i := strings.LastIndexByte(k, '.')
	if i < 0 {
		return "", "", 0, false
	}
	n, err := strconv.Atoi(k[i+1:])
	if err != nil || n < 0 {
		return "", "", 0, false
	}
	j := strings.LastIndexByte(k[:i], '.')
	if j <= 0 {
		return "", "", 0, false
	}
	incident = k[j+1 : i]
	if ValidIncident(incident) != nil {
		return "", "", 0, false
	}
	return k[:j], incident, n, true
}

// Load returns the Results stored in st as parts of incident's collection
// of sk, in batch order, and the number of the next batch. A part that
// cannot be read is logged and left out, unless ctx is done. The error is
// the store's own, unwrapped.
func Load(ctx context.Context, st persist.Store, log *slog.Logger, sk, incident string) ([]collect.Result, int, error) {
	keys, err := st.List(ctx, persist.KindPartial)
	if err != nil {
		return nil, 0, err
	}
	type part struct {
		key string
		n   int
	}
	var parts []part
	for _, k := range keys {
		if s, inc, n, ok := ParseKey(k); ok && s == sk && inc == incident {
			parts = append(parts, part{k, n})
		}
	}
	slices.SortFunc(parts, func(a, b part) int { return cmp.Compare(a.n, b.n) })
	var rs []collect.Result
	next := 0
	for _, p := range parts {
		next = max(next, p.n+1)
		doc, err := st.Get(ctx, persist.KindPartial, p.key)
		if err != nil {
			if ctx.Err() != nil {
				return nil, 0, err
			}
			log.Warn("cannot read a part of an interrupted collection", "part", p.key, "err", err)
			continue
		}
		var batch []collect.Result
		if err := json.Unmarshal(doc, &batch); err != nil {
			log.Warn("a part of an interrupted collection is not a JSON array of Results", "part", p.key, "err", err)
			continue
		}
		rs = append(rs, batch...)
	}
	return rs, next, nil
}

// Drop deletes the parts of incident's collection of sk, when st can
// delete (persist.Deleter). Failures are logged: the whole collection is
// stored by then, and leftover parts only cost space.
func Drop(ctx context.Context, st persist.Store, log *slog.Logger, sk, incident string) {
	del, ok := st.(persist.Deleter)
	if !ok {
		return
	}
	keys, err := st.List(ctx, persist.KindPartial)
	if err != nil {
		log.Warn("cannot list the parts of a finished collection", "err", err)
		return
	}
	for _, k := range keys {
		if s, inc, _, ok := ParseKey(k); ok && s == sk && inc == incident {
			if err := del.Delete(ctx, persist.KindPartial, k); err != nil && !errors.Is(err, diffyerr.ErrNotFound) {
				log.Warn("cannot delete a part of a finished collection", "part", k, "err", err)
			}
		}
	}
}

// Complete returns the instances of rs that have a Result other than
// Cancelled for every command: those a resumed run does not collect again.
func Complete(rs []collect.Result, cmds []payload.Command) map[string]bool {
	got := map[string]map[string]bool{}
	for _, r := range rs {
		if r.Status == collect.StatusCancelled || !r.Status.Done() {
			continue
		}
		if got[r.InstanceID] == nil {
			got[r.InstanceID] = map[string]bool{}
		}
		got[r.InstanceID][r.CommandID] = true
	}
	out := make(map[string]bool, len(got))
	for id, cs := range got {
		all := true
		for _, c := range cmds {
			if !cs[c.ID] {
				all = false
				break
			}
		}
		if all {
			out[id] = true
		}
	}
	return out
}

// Latest keeps one Result per (instance, command) of rs, which are in
// batch order: the last one, unless it is Cancelled and an earlier one is
// not.
func Latest(rs []collect.Result) []collect.Result {
	type pair struct{ inst, cmd string }
	at := make(map[pair]int, len(rs))
	var out []collect.Result
	for _, r := range rs {
		p := pair{r.InstanceID, r.CommandID}
		i, seen := at[p]
		switch {
		case !seen:
			at[p] = len(out)
			out = append(out, r)
		case r.Status != collect.StatusCancelled || out[i].Status == collect.StatusCancelled:
			out[i] = r
		}
	}
	return out
}
