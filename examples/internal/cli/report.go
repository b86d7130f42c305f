package cli

import (
	"bufio"
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
	if err := WriteFileFrom(path, func(w io.Writer) error { return write(w, r) }); err != nil {
		return err
	}
	Written(stdout, r.Key, len(r.Hosts), len(r.Outliers()), path)
	return nil
}

// Written tells on stdout that the report of key, of hosts hosts and
// outliers outliers, was written to path.
func Written(stdout io.Writer, key string, hosts, outliers int, path string) {
	fmt.Fprintf(stdout, "%s: %d hosts analyzed, %d outliers; report written to %s\n",
		render.Escape(key), hosts, outliers, render.Escape(path))
}

// WriteFile writes data to path through a temporary file in the same
// directory, synced and renamed over path, then syncs the directory, so
// that path holds the old content or the new, never a part, and the new
// once WriteFile returned, even after a crash. The file is 0600: reports are incident
// evidence.
func WriteFile(path string, data []byte) error {
	return WriteFileFrom(path, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	})
}

// WriteFileFrom is WriteFile of what write writes (buffered), so that a
// large report need not be held whole: when write fails, path is left as
// it was and its error returned.
func WriteFileFrom(path string, write func(io.Writer) error) (err error) {
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
	// A write error of the file is said as one of -o; write's own errors
	// are returned as they are.
	fw := &fileWriter{f: f}
	bw := bufio.NewWriterSize(fw, 64<<10)
	if err := write(bw); err != nil {
		if fw.err != nil {
			return fmt.Errorf("-o %s: %w", path, fw.err)
		}
		return err
	}
	if err := bw.Flush(); err != nil {
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

// fileWriter writes to f, keeping its first error.
type fileWriter struct {
	f   *os.File
	err error
}

func (w *fileWriter) Write(p []byte) (int, error) {
	n, err := w.f.Write(p)
	if err != nil && w.err == nil {
		w.err = err
	}
	return n, err
}

// syncDir is fsync.Dir; tests replace it to see when it is called.
var syncDir = fsync.Dir
