package analyze

import (
	"context"
	"time"

	"github.com/diffy-dfir/diffy/collect"
)

// Input is what an Analyzer works on.
type Input struct {
	// Key is the target key the results were collected for.
	Key string
	// Results are the collected Results, any order, several commands per
	// instance. Results that did not succeed are not analyzed as rows but
	// their hosts still appear in the Report, with Host.Errors.
	Results []collect.Result
	// Baseline holds the Results of one clean instance, or of a whole
	// group collected earlier (a fleet baseline), for analyzers that need
	// one (see BaselineUser); nil otherwise.
	Baseline []collect.Result
	// Skipped lists inputs that were dropped before analysis (a file that
	// was not valid JSON); the Report carries them on.
	Skipped []Skip
}

// Analyzer turns collected Results into a Report.
//
// Analyze puts every instance that appears in in.Results in Report.Hosts
// exactly once, outlier or not, sorted by instance ID, and sets Outlier by
// the analyzer's own decision. It does not modify in. It is safe for
// concurrent use and honours ctx cancellation (returning ctx's error). An
// analyzer that needs a baseline returns an error matching
// diffyerr.ErrNoBaseline when in.Baseline is empty. Errors are final.
type Analyzer interface {
	Analyze(ctx context.Context, in Input) (*Report, error)
}

// BaselineUser is implemented by analyzers that compare against a stored
// baseline. diffy.Diffy.Analyze loads the key's baseline for them only.
type BaselineUser interface {
	NeedsBaseline() bool
}

// The kinds of Finding.
const (
	// KindAdded: a row the host has and the baseline does not.
	KindAdded = "added"
	// KindRemoved: a row the baseline has and the host does not.
	KindRemoved = "removed"
	// KindRare: a row few hosts of the fleet (or of the host's cluster)
	// share.
	KindRare = "rare"
)

// Report is the outcome of an analysis: what Analyze returns and
// `diffy analyze --format json` prints. Its JSON form is stable (docs/design.md).
type Report struct {
	// Key is the target key analyzed.
	Key string `json:"key"`
	// Analyzer names the analyzer ("baseline", "cluster").
	Analyzer string `json:"analyzer"`
	// CreatedAt is when the report was made.
	CreatedAt time.Time `json:"created_at"`
	// BaselineInstance is the instance the baseline came from, for
	// baseline analysis against one instance.
	BaselineInstance string `json:"baseline_instance,omitempty"`
	// BaselineHosts is the number of instances of a fleet baseline (a
	// baseline of several instances), for baseline analysis against one.
	BaselineHosts int `json:"baseline_hosts,omitempty"`
	// Hosts has every analyzed host once, sorted by InstanceID.
	Hosts []Host `json:"hosts"`
	// Clusters describes the groups of similar hosts, for cluster analysis.
	Clusters []Cluster `json:"clusters,omitempty"`
	// Skipped lists inputs that were not analyzed, and why.
	Skipped []Skip `json:"skipped,omitempty"`
	// Notes say how far the result can be trusted (a small group, many
	// failed commands) and anything else the reader must know.
	Notes []string `json:"notes,omitempty"`
}

// Outliers returns the hosts whose Outlier flag is set, in report order.
func (r *Report) Outliers() []Host {
	var out []Host
	for _, h := range r.Hosts {
		if h.Outlier {
			out = append(out, h)
		}
	}
	return out
}

// Host is one analyzed instance.
type Host struct {
	// InstanceID names the instance.
	InstanceID string `json:"instance_id"`
	// Outlier is the analyzer's decision: look at this host first.
	Outlier bool `json:"outlier"`
	// Score grows with how much the host differs; comparable within one
	// report.
	Score float64 `json:"score"`
	// Cluster is the host's cluster, 0-based, for cluster analysis; 0
	// otherwise.
	Cluster int `json:"cluster"`
	// Findings say why, most telling first; empty (not null) when none.
	Findings []Finding `json:"findings"`
	// FindingsOmitted counts the host's findings that the analyzer found
	// and did not keep in Findings (a cap such as Clustering.MaxFindings):
	// a list that was cut says so. Zero when Findings holds them all.
	FindingsOmitted int `json:"findings_omitted,omitempty"`
	// Name, PrivateIP and Tags are what the target knew of the instance
	// (target.Instance), when it knew it; diffy.Diffy fills them in after
	// the analyzer ran. Empty otherwise.
	Name      string            `json:"name,omitempty"`
	PrivateIP string            `json:"private_ip,omitempty"`
	Tags      map[string]string `json:"tags,omitempty"`
	// Rank is the host's place when the hosts are ordered by Score, most
	// suspicious first (1), for the hosts with a score above zero; 0
	// otherwise.
	Rank int `json:"rank,omitempty"`
	// Position is the host's place on the analyzer's 2-D map of the fleet
	// (its first two principal coordinates, for cluster analysis), for
	// plots; empty when the analyzer makes no map.
	Position []float64 `json:"position,omitempty"`
	// Errors lists the host's commands that did not succeed ("processes:
	// Failed: ..."); their rows were not analyzed. Each is at most
	// MaxValueBytes and a mark, cut as a Finding's values are: the error
	// is the host's.
	Errors []string `json:"errors,omitempty"`
}

// Finding is one row that sets a host apart.
type Finding struct {
	// CommandID is the command whose output holds the row.
	CommandID string `json:"command_id"`
	// Kind is KindAdded, KindRemoved or KindRare.
	Kind string `json:"kind"`
	// Row is the row as compared (volatile columns dropped). Findings of
	// the same row may share its map: treat it as read-only.
	Row collect.Row `json:"row"`
	// HostsWithRow counts the analyzed hosts that have the row.
	HostsWithRow int `json:"hosts_with_row"`
	// Prevalence is HostsWithRow divided by the number of hosts analyzed.
	Prevalence float64 `json:"prevalence"`
	// Why says, in words an investigator reads, what sets the row apart:
	// `path="/usr/local/sbin/.sshd" where 999 of the 1,000 hosts with
	// this row have "/usr/sbin/sshd"`.
	Why string `json:"why,omitempty"`
	// Template is the row with its varying parts abstracted (numbers as
	// "#"), and the column that sets it apart, if one does, as "*".
	Template collect.Row `json:"template,omitempty"`
	// HostsWithTemplate counts the hosts with a row of that template.
	HostsWithTemplate int `json:"hosts_with_template,omitempty"`
	// Column is the column whose value sets the row apart, "" when the
	// whole row is new; "parent" for the name of its parent process.
	Column string `json:"column,omitempty"`
	// Usual is the value most hosts of the template have in Column, on
	// UsualHosts hosts.
	Usual      string `json:"usual,omitempty"`
	UsualHosts int    `json:"usual_hosts,omitempty"`
	// Deciding is set when the finding is part of the analyzer's decision
	// (it makes the host an outlier); the others are listed for context.
	Deciding bool `json:"deciding,omitempty"`
	// Cut lists the values kept only in part (over MaxValueBytes), with
	// each whole value's length and SHA-256; the analysis used them whole.
	Cut []Cut `json:"cut,omitempty"`
}

// Cluster describes one group of similar hosts.
type Cluster struct {
	// ID is the cluster's number, as Host.Cluster gives it.
	ID int `json:"id"`
	// Size is the number of hosts in the cluster.
	Size int `json:"size"`
	// Traits are rows that most of the cluster has and the rest of the
	// fleet mostly does not: what sets the cluster apart.
	Traits []Finding `json:"traits,omitempty"`
}

// Skip is an input that was not analyzed.
type Skip struct {
	// Source names the input (a file path, an instance ID).
	Source string `json:"source"`
	// Reason says why it was skipped.
	Reason string `json:"reason"`
	// A Report's Source and Reason are each at most MaxValueBytes and a
	// mark, cut as a Finding's values are: they may quote what a host
	// or a file sent.
}
