package s3store_test

import (
	"context"
	"fmt"

	"github.com/diffy-dfir/diffy/diffytest/awsfake"
	"github.com/diffy-dfir/diffy/persist"
	"github.com/diffy-dfir/diffy/persist/s3store"
)

// A baseline stored in S3 under s3://diffy-store/incidents, listed and read
// back. Against AWS, use awsconfig.Load and no S3 options.
func Example() {
	srv, err := awsfake.New()
	if err != nil {
		fmt.Println(err)
		return
	}
	defer srv.Close()
	_ = srv.CreateBucket("diffy-store")
	bucket, prefix, _ := s3store.ParseURL("s3://diffy-store/incidents")
	store, err := s3store.NewFromConfig(srv.Config(), bucket, prefix, srv.S3Options)
	if err != nil {
		fmt.Println(err)
		return
	}
	ctx := context.Background()
	if err := store.Put(ctx, persist.KindBaseline, "web-asg", []byte(`[]`)); err != nil {
		fmt.Println(err)
		return
	}
	keys, _ := store.List(ctx, persist.KindBaseline)
	doc, _ := store.Get(ctx, persist.KindBaseline, "web-asg")
	key, _ := store.ObjectKey(persist.KindBaseline, "web-asg")
	fmt.Println(keys, string(doc), key)
	// Output:
	// [web-asg] [] incidents/baseline/web-asg.json
}
