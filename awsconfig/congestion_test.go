package awsconfig

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/smithy-go"
)

// seen records the errors its throttle check is asked about: once by the
// congestionRetryer (which classifies every failed attempt) and once more
// by the adaptive mode for the errors the sameEvent check left to it.
type seen struct {
	mu   sync.Mutex
	errs []error
}

func (s *seen) IsErrorThrottle(err error) aws.Ternary {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.errs = append(s.errs, err)
	return aws.UnknownTernary
}

// throttles returns how many throttles the adaptive mode was told of: the
// throttle errors asked about twice.
func (s *seen) throttles() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	asked := map[error]int{}
	n := 0
	for _, err := range s.errs {
		if asked[err]++; asked[err] == 2 && retry.IsErrorThrottles(retry.DefaultThrottles).IsErrorThrottle(err) == aws.TrueTernary {
			n++
		}
	}
	return n
}

// throttle returns a new throttle error (errors are told apart by
// identity).
func throttle() error {
	return &smithy.GenericAPIError{Code: "ThrottlingException", Message: "Rate exceeded"}
}

// TestOneSlowDownPerCongestionEvent: throttled answers to attempts that
// were all in flight together reach the adaptive mode as one throttle; a
// throttle of an attempt started after that is a new event; other errors
// pass through untouched.
func TestOneSlowDownPerCongestionEvent(t *testing.T) {
	rec := &seen{}
	r := newCongestionRetryer(func(o *retry.AdaptiveModeOptions) {
		o.Throttles = append([]retry.IsErrorThrottle{rec}, o.Throttles...)
	})
	ctx := context.Background()
	take := func(n int) []func(error) error {
		var rel []func(error) error
		for range n {
			f, err := r.GetAttemptToken(ctx)
			if err != nil {
				t.Fatal(err)
			}
			rel = append(rel, f)
		}
		return rel
	}

	// Eight attempts in flight, all throttled: one event.
	for _, f := range take(8) {
		if err := f(throttle()); err != nil {
			t.Fatal(err)
		}
	}
	if r.counted != 1 || rec.throttles() != 1 {
		t.Fatalf("8 throttles of one window: counted %d, adaptive mode told of %d; want 1 and 1", r.counted, rec.throttles())
	}

	// Started after that event was answered: a new event. Of two attempts
	// started together, only the first throttle counts.
	second := take(2)
	second[0](throttle())
	second[1](throttle())
	if r.counted != 2 || rec.throttles() != 2 {
		t.Fatalf("after a new window: counted %d, told %d; want 2 and 2", r.counted, rec.throttles())
	}

	// Successes and other errors are passed on as they are.
	other := errors.New("connection reset")
	for i, f := range take(2) {
		var err error
		if i == 1 {
			err = other
		}
		f(err)
	}
	last := rec.errs[len(rec.errs)-1]
	if last != other {
		t.Errorf("a non-throttle error reached the adaptive mode as %v, want it unchanged", last)
	}
	if r.counted != 2 {
		t.Errorf("counted %d after a success and a non-throttle error, want still 2", r.counted)
	}

	// A throttle of an earlier event is still retryable: the standard
	// retryer decides on the original error.
	if !r.IsErrorRetryable(throttle()) {
		t.Error("a throttle is not retryable")
	}
}

// TestRetryerIsCongestionAware: the factory Load installs is this retryer,
// with the attempts asked for.
func TestRetryerIsCongestionAware(t *testing.T) {
	r := Retryer(5)()
	c, ok := r.(*congestionRetryer)
	if !ok {
		t.Fatalf("Retryer makes %T", r)
	}
	if c.MaxAttempts() != 5 {
		t.Errorf("MaxAttempts %d, want 5", c.MaxAttempts())
	}
	if _, ok := r.(aws.RetryerV2); !ok {
		t.Error("not an aws.RetryerV2: the SDK would not call its GetAttemptToken")
	}
}
