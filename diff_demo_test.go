package diffy_test

import (
	"context"
	"errors"
	"maps"
	"slices"
	"strconv"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/diffy-dfir/diffy"
	"github.com/diffy-dfir/diffy/analyze"
	"github.com/diffy-dfir/diffy/collect"
	"github.com/diffy-dfir/diffy/collect/ssmcollect"
	"github.com/diffy-dfir/diffy/diffytest/awsfake"
	"github.com/diffy-dfir/diffy/diffytest/fleet"
	"github.com/diffy-dfir/diffy/persist/s3store"
	"github.com/diffy-dfir/diffy/target/ec2target"
)

// dayBefore returns h's rows before its compromise (fleet's RowsBefore)
// with every pid another (processes restarted since: a volatile column,
// which must make no difference).
func dayBefore(h *fleet.Host) awsfake.Rows {
	out := awsfake.Rows{}
	for cmd, rows := range h.RowsBefore() {
		kept := slices.Clone(rows)
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

// TestDiffDemoFleet runs Diff on the demo's fleet (200 hosts, seed 2) the
// way the demo collects it: the real SDK clients against awsfake, EC2
// target, SSM Run Command with whole outputs from S3, an S3 store; a day
// apart (on the bubble's clock), first before its compromise (the first
// diff of the key, which keeps its collection), then after a few hosts
// were compromised. The report holds exactly the planted rows, as added
// (and the genuine rows they replaced, as removed), on exactly those hosts.
func TestDiffDemoFleet(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		cfg := fleet.Scenario("medium")
		cfg.Seed, cfg.Hosts, cfg.GroupName = 2, 200, "demo-web-asg"
		f := fleet.Generate(cfg)
		var day atomic.Int32
		insts := make([]awsfake.Instance, len(f.Hosts))
		compromised := map[string]*fleet.Host{}
		for i := range f.Hosts {
			h := &f.Hosts[i]
			insts[i] = awsfake.Instance{Instance: h.Instance, Host: awsfake.Phased{Phase: &day, Phases: []awsfake.Host{dayBefore(h), h}}}
			if h.Compromised {
				compromised[h.Instance.ID] = h
			}
		}
		if len(compromised) == 0 {
			t.Fatal("the demo fleet has no compromised host")
		}
		srv, err := awsfake.New(awsfake.WithInstances(insts...), awsfake.WithInMemory())
		if err != nil {
			t.Fatal(err)
		}
		defer srv.Close()
		const bucket = "diffy-demo"
		if err := srv.CreateBucket(bucket); err != nil {
			t.Fatal(err)
		}
		awsCfg := srv.Config()
		tg, err := ec2target.NewFromConfig(awsCfg, ec2target.KindASG)
		if err != nil {
			t.Fatal(err)
		}
		col, err := ssmcollect.NewFromConfig(awsCfg, ssmcollect.WithOutputBucket(bucket, "ssm-output"), ssmcollect.WithS3Options(srv.S3Options),
			// One batch at a time: a batch waiting for its turn to deliver
			// waits on a sync.Mutex, which does not count as durably
			// blocked, so the bubble's clock would stand still while the
			// batch delivering waits on the fake's timers (a hang).
			ssmcollect.WithBatchConcurrency(1))
		if err != nil {
			t.Fatal(err)
		}
		store, err := s3store.NewFromConfig(awsCfg, bucket, "store", srv.S3Options)
		if err != nil {
			t.Fatal(err)
		}
		d := mustNew(t, diffy.WithTarget(tg), diffy.WithCollector(col), diffy.WithStore(store))
		if _, err := d.Diff(ctx, cfg.GroupName, diffy.Earlier{}); !errors.Is(err, diffy.ErrNoEarlier) {
			t.Fatalf("first diff: %v, want ErrNoEarlier", err)
		}
		time.Sleep(24 * time.Hour)
		day.Store(1)
		rep, err := d.Diff(ctx, cfg.GroupName, diffy.Earlier{Since: time.Now().Add(-23 * time.Hour)})
		if err != nil {
			t.Fatal(err)
		}
		if rep.Analyzer != "diff" || len(rep.Hosts) != len(f.Hosts) {
			t.Fatalf("report of %q with %d hosts, want diff with %d", rep.Analyzer, len(rep.Hosts), len(f.Hosts))
		}
		vol := analyze.DefaultVolatile()
		key := func(cmd string, row collect.Row) string {
			return cmd + " " + vol.Key(cmd, analyze.NormalizeRow(cmd, row))
		}
		planted := 0
		for _, host := range rep.Hosts {
			var added, removed, wantAdded, wantRemoved []string
			for _, fd := range host.Findings {
				if fd.Kind == analyze.KindAdded {
					added = append(added, key(fd.CommandID, fd.Row))
				} else {
					removed = append(removed, key(fd.CommandID, fd.Row))
				}
			}
			if h := compromised[host.InstanceID]; h != nil {
				for _, p := range h.Planted {
					planted++
					wantAdded = append(wantAdded, key(p.CommandID, p.Row))
					if p.Replaced != nil {
						wantRemoved = append(wantRemoved, key(p.CommandID, p.Replaced))
					}
				}
			}
			for _, s := range [][]string{added, removed, wantAdded, wantRemoved} {
				slices.Sort(s)
			}
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
		t.Logf("%d planted rows on %d compromised hosts of %d: those rows, on those hosts, and nothing else reported", planted, len(compromised), len(f.Hosts))
	})
}
