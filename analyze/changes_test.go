package analyze_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/diffy-dfir/diffy/analyze"
	"github.com/diffy-dfir/diffy/collect"
	"github.com/diffy-dfir/diffy/diffyerr"
	"github.com/diffy-dfir/diffy/diffytest"
	"github.com/diffy-dfir/diffy/payload"
)

// againstClean is Changes with an earlier collection in which every host
// of the input was clean (diffytest.CleanRows), so that the Analyzer suite,
// which hands no baseline to an analyzer that needs none, can run it.
type againstClean struct{ analyze.Changes }

func (a againstClean) Analyze(ctx context.Context, in analyze.Input) (*analyze.Report, error) {
	seen := map[[2]string]bool{}
	for _, r := range in.Results {
		seen[[2]string{r.InstanceID, r.CommandID}] = true
	}
	in.Baseline = nil
	for k := range seen {
		in.Baseline = append(in.Baseline, collect.Result{InstanceID: k[0], CommandID: k[1], Status: collect.StatusSuccess, Rows: diffytest.CleanRows()[k[1]]})
	}
	slices.SortFunc(in.Baseline, func(a, b collect.Result) int {
		return strings.Compare(a.InstanceID+"\x00"+a.CommandID, b.InstanceID+"\x00"+b.CommandID)
	})
	return a.Changes.Analyze(ctx, in)
}

// Changes passes the Analyzer conformance suite, each host against a clean
// past of its own.
func TestChangesSuite(t *testing.T) {
	diffytest.TestAnalyzer(t, func(t *testing.T) analyze.Analyzer { return againstClean{} })
}

func res(id, cmd string, rows ...collect.Row) collect.Result {
	return collect.Result{InstanceID: id, CommandID: cmd, Status: collect.StatusSuccess, Rows: rows}
}

func TestChanges(t *testing.T) {
	sshd := func(pid string) collect.Row {
		return collect.Row{"address": "0.0.0.0", "port": "22", "protocol": "6", "name": "sshd", "path": "/usr/sbin/sshd", "pid": pid}
	}
	nc := collect.Row{"address": "0.0.0.0", "port": "4444", "protocol": "6", "name": "nc", "path": "/tmp/nc", "pid": "31337"}
	root := collect.Row{"uid": "0", "username": "root", "directory": "/root"}
	ops := collect.Row{"uid": "1001", "username": "ops", "directory": "/home/ops"}
	cron := func(host string) collect.Row {
		// The host's own name in a command line is a per-host token.
		return collect.Row{"command": "curl -s http://" + host + ".ec2.internal/health", "minute": "*/5"}
	}
	earlier := []collect.Result{
		res("i-a", payload.ListeningPorts, sshd("600")), res("i-a", payload.Users, root, ops), res("i-a", payload.Crontab, cron("ip-10-0-0-1")),
		res("i-b", payload.ListeningPorts, sshd("601")), res("i-b", payload.Users, root, ops), res("i-b", payload.Crontab, cron("ip-10-0-0-2")),
		res("i-c", payload.ListeningPorts, sshd("602")), res("i-c", payload.Users, root), res("i-c", payload.Crontab),
		res("i-gone", payload.ListeningPorts, sshd("603")),
	}
	failed := collect.Result{InstanceID: "i-c", CommandID: payload.Crontab, Status: collect.StatusFailed, Error: "crontab: permission denied"}
	now := []collect.Result{
		// i-a: nc listens now, ops is gone; sshd restarted (another pid:
		// volatile, no change); its cron line names it as before.
		res("i-a", payload.ListeningPorts, sshd("700"), nc, sshd("700")), res("i-a", payload.Users, root), res("i-a", payload.Crontab, cron("ip-10-0-0-1")),
		// i-b: the same; ops gone here too.
		res("i-b", payload.ListeningPorts, sshd("701")), res("i-b", payload.Users, root), res("i-b", payload.Crontab, cron("ip-10-0-0-2")),
		// i-c: crontab failed now; users missing now.
		res("i-c", payload.ListeningPorts, sshd("702")), failed,
		res("i-new", payload.ListeningPorts, sshd("800"), nc),
	}
	at := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	rep, err := analyze.Changes{Now: func() time.Time { return at }}.Analyze(context.Background(), analyze.Input{Key: "web", Results: now, Baseline: earlier})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Analyzer != "diff" || !rep.CreatedAt.Equal(at) || rep.Key != "web" {
		t.Errorf("report %s/%s/%v", rep.Key, rep.Analyzer, rep.CreatedAt)
	}
	var ids []string
	for _, h := range rep.Hosts {
		ids = append(ids, h.InstanceID)
	}
	if !slices.Equal(ids, []string{"i-a", "i-b", "i-c", "i-new"}) {
		t.Fatalf("hosts %v, want i-a, i-b, i-c, i-new", ids)
	}
	a := rep.Hosts[0]
	if !a.Outlier || a.Score != 2 || len(a.Findings) != 2 {
		t.Fatalf("i-a: %+v, want 2 findings: nc added, ops removed", a)
	}
	if f := a.Findings[0]; f.Kind != analyze.KindAdded || f.CommandID != payload.ListeningPorts || f.Row["port"] != "4444" || f.Row["pid"] != "" || f.HostsWithRow != 1 {
		t.Errorf("i-a's first finding %+v, want nc added (pid dropped), on 1 compared host", f)
	}
	if f := a.Findings[1]; f.Kind != analyze.KindRemoved || f.Row["username"] != "ops" || f.HostsWithRow != 2 || f.Prevalence != 2.0/3 || !strings.Contains(f.Why, "gone from this host") {
		t.Errorf("i-a's second finding %+v, want ops removed, which 2 of the 3 compared hosts had", f)
	}
	if b := rep.Hosts[1]; len(b.Findings) != 1 || b.Findings[0].Row["username"] != "ops" {
		t.Errorf("i-b: %+v, want ops removed only", b)
	}
	c := rep.Hosts[2]
	if c.Outlier || len(c.Findings) != 0 {
		t.Errorf("i-c: %+v, want no finding: what changed could not be compared", c)
	}
	if len(c.Errors) != 2 || !strings.Contains(c.Errors[0], "crontab: could not be compared: now: crontab: Failed: crontab: permission denied") ||
		!strings.Contains(c.Errors[1], "users: could not be compared: no result for this command in this collection") {
		t.Errorf("i-c errors %q", c.Errors)
	}
	if n := rep.Hosts[3]; n.Outlier || len(n.Findings) != 0 || len(n.Errors) != 1 || !strings.Contains(n.Errors[0], "new since the earlier collection") {
		t.Errorf("i-new: %+v, want no finding and the error that it is new", n)
	}
	if len(rep.Skipped) != 1 || rep.Skipped[0].Source != "i-gone" || !strings.Contains(rep.Skipped[0].Reason, "gone since") {
		t.Errorf("skipped %+v, want i-gone, gone", rep.Skipped)
	}
	if len(rep.Notes) != 2 || !strings.Contains(rep.Notes[0], "1 hosts are new since the earlier collection (not compared: i-new) and 1 are gone (listed as skipped: i-gone); the 3 hosts in both were compared") ||
		!strings.Contains(rep.Notes[1], "1 of 3 hosts compared have commands that could not be compared") {
		t.Errorf("notes %q", rep.Notes)
	}

	// KeepTokens compares rows as collected: the cron lines do not name
	// the hosts alike, but each host against itself still matches.
	rep, err = analyze.Changes{KeepTokens: true, IgnoreCommands: []string{payload.Users}}.Analyze(context.Background(), analyze.Input{Key: "web", Results: now, Baseline: earlier})
	if err != nil {
		t.Fatal(err)
	}
	if a := rep.Hosts[0]; len(a.Findings) != 1 || a.Findings[0].Row["port"] != "4444" {
		t.Errorf("i-a with users ignored: %+v, want nc added only", a.Findings)
	}

	if _, err := (analyze.Changes{}).Analyze(context.Background(), analyze.Input{Key: "web", Results: now}); !errors.Is(err, diffyerr.ErrNoBaseline) {
		t.Errorf("no earlier collection: %v, want ErrNoBaseline", err)
	}
}
