// Package ssmcollect is the Collector that runs a payload's commands on EC2
// instances through AWS Systems Manager Run Command (document
// AWS-RunShellScript, parameters commands and executionTimeout), at fleet
// scale.
//
// # Design: the fewest API calls
//
// For n instances and c commands, the Collector makes:
//
//   - ceil(n/50) SendCommand calls: one command per batch of up to 50
//     instances (SSM's limit) carries every command of the payload, framed
//     by package ssmframe so that each command's stdout, stderr and exit
//     status come back apart. One invocation per command instead would cost
//     c times the SendCommand calls, and c times the reads below.
//   - ceil(n/50) DescribeInstanceInformation calls (one per batch): the
//     instances SSM does not manage, or whose agent is not online, are
//     Undeliverable at once instead of failing the batch's SendCommand
//     with InvalidInstanceId. Splitting the batch on that error instead
//     costs about 2*log2(50) = 12 extra SendCommands (and as many commands
//     to poll) per batch holding one bad instance: at 2% unmanaged
//     instances, nearly every batch. The split stays as the fallback for
//     an instance that goes away between the two calls.
//   - ListCommandInvocations polls, one page per batch per poll (every
//     WithPollInterval), through the SDK's paginator: one call answers for
//     50 instances, where the SDK's per-invocation waiter
//     (ssm.NewCommandExecutedWaiter) would cost one call per instance per
//     poll. An empty list right after SendCommand is "not yet".
//   - one output read per instance, only once its invocation is final:
//     in S3 mode (WithOutputBucket) one GetObject of the stdout object,
//     whole (up to collect.Limits.MaxBytes), plus one of the stderr object
//     only when a command failed; in API mode one GetCommandInvocation,
//     which returns the first 24,000 characters of stdout and 8,000 of
//     stderr. Polls ask for Details, whose 2,500 characters of output per
//     instance spare the read when the whole framed output fits (small
//     payloads); once a run's outputs prove bigger, polls stop asking for
//     Details, which only make answers larger.
//
// So the calls strictly needed are ceil(n/50) SendCommand and n reads, and
// the reads dominate: at SSM's per-operation rate limits the run takes at
// least n / rate(read operation).
//
// Measured on 10,000 simulated instances at 100 requests/s per operation
// (bench/ssm, figures in bench/README.md): exactly those calls plus the
// retried throttles (under 0.5%), within 1.01x to 1.07x of the floor in
// both output modes with the default retryer.
//
// # Memory
//
// Collect returns every Result of the run, so it holds them all until it
// returns. Equal rows of different instances are one map (collect.RowPool),
// with canonical strings: a fleet's hosts share most of their rows, and a
// row map costs about 350 bytes however short its values. Treat the rows
// of the Results as read-only (see collect.Row). Where a fleet's Results
// would not fit in memory, call Collect on slices of the instances and
// persist each slice's Results before the next.
//
// # Throttling and faults
//
// Throttling (ThrottlingException, SlowDown), 5xx answers, connection
// resets and attempts that time out are retried by the SDK's retryer in
// adaptive mode (awsconfig.Retryer, which slows the client down once per
// congestion event rather than once per throttled answer), never by a
// hand-made loop; the only loops here wait for SSM's statuses. NewFromConfig gives every operation
// its own client, hence its own adaptive token bucket, since AWS throttles
// each API action on its own.
//
// # Statuses
//
// Every (instance, command) pair asked for gets exactly one Result. SSM's
// invocation status and StatusDetails map as follows (StatusDetails is
// kept in every Result):
//
//   - Success: each command's frame decides: exit 0 and whole output is
//     Success with its rows; non-zero exit is Failed with its stderr; exit
//     127 of an osquery command says that osqueryi is not installed.
//   - Failed/Undeliverable, InvalidPlatform, AccessDenied, DeliveryTimedOut,
//     InvalidInstanceId at SendCommand, not managed or not online:
//     Undeliverable.
//   - Failed/Terminated: Terminated. In AWS this detail means that the
//     command went over its MaxErrors (WithRateControl; the default,
//     100%, never stops a command) and SSM cancelled the invocations it
//     had not run: the instance was not collected, and the error says so.
//   - TimedOut (ExecutionTimedOut), Cancelled: the commands that finished
//     before keep their Results; the others are TimedOut or Cancelled.
//   - A command whose output was cut (API mode's 24,000 characters, the
//     MaxBytes cap in S3 mode) is Failed and Truncated, never parsed; in API
//     mode its error says to set an output bucket (--output-bucket).
//   - A missing S3 output object falls back to GetCommandInvocation.
//
// # Cancellation
//
// When ctx is cancelled, every command in flight is cancelled with
// CancelCommand (under a fresh short context), Results already built are
// kept, every other pair is Cancelled, and Collect returns an error
// wrapping ctx.Err().
//
// # Security
//
// The script sent to hosts holds the commands and a random marker, nothing
// else: no credential ever goes into it (the tests inspect every
// SendCommand the fake receives). Output stays on the host's own channels
// (SSM, the output bucket); nothing is written on the host's disk, except
// the osquery executable that payload.OsqueryFetch downloads and caches
// when the caller asks for it.
//
// # Defaults
//
// Batches of DefaultBatchSize, DefaultBatchConcurrency in flight,
// DefaultReadConcurrency reads at once, MaxConcurrency DefaultMaxConcurrency
// and MaxErrors DefaultMaxErrors per command, delivery timeout
// DefaultDeliveryTimeout, executionTimeout DefaultExecutionTimeout, polls
// every DefaultPollInterval, API mode (no output bucket), the limits of
// collect.Limits.
//
// # Testing
//
// The tests run the real SDK clients against diffytest/awsfake: the
// diffytest Collector suite, both output modes, and a fault matrix
// (throttling, eventual consistency, undeliverable, terminating, hanging
// and unmanaged instances, output over the limit, 5xx bursts, connection
// resets, slow answers, missing S3 objects, instances vanishing after
// targeting, cancellation), comparing every row with the fleet's truth.
package ssmcollect
