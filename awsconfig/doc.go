// Package awsconfig loads the AWS configuration every AWS plugin of Diffy
// uses (target/ec2target, collect/ssmcollect, persist/s3store,
// inventory/ec2inventory): the SDK's default credential chain, an optional
// region and shared-config profile, an optional role assumed through STS
// (stscreds) for cross-account work, and the retry policy for fleet-scale
// work.
//
// It is the one place where that policy is decided, so that the CLI, the
// demo and library users get the same behaviour.
//
// # Defaults
//
//   - Credentials: the SDK's default chain (environment, shared files and
//     profile, SSO, web identity, ECS/EC2 roles), unless Options.Credentials
//     is set. With Options.RoleARN, those credentials assume the role
//     (session name DefaultSessionName) and the role's temporary
//     credentials are cached and refreshed by the SDK.
//   - Region: Options.Region, else the profile's or the environment's.
//   - Retries: Retryer, the SDK's adaptive mode (retry.NewAdaptiveMode):
//     throttling (ThrottlingException, RequestLimitExceeded, SlowDown), 5xx
//     answers, connection resets and timed-out attempts are retried by the
//     SDK with backoff, and the client-side token bucket slows the client
//     down after a throttle, once per congestion event (the throttled
//     answers to calls that were in flight together count as one).
//     DefaultMaxAttempts attempts, backoff capped at DefaultMaxBackoff, and
//     no retry quota (see Retryer for why).
//   - Each HTTP attempt is bounded by DefaultAttemptTimeout, so a response
//     that never comes is an attempt that failed and is retried, not a run
//     that hangs.
//
// # Errors
//
// Load returns the SDK's errors for a profile that does not exist or a
// shared config file that cannot be read, wrapped with what was being
// loaded. Missing credentials are not an error of Load: the SDK looks them
// up at the first call, whose error then says so.
//
// Pages is the check every paginated listing of Diffy's AWS plugins makes
// of its answers' NextToken: a token repeated on two pages in a row, or
// more pages than a correct answer can take, is an error matching
// ErrMalformedAnswer rather than a listing that never ends.
//
// # Testing
//
// Tests point the SDK's clients at diffytest/awsfake with Options.Endpoint
// (or a client's BaseEndpoint option) and static credentials; nothing here
// reaches the network by itself.
package awsconfig
