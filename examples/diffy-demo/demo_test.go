package main

import (
	"bytes"
	"context"
	"regexp"
	"strings"
	"testing"

	"github.com/diffy-dfir/diffy/diffytest/fleet"
)

// TestDemo runs the demo on a small fleet: the cluster analyzer finds
// every planted compromise and flags no clean instance; the table names
// the planted rows.
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

func TestDemoHelp(t *testing.T) {
	for _, arg := range []string{"-h", "--help"} {
		var stdout, stderr bytes.Buffer
		if code := run(context.Background(), []string{arg}, &stdout, &stderr); code != 0 || !strings.Contains(stdout.String(), "--hosts N") {
			t.Errorf("%s: exit %d, stdout %q, stderr %q", arg, code, stdout.String(), stderr.String())
		}
	}
}

func TestDemoRefuses(t *testing.T) {
	for _, args := range [][]string{{"--hosts", "5"}, {"extra"}, {"--analyzer", "nope"}, {"--nope"}} {
		var stdout, stderr bytes.Buffer
		if code := run(context.Background(), args, &stdout, &stderr); code == 0 {
			t.Errorf("%q: exit 0", args)
		} else if bytes.Count(bytes.TrimSpace(stderr.Bytes()), []byte("\n")) != 0 {
			t.Errorf("%q: error is not one line: %q", args, stderr.String())
		}
	}
}
