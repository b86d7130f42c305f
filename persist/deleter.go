package persist

import "context"

// Deleter is an optional capability of a Store: removing a document.
// Callers detect it with a type assertion (package diffy uses it to drop a
// partial collection once the whole one is stored).
//
// Delete removes the document under (kind, key), checking kind and key with
// ValidKey first; a document that does not exist is an error matching
// diffyerr.ErrNotFound. It is safe for concurrent use and honours ctx.
// Dir and Memory implement it.
type Deleter interface {
	Delete(ctx context.Context, kind Kind, key string) error
}
