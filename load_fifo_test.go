//go:build unix

package diffy_test

import (
	"errors"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/diffy-dfir/diffy"
	"github.com/diffy-dfir/diffy/collect"
)

// TestLoadResultsFIFO (issue 10.5): a FIFO among the files, or given
// alone, is skipped as not a regular file, without waiting for a writer
// (it has none: the reader before this one waited for one forever).
func TestLoadResultsFIFO(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"a.json": `[{"instance_id":"i-1","command_id":"users","status":"Success","stdout":[]}]`,
	})
	fifo := filepath.Join(dir, "b.json")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Skipf("cannot make a FIFO here: %v", err)
	}
	rs, skips, err := diffy.LoadResults(dir)
	if err != nil || len(rs) != 1 {
		t.Fatalf("LoadResults(%s) = %v, %v", dir, rs, err)
	}
	if s, ok := skipOf(skips, fifo); !ok || !strings.Contains(s.Reason, "not a regular file") {
		t.Errorf("skips %+v, want %s skipped as not a regular file", skips, fifo)
	}
	_, _, err = diffy.LoadResults(fifo)
	if !errors.Is(err, diffy.ErrInvalidInput) || !strings.Contains(err.Error(), fifo) || !strings.Contains(err.Error(), "not a regular file") {
		t.Errorf("LoadResults(FIFO) = %v, want an error naming it, not a regular file", err)
	}
	_, err = diffy.ScanResults([]string{fifo}, func(string, []collect.Result) error { return nil })
	if !errors.Is(err, diffy.ErrInvalidInput) || !strings.Contains(err.Error(), fifo) {
		t.Errorf("ScanResults(FIFO) = %v, want an error naming it", err)
	}
}
