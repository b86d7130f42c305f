package ssmcollect

import (
	"log/slog"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/diffy-dfir/diffy/collect"
)

// Defaults of the options.
const (
	// DefaultBatchSize is how many instances one SendCommand targets
	// (SSM's maximum).
	DefaultBatchSize = 50
	// DefaultBatchConcurrency is how many batches are in flight at once.
	DefaultBatchConcurrency = 16
	// DefaultReadConcurrency is how many output reads (GetCommandInvocation
	// or S3 GetObject) run at once, over all batches.
	DefaultReadConcurrency = 24
	// DefaultMaxConcurrency and DefaultMaxErrors are SSM's rate controls
	// for each command: every instance of a batch at once, and never stop
	// on errors (a failing host is a result, not a reason to skip the
	// others).
	DefaultMaxConcurrency = "100%"
	DefaultMaxErrors      = "100%"
	// DefaultDeliveryTimeout is SSM's TimeoutSeconds: how long a command
	// may wait for an instance to pick it up.
	DefaultDeliveryTimeout = 10 * time.Minute
	// DefaultExecutionTimeout is the executionTimeout parameter of
	// AWS-RunShellScript (whose own default is 3600 s): the whole script's
	// time limit on a host.
	DefaultExecutionTimeout = 10 * time.Minute
	// DefaultPollInterval is the wait between two status polls of a
	// command.
	DefaultPollInterval = 2 * time.Second
	// DefaultGrace is added to the delivery and execution timeouts to
	// decide that SSM will not report a final status any more.
	DefaultGrace = 2 * time.Minute
	// MaxComment is SSM's limit on a command's comment.
	MaxComment = 100
)

// Option configures a Collector; defaults are filled after the options,
// only where still unset.
type Option func(*options)

type options struct {
	incident         string
	bucket, prefix   string
	batchSize        int
	batchConcurrency int
	readConcurrency  int
	maxConcurrency   string
	maxErrors        string
	deliveryTimeout  time.Duration
	executionTimeout time.Duration
	pollInterval     time.Duration
	grace            time.Duration
	limits           collect.Limits
	logger           *slog.Logger
	s3Options        []func(*s3.Options)
}

// WithIncident sets the incident ID, sent as every command's Comment
// (clipped to MaxComment bytes) so that the commands can be found in SSM's
// history and CloudTrail.
func WithIncident(id string) Option { return func(o *options) { o.incident = id } }

// WithOutputBucket makes SSM write each invocation's whole output to
// s3://bucket/prefix/..., from which the Collector reads it (S3 mode).
// Without it, output is read through the SSM API, which returns only the
// first 24,000 characters of stdout (API mode).
func WithOutputBucket(bucket, prefix string) Option {
	return func(o *options) { o.bucket, o.prefix = bucket, prefix }
}

// WithBatchSize sets how many instances one SendCommand targets, 1 to 50
// (default DefaultBatchSize).
func WithBatchSize(n int) Option { return func(o *options) { o.batchSize = n } }

// WithBatchConcurrency sets how many batches are in flight at once
// (default DefaultBatchConcurrency).
func WithBatchConcurrency(n int) Option { return func(o *options) { o.batchConcurrency = n } }

// WithReadConcurrency sets how many output reads run at once (default
// DefaultReadConcurrency).
func WithReadConcurrency(n int) Option { return func(o *options) { o.readConcurrency = n } }

// WithRateControl sets SSM's MaxConcurrency and MaxErrors of each command
// ("10", "50%"; defaults DefaultMaxConcurrency, DefaultMaxErrors). They
// bound the blast radius within a batch; the number of batches in flight
// is WithBatchConcurrency's.
func WithRateControl(maxConcurrency, maxErrors string) Option {
	return func(o *options) { o.maxConcurrency, o.maxErrors = maxConcurrency, maxErrors }
}

// WithTimeouts sets SSM's delivery timeout (TimeoutSeconds, at least 30 s)
// and the script's executionTimeout (defaults DefaultDeliveryTimeout,
// DefaultExecutionTimeout). Zero keeps a default.
func WithTimeouts(delivery, execution time.Duration) Option {
	return func(o *options) { o.deliveryTimeout, o.executionTimeout = delivery, execution }
}

// WithPollInterval sets the wait between two status polls of a command
// (default DefaultPollInterval).
func WithPollInterval(d time.Duration) Option { return func(o *options) { o.pollInterval = d } }

// WithGrace sets how long after the delivery and execution timeouts the
// Collector still waits for SSM to report a final status (default
// DefaultGrace); after it, the instances still pending are TimedOut.
func WithGrace(d time.Duration) Option { return func(o *options) { o.grace = d } }

// WithLimits sets the caps on what one Result may hold (default
// collect.Limits{} with its defaults). In S3 mode, MaxBytes also caps the
// bytes read from one instance's stdout object.
func WithLimits(l collect.Limits) Option { return func(o *options) { o.limits = l } }

// WithLogger sets where the Collector logs its progress and the failures
// it works around (default: nowhere).
func WithLogger(l *slog.Logger) Option { return func(o *options) { o.logger = l } }

// WithS3Options adds options to the S3 client NewFromConfig makes (for
// instance path-style addressing).
func WithS3Options(fns ...func(*s3.Options)) Option {
	return func(o *options) { o.s3Options = append(o.s3Options, fns...) }
}

func (o *options) fill() {
	if o.batchSize <= 0 || o.batchSize > DefaultBatchSize {
		o.batchSize = DefaultBatchSize
	}
	if o.batchConcurrency <= 0 {
		o.batchConcurrency = DefaultBatchConcurrency
	}
	if o.readConcurrency <= 0 {
		o.readConcurrency = DefaultReadConcurrency
	}
	if o.maxConcurrency == "" {
		o.maxConcurrency = DefaultMaxConcurrency
	}
	if o.maxErrors == "" {
		o.maxErrors = DefaultMaxErrors
	}
	if o.deliveryTimeout <= 0 {
		o.deliveryTimeout = DefaultDeliveryTimeout
	}
	if o.deliveryTimeout < 30*time.Second {
		o.deliveryTimeout = 30 * time.Second
	}
	if o.executionTimeout <= 0 {
		o.executionTimeout = DefaultExecutionTimeout
	}
	if o.executionTimeout < time.Second {
		o.executionTimeout = time.Second
	}
	if o.pollInterval <= 0 {
		o.pollInterval = DefaultPollInterval
	}
	if o.grace <= 0 {
		o.grace = DefaultGrace
	}
	o.limits = o.limits.WithDefaults()
	if o.logger == nil {
		o.logger = slog.New(slog.DiscardHandler)
	}
}
