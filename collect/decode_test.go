package collect_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"runtime"
	"strings"
	"testing"

	"github.com/diffy-dfir/diffy/collect"
	"github.com/diffy-dfir/diffy/diffyerr"
	"github.com/diffy-dfir/diffy/internal/jsonv1"
	"github.com/diffy-dfir/diffy/internal/resultfiles"
)

func sameMap(a, b collect.Row) bool {
	return reflect.ValueOf(a).UnsafePointer() == reflect.ValueOf(b).UnsafePointer()
}

// TestResultDecoderShapes: every shape of collection file, and where each
// way of going wrong is said to be.
func TestResultDecoderShapes(t *testing.T) {
	r := func(id string) string {
		return `{"instance_id":"` + id + `","command_id":"users","status":"Success","stdout":[{"username":"root"}]}`
	}
	for _, tc := range []struct {
		name, data string
		ids        []string
		bad        []int    // indexes of ResultErrors
		badAt      []string // what each starts with, first found after the last
	}{
		{"array", "[" + r("i-1") + "," + r("i-2") + "]", []string{"i-1", "i-2"}, nil, nil},
		{"arrays", "[" + r("i-1") + "]\n[]\n[" + r("i-2") + "]", []string{"i-1", "i-2"}, nil, nil},
		{"lines", r("i-1") + "\n" + r("i-2") + "\n", []string{"i-1", "i-2"}, nil, nil},
		{"bom", "\xEF\xBB\xBF \n[" + r("i-1") + "]", []string{"i-1"}, nil, nil},
		{"elements", `[ 5, {"x":1}, ` + r("i-1") + `, null]`, []string{"i-1"}, []int{1, 2, 4}, []string{"5", `{"x"`, "null"}},
		{"objects", r("i-1") + ` [1] "x"`, []string{"i-1"}, []int{2, 3}, []string{"[1]", `"x"`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var d collect.ResultDecoder
			rs, bad, err := d.Decode([]byte(tc.data))
			if err != nil {
				t.Fatal(err)
			}
			var ids []string
			for _, r := range rs {
				ids = append(ids, r.InstanceID)
			}
			if fmt.Sprint(ids) != fmt.Sprint(tc.ids) {
				t.Errorf("Results %v, want %v", ids, tc.ids)
			}
			if len(bad) != len(tc.bad) {
				t.Fatalf("ResultErrors %v, want at %v", bad, tc.bad)
			}
			from := 0
			for i, e := range bad {
				at := int64(from + strings.Index(tc.data[from:], tc.badAt[i]))
				from = int(at) + 1
				if e.Index != tc.bad[i] || e.Offset != at || !errors.Is(e, diffyerr.ErrInvalidInput) {
					t.Errorf("ResultError %d: %v (index %d, offset %d), want index %d at %d", i, e, e.Index, e.Offset, tc.bad[i], at)
				}
			}
		})
	}
	// at is where the problem is said to be: the first byte of the last
	// occurrence of the marked text, the end of the input for "$", none
	// for "".
	for _, tc := range []struct {
		name, data, what, at string
	}{
		{"empty", " \n\t", "is empty", ""},
		{"text", "  hello", "is not a JSON array of Results", "hello"},
		{"cut", `[{"instance_id":"i-1",`, "cut short", "$"},
		{"syntax", "[\n  {\"instance_id\" \"i-3\"}\n]", "not valid JSON", `"i-3"`},
		{"after array", `[] {}`, "expected another array of Results", "{}"},
		{"after objects", `{"instance_id":"i-1"} ]`, "not valid JSON", "]"},
		{"late syntax error", "[" + r("i-1") + ", 5, {]", "not valid JSON", "]"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var d collect.ResultDecoder
			rs, bad, err := d.Decode([]byte(tc.data))
			at := int64(strings.LastIndex(tc.data, tc.at))
			switch tc.at {
			case "$":
				at = int64(len(tc.data))
			case "":
				at = -1
			}
			var ie *collect.InputError
			if !errors.As(err, &ie) || !strings.Contains(ie.Error(), tc.what) || ie.Offset != at || rs != nil || bad != nil {
				t.Fatalf("Decode(%q) = %v, %v, %v; want an InputError %q at %d and nothing else", tc.data, rs, bad, err, tc.what, at)
			}
			if !errors.Is(err, diffyerr.ErrInvalidInput) {
				t.Errorf("%v does not match ErrInvalidInput", err)
			}
		})
	}
}

// TestResultDecoderSharesRows: equal rows are one map, whether their text
// is the same or not (names in another order, an escape), in one Decode
// and across Decodes with the same Pool; different rows are not.
func TestResultDecoderSharesRows(t *testing.T) {
	pool := &collect.RowPool{}
	d := collect.ResultDecoder{Pool: pool}
	rs, _, err := d.Decode([]byte(`[
		{"instance_id":"i-1","stdout":[{"a":"1","b":"2"},{"a":"x"}]},
		{"instance_id":"i-2","stdout":[{"a":"1","b":"2"},{"b":"2","a":"1"},{"a":"\u0031","b":"2"},{"a":"y"}]}]`))
	if err != nil {
		t.Fatal(err)
	}
	one := rs[0].Rows[0]
	for _, row := range rs[1].Rows[:3] {
		if !sameMap(row, one) {
			t.Errorf("row %v is not shared with the equal row %v", row, one)
		}
	}
	if sameMap(rs[0].Rows[1], rs[1].Rows[3]) || rs[1].Rows[3]["a"] != "y" {
		t.Errorf("different rows mixed up: %v %v", rs[0].Rows[1], rs[1].Rows[3])
	}
	other := collect.ResultDecoder{Pool: pool} // another goroutine's
	more, _, err := other.Decode([]byte(`{"instance_id":"i-3","stdout":"[{\"b\":\"2\",\"a\":\"1\"}]"}`))
	if err != nil || !sameMap(more[0].Rows[0], one) {
		t.Errorf("a row of another Decode with the same pool is not shared (%v)", err)
	}
	if pool.Len() != 3 {
		t.Errorf("pool holds %d rows, want 3", pool.Len())
	}
	// Rows a Share made are found by the decoder, and the other way.
	shared := []collect.Row{{"a": "x"}, {"q": "z"}}
	pool.Share(shared)
	if !sameMap(shared[0], rs[0].Rows[1]) {
		t.Error("Share did not find the decoded row")
	}
	again, _, _ := d.Decode([]byte(`[{"instance_id":"i-4","stdout":[{"q":"z"}]}]`))
	if !sameMap(again[0].Rows[0], shared[1]) {
		t.Error("the decoder did not find the row Share made")
	}
}

// TestResultDecoderRowCap: a Result over the row cap keeps none of its
// rows and says why; a Result refused for a bad row past the cap stays
// refused; one at the cap is whole.
func TestResultDecoderRowCap(t *testing.T) {
	d := collect.ResultDecoder{Limits: collect.Limits{MaxRows: 3}}
	rs, bad, err := d.Decode([]byte(`[
		{"instance_id":"i-1","command_id":"ps","status":"Success","stdout":[{"a":"1"},{"a":"2"},{"a":"3"}]},
		{"instance_id":"i-2","command_id":"ps","status":"Success","stdout":[{"a":"1"},{"a":"2"},{"a":"3"},{"a":"4"},{}]},
		{"instance_id":"i-3","command_id":"ps","status":"Success","stdout":[{},{},{},{},{"a":[]}]},
		{"instance_id":"i-4","command_id":"ps","status":"Success","stdout":"[{},{},{},{}]"}]`))
	if err != nil {
		t.Fatal(err)
	}
	if len(rs) != 3 || len(rs[0].Rows) != 3 || !rs[0].OK() {
		t.Fatalf("Results %+v, want i-1 whole", rs)
	}
	for _, r := range rs[1:] {
		if r.OK() || !r.Truncated || r.Status != collect.StatusFailed || r.Rows != nil || !strings.Contains(r.Error, "over the 3-row cap") || !strings.Contains(r.Error, "ps") {
			t.Errorf("Result over the cap: %+v, want Failed, Truncated, no rows, an error naming the command and the cap", r)
		}
	}
	if !strings.Contains(rs[1].Error, "5 rows") {
		t.Errorf("error %q does not say how many rows there were", rs[1].Error)
	}
	if len(bad) != 1 || bad[0].Index != 3 || !strings.Contains(bad[0].Error(), "nested") {
		t.Errorf("ResultErrors %v, want result 3's nested value", bad)
	}
}

// TestFillCapsWhileDecoding (issue 10.3): the rows of an output over the
// cap are never all held: what Fill allocates is bounded by the cap, not
// by the output. 4 and 16 MiB of empty rows are 1.4 and 5.6 million rows;
// the decoder before this one made a map for each (about 80 bytes) before
// it counted them.
func TestFillCapsWhileDecoding(t *testing.T) {
	alloc := func(size int) uint64 {
		stdout := append([]byte("["), bytes.Repeat([]byte("{},"), size/3)...)
		stdout[len(stdout)-1] = ']'
		var m0, m1 runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&m0)
		r := collect.Result{InstanceID: "i-1", CommandID: "ps"}
		collect.Limits{}.Fill(&r, stdout, "", false, "")
		runtime.ReadMemStats(&m1)
		if !r.Truncated || r.Rows != nil || !strings.Contains(r.Error, "over the 200000-row cap") {
			t.Fatalf("Result %+v, want Truncated over the row cap", r)
		}
		return m1.TotalAlloc - m0.TotalAlloc
	}
	small, large := alloc(4<<20), alloc(16<<20)
	t.Logf("Fill of 4 MiB of empty rows allocated %d bytes, of 16 MiB %d bytes", small, large)
	// A map of no entry (48 bytes), its key and its place in a slice
	// that doubles: under 128 bytes per row up to the cap.
	if limit := uint64(128 * collect.DefaultMaxRows); large > limit || large > small*5/4+1<<20 {
		t.Errorf("Fill allocated %d bytes for 4 MiB and %d for 16 MiB of rows over the cap; want the same, at most %d", small, large, limit)
	}
}

// TestDecodedSize: what the Results of a file hold, against its size. Real
// output (a simulated fleet's hosts, with a pool that has none of their
// rows yet) stays far within DecodedSizeFactor; a file of distinct tiny
// rows, under the row cap, is kept within it, its last Results without
// their rows.
func TestDecodedSize(t *testing.T) {
	live := func(f func() any) (any, uint64) {
		runtime.GC()
		var m0, m1 runtime.MemStats
		runtime.ReadMemStats(&m0)
		v := f()
		runtime.GC()
		runtime.ReadMemStats(&m1)
		return v, m1.HeapAlloc - min(m1.HeapAlloc, m0.HeapAlloc)
	}
	// Each host's file with a pool of its own: no row of it seen before.
	files, size := resultfiles.Fleet("medium", 40)
	v, heap := live(func() any {
		var all [][]collect.Result
		for _, data := range files {
			d := collect.ResultDecoder{Pool: &collect.RowPool{}}
			rs, _, err := d.Decode(data)
			if err != nil {
				t.Fatal(err)
			}
			all = append(all, rs)
		}
		return all
	})
	for _, rs := range v.([][]collect.Result) {
		for _, r := range rs {
			if !r.OK() {
				t.Fatalf("a Result of real output was not kept whole: %+v", r)
			}
		}
	}
	ratio := float64(heap) / float64(size)
	t.Logf("hosts' files of real output, no row seen before: %d bytes hold %d bytes (%.1fx)", size, heap, ratio)
	if ratio > collect.DecodedSizeFactor/2 {
		t.Errorf("real output holds %.1f times its size; the budget (%d) leaves it less than twice that", ratio, collect.DecodedSizeFactor)
	}

	// 20 Results of 5,000 distinct one-column rows: about 35 times
	// the size when kept.
	tiny := resultfiles.TinyRows(20, 5000)
	v, heap = live(func() any {
		d := collect.ResultDecoder{Pool: &collect.RowPool{}}
		rs, _, err := d.Decode(tiny)
		if err != nil {
			t.Fatal(err)
		}
		return rs
	})
	rs := v.([]collect.Result)
	kept := 0
	for _, r := range rs {
		if r.OK() {
			kept++
		} else if !r.Truncated || r.Rows != nil || !strings.Contains(r.Error, "times the file's size") {
			t.Fatalf("a Result over the budget: %+v, want Truncated without rows, saying why", r)
		}
	}
	ratio = float64(heap) / float64(len(tiny))
	t.Logf("%d bytes of distinct tiny rows hold %d bytes (%.1fx); %d of %d Results kept whole", len(tiny), heap, ratio, kept, len(rs))
	if len(rs) != 20 || kept == 0 || kept == 20 {
		t.Errorf("%d Results, %d kept whole; want 20, some but not all kept whole", len(rs), kept)
	}
	if ratio > collect.DecodedSizeFactor*1.25 {
		t.Errorf("the Results hold %.1f times the file's size, over the budget of %d (and its margin of one Result)", ratio, collect.DecodedSizeFactor)
	}
}

// BenchmarkResultDecoder decodes the files of 200 simulated hosts (about
// 4.9 MB of JSON, as `diffy analyze --from` reads them: one file a Decode,
// one pool for all), beside the decoder it replaced (encoding/json v1,
// internal/jsonv1) on the same bytes: `go test -run '^$' -bench
// ResultDecoder -cpu 1 ./collect`. Besides the wall-time MB/s it reports
// the MB per second of CPU time of the process (cpu-MB/s), the steadier
// figure on a shared machine.
func BenchmarkResultDecoder(b *testing.B) {
	files, size := resultfiles.Fleet("xlarge", 200)
	cpuRate := func(b *testing.B, f func()) {
		b.SetBytes(int64(size))
		c0 := cpuTime()
		n := 0
		for b.Loop() {
			f()
			n++
		}
		if c := cpuTime() - c0; c > 0 {
			b.ReportMetric(float64(size)*float64(n)/c.Seconds()/1e6, "cpu-MB/s")
		}
	}
	b.Run("jsontext", func(b *testing.B) {
		cpuRate(b, func() {
			d := collect.ResultDecoder{Pool: &collect.RowPool{Limit: 1 << 16}}
			for _, data := range files {
				if _, _, err := d.Decode(data); err != nil {
					b.Fatal(err)
				}
			}
		})
	})
	b.Run("encoding-json-v1", func(b *testing.B) {
		cpuRate(b, func() {
			for _, data := range files {
				var rs []json.RawMessage
				if err := json.Unmarshal(data, &rs); err != nil {
					b.Fatal(err)
				}
				for _, raw := range rs {
					var r collect.Result
					if err := jsonv1.UnmarshalResult(raw, &r); err != nil {
						b.Fatal(err)
					}
				}
			}
		})
	})
}

// TestResultIDLimit: an instance_id or command_id of MaxIDBytes is kept;
// one byte more makes the value not a Result, the error naming the field
// and its length, whichever decoder reads it (a file's, UnmarshalJSON).
func TestResultIDLimit(t *testing.T) {
	id := func(n int) string { return strings.Repeat("i", n) }
	for _, tc := range []struct {
		inst, cmd string
		bad       string
	}{
		{inst: id(collect.MaxIDBytes), cmd: id(collect.MaxIDBytes)},
		{inst: id(collect.MaxIDBytes + 1), cmd: "ps", bad: fmt.Sprintf("instance_id is %d bytes", collect.MaxIDBytes+1)},
		{inst: "i-1", cmd: id(collect.MaxIDBytes + 1), bad: fmt.Sprintf("command_id is %d bytes", collect.MaxIDBytes+1)},
	} {
		data := `{"instance_id":"` + tc.inst + `","command_id":"` + tc.cmd + `","status":"Success","stdout":[]}`
		var r collect.Result
		err := r.UnmarshalJSON([]byte(data))
		var d collect.ResultDecoder
		rs, bad, derr := d.Decode([]byte("[" + data + "]"))
		if tc.bad == "" {
			if err != nil || r.InstanceID != tc.inst || derr != nil || len(rs) != 1 || len(bad) != 0 {
				t.Errorf("IDs of %d and %d bytes: %v; Decode %d Results, %v, %v", len(tc.inst), len(tc.cmd), err, len(rs), bad, derr)
			}
			continue
		}
		if !errors.Is(err, diffyerr.ErrInvalidInput) || !strings.Contains(err.Error(), tc.bad) || len(err.Error()) > 200 {
			t.Errorf("UnmarshalJSON: %.300v; want ErrInvalidInput saying %q, short", err, tc.bad)
		}
		if derr != nil || len(rs) != 0 || len(bad) != 1 || !strings.Contains(bad[0].Err.Error(), tc.bad) {
			t.Errorf("Decode: %d Results, %v, %v; want one ResultError saying %q", len(rs), bad, derr, tc.bad)
		}
	}
}
