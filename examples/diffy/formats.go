package main

import (
	"io"

	"github.com/diffy-dfir/diffy/analyze"
	"github.com/diffy-dfir/diffy/examples/internal/cli"
	"github.com/diffy-dfir/diffy/render"
)

// formats are the --format names, for `diffy plugins` and the usage check.
var formats = []plugin{
	{"table", "text for a terminal, 100 columns wide, outliers first; host content escaped"},
	{"json", "the Report as JSON (the stable format of docs/design.md), every finding"},
	{"html", "one self-contained page: verdict, outliers and findings, map and table of every host"},
	{"csv", "one row per finding (and per host without findings), columns as README says"},
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
	case "csv":
		return render.CSV, nil
	}
	return nil, cli.Usagef("unknown --format %q", format)
}
