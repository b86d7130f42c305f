package awsconfig

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/aws/smithy-go/middleware"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// Deadlines of every AWS call made with a configuration from Load.
const (
	// DefaultConnectTimeout bounds the TCP connection to an endpoint.
	DefaultConnectTimeout = 10 * time.Second
	// DefaultFirstByteTimeout bounds the wait for an answer's first byte
	// (its headers) once the request is sent. AWS APIs answer in well
	// under a second; a DescribeInstances page of 1,000 instances in a
	// few.
	DefaultFirstByteTimeout = 20 * time.Second
	// DefaultCallTimeout bounds a whole call, every attempt and every
	// wait between them included.
	DefaultCallTimeout = 5 * time.Minute
	// DefaultMaxNoAnswerAttempts is how many attempts of one call may get
	// no answer at all (no connection, or no first byte in time) before
	// the call gives up: an endpoint that does not answer three times in a
	// row is down, and waiting for the other attempts that throttling
	// needs (DefaultMaxAttempts) would only delay the error.
	DefaultMaxNoAnswerAttempts = 3
)

// deadlines are the resolved timeouts of a configuration, for its
// middleware and its errors.
type deadlines struct {
	connect, firstByte, attempt, call time.Duration
	maxNoAnswer                       int
}

// callState is what the call's middleware and the retryer share about
// one call, through its context: its attempts, those that got no answer,
// and the last attempt's when it got none.
type callState struct {
	d                   deadlines
	attempts, noAnswers atomic.Int32
	last                atomic.Pointer[NoAnswerError]
	endpoint            atomic.Pointer[string] // of the last attempt
}

// attempted records the end of an attempt, made under ctx, that failed
// with opErr. An attempt ended by ctx (the caller's deadline, or
// CallTimeout) is not the endpoint's silence.
func (st *callState) attempted(ctx context.Context, opErr error) {
	endpoint, what := st.d.noAnswer(opErr)
	if what == "" || ctx.Err() != nil {
		st.last.Store(nil)
		return
	}
	st.noAnswers.Add(1)
	st.last.Store(&NoAnswerError{Endpoint: endpoint, What: what, Attempts: int(st.attempts.Load()), Err: opErr})
}

// gaveUp reports whether the call must stop retrying: its last attempts
// got no answer DefaultMaxNoAnswerAttempts (or the configured number of)
// times.
func (st *callState) gaveUp() bool {
	return st.d.maxNoAnswer > 0 && int(st.noAnswers.Load()) >= st.d.maxNoAnswer && st.last.Load() != nil
}

type callStateKey struct{}

func callStateOf(ctx context.Context) *callState {
	st, _ := ctx.Value(callStateKey{}).(*callState)
	return st
}

// NoAnswerError is the error of a call that got no answer: its endpoint
// could not be reached, or did not answer in time. It says which endpoint,
// what timed out and after how many attempts.
type NoAnswerError struct {
	// Endpoint is the URL the call was sent to.
	Endpoint string
	// What says what failed: "connection refused", "no connection within
	// 10s (ConnectTimeout)", "no first byte within 20s
	// (FirstByteTimeout)", "the call did not finish within 5m0s
	// (CallTimeout)".
	What string
	// Attempts is how many attempts the call made.
	Attempts int
	// Err is the last attempt's error.
	Err error
}

func (e *NoAnswerError) Error() string {
	at := "after 1 attempt"
	if e.Attempts != 1 {
		at = fmt.Sprintf("after %d attempts", e.Attempts)
	}
	if e.Endpoint == "" {
		return fmt.Sprintf("no answer %s: %s", at, e.What)
	}
	return fmt.Sprintf("no answer from %s %s: %s", e.Endpoint, at, e.What)
}

func (e *NoAnswerError) Unwrap() error { return e.Err }

// noAnswer returns, for an attempt's error, what got no answer, or ""
// when the endpoint answered (an error answer, or a connection reset
// under a request, which the SDK retries as usual).
func (d deadlines) noAnswer(err error) (endpoint, what string) {
	var ue *url.Error
	if errors.As(err, &ue) {
		endpoint = ue.URL
		if u, perr := url.Parse(ue.URL); perr == nil {
			endpoint = u.Scheme + "://" + u.Host
		}
	}
	var op *net.OpError
	var dns *net.DNSError
	var ne net.Error
	switch {
	case errors.As(err, &dns):
		return endpoint, "its name does not resolve (" + dns.Err + ")"
	case errors.As(err, &op) && op.Op == "dial":
		switch {
		case errors.Is(err, syscall.ECONNREFUSED):
			return endpoint, "connection refused"
		case op.Timeout():
			return endpoint, fmt.Sprintf("no connection within %v (ConnectTimeout)", d.connect)
		}
		return endpoint, "no connection (" + op.Err.Error() + ")"
	case errors.As(err, &ne) && ne.Timeout():
		msg := err.Error()
		switch {
		case strings.Contains(msg, "Client.Timeout"):
			return endpoint, fmt.Sprintf("the attempt did not finish within %v (AttemptTimeout)", d.attempt)
		case strings.Contains(msg, "awaiting response headers"):
			return endpoint, fmt.Sprintf("no first byte within %v (FirstByteTimeout)", d.firstByte)
		case strings.Contains(msg, "TLS handshake"):
			return endpoint, "no TLS handshake in time"
		}
		return endpoint, "timed out (" + msg + ")"
	}
	return "", ""
}

// deadlineMiddleware is the Initialize step of every call: it bounds the
// call by d.call, gives the retryer its callState, and turns a call that
// got no answer into a NoAnswerError. Its Finalize step, the last before
// the request is sent, records where each attempt goes.
func deadlineMiddleware(d deadlines) func(*middleware.Stack) error {
	return func(s *middleware.Stack) error {
		err := s.Finalize.Add(middleware.FinalizeMiddlewareFunc("DiffyEndpoint",
			func(ctx context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler) (middleware.FinalizeOutput, middleware.Metadata, error) {
				if req, ok := in.Request.(*smithyhttp.Request); ok && req.URL != nil {
					if st := callStateOf(ctx); st != nil {
						e := req.URL.Scheme + "://" + req.URL.Host
						st.endpoint.Store(&e)
					}
				}
				return next.HandleFinalize(ctx, in)
			}), middleware.After)
		if err != nil {
			return err
		}
		return s.Initialize.Add(middleware.InitializeMiddlewareFunc("DiffyDeadlines",
			func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
				st := &callState{d: d}
				ctx = context.WithValue(ctx, callStateKey{}, st)
				var cancel context.CancelFunc
				callDeadline := false
				if dl, ok := ctx.Deadline(); d.call > 0 && (!ok || time.Until(dl) > d.call) {
					ctx, cancel = context.WithTimeout(ctx, d.call)
					defer cancel()
					callDeadline = true
				}
				out, md, err := next.HandleInitialize(ctx, in)
				if err == nil {
					return out, md, nil
				}
				if callDeadline && errors.Is(ctx.Err(), context.DeadlineExceeded) {
					endpoint := ""
					if e := st.endpoint.Load(); e != nil {
						endpoint = *e
					}
					return out, md, &NoAnswerError{Endpoint: endpoint, Attempts: int(st.attempts.Load()),
						What: fmt.Sprintf("no final answer within %v (CallTimeout)", d.call), Err: err}
				}
				if na := st.last.Load(); na != nil && errors.Is(err, na.Err) {
					return out, md, na
				}
				return out, md, err
			}), middleware.Before)
	}
}
