package awsfake

import (
	"errors"
	"fmt"
	"time"
)

// Option configures a Server. Options are applied in order; the defaults
// are filled in afterwards, only for settings still unset. New refuses a
// setting out of its range with an error naming it, rather than quietly
// using another value. With no option, New gives a fake with no instance,
// in DefaultRegion and DefaultAccount, on loopback, without faults.
type Option func(*options)

type options struct {
	instances        []Instance
	region, account  string
	runTime          time.Duration
	consistencyDelay time.Duration
	callFaults       CallFaults
	faults           Faults
	inMemory         bool
}

// WithInstances adds simulated instances (a later WithInstances adds more);
// IDs must be unique over all of them.
func WithInstances(insts ...Instance) Option {
	return func(o *options) { o.instances = append(o.instances, insts...) }
}

// WithRegion sets the fake's region: its instances', the ARNs' and the S3
// output URLs'. Default: DefaultRegion.
func WithRegion(region string) Option { return func(o *options) { o.region = region } }

// WithAccount sets the account that owns the fake's instances. Default:
// DefaultAccount.
func WithAccount(account string) Option { return func(o *options) { o.account = account } }

// WithRunTime sets how long each command invocation runs on its instance
// (Pending, then InProgress for d, then final); d must not be negative,
// and 0 means the default, DefaultRunTime. Invocations of one command run
// MaxConcurrency at a time.
func WithRunTime(d time.Duration) Option { return func(o *options) { o.runTime = d } }

// WithConsistencyDelay sets how long after SendCommand the command stays
// invisible: GetCommandInvocation answers InvocationDoesNotExist and
// ListCommandInvocations and ListCommands list nothing of it. d must not
// be negative. Default 0.
func WithConsistencyDelay(d time.Duration) Option {
	return func(o *options) { o.consistencyDelay = d }
}

// WithCallFaults sets the faults and limits applied to API calls: latency,
// throttling, 5xx bursts, connection resets, slow and malformed answers.
// Default: none (every answer still takes MinLatency).
func WithCallFaults(f CallFaults) Option { return func(o *options) { o.callFaults = f } }

// WithFaults sets which instances misbehave, and how. Default: none
// (Faults.BigOutputBytes, when 0, is DefaultBigOutputBytes).
func WithFaults(f Faults) Option { return func(o *options) { o.faults = f } }

// WithInMemory puts the endpoints on an in-memory network instead of
// loopback sockets: only the clients made from Config (and S3Options)
// reach them, and the whole fake can run inside a testing/synctest bubble,
// where every wait passes on the bubble's clock. Default: loopback,
// reachable by URL from any client.
func WithInMemory() Option { return func(o *options) { o.inMemory = true } }

// newOptions applies opts (nil ones skipped), checks them and fills in the
// defaults.
func newOptions(opts []Option) (options, error) {
	var o options
	for _, opt := range opts {
		if opt != nil {
			opt(&o)
		}
	}
	var errs []error
	if o.runTime < 0 {
		errs = append(errs, fmt.Errorf("awsfake: run time %v is negative", o.runTime))
	}
	if o.consistencyDelay < 0 {
		errs = append(errs, fmt.Errorf("awsfake: consistency delay %v is negative", o.consistencyDelay))
	}
	if o.faults.BigOutputBytes < 0 {
		errs = append(errs, fmt.Errorf("awsfake: big output of %d bytes is negative", o.faults.BigOutputBytes))
	}
	if err := errors.Join(errs...); err != nil {
		return options{}, err
	}
	if o.region == "" {
		o.region = DefaultRegion
	}
	if o.account == "" {
		o.account = DefaultAccount
	}
	if o.runTime == 0 {
		o.runTime = DefaultRunTime
	}
	if o.faults.BigOutputBytes == 0 {
		o.faults.BigOutputBytes = DefaultBigOutputBytes
	}
	return o, nil
}
