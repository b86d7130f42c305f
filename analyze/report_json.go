package analyze

import (
	"encoding/json"
	"fmt"
	"io"

	"github.com/diffy-dfir/diffy/diffyerr"
)

// WriteJSON writes r as indented JSON (two spaces) followed by a newline:
// the stable Report format of docs/design.md, as Diffy stores it and
// render.JSON prints it. The output is deterministic for a given Report
// (struct fields in their order, row columns sorted). Row content is kept
// intact: strings are escaped as encoding/json escapes them ('<', '>' and
// '&' as \u003c and so on, control characters as \u00XX; invalid UTF-8
// bytes become U+FFFD, as encoding/json does). A nil Report is an error
// matching diffyerr.ErrInvalidInput.
func (r *Report) WriteJSON(w io.Writer) error {
	if r == nil {
		return fmt.Errorf("no report: %w", diffyerr.ErrInvalidInput)
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}
