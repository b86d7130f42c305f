package collect

import (
	"fmt"
	"maps"
	"reflect"
	"sync"
	"testing"
)

func same(a, b Row) bool {
	return reflect.ValueOf(a).UnsafePointer() == reflect.ValueOf(b).UnsafePointer()
}

// TestRowPoolShares: equal rows of different Results end up as one map,
// whatever the order their columns were written in; different rows stay
// apart and keep their values; the caller's maps are never changed.
func TestRowPoolShares(t *testing.T) {
	var p RowPool
	a := []Row{{"name": "sshd", "pid": "1"}, {"name": "cron", "pid": "2"}, {}}
	b := []Row{{"pid": "2", "name": "cron"}, {"name": "sshd", "pid": "10"}, {}}
	origA := maps.Clone(a[0])
	inA := a[0]
	p.Share(a)
	p.Share(b)
	if !same(a[1], b[0]) {
		t.Error("two equal rows of different hosts are not shared")
	}
	if same(a[0], b[1]) || b[1]["pid"] != "10" || a[0]["pid"] != "1" {
		t.Errorf("different rows were mixed up: %v %v", a[0], b[1])
	}
	if !same(a[2], b[2]) || len(a[2]) != 0 {
		t.Errorf("empty rows: %v %v", a[2], b[2])
	}
	if same(inA, a[0]) || !maps.Equal(inA, origA) {
		t.Error("Share kept or changed the caller's map instead of a copy")
	}
	if p.Len() != 4 {
		t.Errorf("Len %d, want 4 distinct rows", p.Len())
	}
	p.Share(nil) // no rows: nothing to do
	withNil := []Row{nil, {}}
	p.Share(withNil)
	if withNil[0] != nil || withNil[1] == nil {
		t.Errorf("a nil row became %v, or an empty one nil", withNil)
	}
}

// TestRowPoolCollision: a row whose hash matches a different row's is kept
// apart, with its own values.
func TestRowPoolCollision(t *testing.T) {
	var p RowPool
	p.Share([]Row{{"x": "1"}}) // sets the seed and the table
	other := Row{"x": "2"}
	var s rowScratch
	addCol(&s, "x", "2")
	sum := s.sum(p.seed)
	p.shards[sum%poolShards].put(0, sum, pooled{row: Row{"x": "not this one"}})
	rows := []Row{other}
	p.Share(rows)
	if rows[0]["x"] != "2" || len(rows[0]) != 1 {
		t.Fatalf("a colliding row became %v", rows[0])
	}
}

// TestRowPoolConcurrent: Share from many goroutines (run with -race).
func TestRowPoolConcurrent(t *testing.T) {
	var p RowPool
	var wg sync.WaitGroup
	out := make([][]Row, 8)
	for g := range out {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rows := make([]Row, 100)
			for i := range rows {
				rows[i] = Row{"i": fmt.Sprint(i % 50), "g": fmt.Sprint(g % 2)}
			}
			p.Share(rows)
			out[g] = rows
		}()
	}
	wg.Wait()
	if p.Len() != 100 {
		t.Errorf("Len %d, want 100 (50 values of i times 2 of g)", p.Len())
	}
	for g := range out {
		for i, row := range out[g] {
			if row["i"] != fmt.Sprint(i%50) || row["g"] != fmt.Sprint(g%2) {
				t.Fatalf("goroutine %d row %d is %v", g, i, row)
			}
			if !same(row, out[g%2][i%50]) {
				t.Fatalf("goroutine %d row %d is not shared", g, i)
			}
		}
	}
}

// BenchmarkRowPool measures Share on the rows of 100 hosts that have most
// of their rows in common.
func BenchmarkRowPool(b *testing.B) {
	hosts := make([][]Row, 100)
	for h := range hosts {
		for i := range 150 {
			pid := fmt.Sprint(400 + i)
			if i%10 == 0 {
				pid = fmt.Sprint(h*1000 + i) // a tenth of the rows is the host's own
			}
			hosts[h] = append(hosts[h], Row{"pid": pid, "name": fmt.Sprint("proc", i), "path": "/usr/sbin/proc", "cmdline": "/usr/sbin/proc --flag", "uid": "0"})
		}
	}
	b.ReportAllocs()
	for b.Loop() {
		var p RowPool
		for _, rows := range hosts {
			p.Share(append([]Row(nil), rows...))
		}
	}
}
