package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/diffy-dfir/diffy"
	"github.com/diffy-dfir/diffy/analyze"
	"github.com/diffy-dfir/diffy/collect"
	"github.com/diffy-dfir/diffy/examples/internal/cli"
	"github.com/diffy-dfir/diffy/persist"
)

// KindJob is the kind under which the server keeps its job records in the
// store, one document per job, keyed by job ID.
const KindJob persist.Kind = "server.job"

// The states of a job. queued and running are live; the others are final,
// except that interrupted and cancelled jobs can be resumed.
const (
	StateQueued      = "queued"
	StateRunning     = "running"
	StateSucceeded   = "succeeded"
	StateFailed      = "failed"
	StateCancelled   = "cancelled"   // DELETE: what was collected is kept
	StateInterrupted = "interrupted" // the server stopped (or died) while it ran
)

// The kinds of job, as the CLI's commands.
var jobKinds = []string{"baseline", "analyze", "collect", "diff"}

// JobRequest is the body of POST /v1/jobs: a kind and a key, and options
// as in the CLI.
type JobRequest struct {
	// Kind is baseline, analyze, collect or diff.
	Kind string `json:"kind"`
	// Key is the target key (an Auto Scaling group, a tag, instance IDs,
	// or "local", as the server's --target reads it).
	Key string `json:"key"`
	// Instance is the baseline instance (baseline only; default the
	// target's first).
	Instance string `json:"instance,omitempty"`
	// Analyzer is baseline or cluster (analyze only; default the
	// server's --analyzer).
	Analyzer string `json:"analyzer,omitempty"`
	// Since and Run choose diff's earlier collection (at most one): a
	// time as the CLI reads it (RFC 3339, a date, or an age such as 36h
	// or 7d), or a run ID.
	Since string `json:"since,omitempty"`
	Run   string `json:"run,omitempty"`
	// Incident resumes an interrupted collection of the CLI's (or of
	// another job's) with that incident ID; default a new one.
	Incident string `json:"incident,omitempty"`
}

// Progress is how far a job has got.
type Progress struct {
	// Stage is target, collect or analyze, as diffy.Progress says.
	Stage string `json:"stage,omitempty"`
	// Done and Total count the instances collected of those the target
	// named; Failed those of them with a failed command.
	Done   int `json:"done"`
	Total  int `json:"total"`
	Failed int `json:"failed"`
}

// Job is a job's record, as GET /v1/jobs/{id} returns it and the store
// keeps it.
type Job struct {
	// ID names the job; it is also the run ID under which its
	// collection and report are stored (GET /v1/reports/{key}?run=ID).
	ID      string     `json:"id"`
	Request JobRequest `json:"request"`
	State   string     `json:"state"`
	// Incident is the incident ID of its collection; resuming the job
	// (or running the CLI with --incident) goes on from its parts.
	Incident string   `json:"incident"`
	Progress Progress `json:"progress"`
	// Error is why the job failed, was cancelled or interrupted.
	Error   string     `json:"error,omitempty"`
	Created time.Time  `json:"created"`
	Started *time.Time `json:"started,omitempty"`
	Ended   *time.Time `json:"ended,omitempty"`
	// Resumes counts how often the job was resumed.
	Resumes int `json:"resumes,omitempty"`
	// Origin is "watch" for a job the inventory watch queued: when it
	// fails, the watch resumes it later (see watchBackoff).
	Origin string `json:"origin,omitempty"`
	// RetryAt is when the watch resumes this failed job; nil when no
	// retry is due (not the watch's, succeeded, or given up).
	RetryAt *time.Time `json:"retry_at,omitempty"`
	// Result tells what a finished job produced.
	Result *JobResult `json:"result,omitempty"`
}

// JobResult is what a finished job produced.
type JobResult struct {
	// Instances and Results count what was collected.
	Instances int `json:"instances"`
	Results   int `json:"results"`
	// Hosts and Outliers count the report's hosts (analyze, diff).
	Hosts    int `json:"hosts,omitempty"`
	Outliers int `json:"outliers,omitempty"`
	// Report is the path of the job's report (analyze, diff).
	Report string `json:"report,omitempty"`
}

// final reports whether state is one a job no longer leaves by itself.
func final(state string) bool { return state != StateQueued && state != StateRunning }

// resumable reports whether a job in state can be resumed.
func resumable(state string) bool {
	return state == StateInterrupted || state == StateCancelled || state == StateFailed
}

// job is a job while the server holds it.
type job struct {
	mu  sync.Mutex
	rec Job
	// changed is closed, and replaced, at every change of rec: the event
	// streams wait on it.
	changed chan struct{}
	// cancel ends the run (DELETE); nil when not running.
	cancel context.CancelFunc
	// cancelled marks a DELETE, so the run's end is "cancelled".
	cancelled bool
	// saved is when rec was last stored during the run (progress is
	// stored at most every progressSave).
	saved time.Time
	// saving is held (a value in it) by the one save or delete of the
	// record under way: they go one at a time, in order (see save).
	// storedVer is the change stored last, if stored; pruned marks a
	// record deleted by retention, which is not stored again.
	saving         chan struct{}
	storedVer      uint64
	stored, pruned bool
	// ver counts the changes of rec; enc is rec as GET /v1/jobs/{id}
	// answers it, encoded at change encVer (see encoded).
	ver, encVer uint64
	enc         []byte
}

// newJob returns the job of record rec.
func newJob(rec Job) *job {
	return &job{rec: rec, changed: make(chan struct{}), saving: make(chan struct{}, 1)}
}

// encoded returns the record as GET /v1/jobs/{id} answers it (writeJSON's
// form), encoded once per change: the clients polling a job cost a write
// of the bytes, not an encoding each. The bytes are not changed after.
func (j *job) encoded() []byte {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.enc == nil || j.encVer != j.ver {
		b, err := json.MarshalIndent(j.rec, "", "  ")
		if err != nil {
			// A Job always encodes: its fields are strings, numbers
			// and times of the server's making.
			panic("diffy-server: encoding a job record: " + err.Error())
		}
		j.enc, j.encVer = append(b, '\n'), j.ver
	}
	return j.enc
}

// snapshot returns a copy of the record and the channel closed at its next
// change.
func (j *job) snapshot() (Job, <-chan struct{}) {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.rec, j.changed
}

// update changes the record under the lock and wakes the event streams.
func (j *job) update(f func(*Job)) {
	j.mu.Lock()
	f(&j.rec)
	j.ver++
	close(j.changed)
	j.changed = make(chan struct{})
	j.mu.Unlock()
}

// progressSave is how often a running job's progress is stored: its state
// changes are stored at once, its progress at most this often (a restart
// shows it interrupted whatever progress it had).
const progressSave = 2 * time.Second

// checkRequest validates a job request with the CLI's rules and returns
// the options of its run. Errors are for the client (400).
func (s *Server) checkRequest(req *JobRequest) (opts []diffy.Option, earlier diffy.Earlier, err error) {
	if !slices.Contains(jobKinds, req.Kind) {
		return nil, earlier, fmt.Errorf("kind %q: want baseline, analyze, collect or diff", req.Kind)
	}
	if req.Key == "" {
		return nil, earlier, errors.New("key is missing")
	}
	if err := checkText("key", req.Key, maxKey); err != nil {
		return nil, earlier, err
	}
	if _, err := diffy.StoreKey(req.Key); err != nil {
		return nil, earlier, fmt.Errorf("key: %w", err)
	}
	only := func(field, value string, kinds ...string) error {
		if value != "" && !slices.Contains(kinds, req.Kind) {
			return fmt.Errorf("%s does not apply to a %s job", field, req.Kind)
		}
		return nil
	}
	for _, e := range []error{
		only("instance", req.Instance, "baseline"),
		only("analyzer", req.Analyzer, "analyze"),
		only("since", req.Since, "diff"),
		only("run", req.Run, "diff"),
	} {
		if e != nil {
			return nil, earlier, e
		}
	}
	if req.Instance != "" {
		if err := checkText("instance", req.Instance, 64); err != nil {
			return nil, earlier, err
		}
		opts = append(opts, diffy.WithBaselineInstance(req.Instance))
	}
	if req.Analyzer != "" {
		an, err := cli.NewAnalyzer(req.Analyzer)
		if err != nil {
			return nil, earlier, fmt.Errorf("analyzer %q: want baseline or cluster", req.Analyzer)
		}
		opts = append(opts, diffy.WithAnalyzer(an))
	}
	if req.Since != "" && req.Run != "" {
		return nil, earlier, errors.New("since and run both choose the earlier collection: give one")
	}
	if req.Since != "" {
		t, err := cli.ParseTime("since", req.Since, time.Now())
		if err != nil {
			return nil, earlier, err
		}
		earlier.Since = t
	}
	if req.Run != "" {
		if req.Run != diffy.LatestRun {
			if err := diffy.ValidRunID(req.Run); err != nil {
				return nil, earlier, fmt.Errorf("run: %w", err)
			}
		}
		earlier.Run = req.Run
	}
	if req.Incident != "" {
		if _, err := s.d.With(diffy.WithIncident(req.Incident)); err != nil {
			return nil, earlier, fmt.Errorf("incident: %w", err)
		}
	}
	return opts, earlier, nil
}

// maxKey bounds a job's key: an Auto Scaling group name or a tag is at
// most 255 characters; a list of instance IDs may be longer.
const maxKey = 8 << 10

// checkText refuses an empty value, one longer than max bytes, or one
// with control characters.
func checkText(field, v string, max int) error {
	if len(v) > max {
		return fmt.Errorf("%s is %d bytes long, at most %d", field, len(v), max)
	}
	for _, r := range v {
		if r < 0x20 || r == 0x7f {
			return fmt.Errorf("%s %q contains a control character", field, v)
		}
	}
	return nil
}

// runJob runs j to its end, with at most s.cfg.Jobs runs at a time (the
// caller holds a slot).
func (s *Server) runJob(j *job) {
	rec, _ := j.snapshot()
	opts, earlier, err := s.checkRequest(&rec.Request)
	ctx, cancel := context.WithCancel(s.jobCtx)
	defer cancel()
	now := s.cfg.Now().UTC()
	j.update(func(r *Job) {
		r.State, r.Started, r.Ended, r.Error, r.Result, r.RetryAt = StateRunning, &now, nil, "", nil, nil
		r.Progress = Progress{}
	})
	j.mu.Lock()
	j.cancel = cancel
	if j.cancelled { // DELETE came between the queue and here
		cancel()
	}
	j.mu.Unlock()
	s.save(j)
	var res *JobResult
	if err == nil && s.cfg.JobOptions != nil {
		var more []diffy.Option
		if more, err = s.cfg.JobOptions(ctx); err == nil {
			opts = append(opts, more...)
		}
	}
	if err == nil {
		opts = append(opts,
			diffy.WithIncident(rec.Incident),
			diffy.WithRun(rec.ID),
			diffy.WithStopAfterBatch(s.stopJobs),
			diffy.WithProgress(func(p diffy.Progress) { s.progress(j, p) }),
		)
		var d *diffy.Diffy
		if d, err = s.d.With(opts...); err == nil {
			res, err = s.execute(ctx, d, rec.Request, earlier)
		}
	}
	end := s.cfg.Now().UTC()
	j.mu.Lock()
	j.cancel = nil
	cancelled := j.cancelled
	j.cancelled = false
	j.mu.Unlock()
	j.update(func(r *Job) {
		r.Ended, r.Result = &end, res
		var ie *diffy.IncompleteError
		switch {
		case err == nil:
			r.State = StateSucceeded
		case cancelled:
			r.State, r.Error = StateCancelled, "cancelled: "+err.Error()
		case errors.Is(err, diffy.ErrStopped) || s.jobCtx.Err() != nil:
			r.State, r.Error = StateInterrupted, "the server stopped: "+err.Error()
		default:
			r.State, r.Error = StateFailed, err.Error()
			if r.Origin == OriginWatch {
				if wait, ok := watchBackoff(r.Resumes); ok {
					at := end.Add(wait)
					r.RetryAt = &at
					r.Error += fmt.Sprintf(" (the inventory watch retries it at %s)", at.Format(time.RFC3339))
				} else {
					r.Error += fmt.Sprintf(" (the inventory watch gave up after %d retries)", watchRetries)
				}
			}
		}
		if errors.As(err, &ie) {
			r.Progress.Done, r.Progress.Total = ie.Done, ie.Total
		}
	})
	s.save(j)
	s.prune()
	s.log.Info("job ended", "job", rec.ID, "kind", rec.Request.Kind, "key", rec.Request.Key, "state", func() string { r, _ := j.snapshot(); return r.State }())
}

// execute runs the request's Diffy call.
func (s *Server) execute(ctx context.Context, d *diffy.Diffy, req JobRequest, earlier diffy.Earlier) (*JobResult, error) {
	res := &JobResult{}
	var rep *analyze.Report
	var err error
	switch req.Kind {
	case "baseline":
		var rs []collect.Result
		rs, err = d.Baseline(ctx, req.Key)
		res.Results = len(rs)
		res.Instances = min(1, len(rs))
		return res, err
	case "collect":
		var rs []collect.Result
		rs, err = d.Collect(ctx, req.Key)
		res.Results = len(rs)
		res.Instances = countInstances(rs)
		return res, err
	case "analyze":
		rep, err = d.Analyze(ctx, req.Key)
	case "diff":
		rep, err = d.Diff(ctx, req.Key, earlier)
	}
	if err != nil {
		return nil, err
	}
	res.Hosts = len(rep.Hosts)
	for _, h := range rep.Hosts {
		if h.Outlier {
			res.Outliers++
		}
	}
	res.Instances = len(rep.Hosts)
	res.Report = "/v1/reports/" + pathEscape(req.Key) + "?run=" + d.RunID()
	return res, nil
}

// progress records a run's progress, and the errors of instances that
// failed, and stores the record now and then.
func (s *Server) progress(j *job, p diffy.Progress) {
	j.update(func(r *Job) {
		if p.Stage == "inventory" {
			return
		}
		r.Progress.Stage = p.Stage
		if p.Stage == "collect" {
			r.Progress.Done, r.Progress.Total, r.Progress.Failed = p.Done, p.Total, p.Failed
		}
	})
	j.mu.Lock()
	due := time.Since(j.saved) >= progressSave
	j.mu.Unlock()
	if due {
		s.save(j)
	}
}

// save stores j's record. A failure is logged: the job goes on (the
// record in memory is the truth until the next save).
//
// The saves of a job go one at a time, each storing the record as it is
// when its turn comes (change j.ver): one that began earlier cannot land
// after a later one, so the store never goes back to an older state (the
// end of a run's "cancelled" after the "queued" of a resume that came
// meanwhile, which a restart would have shown cancelled); a save that
// finds that change stored already stores nothing.
func (s *Server) save(j *job) {
	j.saving <- struct{}{}
	defer func() { <-j.saving }()
	j.mu.Lock()
	rec, ver := j.rec, j.ver
	done := j.pruned || (j.stored && j.storedVer == ver)
	j.mu.Unlock()
	if done {
		return
	}
	doc, err := json.Marshal(rec)
	if err == nil {
		ctx, cancel := context.WithTimeout(context.Background(), saveTimeout)
		err = s.store.Put(ctx, KindJob, rec.ID, doc)
		cancel()
	}
	if err != nil {
		s.log.Error("cannot store the job record", "job", rec.ID, "err", err)
		return
	}
	j.mu.Lock()
	j.saved = time.Now()
	j.stored, j.storedVer = true, ver
	j.mu.Unlock()
}

// saveTimeout bounds one store write of a job record.
const saveTimeout = time.Minute

// countInstances counts the distinct instances of rs.
func countInstances(rs []collect.Result) int {
	seen := map[string]bool{}
	for i := range rs {
		seen[rs[i].InstanceID] = true
	}
	return len(seen)
}
