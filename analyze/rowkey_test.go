package analyze_test

import (
	"encoding/binary"
	"maps"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/diffy-dfir/diffy/analyze"
	"github.com/diffy-dfir/diffy/collect"
	"github.com/diffy-dfir/diffy/payload"
)

// decodeKey reads a RowKey back into the row it encodes, or reports false
// when key is not a well-formed encoding with sorted, distinct columns.
func decodeKey(key string) (collect.Row, bool) {
	row := collect.Row{}
	prev := ""
	b := []byte(key)
	for len(b) > 0 {
		var parts [2]string
		for i := range parts {
			n, w := binary.Uvarint(b)
			if w <= 0 || uint64(len(b)-w) < n {
				return nil, false
			}
			parts[i] = string(b[w : w+int(n)])
			b = b[w+int(n):]
		}
		if len(row) > 0 && parts[0] <= prev {
			return nil, false
		}
		prev = parts[0]
		row[parts[0]] = parts[1]
	}
	return row, true
}

// randomRow makes rows from a tiny alphabet, so that different rows often
// look alike: shared prefixes, empty names and values, separator-like
// bytes.
func randomRow(rng *rand.Rand) collect.Row {
	alphabet := []string{"", "a", "b", "ab", "\x00", "\x01", "=", ",", "\x02a", "a\x00", "é"}
	row := collect.Row{}
	for range rng.IntN(5) {
		var k, v strings.Builder
		for range rng.IntN(3) {
			k.WriteString(alphabet[rng.IntN(len(alphabet))])
		}
		for range rng.IntN(3) {
			v.WriteString(alphabet[rng.IntN(len(alphabet))])
		}
		row[k.String()] = v.String()
	}
	return row
}

func TestRowKeyInjective(t *testing.T) {
	// The key decodes back to the row: no two different rows share one.
	rng := rand.New(rand.NewPCG(1, 1))
	byKey := map[string]collect.Row{}
	for range 20000 {
		row := randomRow(rng)
		key := analyze.RowKey(row)
		back, ok := decodeKey(key)
		if !ok || !maps.Equal(back, row) {
			t.Fatalf("RowKey(%q) = %q decodes to %q, %v", row, key, back, ok)
		}
		if prev, seen := byKey[key]; seen && !maps.Equal(prev, row) {
			t.Fatalf("rows %q and %q share the key %q", prev, row, key)
		}
		byKey[key] = row
	}
	if len(byKey) < 1000 {
		t.Fatalf("only %d distinct rows generated; the test is too weak", len(byKey))
	}
}

func TestRowKeyLookAlikes(t *testing.T) {
	// Pairs that a naive "k=v," concatenation would confuse.
	pairs := [][2]collect.Row{
		{{"a": "bc"}, {"ab": "c"}},
		{{"a": ""}, {}},
		{{"a": "", "b": ""}, {"a": ""}},
		{{"a": "b,c=d"}, {"a": "b", "c": "d"}},
		{{"a": "1\x00b\x001"}, {"a": "1", "b": "1"}},
		{{"": "x"}, {"x": ""}},
		{{"port": "22"}, {"port": "22 "}},
	}
	for _, p := range pairs {
		if analyze.RowKey(p[0]) == analyze.RowKey(p[1]) {
			t.Errorf("rows %q and %q share a key", p[0], p[1])
		}
	}
	if analyze.RowKey(nil) != "" || analyze.RowKey(collect.Row{}) != "" {
		t.Error("the key of an empty row is not empty")
	}
}

func TestRowKeyIgnoresMapOrder(t *testing.T) {
	cols := []string{"address", "port", "protocol", "name", "path", "cmdline", "pid"}
	want := ""
	rng := rand.New(rand.NewPCG(2, 2))
	for i := range 50 {
		rng.Shuffle(len(cols), func(i, j int) { cols[i], cols[j] = cols[j], cols[i] })
		row := make(collect.Row)
		for _, c := range cols {
			row[c] = c + "-value"
		}
		key := analyze.RowKey(row)
		if i == 0 {
			want = key
		} else if key != want {
			t.Fatalf("the same row built in another order has another key")
		}
	}
}

func TestAppendRowKeyDrop(t *testing.T) {
	row := collect.Row{"pid": "1", "name": "init", "start_time": "5"}
	got := string(analyze.AppendRowKey([]byte("prefix"), row, []string{"pid", "start_time", "absent"}))
	if want := "prefix" + analyze.RowKey(collect.Row{"name": "init"}); got != want {
		t.Fatalf("AppendRowKey = %q, want %q", got, want)
	}
	if len(row) != 3 {
		t.Fatal("AppendRowKey changed the row")
	}
}

func TestKeyerMatchesVolatileKey(t *testing.T) {
	// Rows of one command with changing column sets: the Keyer's remembered
	// columns must never make it key a row differently.
	v := analyze.DefaultVolatile()
	rng := rand.New(rand.NewPCG(3, 3))
	base := []string{"pid", "name", "path", "cmdline", "uid", "parent", "start_time"}
	k := v.Keyer(payload.Processes)
	var buf []byte
	for range 5000 {
		row := collect.Row{}
		for _, c := range base {
			if rng.IntN(8) > 0 {
				row[c] = c + string(rune('a'+rng.IntN(3)))
			}
		}
		if rng.IntN(5) == 0 {
			row["extra"+string(rune('a'+rng.IntN(2)))] = "x"
		}
		buf = k.AppendKey(buf[:0], row)
		if want := v.Key(payload.Processes, row); string(buf) != want {
			t.Fatalf("Keyer key of %q = %q, Volatile.Key = %q", row, buf, want)
		}
		if want := analyze.RowKey(v.Strip(payload.Processes, row)); string(buf) != want {
			t.Fatalf("Keyer key of %q = %q, RowKey(Strip) = %q", row, buf, want)
		}
	}
}

func TestAppendKeyAllocatesNothing(t *testing.T) {
	row := collect.Row{"pid": "4242", "name": "sshd", "path": "/usr/sbin/sshd", "cmdline": "/usr/sbin/sshd -D",
		"uid": "0", "parent": "1", "start_time": "1764158400"}
	v := analyze.DefaultVolatile()
	k := v.Keyer(payload.Processes)
	buf := make([]byte, 0, 256)
	if n := testing.AllocsPerRun(100, func() { buf = v.AppendKey(buf[:0], payload.Processes, row) }); n != 0 {
		t.Errorf("Volatile.AppendKey: %v allocations per row, want 0", n)
	}
	if n := testing.AllocsPerRun(100, func() { buf = k.AppendKey(buf[:0], row) }); n != 0 {
		t.Errorf("Keyer.AppendKey: %v allocations per row, want 0", n)
	}
	m := map[string]int{analyze.RowKey(row): 1}
	if n := testing.AllocsPerRun(100, func() { buf = k.AppendKey(buf[:0], row); _ = m[string(buf)] }); n != 0 {
		t.Errorf("keying and looking up a row: %v allocations, want 0", n)
	}
}

// BenchmarkVolatileAppendKey keys one processes row of 7 columns, 3 of
// them volatile, into a reused buffer.
func BenchmarkVolatileAppendKey(b *testing.B) {
	row := collect.Row{"pid": "4242", "name": "sshd", "path": "/usr/sbin/sshd", "cmdline": "/usr/sbin/sshd -D",
		"uid": "0", "parent": "1", "start_time": "1764158400"}
	v := analyze.DefaultVolatile()
	var buf []byte
	b.ReportAllocs()
	for b.Loop() {
		buf = v.AppendKey(buf[:0], payload.Processes, row)
	}
}

// BenchmarkKeyerAppendKey is BenchmarkVolatileAppendKey through a Keyer.
func BenchmarkKeyerAppendKey(b *testing.B) {
	row := collect.Row{"pid": "4242", "name": "sshd", "path": "/usr/sbin/sshd", "cmdline": "/usr/sbin/sshd -D",
		"uid": "0", "parent": "1", "start_time": "1764158400"}
	k := analyze.DefaultVolatile().Keyer(payload.Processes)
	var buf []byte
	b.ReportAllocs()
	for b.Loop() {
		buf = k.AppendKey(buf[:0], row)
	}
}
