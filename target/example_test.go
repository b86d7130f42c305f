package target_test

import (
	"context"
	"errors"
	"fmt"
	"log"

	"github.com/diffy-dfir/diffy/diffyerr"
	"github.com/diffy-dfir/diffy/target"
)

// A Static target serves fixed lists of instances, one list per key.
func ExampleStatic() {
	t := target.Static{
		"web": {{ID: "i-0a", Name: "web-1"}, {ID: "i-0b", Name: "web-2"}},
		"db":  {{ID: "i-0c", Name: "db-1"}},
	}
	insts, err := t.Targets(context.Background(), "web")
	if err != nil {
		log.Fatal(err)
	}
	for _, in := range insts {
		fmt.Println(in.ID, in.Name)
	}
	_, err = t.Targets(context.Background(), "cache")
	fmt.Println(errors.Is(err, diffyerr.ErrNotFound))
	// Output:
	// i-0a web-1
	// i-0b web-2
	// true
}

// The key of an ids target is a comma-separated list of instance IDs.
func ExampleParseIDs() {
	ids, err := target.ParseIDs("i-0a, i-0b,i-0a")
	fmt.Println(ids, err)
	_, err = target.ParseIDs("i-0a,,i-0b")
	fmt.Println(errors.Is(err, diffyerr.ErrInvalidKey))
	// Output:
	// [i-0a i-0b] <nil>
	// true
}

// Local stands for this machine, under the keys "local" and "localhost".
func ExampleLocal() {
	insts, err := target.Local{}.Targets(context.Background(), "localhost")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(len(insts), insts[0].ID)
	// Output:
	// 1 local
}
