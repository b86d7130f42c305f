package render

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/diffy-dfir/diffy/analyze"
	"github.com/diffy-dfir/diffy/diffyerr"
)

// csvColumns is CSV's header row.
var csvColumns = []string{"key", "analyzer", "instance_id", "name", "private_ip", "tags", "outlier", "score", "rank", "cluster",
	"findings", "findings_omitted", "errors", "finding", "kind", "command_id", "hosts_with_row", "prevalence", "row",
	"why", "template", "hosts_with_template", "column", "usual", "usual_hosts", "deciding"}

// CSV writes r as comma-separated values (RFC 4180, as encoding/csv writes
// them): a header row naming the columns, then one row per finding of each
// host, in report order, and one row for a host without findings (its
// finding columns empty), so that every host analyzed appears. Nothing is
// cut: all the findings the report holds are written. The columns:
//
//	key                  the report's key
//	analyzer             the analyzer ("baseline", "cluster")
//	instance_id          the host
//	name, private_ip     what the target knew of it, when it knew it
//	tags                 its tags, a JSON object of strings (empty when none)
//	outlier              true or false: the analyzer's decision
//	score                the host's score
//	rank                 its place by score, most suspicious first (1); 0 when unranked
//	cluster              the host's cluster (0 without clusters)
//	findings             the host's findings, those the analyzer did not keep included
//	findings_omitted     of them, those the analyzer did not keep (Host.FindingsOmitted)
//	errors               the host's failed commands, joined by "; "
//	finding              the finding's number in the host's list, from 1; empty on a host's one row without findings
//	kind                 added, removed or rare
//	command_id           the command whose output holds the row
//	hosts_with_row       how many of the hosts analyzed have the row
//	prevalence           hosts_with_row over the hosts analyzed, 0 to 1
//	row                  the row, a JSON object of strings
//	why                  the analyzer's reason, in words (cluster analysis)
//	template             the row with its varying parts abstracted, a JSON object ("" when none)
//	hosts_with_template  how many hosts have a row of that template
//	column               the column that sets the row apart ("" when the whole row does)
//	usual                the value most hosts of the template have in that column
//	usual_hosts          how many hosts have it
//	deciding             true when the finding makes the host an outlier
//
// The file is safe to print on a terminal: the row and tags are JSON
// (escaped as encoding/json escapes strings, so intact), the other text
// passes through Escape. A text cell starting with '=', '+', '-' or '@'
// gets a leading "'": a spreadsheet would otherwise run it as a formula,
// and the text came from a host.
func CSV(w io.Writer, r *analyze.Report) error {
	if r == nil {
		return fmt.Errorf("render: no report: %w", diffyerr.ErrInvalidInput)
	}
	cw := csv.NewWriter(w)
	if err := cw.Write(csvColumns); err != nil {
		return err
	}
	for _, h := range r.Hosts {
		tags := ""
		if len(h.Tags) > 0 {
			b, err := json.Marshal(h.Tags)
			if err != nil {
				return fmt.Errorf("render: the tags of %s: %w", Escape(h.InstanceID), err)
			}
			tags = string(b)
		}
		host := []string{text(r.Key), text(r.Analyzer), text(h.InstanceID), text(h.Name), text(h.PrivateIP), tags,
			strconv.FormatBool(h.Outlier), strconv.FormatFloat(h.Score, 'g', -1, 64), strconv.Itoa(h.Rank), strconv.Itoa(h.Cluster),
			strconv.Itoa(len(h.Findings) + h.FindingsOmitted), strconv.Itoa(h.FindingsOmitted), text(strings.Join(h.Errors, "; "))}
		if len(h.Findings) == 0 {
			if err := cw.Write(append(host, make([]string, len(csvColumns)-len(host))...)); err != nil {
				return err
			}
			continue
		}
		for i, f := range h.Findings {
			row, err := json.Marshal(f.Row)
			if err != nil {
				return fmt.Errorf("render: the row of %s: %w", Escape(h.InstanceID), err)
			}
			tmpl := ""
			if len(f.Template) > 0 {
				b, err := json.Marshal(f.Template)
				if err != nil {
					return fmt.Errorf("render: the template of %s: %w", Escape(h.InstanceID), err)
				}
				tmpl = string(b)
			}
			rec := append(host[:len(host):len(host)], strconv.Itoa(i+1), text(f.Kind), text(f.CommandID),
				strconv.Itoa(f.HostsWithRow), strconv.FormatFloat(f.Prevalence, 'g', -1, 64), string(row),
				text(f.Why), tmpl, strconv.Itoa(f.HostsWithTemplate), text(f.Column), text(f.Usual), strconv.Itoa(f.UsualHosts),
				strconv.FormatBool(f.Deciding))
			if err := cw.Write(rec); err != nil {
				return err
			}
		}
	}
	cw.Flush()
	return cw.Error()
}

// text escapes a text cell for a terminal and guards it against being run
// as a spreadsheet formula.
func text(s string) string {
	s = Escape(s)
	if s != "" && strings.ContainsRune("=+-@", rune(s[0])) {
		return "'" + s
	}
	return s
}
