package resultfiles_test

import (
	"encoding/json"
	"testing"

	"github.com/diffy-dfir/diffy/collect"
	"github.com/diffy-dfir/diffy/internal/resultfiles"
)

// TestFiles: the fleet's files are one a host, of its Results, their
// size the sum; the tiny-rows file holds the Results and rows asked for,
// every row distinct.
func TestFiles(t *testing.T) {
	files, size := resultfiles.Fleet("small", 3)
	sum := 0
	for _, f := range files {
		var rs []collect.Result
		if err := json.Unmarshal(f, &rs); err != nil || len(rs) == 0 || !rs[0].CollectedAt.Equal(resultfiles.At) {
			t.Fatalf("a host's file: %d Results, %v", len(rs), err)
		}
		for _, r := range rs {
			if r.InstanceID != rs[0].InstanceID {
				t.Errorf("a file of two hosts: %s, %s", r.InstanceID, rs[0].InstanceID)
			}
		}
		sum += len(f)
	}
	if len(files) != 3 || size != sum {
		t.Errorf("%d files of %d bytes, said %d", len(files), sum, size)
	}
	var rs []collect.Result
	if err := json.Unmarshal(resultfiles.TinyRows(3, 4), &rs); err != nil || len(rs) != 3 {
		t.Fatalf("tiny rows: %d Results, %v", len(rs), err)
	}
	seen := map[string]bool{}
	for _, r := range rs {
		for _, row := range r.Rows {
			seen[row["a"]] = true
		}
	}
	if len(seen) != 12 {
		t.Errorf("%d distinct rows, want 12", len(seen))
	}
}
