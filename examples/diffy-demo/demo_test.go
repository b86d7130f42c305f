package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/diffy-dfir/diffy/analyze"
	"github.com/diffy-dfir/diffy/diffytest/fleet"
)

// TestDemo runs the demo on a small fleet: both analyzers (the baseline
// one against the fleet baseline of the week before) find every planted
// compromise and flag no clean instance; the table names the planted rows.
func TestDemo(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), []string{"--hosts", "60", "--seed", "3"}, &stdout, &stderr); code != 0 {
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
	b := regexp.MustCompile(`baseline analyzer: compromised instances found: (\d+) of (\d+) planted[^\n]*`).FindStringSubmatch(out)
	if b == nil {
		t.Fatalf("no baseline summary in:\n%s", out)
	}
	if b[1] != b[2] || strings.Contains(b[0], "clean instances flagged") {
		t.Errorf("baseline analyzer against the fleet baseline: %s", b[0])
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

// TestDemoOsqueryFetch runs the demo with --osquery-url on a fleet where a
// quarter of the hosts lack osqueryi: they download the executable from
// the fake S3 (presigned URL, SHA-256 checked) and are collected in full,
// and the cluster analyzer still finds every planted compromise.
func TestDemoOsqueryFetch(t *testing.T) {
	var stdout, stderr bytes.Buffer
	args := []string{"--hosts", "60", "--seed", "3", "--analyzer", "cluster", "--osquery-url", "s3://diffy-tools/osquery/osqueryi", "--no-osquery", "0.25"}
	if code := run(context.Background(), args, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d; stderr:\n%s", code, stderr.String())
	}
	out := stdout.String()
	m := regexp.MustCompile(`instances without osqueryi: (\d+); collected in full: (\d+)`).FindStringSubmatch(out)
	if m == nil || m[1] != m[2] || m[1] == "0" {
		t.Fatalf("hosts without osqueryi not all collected (%q) in:\n%s\nstderr:\n%s", m, out, stderr.String())
	}
	c := regexp.MustCompile(`cluster analyzer: compromised instances found: (\d+) of (\d+) planted`).FindStringSubmatch(out)
	if c == nil || c[1] != c[2] || c[2] == "0" {
		t.Errorf("cluster analyzer: %q in:\n%s", c, out)
	}
	if !strings.Contains(stderr.String(), "download it from s3://diffy-tools/osquery/osqueryi") {
		t.Errorf("the demo does not say what the hosts download: %s", stderr.String())
	}
}

func TestDemoHelp(t *testing.T) {
	for _, arg := range []string{"-h", "--help"} {
		var stdout, stderr bytes.Buffer
		if code := run(context.Background(), []string{arg}, &stdout, &stderr); code != 0 || !strings.Contains(stdout.String(), "--hosts N") {
			t.Errorf("%s: exit %d, stdout %q, stderr %q", arg, code, stdout.String(), stderr.String())
		}
	}
}

func TestDemoRefuses(t *testing.T) {
	for _, args := range [][]string{{"--hosts", "5"}, {"extra"}, {"--analyzer", "nope"}, {"--nope"},
		{"--osquery-url", "https://x.example/o"}, {"--osquery-url", "s3://bucket-only"}, {"--no-osquery", "2"}} {
		var stdout, stderr bytes.Buffer
		if code := run(context.Background(), args, &stdout, &stderr); code == 0 {
			t.Errorf("%q: exit 0", args)
		} else if bytes.Count(bytes.TrimSpace(stderr.Bytes()), []byte("\n")) != 0 {
			t.Errorf("%q: error is not one line: %q", args, stderr.String())
		}
	}
}

// TestDemoFormats: --format json writes the Report alone on stdout (the
// summary on stderr); --format html -o FILE writes the page to the file,
// every host in its table; a report file that cannot be written is
// refused before the fleet is started.
func TestDemoFormats(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), []string{"--hosts", "30", "--analyzer", "cluster", "--format", "json"}, &stdout, &stderr); code != 0 {
		t.Fatalf("--format json: exit %d; stderr:\n%s", code, stderr.String())
	}
	var rep analyze.Report
	if err := json.Unmarshal(stdout.Bytes(), &rep); err != nil || len(rep.Hosts) != 30 {
		t.Fatalf("--format json: stdout is not the report of 30 hosts (%v):\n%s", err, stdout.String())
	}
	if !strings.Contains(stderr.String(), "cluster analyzer: compromised instances found") {
		t.Errorf("--format json: the summary is not on stderr:\n%s", stderr.String())
	}
	if h := rep.Hosts[0]; h.Name == "" || h.PrivateIP == "" || h.Tags["aws:autoscaling:groupName"] != demoGroup {
		t.Errorf("the demo's hosts lack what EC2 knows of them: %+v", h)
	}

	page := filepath.Join(t.TempDir(), "demo.html")
	stdout.Reset()
	stderr.Reset()
	if code := run(context.Background(), []string{"--hosts", "30", "--analyzer", "cluster", "--format", "html", "-o", page}, &stdout, &stderr); code != 0 {
		t.Fatalf("--format html: exit %d; stderr:\n%s", code, stderr.String())
	}
	data, err := os.ReadFile(page)
	if err != nil || !bytes.HasPrefix(data, []byte("<!DOCTYPE html>")) || bytes.Count(data, []byte(`<tr id="r`)) != 30 {
		t.Errorf("-o %s: not the page of 30 hosts (%v)", page, err)
	}
	if !strings.Contains(stdout.String(), "report written to "+page) || !strings.Contains(stdout.String(), "cluster analyzer: compromised") {
		t.Errorf("stdout does not say where the report went, or lacks the summary:\n%s", stdout.String())
	}

	stderr.Reset()
	missing := filepath.Join(t.TempDir(), "no", "dir", "x.html")
	if code := run(context.Background(), []string{"--format", "html", "-o", missing}, &stdout, &stderr); code != 1 ||
		!strings.Contains(stderr.String(), "-o "+missing) || strings.Contains(stderr.String(), "fake AWS") {
		t.Errorf("-o %s: exit %d, stderr %q; want 1, the file named, before the fake AWS starts", missing, code, stderr.String())
	}
}
