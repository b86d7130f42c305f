package diffytest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/diffy-dfir/diffy/analyze"
	"github.com/diffy-dfir/diffy/collect"
	"github.com/diffy-dfir/diffy/diffyerr"
	"github.com/diffy-dfir/diffy/payload"
)

// TestAnalyzer runs the Analyzer suite: each rule below is a subtest of t,
// run on a fresh Analyzer from newAnalyzer. The suite makes its own input:
// fleets of hosts whose rows are alike (CleanRows), some with a planted
// row (PlantedRow); an analyzer that needs a baseline (analyze.BaselineUser)
// gets a clean host's Results as in.Baseline. A broken rule fails its
// subtest with a message naming the rule. The rules, from the doc comment
// of analyze.Analyzer:
//
//   - every-host-once: every instance of in.Results is in Report.Hosts
//     exactly once, including a host whose every command failed, and no
//     other host (not the baseline's instance either).
//   - hosts-sorted: Report.Hosts is sorted by InstanceID.
//   - findings-not-nil: every Host.Findings is non-nil, so that it is [] in
//     JSON, not null.
//   - failed-results-reported: a host whose commands failed has Host.Errors.
//   - report-fields: Report.Key is in.Key; Report.Analyzer is set; every
//     finding has a known Kind and a CommandID, HostsWithRow between 0 and
//     the number of hosts, Prevalence in [0, 1]; scores are finite.
//   - carries-skipped: the Skips of in.Skipped are in Report.Skipped.
//   - does-not-modify-input: Analyze leaves in (its Results, rows and
//     baseline) as it was.
//   - cancelled-context: Analyze with a cancelled context returns an error
//     matching context.Canceled.
//   - no-baseline: an analyzer that needs a baseline returns an error
//     matching diffyerr.ErrNoBaseline when in.Baseline is empty. Skipped for
//     analyzers that need none.
//   - deterministic: two calls on the same input return the same Report,
//     CreatedAt aside.
//   - clean-fleet-no-outlier: in a fleet of identical hosts no host is an
//     outlier.
//   - planted-row-outlier: in a fleet of FleetSize identical hosts and one
//     with PlantedRow added, that host, and only it, is an outlier, and one
//     of its findings is about the planted row (its command, a value of it).
//   - concurrent-use: calls from several goroutines at once return the same
//     Report, CreatedAt aside (run the suite with -race).
//
// A call that panics, or does not return within HangTimeout, breaks the
// rule that made it.
func TestAnalyzer(t *testing.T, newAnalyzer func(t *testing.T) analyze.Analyzer) {
	t.Helper()
	runTest(t, "Analyzer", analyzerRules, newAnalyzer)
}

// CheckAnalyzer runs the rules of TestAnalyzer without a *testing.T, each
// on a fresh Analyzer from newAnalyzer, and returns every rule broken as a
// *Violation, joined with errors.Join; nil when the Analyzer keeps them
// all.
func CheckAnalyzer(newAnalyzer func() (analyze.Analyzer, error)) error {
	return runCheck("Analyzer", analyzerRules, newAnalyzer)
}

// FleetSize is the number of identical hosts in the fleets of the Analyzer
// suite.
const FleetSize = 30

// CollectedAt is the time the Analyzer suite's generated Results were
// collected. The suite keeps its own copy: changing this changes nothing it
// does.
var CollectedAt = collectedAt

var collectedAt = time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)

// BaselineInstance is the instance ID of the clean host the Analyzer suite
// gives as in.Baseline.
const BaselineInstance = "i-baseline"

// CleanRows returns the rows of a clean host of the Analyzer suite's
// fleets, by command ID: a few listening ports, processes and users, as an
// osquery host would report them. Every call returns a new copy.
func CleanRows() map[string][]collect.Row {
	return map[string][]collect.Row{
		payload.ListeningPorts: {
			{"address": "0.0.0.0", "port": "22", "protocol": "6", "name": "sshd", "path": "/usr/sbin/sshd", "cmdline": "/usr/sbin/sshd -D", "pid": "612"},
			{"address": "127.0.0.1", "port": "8080", "protocol": "6", "name": "app", "path": "/opt/app/bin/app", "cmdline": "/opt/app/bin/app --listen 127.0.0.1:8080", "pid": "1024"},
		},
		payload.Processes: {
			{"pid": "1", "name": "systemd", "path": "/usr/lib/systemd/systemd", "cmdline": "/sbin/init", "uid": "0", "parent": "0", "start_time": "1764158400"},
			{"pid": "612", "name": "sshd", "path": "/usr/sbin/sshd", "cmdline": "/usr/sbin/sshd -D", "uid": "0", "parent": "1", "start_time": "1764158410"},
			{"pid": "1024", "name": "app", "path": "/opt/app/bin/app", "cmdline": "/opt/app/bin/app --listen 127.0.0.1:8080", "uid": "1000", "parent": "1", "start_time": "1764158420"},
		},
		payload.Users: {
			{"uid": "0", "gid": "0", "username": "root", "description": "root", "directory": "/root", "shell": "/bin/bash"},
			{"uid": "1000", "gid": "1000", "username": "app", "description": "", "directory": "/home/app", "shell": "/usr/sbin/nologin"},
		},
	}
}

// PlantedRow returns the row the Analyzer suite adds to one host's
// listening ports: a listener no other host has. Its name and path hold the
// word "backdoor", which a finding about it must show.
func PlantedRow() collect.Row {
	return collect.Row{"address": "0.0.0.0", "port": "4444", "protocol": "6", "name": "backdoor", "path": "/tmp/.cache/backdoor", "cmdline": "/tmp/.cache/backdoor -l 4444", "pid": "31337"}
}

// hostID returns the instance ID of the suite's k-th host. The IDs are not
// in k's order, so that a report sorted by k is not sorted by ID.
func hostID(k int) string { return fmt.Sprintf("i-%017x", (k+1)*7919%100003) }

// hostResults returns one successful Result per command of rows for id.
func hostResults(id string, rows map[string][]collect.Row) []collect.Result {
	var rs []collect.Result
	for _, cmd := range slices.Sorted(maps.Keys(rows)) {
		rs = append(rs, collect.Result{InstanceID: id, CommandID: cmd, Status: collect.StatusSuccess, CollectedAt: collectedAt, Rows: cloneRows(rows[cmd]), ExitCode: 0})
	}
	return rs
}

// cleanFleet returns the Results of n clean hosts, interleaved by command.
func cleanFleet(n int) ([]collect.Result, []string) {
	ids := make([]string, n)
	var rs []collect.Result
	for k := range n {
		ids[k] = hostID(k)
		rs = append(rs, hostResults(ids[k], CleanRows())...)
	}
	return rs, ids
}

// suiteInput returns an Input for a, with a baseline when a needs one.
func suiteInput(a analyze.Analyzer, key string, results []collect.Result) analyze.Input {
	in := analyze.Input{Key: key, Results: results}
	if needsBaseline(a) {
		in.Baseline = hostResults(BaselineInstance, CleanRows())
	}
	return in
}

func needsBaseline(a analyze.Analyzer) bool {
	bu, ok := a.(analyze.BaselineUser)
	return ok && bu.NeedsBaseline()
}

// mixedFleet returns a clean fleet of n hosts plus one host whose every
// command failed and one whose processes command failed, and the IDs of all.
func mixedFleet(n int) (rs []collect.Result, ids []string, failed []string) {
	rs, ids = cleanFleet(n)
	allFailed, oneFailed := hostID(n), hostID(n+1)
	for _, r := range hostResults(allFailed, CleanRows()) {
		r.Status, r.Rows, r.ExitCode, r.Stderr = collect.StatusUndeliverable, nil, -1, ""
		r.Error = "command " + r.CommandID + ": instance not reachable"
		rs = append(rs, r)
	}
	for _, r := range hostResults(oneFailed, CleanRows()) {
		if r.CommandID == payload.Processes {
			r.Status, r.Rows, r.ExitCode, r.Stderr = collect.StatusFailed, nil, 1, "ps: permission denied"
			r.Error = "command processes exited with status 1: ps: permission denied"
		}
		rs = append(rs, r)
	}
	return rs, append(ids, allFailed, oneFailed), []string{allFailed, oneFailed}
}

var analyzerRules = []rule[analyze.Analyzer]{
	{"every-host-once", func(ctx context.Context, a analyze.Analyzer) error {
		rs, ids, _ := mixedFleet(12)
		rep, err := analyzeRun(ctx, a, suiteInput(a, "diffytest-fleet", rs))
		if err != nil {
			return fmt.Errorf("Analyze: %w", err)
		}
		return checkHosts(rep, ids)
	}},
	{"hosts-sorted", func(ctx context.Context, a analyze.Analyzer) error {
		rs, _, _ := mixedFleet(12)
		rep, err := analyzeRun(ctx, a, suiteInput(a, "diffytest-fleet", rs))
		if err != nil {
			return fmt.Errorf("Analyze: %w", err)
		}
		ids := hostIDs(rep)
		if !slices.IsSorted(ids) {
			return fmt.Errorf("Report.Hosts is not sorted by InstanceID: %q", ids)
		}
		return nil
	}},
	{"findings-not-nil", func(ctx context.Context, a analyze.Analyzer) error {
		rs, _, _ := mixedFleet(12)
		rep, err := analyzeRun(ctx, a, suiteInput(a, "diffytest-fleet", rs))
		if err != nil {
			return fmt.Errorf("Analyze: %w", err)
		}
		for _, h := range rep.Hosts {
			if h.Findings == nil {
				return fmt.Errorf("host %q has nil Findings (null in JSON), want an empty slice", h.InstanceID)
			}
		}
		return nil
	}},
	{"failed-results-reported", func(ctx context.Context, a analyze.Analyzer) error {
		rs, _, failed := mixedFleet(12)
		rep, err := analyzeRun(ctx, a, suiteInput(a, "diffytest-fleet", rs))
		if err != nil {
			return fmt.Errorf("Analyze: %w", err)
		}
		for _, id := range failed {
			h := findHost(rep, id)
			switch {
			case h == nil:
				return fmt.Errorf("host %q, whose commands failed, is not in the report", id)
			case len(h.Errors) == 0:
				return fmt.Errorf("host %q, whose commands failed, has no Errors", id)
			}
		}
		return nil
	}},
	{"report-fields", func(ctx context.Context, a analyze.Analyzer) error {
		rs, _ := cleanFleet(FleetSize)
		rs = append(rs, plantedHost(hostID(FleetSize))...)
		in := suiteInput(a, "diffytest-fleet", rs)
		rep, err := analyzeRun(ctx, a, in)
		if err != nil {
			return fmt.Errorf("Analyze: %w", err)
		}
		var errs []error
		if rep.Key != in.Key {
			errs = append(errs, fmt.Errorf("Report.Key is %q, want %q", rep.Key, in.Key))
		}
		if rep.Analyzer == "" {
			errs = append(errs, errors.New("Report.Analyzer is empty, want the analyzer's name"))
		}
		n := len(rep.Hosts)
		for _, h := range rep.Hosts {
			if math.IsNaN(h.Score) || math.IsInf(h.Score, 0) {
				errs = append(errs, fmt.Errorf("host %q: score %v is not finite", h.InstanceID, h.Score))
			}
			for i, f := range h.Findings {
				where := fmt.Sprintf("host %q finding %d", h.InstanceID, i)
				switch {
				case f.Kind != analyze.KindAdded && f.Kind != analyze.KindRemoved && f.Kind != analyze.KindRare:
					errs = append(errs, fmt.Errorf("%s: kind %q is not %s, %s or %s", where, f.Kind, analyze.KindAdded, analyze.KindRemoved, analyze.KindRare))
				case f.CommandID == "":
					errs = append(errs, fmt.Errorf("%s: no CommandID", where))
				case f.HostsWithRow < 0 || f.HostsWithRow > n:
					errs = append(errs, fmt.Errorf("%s: HostsWithRow %d is outside [0, %d]", where, f.HostsWithRow, n))
				case !(f.Prevalence >= 0 && f.Prevalence <= 1):
					errs = append(errs, fmt.Errorf("%s: Prevalence %v is outside [0, 1]", where, f.Prevalence))
				}
			}
		}
		return errors.Join(errs...)
	}},
	{"carries-skipped", func(ctx context.Context, a analyze.Analyzer) error {
		rs, _ := cleanFleet(FleetSize)
		in := suiteInput(a, "diffytest-fleet", rs)
		in.Skipped = []analyze.Skip{{Source: "results/bad.json", Reason: "not valid JSON: unexpected end of input"}}
		rep, err := analyzeRun(ctx, a, in)
		if err != nil {
			return fmt.Errorf("Analyze: %w", err)
		}
		if !slices.Contains(rep.Skipped, in.Skipped[0]) {
			return fmt.Errorf("Report.Skipped is %v, want it to hold %v", rep.Skipped, in.Skipped[0])
		}
		return nil
	}},
	{"does-not-modify-input", func(ctx context.Context, a analyze.Analyzer) error {
		rs, _, _ := mixedFleet(12)
		rs = append(rs, plantedHost(hostID(100))...)
		in := suiteInput(a, "diffytest-fleet", rs)
		in.Skipped = []analyze.Skip{{Source: "a.json", Reason: "bad"}}
		want := analyze.Input{Key: in.Key, Results: cloneResults(in.Results), Baseline: cloneResults(in.Baseline), Skipped: slices.Clone(in.Skipped)}
		if _, err := analyzeRun(ctx, a, in); err != nil {
			return fmt.Errorf("Analyze: %w", err)
		}
		if !reflect.DeepEqual(want, in) {
			return fmt.Errorf("Analyze changed its input: %s", describeInputChange(want, in))
		}
		return nil
	}},
	{"cancelled-context", func(ctx context.Context, a analyze.Analyzer) error {
		rs, _ := cleanFleet(FleetSize)
		_, err := analyzeRun(cancelled(ctx), a, suiteInput(a, "diffytest-fleet", rs))
		return wantCanceled("Analyze", err)
	}},
	{"no-baseline", func(ctx context.Context, a analyze.Analyzer) error {
		if !needsBaseline(a) {
			return skip("the analyzer needs no baseline")
		}
		rs, _ := cleanFleet(FleetSize)
		_, err := analyzeRun(ctx, a, analyze.Input{Key: "diffytest-fleet", Results: rs})
		switch {
		case asCallError(err) != nil:
			return err
		case err == nil:
			return errors.New("Analyze of an analyzer that needs a baseline returned no error without one, want one matching ErrNoBaseline")
		case !errors.Is(err, diffyerr.ErrNoBaseline):
			return fmt.Errorf("Analyze without a baseline returned %v, which does not match ErrNoBaseline", err)
		}
		return nil
	}},
	{"deterministic", func(ctx context.Context, a analyze.Analyzer) error {
		rs, _, _ := mixedFleet(FleetSize)
		rs = append(rs, plantedHost(hostID(100))...)
		in := suiteInput(a, "diffytest-fleet", rs)
		first, err := analyzeRun(ctx, a, in)
		if err != nil {
			return fmt.Errorf("first Analyze: %w", err)
		}
		second, err := analyzeRun(ctx, a, in)
		if err != nil {
			return fmt.Errorf("second Analyze: %w", err)
		}
		if d := diffReports(first, second); d != "" {
			return fmt.Errorf("two calls on the same input differ: %s", d)
		}
		return nil
	}},
	{"clean-fleet-no-outlier", func(ctx context.Context, a analyze.Analyzer) error {
		rs, _ := cleanFleet(FleetSize)
		rep, err := analyzeRun(ctx, a, suiteInput(a, "diffytest-fleet", rs))
		if err != nil {
			return fmt.Errorf("Analyze: %w", err)
		}
		if out := rep.Outliers(); len(out) > 0 {
			return fmt.Errorf("in a fleet of %d identical hosts, %d are outliers (first: %q with %d findings)", FleetSize, len(out), out[0].InstanceID, len(out[0].Findings))
		}
		return nil
	}},
	{"planted-row-outlier", func(ctx context.Context, a analyze.Analyzer) error {
		rs, _ := cleanFleet(FleetSize)
		planted := hostID(FleetSize)
		rs = append(rs, plantedHost(planted)...)
		rep, err := analyzeRun(ctx, a, suiteInput(a, "diffytest-fleet", rs))
		if err != nil {
			return fmt.Errorf("Analyze: %w", err)
		}
		h := findHost(rep, planted)
		if h == nil {
			return fmt.Errorf("the host with the planted row, %q, is not in the report", planted)
		}
		var errs []error
		if !h.Outlier {
			errs = append(errs, fmt.Errorf("the host with the planted row, %q, is not an outlier", planted))
		}
		if !slices.ContainsFunc(h.Findings, isPlantedFinding) {
			errs = append(errs, fmt.Errorf("no finding of host %q is about the planted %s row %v (it has %d findings)", planted, payload.ListeningPorts, PlantedRow(), len(h.Findings)))
		}
		var others []string
		for _, o := range rep.Outliers() {
			if o.InstanceID != planted {
				others = append(others, o.InstanceID)
			}
		}
		if len(others) > 0 {
			errs = append(errs, fmt.Errorf("%d hosts without the planted row are outliers too: %s", len(others), abbreviate(others, 5)))
		}
		return errors.Join(errs...)
	}},
	{"concurrent-use", func(ctx context.Context, a analyze.Analyzer) error {
		rs, _, _ := mixedFleet(FleetSize)
		rs = append(rs, plantedHost(hostID(100))...)
		in := suiteInput(a, "diffytest-fleet", rs)
		want, err := analyzeRun(ctx, a, in)
		if err != nil {
			return fmt.Errorf("Analyze: %w", err)
		}
		return parallel(concurrency, func(i int) error {
			got, err := analyzeRun(ctx, a, in)
			if err != nil {
				return fmt.Errorf("concurrent call %d of Analyze: %w", i, err)
			}
			if d := diffReports(want, got); d != "" {
				return fmt.Errorf("concurrent call %d of Analyze differs from a lone call: %s", i, d)
			}
			return nil
		})
	}},
}

// plantedHost returns the Results of a clean host with PlantedRow added to
// its listening ports.
func plantedHost(id string) []collect.Result {
	rows := CleanRows()
	rows[payload.ListeningPorts] = append(rows[payload.ListeningPorts], PlantedRow())
	return hostResults(id, rows)
}

// isPlantedFinding reports whether f is about PlantedRow: the same command
// and a value naming the backdoor.
func isPlantedFinding(f analyze.Finding) bool {
	if f.CommandID != payload.ListeningPorts {
		return false
	}
	for _, v := range f.Row {
		if strings.Contains(v, "backdoor") {
			return true
		}
	}
	return false
}

func analyzeRun(ctx context.Context, a analyze.Analyzer, in analyze.Input) (*analyze.Report, error) {
	rep, err := call(fmt.Sprintf("Analyze(%d results)", len(in.Results)), func() (*analyze.Report, error) { return a.Analyze(ctx, in) })
	if err == nil && rep == nil {
		return nil, errors.New("Analyze returned a nil report and no error")
	}
	return rep, err
}

// checkHosts checks that rep has each of ids once and no other host.
func checkHosts(rep *analyze.Report, ids []string) error {
	want := map[string]bool{}
	for _, id := range ids {
		want[id] = true
	}
	count := map[string]int{}
	var errs []error
	for _, h := range rep.Hosts {
		count[h.InstanceID]++
		switch {
		case !want[h.InstanceID]:
			errs = append(errs, fmt.Errorf("host %q is in the report but not in the input's Results", h.InstanceID))
		case count[h.InstanceID] == 2:
			errs = append(errs, fmt.Errorf("host %q is in the report more than once", h.InstanceID))
		}
	}
	for _, id := range ids {
		if count[id] == 0 {
			errs = append(errs, fmt.Errorf("host %q of the input is missing from the report", id))
		}
	}
	return errors.Join(errs...)
}

func hostIDs(rep *analyze.Report) []string {
	ids := make([]string, len(rep.Hosts))
	for i, h := range rep.Hosts {
		ids[i] = h.InstanceID
	}
	return ids
}

func findHost(rep *analyze.Report, id string) *analyze.Host {
	for i := range rep.Hosts {
		if rep.Hosts[i].InstanceID == id {
			return &rep.Hosts[i]
		}
	}
	return nil
}

// diffReports describes how a and b differ, CreatedAt aside, or returns
// "". They are compared in their JSON form, which is what users see.
func diffReports(a, b *analyze.Report) string {
	x, y := *a, *b
	x.CreatedAt, y.CreatedAt = time.Time{}, time.Time{}
	jx, errx := json.Marshal(x)
	jy, erry := json.Marshal(y)
	if err := errors.Join(errx, erry); err != nil {
		return fmt.Sprintf("a report does not encode as JSON: %v", err)
	}
	if string(jx) == string(jy) {
		return ""
	}
	return diffBytes(jx, jy)
}

// describeInputChange says what differs between the input before and after
// Analyze.
func describeInputChange(want, got analyze.Input) string {
	switch {
	case want.Key != got.Key:
		return fmt.Sprintf("Key %q became %q", want.Key, got.Key)
	case len(want.Results) != len(got.Results):
		return fmt.Sprintf("%d Results became %d", len(want.Results), len(got.Results))
	case len(want.Baseline) != len(got.Baseline):
		return fmt.Sprintf("%d Baseline Results became %d", len(want.Baseline), len(got.Baseline))
	}
	for i := range want.Results {
		if !reflect.DeepEqual(want.Results[i], got.Results[i]) {
			return fmt.Sprintf("Result %d (instance %q command %q) changed", i, want.Results[i].InstanceID, want.Results[i].CommandID)
		}
	}
	for i := range want.Baseline {
		if !reflect.DeepEqual(want.Baseline[i], got.Baseline[i]) {
			return fmt.Sprintf("Baseline Result %d (command %q) changed", i, want.Baseline[i].CommandID)
		}
	}
	return fmt.Sprintf("Skipped %v became %v", want.Skipped, got.Skipped)
}
