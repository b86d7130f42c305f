package main

import (
	"cmp"
	"context"
	"slices"
	"time"

	"github.com/diffy-dfir/diffy/persist"
)

// JobRetention bounds the finished job records a Server keeps (succeeded,
// failed or cancelled): the newest Count by end time, and none that ended
// more than MaxAge ago. A queued or running job, one the watch will retry,
// and an interrupted one are always kept: the server stopped an
// interrupted job, no client ended it, and `--resume` or POST
// /v1/jobs/{id}/resume goes on with it however old it is (its parts stay
// in the store until its collection ends); DELETE gives it up (cancelled,
// then retained as the others). A stop interrupts at most --jobs jobs.
// A cancelled or failed job can be resumed too, but a client ended it or
// was told it failed: its record goes by retention, and its parts stay
// (POST /v1/jobs with its "incident" resumes them, as the CLI's
// --incident does). A zero field sets no limit of its kind. A pruned job's
// record goes from memory and from the store; what the job stored (its
// collection, report, or the parts of an interrupted collection, which a
// job of the same incident still resumes) is kept by the Diffy's own
// retention.
type JobRetention struct {
	Count  int
	MaxAge time.Duration
}

// DefaultJobRetention is the JobRetention when Config.JobRetention is
// nil: the newest 1,000 finished jobs of the last 30 days. A record is
// about 1 KiB; 1,000 is months of a watch's baselines and a day of a
// busy API's jobs, and GET /v1/jobs answers them all in one page.
var DefaultJobRetention = JobRetention{Count: 1000, MaxAge: 30 * 24 * time.Hour}

// prune drops the finished job records beyond the retention, from memory
// and then from the store (a store without persist.Deleter keeps them:
// they are dropped again from memory at each start).
func (s *Server) prune() {
	keep := s.cfg.JobRetention
	if keep == nil || (keep.Count <= 0 && keep.MaxAge <= 0) {
		return
	}
	type ended struct {
		id string
		j  *job
		at time.Time
	}
	now := s.cfg.Now()
	s.mu.Lock()
	var done []ended
	for id, j := range s.jobs {
		j.mu.Lock()
		rec := j.rec
		j.mu.Unlock()
		if !final(rec.State) || rec.RetryAt != nil || rec.State == StateInterrupted {
			continue
		}
		at := rec.Created
		if rec.Ended != nil {
			at = *rec.Ended
		}
		done = append(done, ended{id, j, at})
	}
	// Newest first; ties by ID (newest first too: IDs sort by time).
	slices.SortFunc(done, func(a, b ended) int { return cmp.Or(b.at.Compare(a.at), cmp.Compare(b.id, a.id)) })
	var drop []ended
	for i, e := range done {
		if (keep.Count > 0 && i >= keep.Count) || (keep.MaxAge > 0 && now.Sub(e.at) > keep.MaxAge) {
			drop = append(drop, e)
			delete(s.jobs, e.id)
		}
	}
	s.mu.Unlock()
	del, ok := s.store.(persist.Deleter)
	if !ok {
		return
	}
	for _, e := range drop {
		// In turn with the job's saves (see save), and none after.
		e.j.saving <- struct{}{}
		e.j.mu.Lock()
		e.j.pruned = true
		e.j.mu.Unlock()
		ctx, cancel := context.WithTimeout(context.Background(), saveTimeout)
		err := del.Delete(ctx, KindJob, e.id)
		cancel()
		<-e.j.saving
		if err != nil {
			s.log.Warn("cannot delete a pruned job record", "job", e.id, "err", err)
		}
	}
	if len(drop) > 0 {
		s.log.Info("job records pruned", "jobs", len(drop), "kept", keep.Count, "max_age", keep.MaxAge)
	}
}
