package persist

import (
	"context"
	"fmt"
	"time"
)

// Info describes one stored document without its content.
type Info struct {
	// Key is the document's key.
	Key string
	// Size is the document's length in bytes, as Get would return it.
	Size int64
	// ModTime is when the document was last put, as the store knows it
	// (a file's modification time, an object's LastModified); the zero
	// Time when the store does not know.
	ModTime time.Time
}

// InfoLister is an optional capability of a Store: listing documents with
// their size and time, without reading them, and only those whose key
// starts with a prefix. Callers detect it with a type assertion, as io/fs
// callers detect fs.ReadDirFS; without it they fall back to List and Get.
// Diffy's history (diffy.Diffy.Runs) uses it to list one key's runs and
// their sizes. Dir, Memory and s3store.Store implement it.
//
// ListInfo returns the Info of every document held for kind whose key
// starts with prefix ("" for all), sorted by key, each key once: the keys
// List would return, filtered. kind is checked with ValidKey, and prefix,
// when not empty, too (a prefix with '/' or a control byte could match no
// valid key anyway): either refused is an error matching
// diffyerr.ErrInvalidKey. An empty kind gives an empty list and no error.
// It is safe for concurrent use and honours ctx cancellation.
type InfoLister interface {
	ListInfo(ctx context.Context, kind Kind, prefix string) ([]Info, error)
}

// CheckPrefix checks the prefix of a ListInfo call: "" or a string that
// ValidKey accepts, but for being "." or "..", which do start valid keys
// ("..a"). The error matches diffyerr.ErrInvalidKey.
func CheckPrefix(prefix string) error {
	if prefix == "" || prefix == "." || prefix == ".." {
		return nil
	}
	if err := ValidKey(prefix); err != nil {
		return fmt.Errorf("key prefix: %w", err)
	}
	return nil
}
