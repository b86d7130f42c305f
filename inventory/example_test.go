package inventory_test

import (
	"context"
	"fmt"
	"log"

	"github.com/diffy-dfir/diffy/inventory"
)

// A Static inventory lists the keys to baseline, optionally with the
// clean instance to baseline each from.
func ExampleStatic() {
	inv := inventory.Static{
		{Key: "web-asg"},
		{Key: "db-asg", Instance: "i-0clean"},
	}
	entries, err := inv.Entries(context.Background())
	if err != nil {
		log.Fatal(err)
	}
	for _, e := range entries {
		fmt.Printf("%s from %q\n", e.Key, e.Instance)
	}
	// Output:
	// web-asg from ""
	// db-asg from "i-0clean"
}
