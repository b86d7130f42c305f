package s3store_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"testing"
	"testing/iotest"

	"github.com/diffy-dfir/diffy/persist"
	"github.com/diffy-dfir/diffy/persist/s3store"
)

// TestPutFromMultipart checks PutFrom of a document of several parts
// (2.5 PartSize, read a few KiB at a time) with the real S3 client against
// awsfake: Get returns it byte for byte; a reader failing in the second
// part stores nothing (the old document stays) and its error is returned.
func TestPutFromMultipart(t *testing.T) {
	srv := newServer(t)
	s, err := s3store.NewFromConfig(srv.Config(), "diffy-store", "big", srv.S3Options)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	doc := make([]byte, s3store.PartSize*5/2)
	for i := range doc {
		doc[i] = "{}[],:\"0123456789abcdef\n"[i*7%24]
	}
	if err := s.Put(ctx, persist.KindAnalysis, "k", []byte(`{"old":1}`)); err != nil {
		t.Fatal(err)
	}
	if err := s.PutFrom(ctx, persist.KindAnalysis, "k", iotest.HalfReader(bytes.NewReader(doc))); err != nil {
		t.Fatal(err)
	}
	got, err := s.Get(ctx, persist.KindAnalysis, "k")
	if err != nil || !bytes.Equal(got, doc) {
		t.Fatalf("Get after a multipart PutFrom: %d bytes, %v; want the %d read", len(got), err, len(doc))
	}
	bad := errors.New("the source failed in part 2")
	r := io.MultiReader(bytes.NewReader(doc[:s3store.PartSize*3/2]), iotest.ErrReader(bad))
	if err := s.PutFrom(ctx, persist.KindAnalysis, "k", r); !errors.Is(err, bad) {
		t.Errorf("PutFrom of a reader failing in part 2 = %v, want its error", err)
	}
	if got, err := s.Get(ctx, persist.KindAnalysis, "k"); err != nil || !bytes.Equal(got, doc) {
		t.Errorf("after a failed multipart PutFrom, Get: %d bytes, %v; want the document before (%d bytes)", len(got), err, len(doc))
	}
}
