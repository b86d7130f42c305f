package persist

import (
	"context"
	"fmt"
	"io"
)

// StreamPutter is an optional capability of a Store: storing a document
// read from an io.Reader, so that a document too large to hold (the
// Report of 100,000 hosts is about 1 GB of JSON) is never whole in
// memory. Callers detect it with a type assertion, or call PutFrom,
// which falls back to Put. Dir, Memory and s3store.Store implement it.
//
// PutFrom stores what r yields until io.EOF under (kind, key) as Put
// stores a document: the same checks of kind and key (before r is read),
// atomically (a reader or a crash sees the old document or the new one,
// never a part), the last writer winning. It reads r to its end before
// the document becomes visible; an error of r (anything but io.EOF), or
// ctx cancelled before the document is stored, stores nothing and is
// returned (wrapped, matching with errors.Is). It does not close r. It is
// safe for concurrent use.
type StreamPutter interface {
	PutFrom(ctx context.Context, kind Kind, key string, r io.Reader) error
}

// PutFrom stores the document r yields under (kind, key): with st's
// PutFrom when st is a StreamPutter; otherwise read whole into memory,
// then given to st.Put.
func PutFrom(ctx context.Context, st Store, kind Kind, key string, r io.Reader) error {
	if sp, ok := st.(StreamPutter); ok {
		return sp.PutFrom(ctx, kind, key, r)
	}
	doc, err := io.ReadAll(ctxReader{ctx, r})
	if err != nil {
		return fmt.Errorf("put %s/%s: reading the document: %w", kind, key, err)
	}
	return st.Put(ctx, kind, key, doc)
}

// ctxReader is r that fails with ctx's error once ctx is done, so that a
// long copy stops between reads.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}
