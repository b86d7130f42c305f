package collect_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/diffy-dfir/diffy/collect"
	"github.com/diffy-dfir/diffy/diffyerr"
)

// referenceRows is the specification ParseRows is held to: what
// encoding/json accepts as one JSON value that is an array of objects whose
// values are all scalars, with numbers and booleans kept as their JSON text
// and null as "".
func referenceRows(data []byte) ([]collect.Row, bool) {
	if !json.Valid(data) {
		return nil, false
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, false
	}
	arr, ok := v.([]any)
	if !ok {
		return nil, false
	}
	rows := make([]collect.Row, 0, len(arr))
	for _, e := range arr {
		obj, ok := e.(map[string]any)
		if !ok {
			return nil, false
		}
		row := collect.Row{}
		for k, val := range obj {
			switch val := val.(type) {
			case string:
				row[k] = val
			case json.Number:
				row[k] = val.String()
			case bool:
				if val {
					row[k] = "true"
				} else {
					row[k] = "false"
				}
			case nil:
				row[k] = ""
			default:
				return nil, false
			}
		}
		rows = append(rows, row)
	}
	return rows, true
}

// FuzzParseRows checks that ParseRows accepts exactly what encoding/json
// accepts as an array of flat objects, yields the same rows, and refuses
// everything else with diffyerr.ErrInvalidInput; and that accepted rows
// marshal and parse back to themselves.
func FuzzParseRows(f *testing.F) {
	for _, s := range []string{
		`[]`, `[{}]`, ` [ {"a":"1"} , {"b":2,"c":true,"d":null} ] `,
		`[{"pid":"1","name":"init"},{"pid":"2","name":"kthreadd"}]`,
		`[{"a":{"b":"c"}}]`, `[{"a":["x"]}]`, `[1]`, `[null]`, `{"a":"b"}`,
		`[{"a":"1"}] trailing`, `[{"a":"1"}][]`, `[{"a":"1"},]`, `[{"a":"1"}`,
		`[{"a":"\u0000\u001b[31mred\u001b[0m<script>"}]`, "[{\"a\":\"\xff\xfe\"}]",
		`[{"a":"1","a":"2"}]`, `[{"n":-1.5e300}]`, ``, `   `, `null`, `"[]"`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		rows, err := collect.ParseRows(data)
		want, ok := referenceRows(data)
		if ok != (err == nil) {
			t.Fatalf("ParseRows(%q): err = %v, but encoding/json accepts it as rows: %v", data, err, ok)
		}
		if err != nil {
			if !errors.Is(err, diffyerr.ErrInvalidInput) {
				t.Fatalf("ParseRows(%q): error %v does not match ErrInvalidInput", data, err)
			}
			if rows != nil {
				t.Fatalf("ParseRows(%q): rows %v returned with error %v", data, rows, err)
			}
			return
		}
		if rows == nil {
			t.Fatalf("ParseRows(%q): nil rows without error; want a non-nil slice", data)
		}
		if diff := cmp.Diff(want, rows); diff != "" {
			t.Fatalf("ParseRows(%q) differs from encoding/json (-json +ParseRows):\n%s", data, diff)
		}
		// Rows are plain strings now: marshalling and parsing again must
		// give them back unchanged.
		again, err := json.Marshal(rows)
		if err != nil {
			t.Fatalf("marshal rows of %q: %v", data, err)
		}
		back, err := collect.ParseRows(again)
		if err != nil {
			t.Fatalf("ParseRows(Marshal(rows of %q)) = %v", data, err)
		}
		if diff := cmp.Diff(rows, back); diff != "" {
			t.Fatalf("rows of %q do not survive a round trip (-first +second):\n%s", data, diff)
		}
	})
}
