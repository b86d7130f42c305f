package render

import (
	"fmt"
	"io"

	"github.com/diffy-dfir/diffy/analyze"
	"github.com/diffy-dfir/diffy/diffyerr"
)

// JSON writes r as indented JSON (two spaces) followed by a newline: the
// stable Report format of docs/design.md, written by analyze.Report.WriteJSON
// (so what is printed is what Diffy stores). The output is deterministic for
// a given Report (struct fields in their order, row columns sorted). Row
// content is kept intact: strings are escaped as encoding/json escapes them
// ('<', '>' and '&' as \u003c and so on, control characters as \u00XX;
// invalid UTF-8 bytes become U+FFFD, as encoding/json does).
func JSON(w io.Writer, r *analyze.Report) error {
	if r == nil {
		return fmt.Errorf("render: no report: %w", diffyerr.ErrInvalidInput)
	}
	return r.WriteJSON(w)
}
