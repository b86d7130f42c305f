package persist

import (
	"context"
	"fmt"
	"strings"

	"github.com/diffy-dfir/diffy/diffyerr"
)

// Kind is the kind of a stored document. Each kind is its own namespace of
// keys.
type Kind string

// The kinds Diffy stores.
const (
	// KindBaseline: the Results collected from one clean instance of a key.
	KindBaseline Kind = "baseline"
	// KindCollection: the Results collected from every instance of a key.
	KindCollection Kind = "collection"
	// KindAnalysis: the analyze.Report of a key.
	KindAnalysis Kind = "analysis"
	// KindPartial: the parts of a collection, the Results of one batch
	// each, stored as soon as the batch is collected. diffy.Diffy.Collect
	// deletes them once the whole collection is stored (when the store
	// implements Deleter); parts left behind belong to an interrupted run
	// (see diffy.Diffy.Partial).
	KindPartial Kind = "partial"
)

// Store keeps JSON documents by (kind, key).
//
// Put writes doc atomically: a reader (or a crash) sees the old document or
// the new one, never a mix or a partial file, even with concurrent writers
// of the same key (the last writer wins). Get returns the document byte for
// byte as put, or an error matching diffyerr.ErrNotFound. List returns every
// key held for kind, sorted, or an empty list.
//
// Keys and kinds are checked with ValidKey: a key that is empty, longer than
// 255 bytes, contains '/', '\\', a NUL or other control byte, or is "." or
// "..", is refused with an error matching diffyerr.ErrInvalidKey before
// anything is touched. All methods are safe for concurrent use and honour
// ctx cancellation. The Store retries transient failures itself; its errors
// are final.
type Store interface {
	Put(ctx context.Context, kind Kind, key string, doc []byte) error
	Get(ctx context.Context, kind Kind, key string) ([]byte, error)
	List(ctx context.Context, kind Kind) ([]string, error)
}

// ValidKey checks a store key (or a kind): non-empty, at most 255 bytes, not
// "." or "..", without '/', '\\', NUL or any other ASCII control byte. It
// returns nil or an error matching diffyerr.ErrInvalidKey naming the key
// and the problem.
func ValidKey(key string) error {
	bad := func(why string) error {
		return fmt.Errorf("store key %q %s: %w", key, why, diffyerr.ErrInvalidKey)
	}
	switch {
	case key == "":
		return bad("is empty")
	case len(key) > 255:
		return bad("is longer than 255 bytes")
	case key == "." || key == "..":
		return bad("is a directory reference")
	case strings.ContainsAny(key, `/\`):
		return bad("contains a path separator")
	}
	for i := 0; i < len(key); i++ {
		if key[i] < 0x20 || key[i] == 0x7f {
			return bad(fmt.Sprintf("contains control byte 0x%02x", key[i]))
		}
	}
	return nil
}
