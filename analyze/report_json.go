package analyze

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"

	jsonv2 "github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
	jsonv1 "github.com/go-json-experiment/json/v1"

	"github.com/diffy-dfir/diffy/diffyerr"
)

// WriteJSON writes r as indented JSON (two spaces) followed by a newline:
// the stable Report format of docs/design.md, as Diffy stores it and
// render.JSON prints it. The output is deterministic for a given Report
// (struct fields in their order, row columns sorted). Row content is kept
// intact: strings are escaped as encoding/json escapes them ('<', '>' and
// '&' as \u003c and so on, control characters as \u00XX; invalid UTF-8
// bytes become U+FFFD, as encoding/json does). A nil Report is an error
// matching diffyerr.ErrInvalidInput. Nothing is written when r cannot be
// encoded.
//
// The bytes are those of encoding/json's Encoder with SetIndent("", "  "),
// made in one pass by go-json-experiment/json with encoding/json's options
// (jsonv1.DefaultOptionsV1, map keys sorted): about twice as fast, which
// counts for the Report of a large fleet (100 MB of JSON for 10,000 hosts
// with 28 findings each). The one difference between the two is invalid
// UTF-8, which encoding/json writes as the escape \ufffd and the other as
// U+FFFD itself: output that holds U+FFFD is made again by encoding/json.
// TestWriteJSONIsEncodingJSON holds it to that.
func (r *Report) WriteJSON(w io.Writer) error {
	if r == nil {
		return fmt.Errorf("no report: %w", diffyerr.ErrInvalidInput)
	}
	data, err := jsonv2.Marshal(r, jsonv1.DefaultOptionsV1(), jsonv2.Deterministic(true), jsontext.WithIndent("  "))
	if err != nil {
		return err
	}
	if bytes.Contains(data, replacementChar) {
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetIndent("", "  ")
		if err := enc.Encode(r); err != nil {
			return err
		}
		_, err = w.Write(buf.Bytes())
		return err
	}
	_, err = w.Write(append(data, '\n'))
	return err
}

// replacementChar is U+FFFD in UTF-8.
var replacementChar = []byte("\uFFFD")
