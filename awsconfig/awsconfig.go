package awsconfig

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/sts"
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
	// AttemptTimeout bounds one HTTP attempt; default
	// DefaultAttemptTimeout.
	AttemptTimeout time.Duration
}

// Load returns the AWS configuration described by o: the default credential
// chain (or o.Credentials), o.Region and o.Profile, the role o.RoleARN
// assumed when set, and the retry policy of Retryer.
func Load(ctx context.Context, o Options) (aws.Config, error) {
	if o.AttemptTimeout <= 0 {
		o.AttemptTimeout = DefaultAttemptTimeout
	}
	opts := []func(*config.LoadOptions) error{
		config.WithRetryer(Retryer(o.MaxAttempts)),
		config.WithHTTPClient(awshttp.NewBuildableClient().WithTimeout(o.AttemptTimeout)),
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

// Retryer returns the retryer factory Diffy's AWS clients use: the SDK's
// adaptive mode over its standard retryer, with maxAttempts attempts
// (DefaultMaxAttempts when <= 0), backoff capped at DefaultMaxBackoff, and
// the standard retryer's retry quota turned off (ratelimit.None).
//
// The quota is a circuit breaker for one client talking to one failing
// service: after a burst of failures it stops retrying at all. During an
// incident a collection of thousands of instances meets throttling storms
// by design (it runs at the API's limits); giving up there would turn
// throttles into lost results. The adaptive mode's token bucket already
// slows the client down when it is throttled, which is what the quota is
// meant to protect.
//
// Each call of the returned function makes a new retryer, so each client
// (and with it each adaptive token bucket) has its own.
func Retryer(maxAttempts int) func() aws.Retryer {
	if maxAttempts <= 0 {
		maxAttempts = DefaultMaxAttempts
	}
	return func() aws.Retryer {
		return retry.NewAdaptiveMode(func(o *retry.AdaptiveModeOptions) {
			o.StandardOptions = append(o.StandardOptions, func(so *retry.StandardOptions) {
				so.MaxAttempts = maxAttempts
				so.MaxBackoff = DefaultMaxBackoff
				so.RateLimiter = ratelimit.None
			})
		})
	}
}
