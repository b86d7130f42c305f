package main

import (
	"io"

	"github.com/diffy-dfir/diffy/analyze"
	"github.com/diffy-dfir/diffy/examples/internal/cli"
	"github.com/diffy-dfir/diffy/render"
)

// formats are the --format names, for `diffy plugins` and the usage check.
var formats = []plugin{
	{"table", "aligned text for a terminal; host content escaped"},
	{"json", "the Report as JSON (the stable format of docs/design.md)"},
	{"html", "a self-contained HTML page: map of the hosts, clusters, outliers and their findings"},
}

// newWriter returns the report writer of the --format name. It is called
// before anything is collected, so a format that cannot be written fails
// early.
func newWriter(format string) (func(io.Writer, *analyze.Report) error, error) {
	switch format {
	case "table":
		return func(w io.Writer, r *analyze.Report) error { return render.Table(w, r) }, nil
	case "json":
		return render.JSON, nil
	case "html":
		return func(w io.Writer, r *analyze.Report) error { return render.HTML(w, r) }, nil
	}
	return nil, cli.Usagef("unknown --format %q", format)
}
