package diffyerr_test

import (
	"errors"
	"fmt"
	"io/fs"
	"testing"

	"github.com/diffy-dfir/diffy/diffyerr"
)

func TestStageErrorWrapsAndNames(t *testing.T) {
	inner := fmt.Errorf("target %q: %w", "web-asg", diffyerr.ErrNotFound)
	err := fmt.Errorf("analyze web-asg: %w", &diffyerr.StageError{Stage: "target", Plugin: "*ec2target.Target", Err: inner})

	if !errors.Is(err, diffyerr.ErrNotFound) {
		t.Errorf("errors.Is(%v, ErrNotFound) = false through a StageError", err)
	}
	if errors.Is(err, diffyerr.ErrNoBaseline) {
		t.Errorf("errors.Is(%v, ErrNoBaseline) = true; the kinds must stay apart", err)
	}
	var se *diffyerr.StageError
	if !errors.As(err, &se) || se.Stage != "target" || se.Plugin != "*ec2target.Target" {
		t.Fatalf("errors.As gave %+v", se)
	}
	want := `analyze web-asg: target (*ec2target.Target): target "web-asg": not found`
	if err.Error() != want {
		t.Errorf("message = %q, want %q", err.Error(), want)
	}
	if got := (&diffyerr.StageError{Stage: "persist", Err: fs.ErrPermission}).Error(); got != "persist: permission denied" {
		t.Errorf("message without plugin = %q", got)
	}
}

func TestSentinelsAreDistinct(t *testing.T) {
	all := []error{diffyerr.ErrNotFound, diffyerr.ErrNoBaseline, diffyerr.ErrInvalidKey, diffyerr.ErrInvalidInput}
	for i, a := range all {
		for j, b := range all {
			if (i == j) != errors.Is(a, b) {
				t.Errorf("errors.Is(%v, %v) = %v", a, b, errors.Is(a, b))
			}
		}
	}
}
