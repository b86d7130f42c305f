package main

import (
	"cmp"
	"context"
	"slices"
	"time"

	"github.com/diffy-dfir/diffy/persist"
)

// JobRetention bounds the finished job records a Server keeps (succeeded,
// failed, cancelled or interrupted; a queued or running job, or one the
// watch will retry, is always kept): the newest Count by end time, and none that ended more than
// MaxAge ago. A zero field sets no limit of its kind. A pruned job's
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
		at time.Time
	}
	now := s.cfg.Now()
	s.mu.Lock()
	var done []ended
	for id, j := range s.jobs {
		j.mu.Lock()
		rec := j.rec
		j.mu.Unlock()
		if !final(rec.State) || rec.RetryAt != nil {
			continue
		}
		at := rec.Created
		if rec.Ended != nil {
			at = *rec.Ended
		}
		done = append(done, ended{id, at})
	}
	// Newest first; ties by ID (newest first too: IDs sort by time).
	slices.SortFunc(done, func(a, b ended) int { return cmp.Or(b.at.Compare(a.at), cmp.Compare(b.id, a.id)) })
	var drop []string
	for i, e := range done {
		if (keep.Count > 0 && i >= keep.Count) || (keep.MaxAge > 0 && now.Sub(e.at) > keep.MaxAge) {
			drop = append(drop, e.id)
			delete(s.jobs, e.id)
		}
	}
	s.mu.Unlock()
	del, ok := s.store.(persist.Deleter)
	if !ok {
		return
	}
	for _, id := range drop {
		ctx, cancel := context.WithTimeout(context.Background(), saveTimeout)
		err := del.Delete(ctx, KindJob, id)
		cancel()
		if err != nil {
			s.log.Warn("cannot delete a pruned job record", "job", id, "err", err)
		}
	}
	if len(drop) > 0 {
		s.log.Info("job records pruned", "jobs", len(drop), "kept", keep.Count, "max_age", keep.MaxAge)
	}
}
