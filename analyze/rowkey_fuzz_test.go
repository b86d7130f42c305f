package analyze_test

import (
	"bytes"
	"encoding/binary"
	"maps"
	"testing"

	"github.com/diffy-dfir/diffy/analyze"
	"github.com/diffy-dfir/diffy/collect"
)

// fuzzRows reads rows from fuzz bytes: rows separated by 0x01, cells by
// 0x00, alternating column name and value (a missing last value is "").
func fuzzRows(data []byte) []collect.Row {
	var rows []collect.Row
	for _, line := range bytes.Split(data, []byte{1}) {
		row := collect.Row{}
		cells := bytes.Split(line, []byte{0})
		for i := 0; i < len(cells); i += 2 {
			v := ""
			if i+1 < len(cells) {
				v = string(cells[i+1])
			}
			row[string(cells[i])] = v
		}
		rows = append(rows, row)
	}
	return rows
}

// decodeRowKey inverts analyze.RowKey, as the doc's encoding describes it.
func decodeRowKey(t *testing.T, key string) collect.Row {
	row := collect.Row{}
	b := []byte(key)
	prev := ""
	for len(b) > 0 {
		var parts [2]string
		for i := range parts {
			n, w := binary.Uvarint(b)
			if w <= 0 || uint64(len(b)-w) < n {
				t.Fatalf("key %q: bad length at byte %d", key, len(key)-len(b))
			}
			parts[i] = string(b[w : w+int(n)])
			b = b[w+int(n):]
		}
		if len(row) > 0 && parts[0] <= prev {
			t.Fatalf("key %q: columns not sorted (%q after %q)", key, parts[0], prev)
		}
		prev = parts[0]
		row[parts[0]] = parts[1]
	}
	return row
}

// FuzzRowKey checks row normalization, what decides whether two hosts'
// rows are "the same" in both analyzers, on rows a host controls entirely
// (any column names and values, separators and NULs included):
//   - RowKey is injective: it decodes back to the row, so two rows share
//     a key exactly when they are equal, whatever bytes they hold;
//   - Volatile.Strip drops exactly the volatile columns, and Volatile.Key
//     is RowKey of the stripped row;
//   - a Keyer, fed the rows one after another (its column cache warm or
//     cold), keys each one exactly as Volatile.AppendKey does.
func FuzzRowKey(f *testing.F) {
	f.Add([]byte("pid\x00612\x00name\x00sshd\x00cmdline\x00/usr/sbin/sshd -D\x01pid\x00613\x00name\x00sshd\x00cmdline\x00/usr/sbin/sshd -D"), "processes")
	f.Add([]byte("a\x00\x00b\x01a\x00b\x00"), "listening_ports")
	f.Add([]byte("port\x0022\x00address\x000.0.0.0\x00fd\x003\x01port\x0022\x00address\x000.0.0.0\x00socket\x0099"), "listening_ports")
	f.Add([]byte("\x01\x01x"), "users")
	f.Fuzz(func(t *testing.T, data []byte, cmd string) {
		rows := fuzzRows(data)
		vol := analyze.DefaultVolatile()
		keyer := vol.Keyer(cmd)
		dropped := vol.Columns(cmd)
		keys := make([]string, len(rows))
		for i, row := range rows {
			k := analyze.RowKey(row)
			keys[i] = k
			if back := decodeRowKey(t, k); !maps.Equal(back, row) && !(len(row) == 0 && len(back) == 0) {
				t.Fatalf("RowKey(%q) decodes to %q", row, back)
			}
			stripped := vol.Strip(cmd, row)
			for c, v := range row {
				isVol := false
				for _, d := range dropped {
					isVol = isVol || d == c
				}
				if got, ok := stripped[c]; ok == isVol || (ok && got != v) {
					t.Fatalf("Strip(%q, %q) = %q: column %q mishandled (volatile: %v)", cmd, row, stripped, c, isVol)
				}
			}
			if len(stripped) > len(row) {
				t.Fatalf("Strip added columns: %q -> %q", row, stripped)
			}
			want := analyze.RowKey(stripped)
			if got := vol.Key(cmd, row); got != want {
				t.Fatalf("Volatile.Key(%q, %q) = %q, want RowKey(Strip) = %q", cmd, row, got, want)
			}
			if got := string(vol.AppendKey([]byte("prefix"), cmd, row)); got != "prefix"+want {
				t.Fatalf("Volatile.AppendKey(%q) = %q, want the prefix then %q", row, got, want)
			}
			if got := string(keyer.AppendKey([]byte("p"), row)); got != "p"+want {
				t.Fatalf("Keyer.AppendKey(row %d %q) = %q, want %q", i, row, got, "p"+want)
			}
		}
		for i := range rows {
			for j := range i {
				if (keys[i] == keys[j]) != maps.Equal(rows[i], rows[j]) {
					t.Fatalf("rows %q and %q: keys equal %v, rows equal %v", rows[i], rows[j], keys[i] == keys[j], maps.Equal(rows[i], rows[j]))
				}
			}
		}
	})
}
