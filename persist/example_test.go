package persist_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os"

	"github.com/diffy-dfir/diffy/diffyerr"
	"github.com/diffy-dfir/diffy/persist"
)

// A Memory store round trip: put a document, list the keys, get it back.
func ExampleMemory() {
	ctx := context.Background()
	store := persist.NewMemory()
	doc := []byte(`[{"instance_id":"i-1","command_id":"users","status":"Success","stdout":[]}]`)
	if err := store.Put(ctx, persist.KindBaseline, "web-asg", doc); err != nil {
		log.Fatal(err)
	}
	keys, _ := store.List(ctx, persist.KindBaseline)
	got, _ := store.Get(ctx, persist.KindBaseline, "web-asg")
	fmt.Println(keys, string(got) == string(doc))

	_, err := store.Get(ctx, persist.KindBaseline, "db-asg")
	fmt.Println(errors.Is(err, diffyerr.ErrNotFound))
	err = store.Put(ctx, persist.KindBaseline, "../../etc/cron.d/x", doc)
	fmt.Println(errors.Is(err, diffyerr.ErrInvalidKey))
	// Output:
	// [web-asg] true
	// true
	// true
}

// A Dir keeps each document as <Path>/<kind>/<key>.json, written
// atomically, readable by its owner only.
func ExampleDir() {
	root, err := os.MkdirTemp("", "diffy-store-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(root)

	ctx := context.Background()
	store := persist.NewDir(root)
	if err := store.Put(ctx, persist.KindAnalysis, "web-asg", []byte(`{"key":"web-asg"}`)); err != nil {
		log.Fatal(err)
	}
	fi, err := os.Stat(root + "/analysis/web-asg.json")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(fi.Mode())
	// Output:
	// -rw-------
}
