package collect_test

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/diffy-dfir/diffy/collect"
	"github.com/diffy-dfir/diffy/diffyerr"
	"github.com/diffy-dfir/diffy/internal/jsonv1"
)

// decodeSeeds are inputs of every shape a Result or an output can take,
// and of the ways they go wrong.
var decodeSeeds = []string{
	`{"instance_id":"i-0abc","command_id":"listening_ports","status":"Success","collected_at":"2026-11-26T12:00:00Z","stdout":[{"port":"22"}],"stderr":"","error":""}`,
	`{"instance_id":"i-1","status":"Success","collected_at":"2019-03-01 10:11:12.123456","stdout":"[{\"a\":\"b\"}]"}`,
	`{"instance_id":"i-1","status":"Failed","collected_at":null,"stdout":"","exit_code":2,"truncated":true,"raw_bytes":24000}`,
	`{"instance_id":"i-1","stdout":[{"a":1,"b":true,"c":null,"d":-0.5e3}]}`,
	`{"INSTANCE_ID":"i-1","Stdout":[{}],"ſtatus":"Success","exit_code":null}`,
	`{"instance_id":"i-1","stdout":[{"a":"x","a":"y"}],"stdout":null}`,
	`{"instance_id":"i-1","exit_code":1,"exit_code":null,"status":"Success"}`,
	`{"instance_id":"i-1","exit_code":1.0}`, `{"instance_id":"i-1","exit_code":"1"}`, `{"instance_id":"i-1","raw_bytes":1e3}`,
	`{"instance_id":"i-1","truncated":"yes"}`, `{"instance_id":5}`, `{"instance_id":null}`, `{"instance_id":"i-1","status":{}}`,
	`{"instance_id":"i-1","collected_at":"yesterday"}`, `{"instance_id":"i-1","collected_at":12}`,
	`{"instance_id":"i-1","stdout":"[{\"a\":"}`, `{"instance_id":"i-1","stdout":{"a":"b"}}`, `{"instance_id":"i-1","stdout":" \f "}`,
	`{"instance_id":"i-1","stdout":[null]}`, `{"instance_id":"i-1","stdout":[[]]}`, `{"instance_id":"i-1","stdout":[{"a":{"b":1}}]}`,
	`{"instance_id":"i-1","stdout":"[] x"}`, `{"instance_id":"i-1","stdout":"null"}`, `{"instance_id":"i-1","stdout":[]}`,
	"{\"instance_id\":\"i-\xff\",\"stdout\":[{\"k\xfe\":\"\\ud800\\u0041\\udc00\"}]}",
	`{"instance_id":"i-1","stdout":[{"a":"\u00e9\ud83d\ude00\"\\\/\b\f\n\r\t"}]}`,
	`{"instance_id":"i-1","unknown":[1,{"x":[]}],"stdout":[{"a":"1"}]}`,
	`{"instance_id":"i-1","collected_at":"2026-11-26T12:00:00+05:30","exit_code":-1}`,
	`{"instance_id":"i-1",}`, `{"instance_id" "i-1"}`, `[]`, `null`, `{}`, `5`, `"x"`, ` {"instance_id":"i-1"} `, `{"instance_id":"i-1"} x`,
	`[{"a":"1"}]`, ` [ {"a":"1"} , {"b":2,"c":true,"d":null} ] `, `[{"a":"1"}] trailing`, `[{"a":"1"},]`, `[1]`, ``, `   `,
}

// FuzzDecodeDifferential holds the decoder of Results and rows to the
// encoding/json one it replaces (internal/jsonv1): Result.UnmarshalJSON
// and ParseRows accept exactly what the old ones accepted, with the same
// Result or rows, and refuse the rest with an error matching
// ErrInvalidInput. The one difference: nothing at all nested more than
// 10,000 deep, where the old decoder let an element of an array nest one
// level deeper than jsontext does (TestDecodeDepth).
func FuzzDecodeDifferential(f *testing.F) {
	for _, s := range decodeSeeds {
		f.Add([]byte(s))
	}
	for _, name := range []string{"../testdata/original/web-1.json"} {
		if data, err := os.ReadFile(name); err == nil {
			f.Add(data)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var got, want collect.Result
		gotErr := got.UnmarshalJSON(data)
		wantErr := jsonv1.UnmarshalResult(data, &want)
		if (gotErr == nil) != (wantErr == nil) {
			t.Fatalf("UnmarshalJSON(%q): error %v, the old decoder's %v", data, gotErr, wantErr)
		}
		if gotErr != nil && !errors.Is(gotErr, diffyerr.ErrInvalidInput) {
			t.Fatalf("UnmarshalJSON(%q): error %v does not match ErrInvalidInput", data, gotErr)
		}
		if diff := cmp.Diff(want, got, cmp.Comparer(func(a, b time.Time) bool { return a.Equal(b) && a.Location().String() == b.Location().String() })); diff != "" {
			t.Fatalf("UnmarshalJSON(%q) differs from the old decoder (-old +new):\n%s", data, diff)
		}

		rows, err := collect.ParseRows(data)
		wantRows, wantErr := jsonv1.ParseRows(data)
		if (err == nil) != (wantErr == nil) {
			t.Fatalf("ParseRows(%q): error %v, the old decoder's %v", data, err, wantErr)
		}
		if err != nil && !errors.Is(err, diffyerr.ErrInvalidInput) {
			t.Fatalf("ParseRows(%q): error %v does not match ErrInvalidInput", data, err)
		}
		if diff := cmp.Diff(wantRows, rows); diff != "" {
			t.Fatalf("ParseRows(%q) differs from the old decoder (-old +new):\n%s", data, diff)
		}
	})
}

// TestDecodeDepth: a value nested 10,000 deep is read, one deeper is not
// valid JSON; as a field of a Result in an array, the old decoder allowed
// one level more (an element of an array was a value of its own).
func TestDecodeDepth(t *testing.T) {
	nest := func(n int) string { return strings.Repeat("[", n) + strings.Repeat("]", n) }
	var r collect.Result
	if err := r.UnmarshalJSON([]byte(`{"instance_id":"i-1","x":` + nest(9999) + `}`)); err != nil {
		t.Errorf("a Result nested 10,000 deep: %v", err)
	}
	if err := r.UnmarshalJSON([]byte(`{"instance_id":"i-1","x":` + nest(10000) + `}`)); err == nil {
		t.Error("a Result nested 10,001 deep was read")
	}
	var d collect.ResultDecoder
	if rs, _, err := d.Decode([]byte(`[{"instance_id":"i-1","x":` + nest(9998) + `}]`)); err != nil || len(rs) != 1 {
		t.Errorf("an array of a Result nested 10,000 deep in all: %v %v", rs, err)
	}
	var ie *collect.InputError
	if _, _, err := d.Decode([]byte(`[{"instance_id":"i-1","x":` + nest(9999) + `}]`)); !errors.As(err, &ie) || ie.What != "not valid JSON" {
		t.Errorf("an array of a Result nested 10,001 deep in all: %v, want not valid JSON", err)
	}
}

// TestDecodeFuzzCorpus runs every input of the fuzz corpora of this
// package's Result and row parsers through FuzzDecodeDifferential's
// check, whatever target they were found for.
func TestDecodeFuzzCorpus(t *testing.T) {
	dirs, _ := filepath.Glob("testdata/fuzz/*")
	n := 0
	for _, dir := range dirs {
		files, _ := filepath.Glob(filepath.Join(dir, "*"))
		for _, file := range files {
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			for _, line := range strings.Split(string(data), "\n")[1:] {
				v, ok := corpusBytes(line)
				if !ok {
					continue
				}
				n++
				var got, want collect.Result
				gotErr, wantErr := got.UnmarshalJSON(v), jsonv1.UnmarshalResult(v, &want)
				if (gotErr == nil) != (wantErr == nil) || cmp.Diff(want, got) != "" {
					t.Errorf("%s: UnmarshalJSON(%q) = %v, %v; old decoder %v, %v", file, v, got, gotErr, want, wantErr)
				}
				rows, err := collect.ParseRows(v)
				wantRows, wantErr := jsonv1.ParseRows(v)
				if (err == nil) != (wantErr == nil) || cmp.Diff(wantRows, rows) != "" {
					t.Errorf("%s: ParseRows(%q) = %v, %v; old decoder %v, %v", file, v, rows, err, wantRows, wantErr)
				}
			}
		}
	}
	t.Logf("%d corpus values checked", n)
}

// corpusBytes returns the value of one line of a Go fuzz corpus file when
// it is a []byte or a string.
func corpusBytes(line string) ([]byte, bool) {
	for _, p := range []string{"[]byte(", "string("} {
		if strings.HasPrefix(line, p) && strings.HasSuffix(line, ")") {
			s, err := strconv.Unquote(line[len(p) : len(line)-1])
			return []byte(s), err == nil
		}
	}
	return nil, false
}
