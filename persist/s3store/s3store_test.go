package s3store_test

import (
	"context"
	"errors"
	"testing"

	"github.com/diffy-dfir/diffy/diffyerr"
	"github.com/diffy-dfir/diffy/diffytest"
	"github.com/diffy-dfir/diffy/diffytest/awsfake"
	"github.com/diffy-dfir/diffy/persist"
	"github.com/diffy-dfir/diffy/persist/s3store"
)

func newServer(t *testing.T) *awsfake.Server {
	t.Helper()
	srv, err := awsfake.New()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	if err := srv.CreateBucket("diffy-store"); err != nil {
		t.Fatal(err)
	}
	return srv
}

// TestStoreSuite runs the diffytest Store suite with the real S3 client
// against awsfake (gofakes3), each rule under its own prefix.
func TestStoreSuite(t *testing.T) {
	srv := newServer(t)
	n := 0
	for _, prefix := range []string{"", "incidents/inc-1"} {
		t.Run("prefix="+prefix, func(t *testing.T) {
			diffytest.TestStore(t, func(t *testing.T) persist.Store {
				n++
				p := prefix + "/" + string(rune('a'+n%26)) + itoa(n)
				s, err := s3store.NewFromConfig(srv.Config(), "diffy-store", p, srv.S3Options)
				if err != nil {
					t.Fatal(err)
				}
				return s
			})
		})
	}
}

func itoa(i int) string {
	s := ""
	for ; i > 0; i /= 10 {
		s = string(rune('0'+i%10)) + s
	}
	return s
}

func TestObjectKeysAndErrors(t *testing.T) {
	srv := newServer(t)
	s, err := s3store.NewFromConfig(srv.Config(), "diffy-store", "/a/b/", srv.S3Options)
	if err != nil {
		t.Fatal(err)
	}
	k, err := s.ObjectKey(persist.KindBaseline, "web-asg")
	if err != nil || k != "a/b/baseline/web-asg.json" {
		t.Errorf("ObjectKey = %q, %v", k, err)
	}
	ctx := context.Background()
	if _, err := s.Get(ctx, persist.KindBaseline, "nothing"); !errors.Is(err, diffyerr.ErrNotFound) {
		t.Errorf("Get of a missing document: %v", err)
	}
	if err := s.Delete(ctx, persist.KindBaseline, "nothing"); !errors.Is(err, diffyerr.ErrNotFound) {
		t.Errorf("Delete of a missing document: %v", err)
	}
	for _, bad := range []string{"../x", "a/b", "", ".."} {
		if err := s.Put(ctx, persist.KindBaseline, bad, []byte("{}")); !errors.Is(err, diffyerr.ErrInvalidKey) {
			t.Errorf("Put(%q) = %v, want ErrInvalidKey", bad, err)
		}
	}
	for _, bad := range [][2]string{{"", "p"}, {"a/b", ""}, {"b", "x/../y"}, {"b", "x//y"}} {
		if _, err := s3store.NewFromConfig(srv.Config(), bad[0], bad[1]); !errors.Is(err, diffyerr.ErrInvalidInput) {
			t.Errorf("New(%q, %q) = %v", bad[0], bad[1], err)
		}
	}
	if b, p, err := s3store.ParseURL("s3://bucket/some/prefix"); err != nil || b != "bucket" || p != "some/prefix" {
		t.Errorf("ParseURL = %q %q %v", b, p, err)
	}
	if _, _, err := s3store.ParseURL("bucket/prefix"); err == nil {
		t.Error("ParseURL accepted a URL without s3://")
	}
}
