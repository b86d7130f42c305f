package main

import (
	"context"
	"net/http"
	"testing"

	"github.com/diffy-dfir/diffy/collect"
	"github.com/diffy-dfir/diffy/payload"
	"github.com/diffy-dfir/diffy/persist"
	"github.com/diffy-dfir/diffy/target"
)

// Attacks on the server (issue 10's style: each test shows the attack;
// docs/reliability.md lists them).

// stalling is a collector that collects nothing until its run is
// cancelled: a job using it stays running until DELETE or shutdown.
type stalling struct{}

func (stalling) Collect(ctx context.Context, _ []target.Instance, _ []payload.Command) ([]collect.Result, error) {
	<-ctx.Done()
	return nil, ctx.Err()
}

// TestResumeRefusedWhileIncidentLive: a job of an incident is refused
// while another job of that incident is queued or running (two runs of
// one incident write the same parts, and the first to finish deletes
// them under the other), and resuming a job is such a job too. Before,
// POST /v1/jobs/{id}/resume of a cancelled job queued it beside the live
// job that had taken over its incident (202): both ran on the same
// parts.
func TestResumeRefusedWhileIncidentLive(t *testing.T) {
	fake := newFake(t, fleetInstances(group, 3, 1))
	e := newEnv(t, fake, persist.NewDir(t.TempDir()), setup{wrap: func(collect.Collector) collect.Collector { return stalling{} }})
	a := e.submit(`{"kind": "collect", "key": "web"}`)
	e.follow(a.ID, func(j Job) bool { return j.State == StateRunning })
	if code, body, _ := e.do("DELETE", "/v1/jobs/"+a.ID, ""); code != http.StatusAccepted {
		t.Fatalf("DELETE: %d %s", code, body)
	}
	if got := e.wait(a.ID); got.State != StateCancelled {
		t.Fatalf("job %s ended %s, want cancelled", a.ID, got.State)
	}
	// A new job takes the incident over (as the CLI's --incident would).
	b := e.submit(`{"kind": "collect", "key": "web", "incident": "` + a.Incident + `"}`)
	e.follow(b.ID, func(j Job) bool { return j.State == StateRunning })

	code, body, _ := e.do("POST", "/v1/jobs/"+a.ID+"/resume", "")
	if code != http.StatusConflict {
		t.Errorf("resume of %s while job %s runs its incident %s: %d %s, want 409", a.ID, b.ID, a.Incident, code, body)
		e.do("DELETE", "/v1/jobs/"+a.ID, "")
		e.wait(a.ID)
	}
	if rec, _ := e.srv.Job(a.ID); rec != nil {
		if got, _ := rec.snapshot(); code == http.StatusConflict && got.State != StateCancelled {
			t.Errorf("refused resume left job %s %s, want cancelled", a.ID, got.State)
		}
	}
	e.do("DELETE", "/v1/jobs/"+b.ID, "")
	e.wait(b.ID)
	// Once the incident is free again, the resume is taken.
	if code, body, _ := e.do("POST", "/v1/jobs/"+a.ID+"/resume", ""); code != http.StatusAccepted {
		t.Errorf("resume of %s once its incident is free: %d %s, want 202", a.ID, code, body)
	}
	e.do("DELETE", "/v1/jobs/"+a.ID, "")
	e.wait(a.ID)
}
