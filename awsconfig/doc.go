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
//   - Deadlines, on every call of every client made from Load's
//     configuration: the connection within DefaultConnectTimeout, the
//     answer's first byte within DefaultFirstByteTimeout, each attempt
//     (body included) within DefaultAttemptTimeout, and the whole call,
//     retries included, within DefaultCallTimeout (a caller's earlier
//     deadline is kept). An attempt that gets no answer (refused, no
//     connection, no first byte) is retried by the SDK like any other,
//     but after DefaultMaxNoAnswerAttempts of them the call gives up: an
//     endpoint that is down fails in seconds, not after the dozen attempts
//     throttling needs. Each is an Options field.
//
// # Errors
//
// Load returns the SDK's errors for a profile that does not exist or a
// shared config file that cannot be read, wrapped with what was being
// loaded. Missing credentials are not an error of Load: the SDK looks them
// up at the first call, whose error then says so.
//
// A call that got no answer, or no final answer within CallTimeout,
// returns a *NoAnswerError (wrapped in the SDK's operation error) that
// names the endpoint, what timed out and how many attempts were made:
// "operation error EC2: DescribeInstances, no answer from
// https://ec2.us-east-1.amazonaws.com after 3 attempts: no first byte
// within 20s (FirstByteTimeout)".
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
