package render

import (
	"cmp"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/diffy-dfir/diffy/analyze"
	"github.com/diffy-dfir/diffy/collect"
	"github.com/diffy-dfir/diffy/diffyerr"
)

// DefaultMaxFindings is how many findings Table shows per outlier.
const DefaultMaxFindings = 10

// DefaultMaxTraits is how many traits Table shows per cluster with
// WithVerbose.
const DefaultMaxTraits = 5

// DefaultWidth is the width of Table's lines, in terminal columns: a
// terminal of 100 columns shows every line whole. MinWidth is the least
// WithWidth takes: room for an instance ID and its score.
const (
	DefaultWidth = 100
	MinWidth     = 40
)

// maxErrorHosts is how many hosts with failed commands (and no outlier
// flag) Table lists by name.
const maxErrorHosts = 20

// Table writes r as text for a terminal, no line wider than the width
// (WithWidth; DefaultWidth, 100 columns), triage first:
//
//   - the verdict (see Verdict), when the report was made, its notes (folded onto more lines, never cut: they say how
//     far it can be trusted) and the skipped inputs;
//   - each outlier, most telling first (highest score, then ID): its
//     score, cluster, number of findings, and what the target knew of it;
//     its findings (kind, command, how many of the hosts have the row, and
//     the row as col=value pairs sorted by column, then the analyzer's
//     reason, Finding.Why, when it gives one), at most WithMaxFindings
//     of them with the number of the others; its failed commands;
//   - the clusters, one line each (size, outliers, first trait), or with
//     WithVerbose each trait on its own line;
//   - the hosts that are not outliers but had commands fail, and one line
//     counting the hosts that are not outliers.
//
// A row or message longer than its line is cut with an ellipsis (…); with
// WithVerbose it is folded onto more lines instead. The whole row is in
// the JSON and HTML reports. All text taken from the report passes through
// Escape; widths count East Asian wide characters as two columns.
func Table(w io.Writer, r *analyze.Report, opt ...Option) error {
	if r == nil {
		return fmt.Errorf("render: no report: %w", diffyerr.ErrInvalidInput)
	}
	opts, err := resolve(opt, DefaultMaxFindings)
	if err != nil {
		return err
	}
	ew := &errWriter{w: w}
	t := &tableWriter{w: ew, width: opts.Width, fold: opts.Verbose}
	n := len(r.Hosts)
	outliers := r.Outliers()
	slices.SortStableFunc(outliers, func(a, b analyze.Host) int {
		return cmp.Or(cmp.Compare(b.Score, a.Score), strings.Compare(a.InstanceID, b.InstanceID))
	})

	key := Escape(r.Key)
	if key != "" {
		key += ": "
	}
	t.wrap("", key+Verdict(r))
	if !r.CreatedAt.IsZero() {
		t.line("", "made "+r.CreatedAt.UTC().Format(time.RFC3339))
	}
	for _, note := range r.Notes {
		t.wrap("Note: ", Escape(note))
	}
	for _, s := range r.Skipped {
		t.wrap("Skipped: ", Escape(s.Source)+": "+Escape(s.Reason))
	}

	if len(outliers) > 0 {
		t.blank()
		t.line("", "OUTLIERS, most telling first")
	}
	clustered := len(r.Clusters) > 0
	for _, h := range outliers {
		head := []string{Escape(h.InstanceID), "score " + formatScore(h.Score)}
		if clustered {
			head = append(head, fmt.Sprintf("cluster %d", h.Cluster))
		}
		total := len(h.Findings) + h.FindingsOmitted
		head = append(head, fmt.Sprintf("%d %s", total, plural(total, "finding", "findings")))
		m := hostMeta(&h, nil)
		for _, s := range []string{m.name, m.ip} {
			if s != "" {
				head = append(head, s)
			}
		}
		t.line("", strings.Join(head, "  "))
		fs := h.Findings
		if opts.MaxFindings >= 0 && len(fs) > opts.MaxFindings {
			fs = fs[:opts.MaxFindings]
		}
		t.findings(fs, n)
		if more := len(h.Findings) - len(fs); more > 0 {
			t.line("  ", fmt.Sprintf("... %d more %s (all are in the JSON report)", more, plural(more, "finding", "findings")))
		}
		if h.FindingsOmitted > 0 {
			t.line("  ", fmt.Sprintf("... and %d more the analyzer did not keep (its MaxFindings)", h.FindingsOmitted))
		}
		for _, e := range h.Errors {
			t.wrap("  failed: ", Escape(e))
		}
	}

	if clustered {
		t.blank()
		if opts.Verbose {
			t.line("", "CLUSTERS")
		} else {
			t.line("", "CLUSTERS (-v for what sets each apart)")
		}
		outOf := map[int]int{}
		for _, h := range outliers {
			outOf[h.Cluster]++
		}
		heads := make([][3]string, len(r.Clusters))
		var widths [3]int
		for i, c := range r.Clusters {
			heads[i] = [3]string{fmt.Sprint(c.ID), fmt.Sprintf("%d %s", c.Size, plural(c.Size, "host", "hosts")),
				fmt.Sprintf("%d %s", outOf[c.ID], plural(outOf[c.ID], "outlier", "outliers"))}
			for j, s := range heads[i] {
				widths[j] = max(widths[j], len(s))
			}
		}
		for i, c := range r.Clusters {
			head := fmt.Sprintf("%-*s  %*s  %-*s", widths[0], heads[i][0], widths[1], heads[i][1], widths[2], heads[i][2])
			if len(c.Traits) == 0 {
				t.line("", head+"  nothing sets it apart")
				continue
			}
			if !opts.Verbose {
				t.line("", fmt.Sprintf("%s  %d %s: %s %s", head, len(c.Traits), plural(len(c.Traits), "trait", "traits"),
					Escape(c.Traits[0].CommandID), FormatRow(c.Traits[0].Row)))
				continue
			}
			t.line("", head)
			ts := c.Traits
			if opts.MaxTraits >= 0 && len(ts) > opts.MaxTraits {
				ts = ts[:opts.MaxTraits]
			}
			t.findings(ts, n)
			if more := len(c.Traits) - len(ts); more > 0 {
				t.line("  ", fmt.Sprintf("... %d more %s", more, plural(more, "trait", "traits")))
			}
		}
	}

	var failing []analyze.Host
	for _, h := range r.Hosts {
		if !h.Outlier && len(h.Errors) > 0 {
			failing = append(failing, h)
		}
	}
	if len(failing) > 0 {
		t.blank()
		t.line("", "FAILED COMMANDS on hosts that are not outliers")
		for i, h := range failing {
			if i == maxErrorHosts {
				t.line("", fmt.Sprintf("... and %d more hosts (all are in the JSON report)", len(failing)-maxErrorHosts))
				break
			}
			more := ""
			if len(h.Errors) > 1 {
				more = fmt.Sprintf(" (and %d more)", len(h.Errors)-1)
			}
			t.wrap(Escape(h.InstanceID)+"  ", Escape(h.Errors[0])+more)
		}
	}

	rest := n - len(outliers)
	t.blank()
	t.line("", fmt.Sprintf("%d %s not %s.", rest, plural(rest, "host is", "hosts are"), plural(rest, "an outlier", "outliers")))
	return ew.err
}

// tableWriter writes Table's lines, none wider than width: cut with an
// ellipsis, or folded when fold is set.
type tableWriter struct {
	w     io.Writer
	width int
	fold  bool
}

func (t *tableWriter) blank() { io.WriteString(t.w, "\n") }

// line writes indent and s on one line: cut, or folded under indent.
func (t *tableWriter) line(indent, s string) {
	if t.fold {
		t.hang(indent, strings.Repeat(" ", textWidth(indent)), s)
		return
	}
	io.WriteString(t.w, cut(indent+s, t.width)+"\n")
}

// wrap writes lead and s folded onto as many lines as it needs, the
// others indented under s, whatever fold says: for text never cut.
func (t *tableWriter) wrap(lead, s string) {
	t.hang(lead, strings.Repeat(" ", min(textWidth(lead), t.width/2)), s)
}

// hang writes lead then s, folded at the width, the lines after the first
// starting with indent.
func (t *tableWriter) hang(lead, indent, s string) {
	first := true
	for {
		pre := indent
		if first {
			pre = lead
		}
		room := max(1, t.width-textWidth(pre))
		if textWidth(s) <= room {
			io.WriteString(t.w, pre+s+"\n")
			return
		}
		head, rest := splitAt(s, room)
		io.WriteString(t.w, pre+head+"\n")
		s, first = rest, false
	}
}

// findings writes findings as aligned columns (kind, command, share of
// the hosts, row), the row cut or folded at the width.
func (t *tableWriter) findings(fs []analyze.Finding, hosts int) {
	if len(fs) == 0 {
		return
	}
	const indent = "  "
	cols := make([][3]string, len(fs))
	widths := [3]int{textWidth("KIND"), textWidth("COMMAND"), textWidth("HOSTS")}
	for i, f := range fs {
		cols[i] = [3]string{Escape(f.Kind), Escape(f.CommandID), share(f, hosts)}
		for j, c := range cols[i] {
			widths[j] = max(widths[j], textWidth(c))
		}
	}
	pad := func(c [3]string) string {
		var b strings.Builder
		b.WriteString(indent)
		for j, s := range c {
			b.WriteString(s)
			b.WriteString(strings.Repeat(" ", widths[j]-textWidth(s)+2))
		}
		return b.String()
	}
	// Room for the rows: when the columns leave too little, each row goes
	// on its own line under them.
	lead := widths[0] + widths[1] + widths[2] + 6 + len(indent)
	below := t.width-lead < 24
	if below {
		t.line("", strings.TrimRight(pad([3]string{"KIND", "COMMAND", "HOSTS"}), " ")+"  (ROW below)")
	} else {
		t.line("", pad([3]string{"KIND", "COMMAND", "HOSTS"})+"ROW")
	}
	for i, f := range fs {
		row := FormatRow(f.Row)
		switch {
		case below:
			t.line("", strings.TrimRight(pad(cols[i]), " "))
			t.line(indent+"    ", row)
		case t.fold:
			t.hang(pad(cols[i]), strings.Repeat(" ", lead), row)
		default:
			t.line(pad(cols[i]), row)
		}
		// The analyzer's reason, in its words, is never cut.
		if f.Why != "" {
			t.wrap(indent+"    why: ", Escape(f.Why))
		}
	}
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
