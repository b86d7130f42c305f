package diffy_test

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/diffy-dfir/diffy"
	"github.com/diffy-dfir/diffy/collect"
	"github.com/diffy-dfir/diffy/internal/resultfiles"
)

// TestLoadResultsTinyRows (issue 10.3): a file of millions of empty rows
// in one Result is read without holding them: the Result is kept without
// its rows, over the row cap, and what reading it allocates is within
// twice the file's size (the file itself, read whole, and the rows up to
// the cap). The reader before this one held a map per row: 3.9 GB for a
// 64 MiB file.
func TestLoadResultsTinyRows(t *testing.T) {
	var b bytes.Buffer
	b.WriteString(`[{"instance_id":"i-1","command_id":"ps","status":"Success","stdout":[`)
	rows := 8 << 20 / 3
	for i := range rows {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString("{}")
	}
	b.WriteString(`]},{"instance_id":"i-2","command_id":"ps","status":"Success","stdout":[{"pid":"1"}]}]`)
	dir := t.TempDir()
	path := filepath.Join(dir, "tiny.json")
	if err := os.WriteFile(path, b.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	size := uint64(b.Len())
	b = bytes.Buffer{}
	var m0, m1 runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&m0)
	rs, skips, err := diffy.LoadResults(path)
	runtime.ReadMemStats(&m1)
	if err != nil || len(skips) != 0 || len(rs) != 2 {
		t.Fatalf("LoadResults: %v, %v, %v", rs, skips, err)
	}
	if r := rs[0]; r.OK() || !r.Truncated || r.Rows != nil || !strings.Contains(r.Error, fmt.Sprintf("%d rows", rows)) {
		t.Errorf("the Result of %d rows: %+v, want Truncated without rows, saying how many", rows, r)
	}
	if !rs[1].OK() || rs[1].Rows[0]["pid"] != "1" {
		t.Errorf("the Result after it: %+v", rs[1])
	}
	if got := m1.TotalAlloc - m0.TotalAlloc; got > 2*size {
		t.Errorf("reading a file of %d bytes allocated %d bytes; want at most twice its size", size, got)
	}
}

// TestLoadResultsDistinctTinyRows (issue 10.3): a file of many Results of
// distinct tiny rows, each under the row cap, holds no more than
// collect.DecodedSizeFactor times its size (and a Result's worth more):
// the Results read once that is reached are kept without their rows.
func TestLoadResultsDistinctTinyRows(t *testing.T) {
	data := resultfiles.TinyRows(40, 5000)
	path := filepath.Join(t.TempDir(), "distinct.json")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	size := float64(len(data))
	var m0, m1 runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&m0)
	rs, _, err := diffy.LoadResults(path)
	runtime.GC()
	runtime.ReadMemStats(&m1)
	if err != nil || len(rs) != 40 {
		t.Fatalf("LoadResults: %d Results, %v", len(rs), err)
	}
	kept := 0
	for _, r := range rs {
		if r.OK() {
			kept++
		}
	}
	held := float64(m1.HeapAlloc) - float64(m0.HeapAlloc)
	t.Logf("%.0f bytes of distinct tiny rows: %d of 40 Results kept whole, %.0f bytes held (%.1fx)", size, kept, held, held/size)
	if kept == 0 || kept == 40 || held > collect.DecodedSizeFactor*1.25*size {
		t.Errorf("%d of 40 Results kept whole, %.1f times the file's size held; want some, not all, within %d times", kept, held/size, collect.DecodedSizeFactor)
	}
	runtime.KeepAlive(rs)
}
