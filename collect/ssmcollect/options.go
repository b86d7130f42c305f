package ssmcollect

import (
	"fmt"
	"log/slog"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/diffy-dfir/diffy/collect"
	"github.com/diffy-dfir/diffy/collect/ssmcollect/ssmframe"
	"github.com/diffy-dfir/diffy/diffyerr"
)

// Defaults of the options.
const (
	// DefaultBatchSize is how many instances one SendCommand targets:
	// MaxBatchSize.
	DefaultBatchSize = MaxBatchSize
	// MaxBatchSize is SSM's limit on the instance IDs of one SendCommand.
	MaxBatchSize = 50
	// DefaultBatchConcurrency is how many batches are in flight at once.
	DefaultBatchConcurrency = 16
	// DefaultReadConcurrency is how many output reads (GetCommandInvocation
	// or S3 GetObject) run at once, over all batches.
	DefaultReadConcurrency = 24
	// DefaultReadBudget bounds the bytes of output in flight at once, over
	// all reads: what was read and what it decompresses to, until its
	// Results are built (see the package doc, Memory).
	DefaultReadBudget = 256 << 20
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
	// MinDeliveryTimeout is the shortest TimeoutSeconds SSM accepts.
	MinDeliveryTimeout = 30 * time.Second
	// MinExecutionTimeout is the shortest executionTimeout: the parameter
	// is a whole number of seconds.
	MinExecutionTimeout = time.Second
	// DefaultPollInterval is the wait between two status polls of a
	// command.
	DefaultPollInterval = 2 * time.Second
	// DefaultGrace is added to the delivery and execution timeouts to
	// decide that SSM will not report a final status any more.
	DefaultGrace = 2 * time.Minute
	// MaxComment is SSM's limit on a command's comment.
	MaxComment = 100
)

// commandsLimit is the time the script's commands may take in all
// (ssmframe.WithTimeLimit) within an executionTimeout of exec, so that the
// script ends, and prints what it collected, before the agent kills it: exec
// less ssmframe.KillAfter (for a command stopped at its limit to end) and
// outputReserve(exec). Below a second it is 0: no limit.
func commandsLimit(exec time.Duration) time.Duration {
	l := exec - ssmframe.KillAfter - outputReserve(exec)
	if l < time.Second {
		return 0
	}
	return l
}

// outputReserve is the time kept, after the commands, for the script to
// encode, digest and print its output (gzip, base64 and sha256sum of at
// most a few megabytes: well under a second on an idle host) and for the
// agent to take it: a twentieth of the execution timeout, at least 5 s, so
// that a busy host has 30 s of the default 10 minutes.
func outputReserve(exec time.Duration) time.Duration { return max(exec/20, 5*time.Second) }

// Option configures a Collector. Options are applied in order; the
// defaults are filled in afterwards, only for settings still unset. New
// refuses a setting out of its range with an error matching
// diffyerr.ErrInvalidInput, rather than quietly using another value.
type Option func(*options)

type options struct {
	incident         string
	bucket, prefix   string
	batchSize        int
	batchConcurrency int
	readConcurrency  int
	readBudget       int64
	plain            bool // no compression on the hosts
	maxConcurrency   string
	maxErrors        string
	deliveryTimeout  time.Duration
	executionTimeout time.Duration
	pollInterval     time.Duration
	grace            time.Duration
	limits           collect.Limits
	logger           *slog.Logger
	s3Options        []func(*s3.Options)
	// liveHook, set by tests only (export_test.go), is told of the bytes
	// of output each read brings into memory, and gives back, so that a
	// test can count them against the read budget.
	liveHook func(delta int64)

	batchSizeSet, batchConcurrencySet, readConcurrencySet, pollIntervalSet, graceSet bool
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
// (SSM's maximum); New refuses anything else. Default: DefaultBatchSize.
func WithBatchSize(n int) Option {
	return func(o *options) { o.batchSize, o.batchSizeSet = n, true }
}

// WithBatchConcurrency sets how many batches are in flight at once; n must
// be positive, New refuses anything else. Default: DefaultBatchConcurrency.
func WithBatchConcurrency(n int) Option {
	return func(o *options) { o.batchConcurrency, o.batchConcurrencySet = n, true }
}

// WithReadConcurrency sets how many output reads run at once; n must be
// positive, New refuses anything else. Default: DefaultReadConcurrency.
func WithReadConcurrency(n int) Option {
	return func(o *options) { o.readConcurrency, o.readConcurrencySet = n, true }
}

// WithReadBudget sets how many bytes of output may be in flight at once,
// over all reads (default DefaultReadBudget). One output over the budget
// is read alone.
func WithReadBudget(n int64) Option { return func(o *options) { o.readBudget = n } }

// WithCompression sets whether the hosts compress their output (gzip, then
// base64) before printing it; on by default. Off, the output is printed as
// it is, which SSM's API cuts at 24,000 characters much sooner.
func WithCompression(on bool) Option { return func(o *options) { o.plain = !on } }

// WithRateControl sets SSM's MaxConcurrency and MaxErrors of each command
// ("10", "50%"; defaults DefaultMaxConcurrency, DefaultMaxErrors). They
// bound the blast radius within a batch; the number of batches in flight
// is WithBatchConcurrency's.
func WithRateControl(maxConcurrency, maxErrors string) Option {
	return func(o *options) { o.maxConcurrency, o.maxErrors = maxConcurrency, maxErrors }
}

// WithTimeouts sets SSM's delivery timeout (TimeoutSeconds, at least
// MinDeliveryTimeout) and the script's executionTimeout (at least
// MinExecutionTimeout); New refuses shorter ones. Zero keeps a default:
// DefaultDeliveryTimeout, DefaultExecutionTimeout.
func WithTimeouts(delivery, execution time.Duration) Option {
	return func(o *options) { o.deliveryTimeout, o.executionTimeout = delivery, execution }
}

// WithPollInterval sets the wait between two status polls of a command;
// d must be positive, New refuses anything else. Default:
// DefaultPollInterval.
func WithPollInterval(d time.Duration) Option {
	return func(o *options) { o.pollInterval, o.pollIntervalSet = d, true }
}

// WithGrace sets how long after the delivery and execution timeouts the
// Collector still waits for SSM to report a final status; after it, the
// instances still pending are TimedOut. d must be positive, New refuses
// anything else. Default: DefaultGrace.
func WithGrace(d time.Duration) Option {
	return func(o *options) { o.grace, o.graceSet = d, true }
}

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

// check refuses a setting out of its range, naming it.
func (o *options) check() error {
	bad := func(format string, a ...any) error {
		return fmt.Errorf("ssmcollect: "+format+": %w", append(a, diffyerr.ErrInvalidInput)...)
	}
	switch {
	case o.batchSizeSet && (o.batchSize < 1 || o.batchSize > MaxBatchSize):
		return bad("batch size %d: must be 1 to %d (SSM's limit on the instances of one command)", o.batchSize, MaxBatchSize)
	case o.batchConcurrencySet && o.batchConcurrency < 1:
		return bad("batch concurrency %d: must be at least 1", o.batchConcurrency)
	case o.readConcurrencySet && o.readConcurrency < 1:
		return bad("read concurrency %d: must be at least 1", o.readConcurrency)
	case o.deliveryTimeout != 0 && o.deliveryTimeout < MinDeliveryTimeout:
		return bad("delivery timeout %v: must be at least %v (SSM's minimum TimeoutSeconds), or 0 for the default", o.deliveryTimeout, MinDeliveryTimeout)
	case o.executionTimeout != 0 && o.executionTimeout < MinExecutionTimeout:
		return bad("execution timeout %v: must be at least %v, or 0 for the default", o.executionTimeout, MinExecutionTimeout)
	case o.pollIntervalSet && o.pollInterval <= 0:
		return bad("poll interval %v: must be positive", o.pollInterval)
	case o.graceSet && o.grace <= 0:
		return bad("grace %v: must be positive", o.grace)
	}
	return nil
}

// fill sets every setting still unset to its default.
func (o *options) fill() {
	if o.batchSize == 0 {
		o.batchSize = DefaultBatchSize
	}
	if o.batchConcurrency == 0 {
		o.batchConcurrency = DefaultBatchConcurrency
	}
	if o.readConcurrency == 0 {
		o.readConcurrency = DefaultReadConcurrency
	}
	if o.readBudget <= 0 {
		o.readBudget = DefaultReadBudget
	}
	if o.maxConcurrency == "" {
		o.maxConcurrency = DefaultMaxConcurrency
	}
	if o.maxErrors == "" {
		o.maxErrors = DefaultMaxErrors
	}
	if o.deliveryTimeout == 0 {
		o.deliveryTimeout = DefaultDeliveryTimeout
	}
	if o.executionTimeout == 0 {
		o.executionTimeout = DefaultExecutionTimeout
	}
	if o.pollInterval == 0 {
		o.pollInterval = DefaultPollInterval
	}
	if o.grace == 0 {
		o.grace = DefaultGrace
	}
	o.limits = o.limits.WithDefaults()
	if o.logger == nil {
		o.logger = slog.New(slog.DiscardHandler)
	}
}
