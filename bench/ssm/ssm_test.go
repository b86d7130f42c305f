package main

import (
	"context"
	"log/slog"
	"maps"
	"testing"
	"time"

	"github.com/diffy-dfir/diffy/awsconfig"
	"github.com/diffy-dfir/diffy/collect/ssmcollect"
	"github.com/diffy-dfir/diffy/diffytest/awsfake"
)

// TestTwentyHosts runs the benchmark's collector and its peer, in both
// output modes, on 20 hosts of the benchmark's fleet against the fake (in
// this process, on loopback, with the real SDK clients), each client
// against a fake of its own as bench runs them: every Result, none
// truncated, and each operation at its needed calls (the collector's one
// DescribeInstanceInformation per batch beside them; none for the peer).
func TestTwentyHosts(t *testing.T) {
	const hosts = 20
	retryer = awsconfig.Retryer(0)
	batchConc, readConc = ssmcollect.DefaultBatchConcurrency, ssmcollect.DefaultReadConcurrency
	poll := 20 * time.Millisecond
	ctx := context.Background()
	for _, mode := range []string{"s3", "api"} {
		t.Run(mode, func(t *testing.T) {
			need := needed(mode, hosts)
			srv, _, err := newFake(hosts, 0, awsfake.DefaultSSMRate)
			if err != nil {
				t.Fatal(err)
			}
			defer srv.Close()
			c, err := collectAll(ctx, mode, endpointsOf(srv), hosts, poll, slog.New(slog.DiscardHandler))
			if err != nil {
				t.Fatal(err)
			}
			want := hosts * 6 // the standard pack's 6 queries
			if c.total != want || c.ok != want || c.truncated != 0 {
				t.Errorf("collector: %d Results, %d successful, %d truncated; want %d, %d, 0", c.total, c.ok, c.truncated, want, want)
			}
			calls := srv.Calls()
			checkCalls(t, "collector", calls, need)
			if got := calls["ssm:DescribeInstanceInformation"].Calls; got != int64(need["ssm:SendCommand"]) {
				t.Errorf("collector: DescribeInstanceInformation %d calls, want one per batch, %d", got, need["ssm:SendCommand"])
			}

			psrv, _, err := newFake(hosts, 0, awsfake.DefaultSSMRate)
			if err != nil {
				t.Fatal(err)
			}
			defer psrv.Close()
			pr, err := peerAt(ctx, endpointsOf(psrv), mode, poll)
			if err != nil {
				t.Fatal(err)
			}
			if pr.reads != hosts || pr.failed != 0 || pr.bytes == 0 {
				t.Errorf("peer: %d outputs read (%d bytes), %d not successful; want %d, some, 0", pr.reads, pr.bytes, pr.failed, hosts)
			}
			pcalls := psrv.Calls()
			checkCalls(t, "peer", pcalls, need)
			if got := pcalls["ssm:DescribeInstanceInformation"].Calls; got != 0 {
				t.Errorf("peer: DescribeInstanceInformation %d calls, want none", got)
			}
		})
	}
}

// checkCalls checks that each operation of need got exactly its needed
// calls, none throttled, and that no other was called but the precheck
// and the bucket's making.
func checkCalls(t *testing.T, who string, calls map[string]awsfake.CallCount, need map[string]int) {
	t.Helper()
	for op, n := range need {
		if got := calls[op]; got.Calls != int64(n) || got.Throttled != 0 {
			t.Errorf("%s: %s %d calls (%d throttled), want %d", who, op, got.Calls, got.Throttled, n)
		}
	}
	for op := range maps.Keys(calls) {
		if _, ok := need[op]; !ok && op != "ssm:DescribeInstanceInformation" && op != "s3:CreateBucket" && calls[op].Calls > 0 {
			t.Errorf("%s: %s called %d times, not needed", who, op, calls[op].Calls)
		}
	}
}
