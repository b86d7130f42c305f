package diffyerr_test

import (
	"errors"
	"fmt"

	"github.com/diffy-dfir/diffy/diffyerr"
)

// A plugin wraps a sentinel with a message naming the input; callers match
// the kind with errors.Is whatever plugin and stage it came through.
func Example() {
	lookup := func(key string) error {
		return fmt.Errorf("auto scaling group %q has no running instance: %w", key, diffyerr.ErrNotFound)
	}
	err := &diffyerr.StageError{Stage: "target", Plugin: "*ec2target.Target", Err: lookup("web")}
	fmt.Println(err)
	fmt.Println(errors.Is(err, diffyerr.ErrNotFound))
	// Output:
	// target (*ec2target.Target): auto scaling group "web" has no running instance: not found
	// true
}
