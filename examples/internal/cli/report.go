package cli

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/diffy-dfir/diffy/analyze"
	"github.com/diffy-dfir/diffy/internal/fsync"
	"github.com/diffy-dfir/diffy/render"
)

// Format is a --format name and what it writes, for `diffy plugins` and
// the usage checks.
type Format struct{ Name, What string }

// Formats are the --format names, in the order the usage lists them.
var Formats = []Format{
	{"table", "text for a terminal, 100 columns wide, outliers first; host content escaped"},
	{"json", "the Report as JSON (the stable format of docs/design.md), every finding"},
	{"html", "one self-contained page: verdict, outliers and findings, map and table of every host"},
	{"csv", "one row per finding (and per host without findings), columns as README says"},
}

// FormatNames returns the names of Formats.
func FormatNames() []string {
	out := make([]string, len(Formats))
	for i, f := range Formats {
		out[i] = f.Name
	}
	return out
}

// ReportWriter writes a Report in one format.
type ReportWriter func(io.Writer, *analyze.Report) error

// NewWriter returns the writer of the --format name, with opts for the
// table and HTML writers; another name is a usage error. It is called
// before anything is collected, so a format that cannot be written fails
// early.
func NewWriter(format string, opts ...render.Option) (ReportWriter, error) {
	switch format {
	case "table":
		return func(w io.Writer, r *analyze.Report) error { return render.Table(w, r, opts...) }, nil
	case "json":
		return render.JSON, nil
	case "html":
		return func(w io.Writer, r *analyze.Report) error { return render.HTML(w, r, opts...) }, nil
	case "csv":
		return render.CSV, nil
	}
	return nil, Usagef("unknown --format %q: use table, json, html or csv", format)
}

// CheckOutput checks, before any work starts, that a report can be
// written to path (-o): its directory exists and takes a new file, and
// path is not a directory. It leaves nothing behind.
func CheckOutput(path string) error {
	if fi, err := os.Stat(path); err == nil && fi.IsDir() {
		return fmt.Errorf("-o %s: is a directory", path)
	}
	f, err := os.CreateTemp(filepath.Dir(path), ".diffy-report-*.tmp")
	if err != nil {
		return fmt.Errorf("-o %s: cannot write a file there: %w", path, err)
	}
	name := f.Name()
	f.Close()
	return os.Remove(name)
}

// WriteReport writes r with write to path (atomically, see WriteFile), or
// to stdout when path is empty. After a file is written, it tells on
// stdout what was written where.
func WriteReport(path string, r *analyze.Report, write ReportWriter, stdout io.Writer) error {
	if path == "" {
		return write(stdout, r)
	}
	var buf bytes.Buffer
	if err := write(&buf, r); err != nil {
		return err
	}
	if err := WriteFile(path, buf.Bytes()); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s: %d hosts analyzed, %d outliers; report written to %s\n",
		render.Escape(r.Key), len(r.Hosts), len(r.Outliers()), render.Escape(path))
	return nil
}

// WriteFile writes data to path through a temporary file in the same
// directory, synced and renamed over path, then syncs the directory, so
// that path holds the old content or the new, never a part, and the new
// once WriteFile returned, even after a crash. The file is 0600: reports are incident
// evidence.
func WriteFile(path string, data []byte) (err error) {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, ".diffy-report-*.tmp")
	if err != nil {
		return fmt.Errorf("-o %s: %w", path, err)
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if err := f.Chmod(0o600); err != nil {
		return fmt.Errorf("-o %s: %w", path, err)
	}
	if _, err := f.Write(data); err != nil {
		return fmt.Errorf("-o %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("-o %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("-o %s: %w", path, err)
	}
	if err := os.Rename(f.Name(), path); err != nil {
		return fmt.Errorf("-o %s: %w", path, err)
	}
	// The rename is in the folder's entries: flush them too, or a crash
	// now could leave the old file (or none) after the CLI said it wrote
	// the new one.
	if err := syncDir(dir); err != nil {
		return fmt.Errorf("-o %s: flushing %s: %w", path, dir, err)
	}
	return nil
}

// syncDir is fsync.Dir; tests replace it to see when it is called.
var syncDir = fsync.Dir
