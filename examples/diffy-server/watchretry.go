package main

import (
	"slices"
	"time"
)

// OriginWatch is the Origin of the jobs the inventory watch queues.
const OriginWatch = "watch"

// A baseline the watch queued that fails is resumed by the watch after
// watchRetryFirst, then after twice as long each time, at most
// watchRetryMax, watchRetries times; then it stays failed (listed, its
// error saying the watch gave up) for a person to look at, and the watch
// does not queue its entry again (it is seen). The causes that pass are
// those of a fresh instance (its SSM agent not yet registered: a minute
// or two after launch), throttling, and a store or network hiccup: the
// first retries come within minutes, and 8 span about three hours (1, 2,
// 4, 8, 16, 32, 60 and 60 minutes). A retry is made at the first watch
// round at or after its time, so it waits at least one --watch-interval.
const (
	watchRetryFirst = time.Minute
	watchRetryMax   = time.Hour
	watchRetries    = 8
)

// watchBackoff returns how long after its failure a watch job that was
// resumed resumes times is retried, and false when it has had its
// watchRetries.
func watchBackoff(resumes int) (time.Duration, bool) {
	if resumes >= watchRetries {
		return 0, false
	}
	return min(watchRetryFirst<<resumes, watchRetryMax), true
}

// retryWatched resumes the watch's failed jobs whose retry is due. A job
// that cannot be resumed now (the queue is full, its incident is taken)
// keeps its RetryAt and is tried at the next round.
func (s *Server) retryWatched() {
	now := s.cfg.Now()
	var due []string
	s.mu.Lock()
	for id, j := range s.jobs {
		j.mu.Lock()
		if j.rec.RetryAt != nil && !j.rec.RetryAt.After(now) && j.rec.State == StateFailed {
			due = append(due, id)
		}
		j.mu.Unlock()
	}
	s.mu.Unlock()
	slices.Sort(due)
	for _, id := range due {
		rec, err := s.Resume(id)
		if err != nil {
			s.log.Warn("inventory watch: cannot retry a failed baseline now", "job", id, "err", err)
			continue
		}
		s.log.Info("inventory watch: failed baseline retried", "job", id, "key", rec.Request.Key, "retry", rec.Resumes)
	}
}
