package collect_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/diffy-dfir/diffy/collect"
	"github.com/diffy-dfir/diffy/diffyerr"
)

// TestUnmarshalJSONTrailing: data after the Result is an error whatever
// its stdout's form. A stdout given as a string is parsed by the decoder's
// other jsontext.Decoder; it was parsed by the one reading the Result,
// which then found the end of the stdout string and took the Result as
// whole, trailing data and all (FuzzDecodeDifferential's input
// {"instAnCe_id":"0","stdout":"[]"}00).
func TestUnmarshalJSONTrailing(t *testing.T) {
	for _, data := range []string{
		`{"instAnCe_id":"0","stdout":"[]"}00`,
		`{"instance_id":"i-1","stdout":"[{\"a\":\"1\"}]"} {}`,
		`{"instance_id":"i-1","stdout":[]}0`,
	} {
		var r collect.Result
		if err := r.UnmarshalJSON([]byte(data)); !errors.Is(err, diffyerr.ErrInvalidInput) || !strings.Contains(err.Error(), "after its JSON value") {
			t.Errorf("UnmarshalJSON(%s): %v, want an error saying more data follows", data, err)
		}
	}
	var r collect.Result
	if err := r.UnmarshalJSON([]byte(`{"instance_id":"i-1","stdout":"[{\"a\":\"1\"}]"}`)); err != nil || len(r.Rows) != 1 || r.Rows[0]["a"] != "1" {
		t.Errorf("a stdout string: %+v, %v", r, err)
	}
}
