package awsconfig

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go/logging"
	"github.com/aws/smithy-go/middleware"
)

// Defaults of Options and Retryer.
const (
	// DefaultMaxAttempts is how many times one API call is tried.
	DefaultMaxAttempts = 12
	// DefaultMaxBackoff caps the wait between two attempts.
	DefaultMaxBackoff = 20 * time.Second
	// DefaultAttemptTimeout bounds one HTTP attempt, response body
	// included.
	DefaultAttemptTimeout = 2 * time.Minute
	// DefaultSessionName is the STS session name of an assumed role; it
	// shows in the target account's CloudTrail.
	DefaultSessionName = "diffy"
)

// Options says how to load the configuration. The zero value loads the
// SDK's defaults with Diffy's retry policy.
type Options struct {
	// Region overrides the profile's or the environment's region.
	Region string
	// Profile names a profile of the shared config files; empty means the
	// SDK's default (AWS_PROFILE, else "default").
	Profile string
	// RoleARN, when set, is assumed through STS with the loaded
	// credentials; every client then acts as that role.
	RoleARN string
	// SessionName is the assumed role's session name; default
	// DefaultSessionName.
	SessionName string
	// ExternalID is passed to AssumeRole when the role's trust policy
	// requires one.
	ExternalID string
	// Endpoint, when set, is the base endpoint of every client made from
	// the configuration (a VPC endpoint, or a test's fake).
	Endpoint string
	// Credentials, when set, replaces the default credential chain (tests
	// use static credentials).
	Credentials aws.CredentialsProvider
	// MaxAttempts is how many times a call is tried; default
	// DefaultMaxAttempts.
	MaxAttempts int
	// ConnectTimeout bounds the connection to an endpoint; default
	// DefaultConnectTimeout.
	ConnectTimeout time.Duration
	// FirstByteTimeout bounds the wait for the first byte of an answer
	// (its headers) once the request is sent; default
	// DefaultFirstByteTimeout.
	FirstByteTimeout time.Duration
	// AttemptTimeout bounds one HTTP attempt, answer body included;
	// default DefaultAttemptTimeout.
	AttemptTimeout time.Duration
	// CallTimeout bounds a whole call, its retries and the waits between
	// them included (a caller's earlier deadline is kept); default
	// DefaultCallTimeout.
	CallTimeout time.Duration
	// MaxNoAnswerAttempts is how many attempts of a call may get no
	// answer (no connection, or no first byte in time) before the call
	// gives up; default DefaultMaxNoAnswerAttempts.
	MaxNoAnswerAttempts int
	// Logger receives what the SDK logs (its warnings, such as a
	// response without a checksum to validate or IMDS falling back to
	// IMDSv1, and nothing per request: no client log mode is set), at
	// debug level; nil discards it. The SDK's own default writes it to
	// stderr.
	Logger *slog.Logger
}

// deadlines returns o's deadlines, defaults filled.
func (o Options) deadlines() deadlines {
	d := deadlines{connect: o.ConnectTimeout, firstByte: o.FirstByteTimeout, attempt: o.AttemptTimeout,
		call: o.CallTimeout, maxNoAnswer: o.MaxNoAnswerAttempts}
	for _, f := range []struct {
		v   *time.Duration
		def time.Duration
	}{{&d.connect, DefaultConnectTimeout}, {&d.firstByte, DefaultFirstByteTimeout}, {&d.attempt, DefaultAttemptTimeout}, {&d.call, DefaultCallTimeout}} {
		if *f.v <= 0 {
			*f.v = f.def
		}
	}
	if d.maxNoAnswer <= 0 {
		d.maxNoAnswer = DefaultMaxNoAnswerAttempts
	}
	return d
}

// Load returns the AWS configuration described by o: the default credential
// chain (or o.Credentials), o.Region and o.Profile, the role o.RoleARN
// assumed when set, the retry policy of Retryer, and the deadlines of o
// on every call of every client made from it (see the package doc).
func Load(ctx context.Context, o Options) (aws.Config, error) {
	d := o.deadlines()
	opts := []func(*config.LoadOptions) error{
		config.WithLogger(SDKLogger(o.Logger)),
		config.WithClientLogMode(0),
		config.WithRetryer(Retryer(o.MaxAttempts)),
		config.WithHTTPClient(awshttp.NewBuildableClient().WithTimeout(d.attempt).
			WithDialerOptions(func(nd *net.Dialer) { nd.Timeout = d.connect }).
			WithTransportOptions(func(tr *http.Transport) { tr.ResponseHeaderTimeout = d.firstByte })),
		config.WithAPIOptions([]func(*middleware.Stack) error{deadlineMiddleware(d)}),
	}
	if o.Region != "" {
		opts = append(opts, config.WithRegion(o.Region))
	}
	if o.Profile != "" {
		opts = append(opts, config.WithSharedConfigProfile(o.Profile))
	}
	if o.Endpoint != "" {
		opts = append(opts, config.WithBaseEndpoint(o.Endpoint))
	}
	if o.Credentials != nil {
		opts = append(opts, config.WithCredentialsProvider(o.Credentials))
	}
	cfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return aws.Config{}, fmt.Errorf("loading the AWS configuration (profile %q, region %q): %w", o.Profile, o.Region, err)
	}
	if o.RoleARN != "" {
		name := o.SessionName
		if name == "" {
			name = DefaultSessionName
		}
		prov := stscreds.NewAssumeRoleProvider(sts.NewFromConfig(cfg), o.RoleARN, func(ao *stscreds.AssumeRoleOptions) {
			ao.RoleSessionName = name
			if o.ExternalID != "" {
				ao.ExternalID = aws.String(o.ExternalID)
			}
		})
		cfg.Credentials = aws.NewCredentialsCache(prov)
	}
	return cfg, nil
}

// SDKLogger returns the SDK's logging.Logger that writes to l at debug
// level, with the SDK's classification (WARN, DEBUG) as the attribute
// "sdk"; nil l discards.
func SDKLogger(l *slog.Logger) logging.Logger {
	if l == nil {
		return logging.Nop{}
	}
	return sdkLogger{l}
}

type sdkLogger struct{ l *slog.Logger }

func (s sdkLogger) Logf(c logging.Classification, format string, v ...any) {
	s.l.Debug("aws sdk: "+fmt.Sprintf(format, v...), "sdk", string(c))
}

// Retryer returns the retryer factory Diffy's AWS clients use: the SDK's
// adaptive mode over its standard retryer, with maxAttempts attempts
// (DefaultMaxAttempts when <= 0), backoff capped at DefaultMaxBackoff, the
// standard retryer's retry quota turned off (ratelimit.None), and one
// slow-down per congestion event (see below).
//
// The quota is a circuit breaker for one client talking to one failing
// service: after a burst of failures it stops retrying at all. During an
// incident a collection of thousands of instances meets throttling storms
// by design (it runs at the API's limits); giving up there would turn
// throttles into lost results. The adaptive mode's token bucket already
// slows the client down when it is throttled, which is what the quota is
// meant to protect.
//
// One slow-down per congestion event: the adaptive mode cuts its sending
// rate to 70% at every throttled answer (CUBIC's multiplicative decrease).
// A client with many calls in flight that meets the limit gets several
// throttled answers at once, all for calls sent before it slowed down,
// and the cuts compound: four answers cut the rate to 24%, and CUBIC then
// takes seconds to climb back. As TCP does with the losses of one window,
// the retryer counts a throttled answer only when its attempt started
// after the last counted throttle was answered; the others are still
// retried (with the standard retryer's backoff), they only do not slow
// the client down again. On a 10,000-instance SSM collection at 100
// requests/s per operation this took the run from 1.26x–1.39x of the floor
// to 1.01x–1.07x (bench/README.md).
//
// A call made with Load's configuration also stops retrying once
// MaxNoAnswerAttempts of its attempts got no answer (see Options).
//
// Each call of the returned function makes a new retryer, so each client
// (and with it each adaptive token bucket) has its own.
func Retryer(maxAttempts int) func() aws.Retryer {
	if maxAttempts <= 0 {
		maxAttempts = DefaultMaxAttempts
	}
	return func() aws.Retryer {
		return newCongestionRetryer(func(o *retry.AdaptiveModeOptions) {
			o.StandardOptions = append(o.StandardOptions, func(so *retry.StandardOptions) {
				so.MaxAttempts = maxAttempts
				so.MaxBackoff = DefaultMaxBackoff
				so.RateLimiter = ratelimit.None
			})
		})
	}
}

// congestionRetryer is the SDK's adaptive mode, told of at most one
// throttle per congestion event: a throttled attempt that started before
// the last counted throttle was answered is passed to the adaptive mode
// as a sameEvent error, which its first throttle check calls "not a
// throttle".
type congestionRetryer struct {
	*retry.AdaptiveMode
	isThrottle retry.IsErrorThrottles

	mu      sync.Mutex
	started uint64 // attempts started
	cut     uint64 // started, when the last counted throttle was answered
	counted int    // counted throttles (for tests)
}

func newCongestionRetryer(opts ...func(*retry.AdaptiveModeOptions)) *congestionRetryer {
	c := &congestionRetryer{}
	opts = append(opts, func(o *retry.AdaptiveModeOptions) {
		c.isThrottle = append(retry.IsErrorThrottles(nil), o.Throttles...)
		o.Throttles = append([]retry.IsErrorThrottle{sameEventCheck{}}, o.Throttles...)
	})
	c.AdaptiveMode = retry.NewAdaptiveMode(opts...)
	return c
}

// GetAttemptToken waits for the adaptive mode's token and numbers the
// attempt; its release function tells the adaptive mode of a throttle only
// when it starts a new congestion event, and the call (when made with
// Load's configuration) whether the attempt got an answer.
func (c *congestionRetryer) GetAttemptToken(ctx context.Context) (func(error) error, error) {
	release, err := c.AdaptiveMode.GetAttemptToken(ctx)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	c.started++
	mine := c.started
	c.mu.Unlock()
	st := callStateOf(ctx)
	if st != nil {
		st.attempts.Add(1)
	}
	return func(opErr error) error {
		if opErr != nil && st != nil {
			st.attempted(ctx, opErr)
		}
		if opErr != nil && c.isThrottle.IsErrorThrottle(opErr) == aws.TrueTernary && !c.newEvent(mine) {
			opErr = sameEvent{opErr}
		}
		return release(opErr)
	}, nil
}

// GetRetryToken refuses a retry to a call whose attempts got no answer
// MaxNoAnswerAttempts times; other retries are the adaptive mode's.
func (c *congestionRetryer) GetRetryToken(ctx context.Context, opErr error) (func(error) error, error) {
	if st := callStateOf(ctx); st != nil && st.gaveUp() {
		return nil, fmt.Errorf("%d attempts got no answer (MaxNoAnswerAttempts)", st.d.maxNoAnswer)
	}
	return c.AdaptiveMode.GetRetryToken(ctx, opErr)
}

// newEvent reports whether a throttled answer to the attempt numbered n
// starts a congestion event, and if so records it.
func (c *congestionRetryer) newEvent(n uint64) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if n <= c.cut {
		return false
	}
	c.cut = c.started
	c.counted++
	return true
}

// sameEvent wraps a throttle of a congestion event already counted.
type sameEvent struct{ error }

func (e sameEvent) Unwrap() error { return e.error }

// sameEventCheck is the adaptive mode's first throttle check: a sameEvent
// error is not a throttle, and anything else is left to the SDK's checks.
type sameEventCheck struct{}

func (sameEventCheck) IsErrorThrottle(err error) aws.Ternary {
	if _, ok := err.(sameEvent); ok {
		return aws.FalseTernary
	}
	return aws.UnknownTernary
}
