package main

import (
	"bytes"
	"context"
	"encoding/json"
	"regexp"
	"strconv"
	"testing"

	"github.com/diffy-dfir/diffy/analyze"
	"github.com/diffy-dfir/diffy/diffytest/awsfake"
	"github.com/diffy-dfir/diffy/diffytest/fleet"
)

// TestDemo runs `diffy demo` on a small fleet: the cluster analyzer finds
// every planted compromise and flags no clean instance; the table names
// the planted rows.
func TestDemo(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), []string{"demo", "--hosts", "60", "--seed", "3"}, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d; stderr:\n%s", code, stderr.String())
	}
	out := stdout.String()
	m := regexp.MustCompile(`cluster analyzer: compromised instances found: (\d+) of (\d+) planted`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no cluster summary in:\n%s", out)
	}
	if m[1] != m[2] || m[2] == "0" {
		t.Errorf("cluster analyzer found %s of %s", m[1], m[2])
	}
	if regexp.MustCompile(`cluster analyzer:[^\n]*clean instances flagged`).MatchString(out) {
		t.Errorf("cluster analyzer flagged clean instances:\n%s", out)
	}
	if !regexp.MustCompile(`baseline analyzer: compromised instances found: (\d+) of \d+`).MatchString(out) {
		t.Errorf("no baseline summary in:\n%s", out)
	}
	// Every planted row of the fleet is in the report table.
	cfg := fleet.Scenario("medium")
	cfg.Seed, cfg.Hosts, cfg.GroupName = 3, 60, demoGroup
	for _, h := range fleet.Generate(cfg).Hosts {
		for _, p := range h.Planted {
			if !bytes.Contains(stdout.Bytes(), []byte(h.Instance.ID)) {
				t.Errorf("compromised %s (%s) is not in the report", h.Instance.ID, p.CommandID)
			}
		}
	}
}

func TestDemoRefuses(t *testing.T) {
	for _, args := range [][]string{{"demo", "--hosts", "5"}, {"demo", "extra"}, {"demo", "--analyzer", "nope"}, {"demo", "--nope"}} {
		var stdout, stderr bytes.Buffer
		if code := run(context.Background(), args, &stdout, &stderr); code == 0 {
			t.Errorf("%q: exit 0", args)
		} else if bytes.Count(bytes.TrimSpace(stderr.Bytes()), []byte("\n")) != 0 {
			t.Errorf("%q: error is not one line: %q", args, stderr.String())
		}
	}
}

// TestAnalyzeThroughSSM runs `diffy analyze GROUP --target asg --collector
// ssm` the way a user does against AWS, with the SDK's standard
// AWS_ENDPOINT_URL_<SERVICE> variables pointing it at awsfake: aws.go
// loads the configuration from the environment, targets the group through
// EC2, collects through SSM (API mode), and the report has every host.
func TestAnalyzeThroughSSM(t *testing.T) {
	cfg := fleet.Scenario("small")
	cfg.GroupName = "cli-asg"
	f := fleet.Generate(cfg)
	srv, err := awsfake.New(awsfake.Options{Instances: awsfake.FleetInstances(f)})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	t.Setenv("AWS_ENDPOINT_URL_EC2", srv.EC2URL())
	t.Setenv("AWS_ENDPOINT_URL_SSM", srv.SSMURL())
	t.Setenv("AWS_ACCESS_KEY_ID", awsfake.AccessKeyID)
	t.Setenv("AWS_SECRET_ACCESS_KEY", awsfake.SecretAccessKey)
	t.Setenv("AWS_CONFIG_FILE", t.TempDir()+"/none")
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", t.TempDir()+"/none")
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
	if n := srv.Calls()["ssm:SendCommand"].Calls; n != 1 {
		t.Errorf("%d SendCommand calls for %s hosts, want 1", n, strconv.Itoa(len(f.Hosts)))
	}
	for _, s := range srv.SentCommands() {
		if bytes.Contains(s.Body, []byte(awsfake.SecretAccessKey)) || bytes.Contains(s.Body, []byte(awsfake.AccessKeyID)) {
			t.Error("a credential was sent to the hosts")
		}
	}
}
