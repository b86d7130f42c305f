package main

import (
	"context"
	"encoding/json"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/diffy-dfir/diffy"
	"github.com/diffy-dfir/diffy/persist"
)

// holdingStore holds the first Put of a job record in state hold until
// release is closed.
type holdingStore struct {
	persist.Store
	hold    string
	release chan struct{}

	mu   sync.Mutex
	held bool
}

func (s *holdingStore) Put(ctx context.Context, kind persist.Kind, key string, doc []byte) error {
	var rec Job
	if kind == KindJob && json.Unmarshal(doc, &rec) == nil && rec.State == s.hold {
		s.mu.Lock()
		first := !s.held
		s.held = true
		s.mu.Unlock()
		if first {
			<-s.release
		}
	}
	return s.Store.Put(ctx, kind, key, doc)
}

func (s *holdingStore) Delete(ctx context.Context, kind persist.Kind, key string) error {
	return s.Store.(persist.Deleter).Delete(ctx, kind, key)
}

// storedJob returns job id's record in st.
func storedJob(t *testing.T, st persist.Store, id string) Job {
	t.Helper()
	doc, err := st.Get(context.Background(), KindJob, id)
	var rec Job
	if err == nil {
		err = json.Unmarshal(doc, &rec)
	}
	if err != nil {
		t.Fatalf("job %s in the store: %v", id, err)
	}
	return rec
}

// TestJobSavesInOrder: a running job is cancelled, and the store is slow
// to take the record of its end ("cancelled"); meanwhile the job is
// resumed (stored "queued") and runs again. Once the slow write lands,
// the store holds the job as it is (running), and a server started on
// the store after a crash there shows it interrupted, to be resumed.
// Before, each save wrote the snapshot it took, in whatever order the
// writes ended: the store was left with "cancelled" while the job ran,
// and a restart showed the running job cancelled. (testing/synctest: the
// goroutines' order is the test's, not the clock's.)
func TestJobSavesInOrder(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		mem := persist.NewMemory()
		st := &holdingStore{Store: mem, hold: StateCancelled, release: make(chan struct{})}
		d, err := diffy.New(diffy.WithStore(st), diffy.WithCollector(stalling{}))
		if err != nil {
			t.Fatal(err)
		}
		srv, err := NewServer(ctx, Config{Diffy: d, Store: st, Token: testToken, Jobs: 2})
		if err != nil {
			t.Fatal(err)
		}
		srv.Start()
		rec, err := srv.Submit(JobRequest{Kind: "collect", Key: "local"})
		if err != nil {
			t.Fatal(err)
		}
		synctest.Wait() // running, in the collector
		if _, err := srv.Cancel(rec.ID); err != nil {
			t.Fatal(err)
		}
		synctest.Wait() // ended: its record's write held
		resumed := make(chan error, 1)
		go func() {
			_, err := srv.Resume(rec.ID)
			resumed <- err
		}()
		synctest.Wait()
		close(st.release)
		synctest.Wait()
		if err := <-resumed; err != nil {
			t.Fatalf("resume: %v", err)
		}
		j, _ := srv.Job(rec.ID)
		now, _ := j.snapshot()
		if got := storedJob(t, mem, rec.ID); got.State != now.State || got.Resumes != now.Resumes {
			t.Errorf("the store holds the job %s (resumes %d), the server has it %s (resumes %d)", got.State, got.Resumes, now.State, now.Resumes)
		}
		// A crash now: a new server on the store.
		after, err := NewServer(ctx, Config{Diffy: d, Store: mem, Token: testToken})
		if err != nil {
			t.Fatal(err)
		}
		if j, ok := after.Job(rec.ID); !ok {
			t.Error("after a restart the job is gone")
		} else if got, _ := j.snapshot(); got.State != StateInterrupted || got.Resumes != 1 {
			t.Errorf("after a restart: %s (resumes %d), want interrupted, resumed once", got.State, got.Resumes)
		}
		stop, cancel := context.WithCancel(ctx)
		cancel()
		srv.Shutdown(stop)
	})
}

// TestRetentionKeepsInterrupted: job retention never drops an
// interrupted job, however old (the server stopped it; --resume goes on
// with it), while it drops finished jobs by age and count; DELETE gives
// an interrupted job up (cancelled), and retention then treats it as the
// others. Before, an interrupted job older than --job-max-age, or beyond
// --job-retention, was dropped at the next start: --resume had nothing to
// resume.
func TestRetentionKeepsInterrupted(t *testing.T) {
	ctx := context.Background()
	clk := &clock{t: time.Date(2026, 12, 2, 5, 0, 0, 0, time.UTC)}
	st := persist.NewMemory()
	put := func(state string, ended time.Duration) string {
		t.Helper()
		id := diffy.NewRunID()
		at := clk.now().Add(-ended)
		doc, _ := json.Marshal(Job{ID: id, State: state, Request: JobRequest{Kind: "collect", Key: "local"}, Incident: diffy.NewIncidentID(), Created: at, Ended: &at})
		if err := st.Put(ctx, KindJob, id, doc); err != nil {
			t.Fatal(err)
		}
		return id
	}
	old := put(StateInterrupted, 1000*time.Hour)
	older := put(StateSucceeded, 100*time.Hour)
	recent := put(StateSucceeded, time.Hour)
	d, err := diffy.New(diffy.WithStore(st))
	if err != nil {
		t.Fatal(err)
	}
	srv, err := NewServer(ctx, Config{Diffy: d, Store: st, Token: testToken, Now: clk.now,
		JobRetention: &JobRetention{Count: 1, MaxAge: 48 * time.Hour}})
	if err != nil {
		t.Fatal(err)
	}
	has := func(id string) bool {
		_, mem := srv.Job(id)
		_, err := st.Get(ctx, KindJob, id)
		return mem && err == nil
	}
	if !has(old) || has(older) || !has(recent) {
		t.Fatalf("at start: interrupted kept %v (want true), too old kept %v (want false), newest kept %v (want true)", has(old), has(older), has(recent))
	}
	if _, err := srv.Cancel(old); err != nil {
		t.Fatal(err)
	}
	// Now a cancelled job, the newest to end: the count keeps it alone.
	rec := storedJob(t, st, old)
	if rec.State != StateCancelled || !has(old) || has(recent) {
		t.Errorf("after DELETE of the interrupted job: %s, kept %v; the other finished job kept %v (want cancelled, true, false)", rec.State, has(old), has(recent))
	}
	stop, cancel := context.WithCancel(ctx)
	cancel()
	srv.Shutdown(stop)
}

// TestCancelInterrupted: DELETE of an interrupted job gives it up:
// cancelled, saying it was interrupted; its record then goes by
// retention. Before, it was refused (409): an interrupted job could only
// be resumed, and so never left.
func TestCancelInterrupted(t *testing.T) {
	ctx := context.Background()
	st := persist.NewMemory()
	id := diffy.NewRunID()
	doc, _ := json.Marshal(Job{ID: id, State: StateRunning, Request: JobRequest{Kind: "collect", Key: "local"}, Incident: diffy.NewIncidentID(), Created: time.Now()})
	if err := st.Put(ctx, KindJob, id, doc); err != nil {
		t.Fatal(err)
	}
	d, err := diffy.New(diffy.WithStore(st))
	if err != nil {
		t.Fatal(err)
	}
	srv, err := NewServer(ctx, Config{Diffy: d, Store: st, Token: testToken, JobRetention: &JobRetention{}})
	if err != nil {
		t.Fatal(err)
	}
	if rec := storedJob(t, st, id); rec.State != StateInterrupted {
		t.Fatalf("restored: %s, want interrupted", rec.State)
	}
	rec, err := srv.Cancel(id)
	if err != nil || rec.State != StateCancelled {
		t.Fatalf("DELETE of an interrupted job: %s, %v; want cancelled", rec.State, err)
	}
	if got := storedJob(t, st, id); got.State != StateCancelled {
		t.Errorf("stored: %s, want cancelled", got.State)
	}
	if _, err := srv.Cancel(id); err == nil {
		t.Error("DELETE of a cancelled job: accepted, want refused")
	}
}
