package main

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/diffy-dfir/diffy/collect"
	"github.com/diffy-dfir/diffy/payload"
	"github.com/diffy-dfir/diffy/persist"
	"github.com/diffy-dfir/diffy/target"
)

// failing is a collector that fails while fail is set.
type failing struct {
	collect.Collector
	fail atomic.Bool
}

func (f *failing) Collect(ctx context.Context, insts []target.Instance, cmds []payload.Command) ([]collect.Result, error) {
	if f.fail.Load() {
		return nil, errors.New("SSM: the instance is not registered yet")
	}
	return f.Collector.Collect(ctx, insts, cmds)
}

// TestWatchRetriesFailedBaseline: a baseline the watch queued that fails
// gets a retry time watchBackoff after its end; the watch's rounds resume
// it once that time has come (the test's clock), not before, each retry
// twice as late up to watchRetryMax; after watchRetries it stays failed,
// saying the watch gave up, and is not resumed again; once the cause has
// passed, a retry succeeds. A job of the API that fails is not retried.
func TestWatchRetriesFailedBaseline(t *testing.T) {
	ctx := context.Background()
	fake := newFake(t, fleetInstances(group, 3, 4))
	clk := &clock{t: time.Date(2026, 12, 2, 5, 0, 0, 0, time.UTC)}
	col := &failing{}
	col.fail.Store(true)
	e := newEnv(t, fake, persist.NewMemory(), setup{inv: true, wrap: func(c collect.Collector) collect.Collector { col.Collector = c; return col },
		cfg: func(c *Config) { c.Now = clk.now }})
	round := func() {
		t.Helper()
		if _, err := e.srv.WatchRound(ctx); err != nil {
			t.Fatal(err)
		}
	}
	api := e.submit(`{"kind": "baseline", "key": "web"}`)
	if got := e.wait(api.ID); got.State != StateFailed || got.RetryAt != nil {
		t.Fatalf("the API's job: %+v, want failed with no retry", got)
	}
	round()
	var id string
	for _, j := range e.srv.Jobs() {
		if j.Origin == OriginWatch {
			id = j.ID
		}
	}
	if id == "" {
		t.Fatal("the watch queued no job")
	}
	for i := 0; ; i++ {
		got := e.wait(id)
		if got.State != StateFailed || got.Resumes != i {
			t.Fatalf("try %d: %+v, want failed after %d resumes", i, got, i)
		}
		wait, ok := watchBackoff(i)
		if !ok {
			if got.RetryAt != nil || !strings.Contains(got.Error, "gave up") {
				t.Fatalf("after %d retries: %+v, want given up", i, got)
			}
			break
		}
		if want := got.Ended.Add(wait); got.RetryAt == nil || !got.RetryAt.Equal(want) || wait > watchRetryMax {
			t.Fatalf("try %d: retry at %v, want %v", i, got.RetryAt, want)
		}
		clk.add(wait - time.Second)
		round()
		if rec := e.get1(id); rec.State != StateFailed || rec.Resumes != i {
			t.Fatalf("try %d: resumed %v before its time: %+v", i, wait, rec)
		}
		clk.add(time.Second)
		round()
	}
	clk.add(24 * time.Hour)
	round()
	if rec := e.get1(id); rec.Resumes != watchRetries || rec.State != StateFailed {
		t.Errorf("after giving up: %+v", rec)
	}
	if rec := e.get1(api.ID); rec.Resumes != 0 {
		t.Errorf("the API's job was resumed: %+v", rec)
	}

	// A group launched while the cause lasts succeeds at its first retry.
	if err := fake.Launch(fleetInstances("api", 2, 5)...); err != nil {
		t.Fatal(err)
	}
	round()
	var j2 string
	for _, j := range e.srv.Jobs() {
		if j.Request.Key == "api" {
			j2 = j.ID
		}
	}
	got := e.wait(j2)
	if got.State != StateFailed || got.RetryAt == nil {
		t.Fatalf("api's baseline: %+v", got)
	}
	col.fail.Store(false)
	clk.add(watchRetryFirst)
	round()
	if got := e.wait(j2); got.State != StateSucceeded || got.Resumes != 1 || got.RetryAt != nil {
		t.Errorf("api's baseline retried: %+v", got)
	}
}
