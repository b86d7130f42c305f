package ssmcollect_test

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/diffy-dfir/diffy/collect"
	"github.com/diffy-dfir/diffy/collect/ssmcollect"
	"github.com/diffy-dfir/diffy/diffytest/awsfake"
	"github.com/diffy-dfir/diffy/payload"
	"github.com/diffy-dfir/diffy/target"
	"github.com/diffy-dfir/diffy/target/ec2target"
)

// faultHosts is the fleet size of each fault case: small enough for the
// race detector, large enough for two batches and a few faulty instances.
const faultHosts = 60

// expect returns the check of one fault case: instances the fake picked
// for a fault must end with that fault's outcome; the others succeed (or,
// in API mode, are cut with advice). Success rows are compared with the
// fleet's truth by env.check.
func expect(srv *awsfake.Server, api bool) func(r collect.Result) error {
	picked := map[string]awsfake.Fault{}
	// Later faults in this list win, in the order the fake applies them.
	for _, f := range []awsfake.Fault{awsfake.FaultBigOutput, awsfake.FaultMissingS3Output, awsfake.FaultNoOsquery,
		awsfake.FaultFailing, awsfake.FaultHanging, awsfake.FaultTerminating, awsfake.FaultUndeliverable,
		awsfake.FaultVanishing, awsfake.FaultUnmanaged} {
		for _, id := range srv.Selected(f) {
			picked[id] = f
		}
	}
	base := wholeOrCut(api)
	return func(r collect.Result) error {
		f, ok := picked[r.InstanceID]
		if !ok {
			return base(r)
		}
		switch f {
		case awsfake.FaultUndeliverable, awsfake.FaultUnmanaged, awsfake.FaultVanishing:
			if r.Status != collect.StatusUndeliverable {
				return fmt.Errorf("%s instance: want Undeliverable", f)
			}
		case awsfake.FaultTerminating:
			if r.Status != collect.StatusTerminated && r.Status != collect.StatusUndeliverable && r.Status != collect.StatusSuccess {
				return fmt.Errorf("%s instance: want Terminated (or Success for commands done before)", f)
			}
		case awsfake.FaultHanging:
			if r.Status != collect.StatusTimedOut {
				return fmt.Errorf("%s instance: want TimedOut", f)
			}
		case awsfake.FaultFailing:
			if r.Status != collect.StatusFailed || r.ExitCode == 0 || r.Stderr == "" {
				return fmt.Errorf("%s instance: want Failed with exit status and stderr", f)
			}
		case awsfake.FaultNoOsquery:
			if r.Status != collect.StatusFailed || r.ExitCode != payload.ExitNoOsquery || !strings.Contains(r.Error, "osqueryi is not installed") {
				return fmt.Errorf("%s instance: want Failed saying osqueryi is not installed", f)
			}
		case awsfake.FaultBigOutput, awsfake.FaultMissingS3Output:
			// S3 mode reads the whole object (big output) or falls back
			// to the API (missing object): whole, or cut with advice.
			if err := wholeOrCut(true)(r); err != nil {
				return err
			}
			if !api && f == awsfake.FaultBigOutput && r.Status != collect.StatusSuccess {
				return fmt.Errorf("big output in S3 mode: want Success")
			}
			if f == awsfake.FaultMissingS3Output && !api && r.Status != collect.StatusSuccess && !strings.Contains(r.Error, "missing") {
				return fmt.Errorf("missing S3 object: the error should say the object is missing")
			}
		}
		return nil
	}
}

// TestFaultMatrix runs the collector over awsfake with each fault, in both
// output modes, with compression on the hosts and off: every (instance, command) has exactly one final Result,
// Success rows are exactly the host's, each faulty instance ends as its
// fault says, and the run ends.
func TestFaultMatrix(t *testing.T) {
	throttle := awsfake.CallFaults{ThrottleAll: awsfake.Rate{PerSecond: 15, Burst: 3},
		Throttle: map[string]awsfake.Rate{"s3:GetObject": {PerSecond: 15, Burst: 3}}}
	cases := []struct {
		name   string
		opts   []awsfake.Option
		copts  []ssmcollect.Option
		target bool // target through ec2target first (vanishing instances)
		output bool // run without compression under -race too (the case with every fault)
		// wallClock keeps the case out of a synctest bubble: with
		// throttling, the SDK's adaptive rate limiter can ask to wait a
		// duration that rounds to 0 ns for a token that only the passing of
		// time refills, and on a bubble's clock, which stands still while
		// anything runs, that loop never ends.
		wallClock bool
		check     func(t *testing.T, srv *awsfake.Server)
	}{
		{name: "throttling", wallClock: true, opts: []awsfake.Option{awsfake.WithCallFaults(throttle)},
			check: func(t *testing.T, srv *awsfake.Server) {
				var calls, throttled int64
				for _, c := range srv.Calls() {
					calls, throttled = calls+c.Calls, throttled+c.Throttled
				}
				t.Logf("throttled %d of %d calls", throttled, calls)
				if throttled == 0 {
					t.Error("no call was throttled: the case tests nothing")
				}
			}},
		{name: "eventual-consistency", opts: []awsfake.Option{awsfake.WithConsistencyDelay(400 * time.Millisecond)}},
		{name: "undeliverable-2pct", opts: []awsfake.Option{awsfake.WithFaults(awsfake.Faults{Seed: 3, Undeliverable: 0.02})}},
		{name: "big-output-1pct", opts: []awsfake.Option{awsfake.WithFaults(awsfake.Faults{Seed: 1, BigOutput: 0.01})}},
		{name: "terminating", opts: []awsfake.Option{awsfake.WithRunTime(200 * time.Millisecond), awsfake.WithFaults(awsfake.Faults{Seed: 2, Terminating: 0.05})}}, // seed 2 picks 2 of the 60 (seed 4 picked none)
		{name: "5xx-bursts", opts: []awsfake.Option{awsfake.WithCallFaults(awsfake.CallFaults{ServerErrorEvery: 10, ServerErrorBurst: 3})}},
		{name: "connection-resets", opts: []awsfake.Option{awsfake.WithCallFaults(awsfake.CallFaults{ResetEvery: 7})}},
		{name: "slow-answers", opts: []awsfake.Option{awsfake.WithCallFaults(awsfake.CallFaults{SlowEvery: 15, SlowDelay: 5 * time.Second})}},
		{name: "missing-s3-output", opts: []awsfake.Option{awsfake.WithFaults(awsfake.Faults{Seed: 5, MissingS3Output: 0.1})}},
		{name: "vanishing", target: true, opts: []awsfake.Option{awsfake.WithFaults(awsfake.Faults{Seed: 6, Vanishing: 0.05})}},
		{name: "unmanaged-failing-no-osquery", opts: []awsfake.Option{awsfake.WithFaults(awsfake.Faults{Seed: 8, Unmanaged: 0.05, Failing: 0.05, NoOsquery: 0.05})}},
		{name: "hanging", copts: []ssmcollect.Option{ssmcollect.WithTimeouts(0, 2*time.Second)},
			opts: []awsfake.Option{awsfake.WithFaults(awsfake.Faults{Seed: 9, Hanging: 0.05})}},
		{name: "everything", wallClock: true, target: true, output: true, copts: []ssmcollect.Option{ssmcollect.WithTimeouts(0, 2*time.Second)},
			opts: []awsfake.Option{awsfake.WithConsistencyDelay(200 * time.Millisecond), awsfake.WithCallFaults(awsfake.CallFaults{ThrottleAll: awsfake.Rate{PerSecond: 30, Burst: 5}, ServerErrorEvery: 25, ServerErrorBurst: 2, ResetEvery: 31}), awsfake.WithFaults(awsfake.Faults{Seed: 10, Undeliverable: 0.02, BigOutput: 0.02, Terminating: 0.02, Failing: 0.02,
				NoOsquery: 0.02, Unmanaged: 0.02, Vanishing: 0.02, Hanging: 0.02, MissingS3Output: 0.05})}},
	}
	for _, c := range cases {
		modes := []string{"s3", "api", "s3-plain", "api-plain"} // -plain: no compression on the hosts
		if raceEnabled && !c.output {
			// What the hosts print does not change this case's outcome:
			// without -race all four modes run.
			modes = modes[:2]
		}
		for _, mode := range modes {
			t.Run(c.name+"/"+mode, func(t *testing.T) {
				t.Parallel()
				inBubble(t, !c.wallClock, func(t *testing.T) {
					opts := slices.Clone(c.opts)
					if !c.wallClock {
						opts = append(opts, awsfake.WithInMemory())
					}
					e := newEnv(t, faultHosts, opts...)
					bucket := ""
					if strings.HasPrefix(mode, "s3") {
						bucket = "diffy-out"
					}
					plain := strings.HasSuffix(mode, "-plain")
					col := e.collector(t, bucket, append([]ssmcollect.Option{ssmcollect.WithCompression(!plain)}, c.copts...)...)
					insts := e.fleet.Instances()
					if c.target {
						tg, err := ec2target.NewFromConfig(e.cfg, ec2target.KindASG)
						if err != nil {
							t.Fatal(err)
						}
						// The fleet's instances as EC2 lists them; vanishing ones
						// are terminated right after this listing.
						if insts, err = tg.Targets(context.Background(), "web-asg"); err != nil {
							t.Fatal(err)
						}
						if len(insts) != faultHosts {
							t.Fatalf("targeted %d instances, want %d", len(insts), faultHosts)
						}
					}
					res, err := col.Collect(context.Background(), insts, payload.StandardPack())
					if err != nil {
						t.Fatal(err)
					}
					by := e.check(t, insts, res, expect(e.srv, bucket == ""))
					t.Logf("statuses %v; calls%s; injected%s", by, calls(e.srv), injected(e.srv))
					if c.check != nil {
						c.check(t, e.srv)
					}
				})
			})
		}
	}
}

// TestCancel cancels a run whose commands take long: it returns promptly
// with a Result for every pair (Cancelled, none lost) and an error
// wrapping context.Canceled, after asking SSM to cancel the commands.
func TestCancel(t *testing.T) { synctest.Test(t, testCancel) }

// testCancel is TestCancel, in a synctest bubble: "once every batch is
// sent, 200 ms later" is on the bubble's clock, so what has run by then
// does not depend on the machine's load.
func testCancel(t *testing.T) {
	e := newEnv(t, faultHosts, awsfake.WithRunTime(time.Hour), awsfake.WithInMemory())
	col := e.collector(t, "")
	insts := e.fleet.Instances()
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		// Cancel once every batch is sent.
		for e.srv.Calls()["ssm:SendCommand"].Calls < 2 {
			time.Sleep(10 * time.Millisecond)
		}
		time.Sleep(200 * time.Millisecond)
		cancel()
	}()
	res, err := col.Collect(ctx, insts, payload.StandardPack())
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want one wrapping context.Canceled", err)
	}
	e.check(t, insts, res, func(r collect.Result) error {
		if r.Status != collect.StatusCancelled {
			return fmt.Errorf("want Cancelled")
		}
		return nil
	})
	if n := e.srv.Calls()["ssm:CancelCommand"].Calls; n < 2 {
		t.Errorf("%d CancelCommand calls, want one per batch (2)", n)
	}
}

// TestCancelKeepsFinished cancels a run after part of it finished: the
// finished instances keep their Results.
func TestCancelKeepsFinished(t *testing.T) { synctest.Test(t, testCancelKeepsFinished) }

// testCancelKeepsFinished is TestCancelKeepsFinished, in a synctest bubble:
// the instances that finish within RunTime have finished before the cancel
// 300 ms (on the bubble's clock) after the tenth GetCommandInvocation,
// however loaded the machine.
func testCancelKeepsFinished(t *testing.T) {
	e := newEnv(t, faultHosts, awsfake.WithFaults(awsfake.Faults{Seed: 2, Hanging: 0.5}), awsfake.WithInMemory())
	col := e.collector(t, "", ssmcollect.WithBatchSize(10))
	insts := e.fleet.Instances()
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		for e.srv.Calls()["ssm:GetCommandInvocation"].Calls < 10 {
			time.Sleep(10 * time.Millisecond)
		}
		time.Sleep(300 * time.Millisecond)
		cancel()
	}()
	res, err := col.Collect(ctx, insts, payload.StandardPack())
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v", err)
	}
	hanging := map[string]bool{}
	for _, id := range e.srv.Selected(awsfake.FaultHanging) {
		hanging[id] = true
	}
	by := e.check(t, insts, res, func(r collect.Result) error {
		if hanging[r.InstanceID] && r.Status != collect.StatusCancelled {
			return fmt.Errorf("hanging instance: want Cancelled")
		}
		if !hanging[r.InstanceID] && r.Status != collect.StatusCancelled {
			return wholeOrCut(true)(r)
		}
		return nil
	})
	if by[collect.StatusSuccess] == 0 {
		t.Error("no Result of the finished instances was kept")
	}
}

// secretPatterns are what no command sent to a host may contain.
var secretPatterns = []*regexp.Regexp{
	regexp.MustCompile(`(AKIA|ASIA)[A-Z0-9]{16}`),
	regexp.MustCompile(`(?i)aws_secret_access_key|aws_session_token|x-amz-security-token`),
	regexp.MustCompile(`(?i)secret.?access.?key`),
	regexp.MustCompile(regexp.QuoteMeta(awsfake.SecretAccessKey)),
	regexp.MustCompile(regexp.QuoteMeta(awsfake.AccessKeyID)),
	regexp.MustCompile(`[A-Za-z0-9/+=]{40}`), // the shape of a secret access key
}

// TestNoSecretsSent inspects every SendCommand the fake received, in both
// modes, for anything like a credential.
func TestNoSecretsSent(t *testing.T) {
	for _, bucket := range []string{"", "diffy-secrets"} {
		e := newEnv(t, 20)
		t.Setenv("AWS_SECRET_ACCESS_KEY", awsfake.SecretAccessKey)
		t.Setenv("AWS_SESSION_TOKEN", "FwoGZXIvYXdzEXAMPLETOKEN")
		col := e.collector(t, bucket)
		if _, err := col.Collect(context.Background(), e.fleet.Instances(), payload.StandardPack()); err != nil {
			t.Fatal(err)
		}
		sent := e.srv.SentCommands()
		if len(sent) == 0 {
			t.Fatal("the fake recorded no SendCommand")
		}
		for _, s := range sent {
			text := string(s.Body) + fmt.Sprintf(" %v %q", s.Parameters, s.Comment)
			for _, p := range secretPatterns {
				if m := p.FindString(text); m != "" {
					t.Errorf("SendCommand holds %q (pattern %s)", m, p)
				}
			}
			if strings.Contains(text, "FwoGZXIvYXdzEXAMPLETOKEN") {
				t.Error("SendCommand holds the session token")
			}
		}
	}
}

var _ = target.Instance{}
