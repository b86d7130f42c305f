package render

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/diffy-dfir/diffy/analyze"
	"github.com/diffy-dfir/diffy/collect"
	"github.com/diffy-dfir/diffy/diffyerr"
)

// DefaultMaxFindings is how many findings Table shows per outlier.
const DefaultMaxFindings = 10

// DefaultMaxTraits is how many traits Table shows per cluster.
const DefaultMaxTraits = 5

// maxErrorHosts is how many hosts with failed commands (and no outlier
// flag) Table lists by name.
const maxErrorHosts = 20

// Table writes r as aligned text for a terminal:
//
//   - a header: key, analyzer, when, baseline instance, hosts analyzed,
//     outliers, then the report's notes and skipped inputs with their
//     reasons;
//   - when r has clusters, each cluster's ID, size and traits;
//   - each outlier, by score then ID: its score (and cluster), its top
//     findings (kind, command, hosts with the row, prevalence, and the row
//     as col=value pairs sorted by column) and its failed commands;
//   - the hosts that are not outliers but had commands fail, then one line
//     counting the hosts that are not outliers.
//
// WithMaxFindings and WithMaxTraits change how many findings and traits
// are shown. All text taken from the report passes through Escape.
func Table(w io.Writer, r *analyze.Report, opt ...Option) error {
	if r == nil {
		return fmt.Errorf("render: no report: %w", diffyerr.ErrInvalidInput)
	}
	opts, err := resolve(opt)
	if err != nil {
		return err
	}
	maxF, maxT := opts.MaxFindings, opts.MaxTraits
	ew := &errWriter{w: w}
	tw := tabwriter.NewWriter(ew, 0, 0, 2, ' ', 0)
	p := func(format string, a ...any) { fmt.Fprintf(tw, format, a...) }
	outliers := r.Outliers()
	slices.SortStableFunc(outliers, func(a, b analyze.Host) int {
		if a.Score != b.Score {
			if a.Score > b.Score {
				return -1
			}
			return 1
		}
		return strings.Compare(a.InstanceID, b.InstanceID)
	})

	p("Key:\t%s\n", Escape(r.Key))
	p("Analyzer:\t%s\n", Escape(r.Analyzer))
	if !r.CreatedAt.IsZero() {
		p("Created:\t%s\n", r.CreatedAt.UTC().Format(time.RFC3339))
	}
	if r.BaselineInstance != "" {
		p("Baseline from:\t%s\n", Escape(r.BaselineInstance))
	}
	p("Hosts analyzed:\t%d\n", len(r.Hosts))
	p("Outliers:\t%d\n", len(outliers))
	for _, n := range r.Notes {
		p("Note:\t%s\n", Escape(n))
	}
	for _, s := range r.Skipped {
		p("Skipped:\t%s: %s\n", Escape(s.Source), Escape(s.Reason))
	}
	tw.Flush()

	if len(r.Clusters) > 0 {
		p("\nCLUSTERS\n")
		p("ID\tSIZE\tTRAITS\n")
		for _, c := range r.Clusters {
			if len(c.Traits) == 0 {
				p("%d\t%d\t-\n", c.ID, c.Size)
				continue
			}
			for i, t := range c.Traits {
				if i == maxT {
					n := len(c.Traits) - maxT
					p("\t\t... %d more %s\n", n, plural(n, "trait", "traits"))
					break
				}
				lead := "\t"
				if i == 0 {
					lead = fmt.Sprintf("%d\t%d", c.ID, c.Size)
				}
				p("%s\t%s %s (%d hosts, %.3f)\n", lead, Escape(t.CommandID), FormatRow(t.Row), t.HostsWithRow, t.Prevalence)
			}
		}
		tw.Flush()
	}

	if len(outliers) > 0 {
		p("\nOUTLIERS\n")
		tw.Flush()
	}
	for _, h := range outliers {
		head := fmt.Sprintf("%s  score %.2f", Escape(h.InstanceID), h.Score)
		if len(r.Clusters) > 0 {
			head += fmt.Sprintf("  cluster %d", h.Cluster)
		}
		p("%s  %d %s\n", head, len(h.Findings), plural(len(h.Findings), "finding", "findings"))
		if len(h.Findings) > 0 {
			p("  KIND\tCOMMAND\tHOSTS\tPREVALENCE\tROW\n")
			for i, f := range h.Findings {
				if i == maxF {
					n := len(h.Findings) - maxF
					p("  ... %d more %s (all are in the JSON report)\n", n, plural(n, "finding", "findings"))
					break
				}
				p("  %s\t%s\t%d\t%.3f\t%s\n", Escape(f.Kind), Escape(f.CommandID), f.HostsWithRow, f.Prevalence, FormatRow(f.Row))
			}
		}
		for _, e := range h.Errors {
			p("  failed: %s\n", Escape(e))
		}
		tw.Flush()
	}

	var failing []analyze.Host
	for _, h := range r.Hosts {
		if !h.Outlier && len(h.Errors) > 0 {
			failing = append(failing, h)
		}
	}
	if len(failing) > 0 {
		p("\nFAILED COMMANDS on hosts that are not outliers\n")
		for i, h := range failing {
			if i == maxErrorHosts {
				p("... and %d more hosts\n", len(failing)-maxErrorHosts)
				break
			}
			more := ""
			if len(h.Errors) > 1 {
				more = fmt.Sprintf(" (and %d more)", len(h.Errors)-1)
			}
			p("%s\t%s%s\n", Escape(h.InstanceID), Escape(h.Errors[0]), more)
		}
		tw.Flush()
	}

	rest := len(r.Hosts) - len(outliers)
	p("\n%d %s not %s.\n", rest, plural(rest, "host is", "hosts are"), plural(rest, "an outlier", "outliers"))
	tw.Flush()
	return ew.err
}

// FormatRow writes a row as col=value pairs sorted by column, separated by
// spaces, every name and value passed through Escape; a value that is
// empty or holds a space, '"' or '=' is put in double quotes, with '"'
// written \". An empty row is "-".
func FormatRow(row collect.Row) string {
	if len(row) == 0 {
		return "-"
	}
	cols := make([]string, 0, len(row))
	for c := range row {
		cols = append(cols, c)
	}
	slices.Sort(cols)
	var b strings.Builder
	for i, c := range cols {
		if i > 0 {
			b.WriteByte(' ')
		}
		v := Escape(row[c])
		if v == "" || strings.ContainsAny(v, ` "=`) {
			v = `"` + strings.ReplaceAll(v, `"`, `\"`) + `"`
		}
		b.WriteString(Escape(c))
		b.WriteByte('=')
		b.WriteString(v)
	}
	return b.String()
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// errWriter keeps the first error of w, and writes nothing after it.
type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) Write(p []byte) (int, error) {
	if e.err != nil {
		return 0, e.err
	}
	n, err := e.w.Write(p)
	e.err = err
	return n, err
}
