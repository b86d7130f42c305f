package main

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/diffy-dfir/diffy"
	"github.com/diffy-dfir/diffy/inventory"
	"github.com/diffy-dfir/diffy/persist"
)

// Config is what a Server is made of.
type Config struct {
	// Diffy does the work; every job runs on a Diffy derived from it
	// (Diffy.With: its own incident, run ID and progress).
	Diffy *diffy.Diffy
	// Store is Diffy's store, where the job records are kept too.
	Store persist.Store
	// Token is the bearer token every request must carry.
	Token string
	// Jobs is how many jobs run at once (the others wait, queued).
	Jobs int
	// MaxQueued bounds the jobs waiting; beyond it POST /v1/jobs answers
	// 503.
	MaxQueued int
	// MaxStreams bounds the event streams (GET /v1/jobs/{id}/events)
	// open at once; beyond it they are answered 503. Default
	// DefaultMaxStreams.
	MaxStreams int
	// JobRetention bounds the finished job records kept (in memory and
	// in the store); nil is DefaultJobRetention, &JobRetention{} keeps
	// them all. What the jobs stored (collections, reports) is kept by
	// the Diffy's own retention.
	JobRetention *JobRetention
	// JobOptions, when set, gives options added to each job's Diffy as
	// the job starts (--osquery-url: a presigned URL is valid an hour,
	// the server runs for days); an error fails the job.
	JobOptions func(context.Context) ([]diffy.Option, error)
	// Logger gets the server's own lines.
	Logger *slog.Logger
	// Now is the clock of the failed-login limit and of job retention;
	// default time.Now.
	Now func() time.Time
}

// DefaultMaxStreams is how many event streams may be open at once when
// Config.MaxStreams is not given: each holds a connection and a goroutine
// for as long as its job runs; 256 is five times the 50 dashboards of the
// load goal, and a few MiB.
const DefaultMaxStreams = 256

// DefaultJobs is how many jobs run at once when --jobs is not given: two
// collections of thousands of instances each already keep SSM's rate
// limits busy.
const DefaultJobs = 2

// DefaultMaxQueued is how many jobs may wait when --max-queued is not
// given.
const DefaultMaxQueued = 1000

// Server is the HTTP API over one *diffy.Diffy: jobs, their progress, and
// the store's keys, runs and reports.
type Server struct {
	cfg   Config
	d     *diffy.Diffy
	store persist.Store
	log   *slog.Logger
	auth  *tokenCheck
	// logins limits failed logins per client address.
	logins *loginLimit
	// streams holds a token per open event stream (at most MaxStreams).
	streams chan struct{}

	mu      sync.Mutex
	jobs    map[string]*job
	queue   []*job // queued, oldest first
	running int
	closed  bool // Shutdown began: no new job starts
	wg      sync.WaitGroup

	// jobCtx is the context of every run; cancelled at the end of a
	// shutdown whose grace ran out.
	jobCtx    context.Context
	cancelAll context.CancelFunc
	// stopJobs is closed when a shutdown begins: collections stop at
	// their next batch boundary (diffy.WithStopAfterBatch).
	stopJobs chan struct{}
	stopOnce sync.Once
	// streamsDone is closed when a shutdown begins, to end event streams.
	streamsDone chan struct{}

	// watch serializes rounds of the inventory watch.
	watch sync.Mutex

	// cache holds reports rendered as HTML or CSV (see rendered):
	// cacheBytes of them, at most renderBudget (maxRenderedBytes).
	cacheMu      sync.Mutex
	cache        map[renderKey][]byte
	cacheOrder   []renderKey
	cacheBytes   int
	renderBudget int
}

// NewServer returns a Server over cfg, with the jobs of the store: jobs
// that were running when the last server stopped (or died) are marked
// interrupted (resume them with POST /v1/jobs/{id}/resume), queued ones
// are queued again. Call Start to run the queue.
func NewServer(ctx context.Context, cfg Config) (*Server, error) {
	if cfg.Diffy == nil || cfg.Store == nil {
		return nil, errors.New("server: no Diffy or no store")
	}
	if cfg.Token == "" {
		return nil, errors.New("server: no token")
	}
	if cfg.Jobs <= 0 {
		cfg.Jobs = DefaultJobs
	}
	if cfg.MaxQueued <= 0 {
		cfg.MaxQueued = DefaultMaxQueued
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.MaxStreams <= 0 {
		cfg.MaxStreams = DefaultMaxStreams
	}
	if cfg.JobRetention == nil {
		keep := DefaultJobRetention
		cfg.JobRetention = &keep
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	jobCtx, cancel := context.WithCancel(context.Background())
	s := &Server{
		cfg: cfg, d: cfg.Diffy, store: cfg.Store, log: cfg.Logger,
		auth: newTokenCheck(cfg.Token), logins: newLoginLimit(cfg.Now),
		streams: make(chan struct{}, cfg.MaxStreams),
		jobs:    map[string]*job{}, jobCtx: jobCtx, cancelAll: cancel,
		stopJobs: make(chan struct{}), streamsDone: make(chan struct{}),
		renderBudget: maxRenderedBytes,
	}
	if err := s.restore(ctx); err != nil {
		cancel()
		return nil, err
	}
	s.prune()
	return s, nil
}

// restore loads the job records of the store.
func (s *Server) restore(ctx context.Context) error {
	ids, err := s.store.List(ctx, KindJob)
	if err != nil {
		return fmt.Errorf("listing the jobs in the store: %w", err)
	}
	var queued []*job
	for _, id := range ids {
		doc, err := s.store.Get(ctx, KindJob, id)
		if err != nil {
			return fmt.Errorf("job %s: %w", id, err)
		}
		var rec Job
		if err := json.Unmarshal(doc, &rec); err != nil || rec.ID != id {
			s.log.Warn("skipping a damaged job record", "job", id, "err", err)
			continue
		}
		j := newJob(rec)
		switch rec.State {
		case StateRunning:
			now := s.cfg.Now().UTC()
			j.rec.State, j.rec.Ended = StateInterrupted, &now
			j.rec.Error = "the server stopped while the job ran; what it collected is kept: POST /v1/jobs/" + id + "/resume goes on from there"
			s.save(j)
		case StateQueued:
			queued = append(queued, j)
		}
		s.jobs[id] = j
	}
	slices.SortFunc(queued, func(a, b *job) int { return cmp.Compare(a.rec.ID, b.rec.ID) })
	s.queue = queued
	return nil
}

// Start runs the jobs queued.
func (s *Server) Start() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.dispatchLocked()
}

// errClosed refuses new jobs during a shutdown.
var errClosed = errors.New("the server is shutting down")

// errQueueFull refuses a job beyond MaxQueued.
var errQueueFull = errors.New("too many jobs queued")

// Submit queues a new job and returns its record.
func (s *Server) Submit(req JobRequest) (Job, error) { return s.submit(req, "") }

// submit is Submit of a job of origin ("" for the API's, OriginWatch).
func (s *Server) submit(req JobRequest, origin string) (Job, error) {
	if _, _, err := s.checkRequest(&req); err != nil {
		return Job{}, &badRequest{err}
	}
	id := diffy.NewRunID()
	inc := req.Incident
	if inc == "" {
		inc = diffy.NewIncidentID()
	}
	j := newJob(Job{ID: id, Request: req, State: StateQueued, Incident: inc, Created: s.cfg.Now().UTC(), Origin: origin})
	s.mu.Lock()
	switch {
	case s.closed:
		s.mu.Unlock()
		return Job{}, errClosed
	case len(s.queue) >= s.cfg.MaxQueued:
		s.mu.Unlock()
		return Job{}, errQueueFull
	case req.Incident != "" && s.liveIncidentLocked(req.Incident):
		// Two runs of one incident would write the same parts.
		s.mu.Unlock()
		return Job{}, fmt.Errorf("incident %s: %w", req.Incident, errIncidentBusy)
	}
	s.jobs[id] = j
	s.mu.Unlock()
	// Stored before it can run: a job the client was told of is never
	// lost by a crash.
	s.save(j)
	rec, _ := j.snapshot() // as queued: the answer of POST
	s.mu.Lock()
	s.queue = append(s.queue, j)
	s.dispatchLocked()
	s.mu.Unlock()
	s.log.Info("job queued", "job", id, "kind", req.Kind, "key", req.Key)
	return rec, nil
}

// errIncidentBusy refuses a job of an incident a live job already runs.
var errIncidentBusy = errors.New("a job of this incident is queued or running")

// liveIncidentLocked reports whether a queued or running job has incident
// inc.
func (s *Server) liveIncidentLocked(inc string) bool {
	for _, j := range s.jobs {
		j.mu.Lock()
		live := j.rec.Incident == inc && !final(j.rec.State)
		j.mu.Unlock()
		if live {
			return true
		}
	}
	return false
}

// dispatchLocked starts queued jobs while slots are free.
func (s *Server) dispatchLocked() {
	for !s.closed && s.running < s.cfg.Jobs && len(s.queue) > 0 {
		j := s.queue[0]
		s.queue = s.queue[1:]
		s.running++
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			s.runJob(j)
			s.mu.Lock()
			s.running--
			s.dispatchLocked()
			s.mu.Unlock()
		}()
	}
}

// Job returns the record of job id.
func (s *Server) Job(id string) (*job, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	j, ok := s.jobs[id]
	return j, ok
}

// Jobs returns every job's record, newest first.
func (s *Server) Jobs() []Job {
	s.mu.Lock()
	js := slices.Collect(maps.Values(s.jobs))
	s.mu.Unlock()
	out := make([]Job, 0, len(js))
	for _, j := range js {
		rec, _ := j.snapshot()
		out = append(out, rec)
	}
	slices.SortFunc(out, func(a, b Job) int { return cmp.Compare(b.ID, a.ID) })
	return out
}

// errNotLive refuses to cancel a job that is over, and errNotResumable to
// resume one that is live or succeeded.
var (
	errNotLive       = errors.New("the job is not queued, running or interrupted")
	errNotResumable  = errors.New("only an interrupted, cancelled or failed job can be resumed")
	errNoSuchJobType = errors.New("no such job")
)

// Cancel cancels job id: a queued job ends at once, a running one has its
// in-flight commands cancelled, and what it collected is kept in the store
// (resume it to go on); an interrupted one is given up: cancelled, so that
// retention may drop its record (it can still be resumed until then).
func (s *Server) Cancel(id string) (Job, error) {
	s.mu.Lock()
	j, ok := s.jobs[id]
	if !ok {
		s.mu.Unlock()
		return Job{}, errNoSuchJobType
	}
	if i := slices.Index(s.queue, j); i >= 0 {
		s.queue = slices.Delete(s.queue, i, i+1)
		s.mu.Unlock()
		now := s.cfg.Now().UTC()
		j.update(func(r *Job) { r.State, r.Ended, r.Error = StateCancelled, &now, "cancelled before it started" })
		s.save(j)
		s.prune()
		rec, _ := j.snapshot()
		return rec, nil
	}
	j.mu.Lock()
	interrupted := j.rec.State == StateInterrupted
	j.mu.Unlock()
	if interrupted {
		// Under s.mu: Resume, which takes it, cannot queue the job
		// between the look and the change.
		now := s.cfg.Now().UTC()
		j.update(func(r *Job) {
			r.State, r.Ended, r.Error = StateCancelled, &now, "cancelled while interrupted ("+r.Error+")"
		})
		s.mu.Unlock()
		s.save(j)
		s.prune()
		rec, _ := j.snapshot()
		return rec, nil
	}
	s.mu.Unlock()
	j.mu.Lock()
	state := j.rec.State
	// A queued job not in the queue is being started: runJob sees
	// cancelled once it can cancel.
	if state != StateRunning && state != StateQueued {
		j.mu.Unlock()
		return j.rec, errNotLive
	}
	j.cancelled = true
	if j.cancel != nil {
		j.cancel()
	}
	rec := j.rec
	j.mu.Unlock()
	return rec, nil
}

// Resume queues job id again: its collection goes on from what it (or
// the run it resumed) stored, with the same incident and run ID.
func (s *Server) Resume(id string) (Job, error) {
	s.mu.Lock()
	j, ok := s.jobs[id]
	if !ok {
		s.mu.Unlock()
		return Job{}, errNoSuchJobType
	}
	if s.closed {
		s.mu.Unlock()
		return Job{}, errClosed
	}
	if len(s.queue) >= s.cfg.MaxQueued {
		s.mu.Unlock()
		return Job{}, errQueueFull
	}
	j.mu.Lock()
	ok = resumable(j.rec.State)
	inc := j.rec.Incident
	j.mu.Unlock()
	if !ok {
		s.mu.Unlock()
		rec, _ := j.snapshot()
		return rec, errNotResumable
	}
	// As in Submit: another job may have taken the incident over since.
	if s.liveIncidentLocked(inc) {
		s.mu.Unlock()
		rec, _ := j.snapshot()
		return rec, fmt.Errorf("incident %s: %w", inc, errIncidentBusy)
	}
	// Queued now, under s.mu: no second resume, no other job of the
	// incident. Stored before it can run (as in Submit), without s.mu:
	// the store may be slow, and save waits for the job's earlier saves.
	// A DELETE meanwhile finds it queued and not in the queue, as a job
	// being started: runJob cancels it.
	j.update(func(r *Job) { r.State, r.Resumes, r.Error, r.Ended, r.RetryAt = StateQueued, r.Resumes+1, "", nil, nil })
	s.mu.Unlock()
	s.save(j)
	rec, _ := j.snapshot()
	s.mu.Lock()
	s.queue = append(s.queue, j)
	s.dispatchLocked()
	s.mu.Unlock()
	return rec, nil
}

// ResumeInterrupted resumes every interrupted job (--resume).
func (s *Server) ResumeInterrupted() []string {
	var ids []string
	for _, rec := range s.Jobs() {
		if rec.State == StateInterrupted {
			if _, err := s.Resume(rec.ID); err == nil {
				ids = append(ids, rec.ID)
			}
		}
	}
	slices.Sort(ids)
	return ids
}

// Shutdown stops the server's jobs: no job starts any more, event streams
// end, running collections stop at their next batch boundary (every
// command sent is waited for and stored), and their jobs are stored as
// interrupted. When ctx ends first, the runs are cancelled (their
// in-flight commands too; what was collected is kept) and Shutdown waits
// for them to store what they have.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	s.stopOnce.Do(func() {
		close(s.stopJobs)
		close(s.streamsDone)
	})
	done := make(chan struct{})
	go func() { s.wg.Wait(); close(done) }()
	select {
	case <-done:
		s.cancelAll()
		return nil
	case <-ctx.Done():
		s.cancelAll()
		<-done
		return fmt.Errorf("jobs did not reach a batch boundary in time and were cancelled: %w", ctx.Err())
	}
}

// QueueBaseline is the inventory watch's handler: it queues a baseline
// job of an entry whose key has no baseline yet (a new group), and an
// analyze job of one whose key has (a new instance of a known group): the
// newcomer, and the group with it, are checked against the baseline, never
// made the baseline. Whoever can put an instance into a group (attach one,
// change its launch template, plant something right after launch) must
// not thereby set what the group is compared with; an operator re-takes a
// baseline (POST /v1/jobs, kind baseline) after a deploy.
func (s *Server) QueueBaseline(ctx context.Context, e inventory.Entry) error {
	runs, err := s.d.Runs(ctx, e.Key)
	if err != nil {
		return err
	}
	req := JobRequest{Kind: "baseline", Key: e.Key, Instance: e.Instance}
	if slices.ContainsFunc(runs, func(r diffy.Run) bool { return r.Kind == persist.KindBaseline }) {
		req = JobRequest{Kind: "analyze", Key: e.Key}
	}
	_, err = s.submit(req, OriginWatch)
	return err
}

// WatchRound does one round of the inventory watch: the watch's failed
// jobs whose retry is due are resumed (retryWatched), and a job is queued
// for each inventory entry not seen before (diffy.Diffy.InventoryRound;
// see QueueBaseline for which).
func (s *Server) WatchRound(ctx context.Context) ([]inventory.Entry, error) {
	s.watch.Lock()
	defer s.watch.Unlock()
	s.retryWatched()
	return s.d.InventoryRound(ctx, s.QueueBaseline)
}

// Watch runs WatchRound every interval until ctx ends, logging what each
// round queued and its errors.
func (s *Server) Watch(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		rctx, cancel := context.WithTimeout(ctx, interval)
		es, err := s.WatchRound(rctx)
		cancel()
		for _, e := range es {
			s.log.Info("inventory: new entry, baseline queued", "key", e.Key, "instance", e.Instance)
		}
		if err != nil && ctx.Err() == nil {
			s.log.Warn("inventory round", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// badRequest marks an error of the client's request.
type badRequest struct{ err error }

func (e *badRequest) Error() string { return e.err.Error() }
func (e *badRequest) Unwrap() error { return e.err }

// httpStatus is the status of an error of the Server's methods.
func httpStatus(err error) int {
	var br *badRequest
	switch {
	case errors.As(err, &br):
		return http.StatusBadRequest
	case errors.Is(err, errNoSuchJobType):
		return http.StatusNotFound
	case errors.Is(err, errNotLive), errors.Is(err, errNotResumable), errors.Is(err, errIncidentBusy):
		return http.StatusConflict
	case errors.Is(err, errClosed), errors.Is(err, errQueueFull):
		return http.StatusServiceUnavailable
	case errors.Is(err, diffy.ErrNotFound):
		return http.StatusNotFound
	case errors.Is(err, diffy.ErrInvalidInput), errors.Is(err, diffy.ErrInvalidKey):
		return http.StatusBadRequest
	}
	return http.StatusInternalServerError
}
