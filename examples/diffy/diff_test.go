package main

import (
	"bytes"
	"context"
	"encoding/json"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/diffy-dfir/diffy/analyze"
	"github.com/diffy-dfir/diffy/collect"
	"github.com/diffy-dfir/diffy/diffytest/awsfake"
	"github.com/diffy-dfir/diffy/diffytest/fleet"
)

// dayHost answers as its fleet host did the day before the compromise
// (day 0: no planted row, the rows they replaced back, every pid another)
// or as it does after (day 1).
type dayHost struct {
	day        *atomic.Int32
	before, at awsfake.Rows
}

func (h dayHost) Output(commandID string) ([]byte, bool) {
	if h.day.Load() == 0 {
		return h.before.Output(commandID)
	}
	return h.at.Output(commandID)
}

// dayBefore returns h's rows before its compromise: the planted rows out,
// the genuine rows they replaced in, and every pid changed (processes
// restarted since: a volatile column, which must make no difference).
func dayBefore(h *fleet.Host) awsfake.Rows {
	out := awsfake.Rows{}
	for cmd, rows := range h.Rows {
		var kept []collect.Row
		for _, row := range rows {
			planted := false
			for _, p := range h.Planted {
				if p.CommandID == cmd && maps.Equal(p.Row, row) {
					planted = true
				}
			}
			if !planted {
				kept = append(kept, row)
			}
		}
		for _, p := range h.Planted {
			if p.CommandID == cmd && p.Replaced != nil {
				kept = append(kept, p.Replaced)
			}
		}
		for i, row := range kept {
			if pid, err := strconv.Atoi(row["pid"]); err == nil {
				row = maps.Clone(row)
				row["pid"] = strconv.Itoa(pid + 7)
				kept[i] = row
			}
		}
		out[cmd] = kept
	}
	return out
}

// TestDiffDemoFleetThroughSSM runs `diffy diff` as a user does against
// AWS (awsfake through AWS_ENDPOINT_URL_*, EC2 target, SSM collector) on
// the demo's fleet twice: first before the compromise (the first diff of
// the key, which stores the collection), then after it was planted on a
// few hosts. The report holds exactly the planted rows, as added (and the
// genuine rows they replaced, as removed), on exactly those hosts.
func TestDiffDemoFleetThroughSSM(t *testing.T) {
	cfg := fleet.Scenario("medium")
	cfg.Seed, cfg.Hosts, cfg.GroupName = 2, 200, "demo-web-asg"
	f := fleet.Generate(cfg)
	var day atomic.Int32
	insts := make([]awsfake.Instance, len(f.Hosts))
	compromised := map[string]*fleet.Host{}
	for i := range f.Hosts {
		h := &f.Hosts[i]
		insts[i] = awsfake.Instance{Instance: h.Instance, Host: dayHost{&day, dayBefore(h), awsfake.Rows(h.Rows)}}
		if h.Compromised {
			compromised[h.Instance.ID] = h
		}
	}
	if len(compromised) == 0 {
		t.Fatal("the demo fleet has no compromised host")
	}
	srv, err := awsfake.New(awsfake.WithInstances(insts...))
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	// The demo's hosts print more than the 24,000 characters SSM's API
	// returns of some commands: the whole output is read from S3, as in
	// the demo.
	if err := srv.CreateBucket("diffy-output"); err != nil {
		t.Fatal(err)
	}
	t.Setenv("AWS_ENDPOINT_URL_EC2", srv.EC2URL())
	t.Setenv("AWS_ENDPOINT_URL_SSM", srv.SSMURL())
	// The fake's S3 is on 127.0.0.1: the SDK addresses an IP endpoint
	// path-style, as gofakes3 needs.
	t.Setenv("AWS_ENDPOINT_URL_S3", srv.S3URL())
	t.Setenv("AWS_ACCESS_KEY_ID", awsfake.AccessKeyID)
	t.Setenv("AWS_SECRET_ACCESS_KEY", awsfake.SecretAccessKey)
	t.Setenv("AWS_CONFIG_FILE", t.TempDir()+"/none")
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", t.TempDir()+"/none")
	store := t.TempDir()
	diff := func(extra ...string) (int, string, string) {
		var stdout, stderr bytes.Buffer
		args := append([]string{"diff", cfg.GroupName, "--target", "asg", "--collector", "ssm",
			"--region", srv.Region(), "--output-bucket", "diffy-output/ssm", "--store", store}, extra...)
		code := run(context.Background(), args, &stdout, &stderr)
		return code, stdout.String(), stderr.String()
	}
	code, out, errOut := diff()
	if code != 0 || out != "" || !strings.Contains(errOut, "kept for the next diff") {
		t.Fatalf("first diff: exit %d, stdout %q, stderr %q; want 0 and a note that the collection is kept", code, out, errOut)
	}
	day.Store(1)
	code, out, errOut = diff("--format", "json")
	if code != 0 {
		t.Fatalf("second diff: exit %d, stderr %s", code, errOut)
	}
	var rep analyze.Report
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("report: %v\n%.500s", err, out)
	}
	if rep.Analyzer != "diff" || len(rep.Hosts) != len(f.Hosts) {
		t.Fatalf("report of %q with %d hosts, want diff with %d", rep.Analyzer, len(rep.Hosts), len(f.Hosts))
	}
	vol := analyze.DefaultVolatile()
	key := func(cmd string, row collect.Row) string {
		return cmd + " " + vol.Key(cmd, analyze.NormalizeRow(cmd, row))
	}
	for _, host := range rep.Hosts {
		var added, removed []string
		for _, fd := range host.Findings {
			k := key(fd.CommandID, fd.Row)
			if fd.Kind == analyze.KindAdded {
				added = append(added, k)
			} else {
				removed = append(removed, k)
			}
		}
		var wantAdded, wantRemoved []string
		if h := compromised[host.InstanceID]; h != nil {
			for _, p := range h.Planted {
				wantAdded = append(wantAdded, key(p.CommandID, p.Row))
				if p.Replaced != nil {
					wantRemoved = append(wantRemoved, key(p.CommandID, p.Replaced))
				}
			}
		}
		slices.Sort(added)
		slices.Sort(removed)
		slices.Sort(wantAdded)
		slices.Sort(wantRemoved)
		if !slices.Equal(added, wantAdded) || !slices.Equal(removed, wantRemoved) {
			t.Errorf("host %s: added %q, removed %q; want added %q (planted), removed %q (what they replaced)",
				host.InstanceID, added, removed, wantAdded, wantRemoved)
		}
		if len(host.Errors) > 0 {
			t.Errorf("host %s: errors %q", host.InstanceID, host.Errors)
		}
		if host.Outlier != (compromised[host.InstanceID] != nil) {
			t.Errorf("host %s: outlier %v, compromised %v", host.InstanceID, host.Outlier, compromised[host.InstanceID] != nil)
		}
	}
	t.Logf("%d compromised hosts of %d, their planted rows and nothing else reported", len(compromised), len(f.Hosts))
}
