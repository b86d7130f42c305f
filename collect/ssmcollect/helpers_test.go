package ssmcollect_test

import (
	"context"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/diffy-dfir/diffy/collect"
	"github.com/diffy-dfir/diffy/collect/ssmcollect"
	"github.com/diffy-dfir/diffy/diffytest/awsfake"
	"github.com/diffy-dfir/diffy/diffytest/fleet"
	"github.com/diffy-dfir/diffy/payload"
	"github.com/diffy-dfir/diffy/target"
)

// env is a simulated fleet served by awsfake.
type env struct {
	fleet *fleet.Fleet
	srv   *awsfake.Server
	cfg   aws.Config
}

// newEnv starts awsfake over a generated fleet of n hosts. A test in a
// testing/synctest bubble sets opts.InMemory: sockets would stop the
// bubble's clock.
func newEnv(t testing.TB, n int, opts ...awsfake.Option) *env {
	t.Helper()
	f := fleet.Generate(fleet.Config{Seed: 7, Hosts: n, GroupName: "web-asg", CompromisedFraction: 0.05})
	insts := make([]awsfake.Instance, len(f.Hosts))
	for i := range f.Hosts {
		insts[i] = awsfake.Instance{Instance: f.Hosts[i].Instance, Host: newCachedHost(&f.Hosts[i])}
	}
	// The caller's options come after, so that theirs win.
	opts = append([]awsfake.Option{awsfake.WithInstances(insts...), awsfake.WithRunTime(30 * time.Millisecond)}, opts...)
	srv, err := awsfake.New(opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	cfg := srv.Config()
	// Each attempt is bounded, so that an answer that never comes is a
	// retried attempt (the "slower than the deadline" fault).
	cfg.HTTPClient = cfg.HTTPClient.(*awshttp.BuildableClient).WithTimeout(3 * time.Second)
	return &env{fleet: f, srv: srv, cfg: cfg}
}

// newHostsEnv starts awsfake over the given hosts, each command running
// 20 ms, and returns it with the hosts' targets.
func newHostsEnv(t testing.TB, insts []awsfake.Instance) (*env, []target.Instance) {
	t.Helper()
	srv, err := awsfake.New(awsfake.WithInstances(insts...), awsfake.WithRunTime(20*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	tis := make([]target.Instance, len(insts))
	for i, in := range insts {
		tis[i] = in.Instance
	}
	return &env{srv: srv, cfg: srv.Config()}, tis
}

// inBubble runs f in a testing/synctest bubble when bubble is set, where
// every wait (poll intervals, RunTime, the SDK's back-off, injected
// latency, timeouts) passes on the bubble's clock, at once and the same on
// a loaded machine as on an idle one; else on the wall clock.
func inBubble(t *testing.T, bubble bool, f func(t *testing.T)) {
	t.Helper()
	if bubble {
		synctest.Test(t, f)
	} else {
		f(t)
	}
}

// collector returns a Collector on e's endpoints; bucket "" is API mode.
func (e *env) collector(t testing.TB, bucket string, opts ...ssmcollect.Option) *ssmcollect.Collector {
	t.Helper()
	base := []ssmcollect.Option{ssmcollect.WithPollInterval(50 * time.Millisecond), ssmcollect.WithIncident("INC-42")}
	if bucket != "" {
		s3c := s3.NewFromConfig(e.cfg, e.srv.S3Options)
		if _, err := s3c.CreateBucket(context.Background(), &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
			t.Fatal(err)
		}
		base = append(base, ssmcollect.WithOutputBucket(bucket, "diffy-out"), ssmcollect.WithS3Options(e.srv.S3Options))
	}
	c, err := ssmcollect.NewFromConfig(e.cfg, append(base, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// check compares results with the fleet's truth: exactly one Result per
// (instance, command); a Success Result holds exactly the host's rows;
// want says which status an instance must have (default Success).
func (e *env) check(t *testing.T, insts []target.Instance, res []collect.Result, want func(r collect.Result) error) (byStatus map[collect.Status]int) {
	t.Helper()
	cmds := payload.StandardPack()
	hosts := map[string]*fleet.Host{}
	for i := range e.fleet.Hosts {
		hosts[e.fleet.Hosts[i].Instance.ID] = &e.fleet.Hosts[i]
	}
	seen := map[[2]string]bool{}
	byStatus = map[collect.Status]int{}
	for _, r := range res {
		k := [2]string{r.InstanceID, r.CommandID}
		if seen[k] {
			t.Errorf("two Results for %v", k)
		}
		seen[k] = true
		byStatus[r.Status]++
		if !r.Status.Done() {
			t.Errorf("%v: status %q is not final", k, r.Status)
		}
		if err := want(r); err != nil {
			t.Errorf("%v: %s (%s %s): %v", k, r.Status, r.StatusDetails, r.Error, err)
		}
		if r.Status == collect.StatusSuccess {
			h := hosts[r.InstanceID]
			if h == nil {
				t.Errorf("%v: success for an instance not in the fleet", k)
				continue
			}
			if wantRows := h.Rows[r.CommandID]; !sameRows(r.Rows, wantRows) {
				t.Errorf("%v: %d rows, not the host's %d rows", k, len(r.Rows), len(wantRows))
			}
		} else if r.Error == "" {
			t.Errorf("%v: %s without an error", k, r.Status)
		}
		if r.Truncated && r.Rows != nil {
			t.Errorf("%v: truncated but has rows", k)
		}
	}
	for _, in := range insts {
		for _, c := range cmds {
			if !seen[[2]string{in.ID, c.ID}] {
				t.Errorf("no Result for %s %s", in.ID, c.ID)
			}
		}
	}
	if len(res) != len(insts)*len(cmds) {
		t.Errorf("%d Results, want %d", len(res), len(insts)*len(cmds))
	}
	return byStatus
}

// wholeOrCut wants Success, or, in API mode, a truncated Result that says
// how to get the whole output.
func wholeOrCut(api bool) func(r collect.Result) error {
	return func(r collect.Result) error {
		if r.Status == collect.StatusSuccess {
			return nil
		}
		if api && r.Status == collect.StatusFailed && r.Truncated && strings.Contains(r.Error, "--output-bucket") {
			return nil
		}
		return fmt.Errorf("want Success or (API mode) truncated with advice")
	}
}

func sameRows(a, b []collect.Row) bool {
	if len(a) != len(b) {
		return false
	}
	if len(a) == 0 {
		return true
	}
	return reflect.DeepEqual(a, b)
}

func calls(srv *awsfake.Server) string {
	s := ""
	for op, c := range srv.Calls() {
		s += fmt.Sprintf(" %s=%d", op, c.Calls)
	}
	return s
}

// cachedHost answers with a fleet host's outputs rendered once, so that the
// fake's cost per call stays small under the race detector.
type cachedHost map[string][]byte

func newCachedHost(h *fleet.Host) cachedHost {
	c := cachedHost{}
	for _, cmd := range payload.StandardPack() {
		if out, ok := h.Output(cmd.ID); ok {
			c[cmd.ID] = out
		}
	}
	return c
}

// Output implements awsfake.Host.
func (c cachedHost) Output(commandID string) ([]byte, bool) {
	out, ok := c[commandID]
	return out, ok
}
