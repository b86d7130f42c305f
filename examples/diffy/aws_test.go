package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/diffy-dfir/diffy/analyze"
	"github.com/diffy-dfir/diffy/diffytest/awsfake"
	"github.com/diffy-dfir/diffy/diffytest/fleet"
)

// TestAnalyzeThroughSSM runs `diffy analyze GROUP --target asg --collector
// ssm` the way a user does against AWS, with the SDK's standard
// AWS_ENDPOINT_URL_<SERVICE> variables pointing it at awsfake: aws.go
// loads the configuration from the environment, targets the group through
// EC2, collects through SSM (API mode), and the report has every host.
func TestAnalyzeThroughSSM(t *testing.T) {
	f, srv := fakeGroup(t)
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{"analyze", "cli-asg", "--target", "asg", "--collector", "ssm",
		"--analyzer", "cluster", "--region", srv.Region(), "--store", t.TempDir(), "--format", "json"}, &stdout, &stderr)
	if code != 0 {
		t.Fatalf("exit %d; stderr:\n%s", code, stderr.String())
	}
	var rep analyze.Report
	if err := json.Unmarshal(stdout.Bytes(), &rep); err != nil {
		t.Fatalf("report: %v\n%s", err, stdout.String())
	}
	if len(rep.Hosts) != len(f.Hosts) {
		t.Errorf("report has %d hosts, want %d", len(rep.Hosts), len(f.Hosts))
	}
	if n := srv.Calls()["ssm:SendCommand"].Operations; n != 1 {
		t.Errorf("%d SendCommand calls for %s hosts, want 1", n, strconv.Itoa(len(f.Hosts)))
	}
	for _, s := range srv.SentCommands() {
		if bytes.Contains(s.Body, []byte(awsfake.SecretAccessKey)) || bytes.Contains(s.Body, []byte(awsfake.AccessKeyID)) {
			t.Error("a credential was sent to the hosts")
		}
	}
}

// fakeGroup serves the simulated group "cli-asg" (fleet scenario small)
// on awsfake, with the SDK's environment pointing at it.
func fakeGroup(t *testing.T) (*fleet.Fleet, *awsfake.Server) {
	t.Helper()
	cfg := fleet.Scenario("small")
	cfg.GroupName = "cli-asg"
	f := fleet.Generate(cfg)
	srv, err := awsfake.New(awsfake.WithInstances(awsfake.FleetInstances(f)...))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	t.Setenv("AWS_ENDPOINT_URL_EC2", srv.EC2URL())
	t.Setenv("AWS_ENDPOINT_URL_SSM", srv.SSMURL())
	t.Setenv("AWS_ACCESS_KEY_ID", awsfake.AccessKeyID)
	t.Setenv("AWS_SECRET_ACCESS_KEY", awsfake.SecretAccessKey)
	t.Setenv("AWS_CONFIG_FILE", t.TempDir()+"/none")
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", t.TempDir()+"/none")
	return f, srv
}

// TestBaselineThroughSSM: `diffy baseline GROUP` keeps the group's most
// typical host, never a compromised one, and says so; `diffy baseline
// GROUP --all` keeps every host, a fleet baseline the baseline analyzer
// then compares the group with.
func TestBaselineThroughSSM(t *testing.T) {
	f, srv := fakeGroup(t)
	aws := []string{"--target", "asg", "--collector", "ssm", "--region", srv.Region()}
	store := t.TempDir()
	code, out, errOut := runCLI(t, append([]string{"baseline", "cli-asg", "--store", store}, aws...)...)
	if code != 0 {
		t.Fatalf("baseline: exit %d; stderr:\n%s", code, errOut)
	}
	if !strings.Contains(out, "the most typical of the group") {
		t.Errorf("baseline stdout %q does not say how the instance was chosen", out)
	}
	for _, h := range f.Hosts {
		if strings.Contains(out, " instance "+h.Instance.ID+",") && h.Compromised {
			t.Errorf("baseline from compromised %s: %s", h.Instance.ID, out)
		}
	}
	code, out, errOut = runCLI(t, append([]string{"baseline", "cli-asg", "--all", "--store", store}, aws...)...)
	if want := fmt.Sprintf("fleet baseline of cli-asg saved from %d instances", len(f.Hosts)); code != 0 || !strings.Contains(out, want) {
		t.Fatalf("baseline --all: exit %d, stdout %q, want %q; stderr:\n%s", code, out, want, errOut)
	}
	code, out, errOut = runCLI(t, append([]string{"analyze", "cli-asg", "--analyzer", "baseline", "--store", store, "--format", "json"}, aws...)...)
	if code != 0 {
		t.Fatalf("analyze: exit %d; stderr:\n%s", code, errOut)
	}
	if r := parseReport(t, out); r.BaselineHosts != len(f.Hosts) || len(r.Hosts) != len(f.Hosts) {
		t.Errorf("report of %d hosts against a baseline of %d, want %d and %d", len(r.Hosts), r.BaselineHosts, len(f.Hosts), len(f.Hosts))
	}
	code, _, errOut = runCLI(t, append([]string{"baseline", "cli-asg", "--all", "--instance", f.Hosts[0].Instance.ID, "--store", store}, aws...)...)
	if code != 2 {
		t.Errorf("baseline --all --instance: exit %d, want 2 (usage); stderr %q", code, errOut)
	}
}

// TestSameBucket: --store and --output-bucket naming one bucket is
// warned about (an instance that writes its output there could overwrite
// baselines); different buckets, or a directory store, are not.
func TestSameBucket(t *testing.T) {
	for _, c := range []struct{ store, out, want string }{
		{"s3://b/store", "b/ssm", "b"},
		{"s3://b", "s3://b", "b"},
		{"s3://b/store", "other", ""},
		{"/var/lib/diffy", "b", ""},
		{"s3://b/store", "", ""},
	} {
		cfg := &config{store: c.store}
		cfg.aws.OutputBucket = c.out
		if got := cfg.aws.SameBucket(cfg.store); got != c.want {
			t.Errorf("--store %s --output-bucket %s: %q, want %q", c.store, c.out, got, c.want)
		}
	}
}
