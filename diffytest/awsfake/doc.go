// Package awsfake serves in-process SSM, EC2 and S3 endpoints on loopback
// that speak the real wire protocols, so that the real aws-sdk-go-v2
// clients (ssm, ec2, s3) run against them unchanged, pointed at them through
// their BaseEndpoint. Serialization, retries, pagination and waiters are the
// SDK's own, exercised for real; behind the endpoints is a simulated fleet
// whose hosts answer the standard osquery pack with their rows: a
// diffytest/fleet (FleetInstances), or any Host, such as fixed Rows.
//
//	srv, err := awsfake.New(awsfake.WithInstances(awsfake.FleetInstances(fleet.Generate(cfg))...))
//	defer srv.Close()
//	cfg := srv.Config()
//	ssmClient := ssm.NewFromConfig(cfg)
//	ec2Client := ec2.NewFromConfig(cfg)
//	s3Client := s3.NewFromConfig(cfg, srv.S3Options)
//
// # Services
//
// SSM speaks awsJson1.1 (POST, X-Amz-Target: AmazonSSM.<Op>) and serves
// SendCommand, GetCommandInvocation, ListCommandInvocations, ListCommands,
// CancelCommand and DescribeInstanceInformation. EC2 speaks ec2Query (form
// in, XML out, API version 2016-11-15) and serves DescribeInstances with
// InstanceId.N, MaxResults/NextToken and the filters instance-state-name,
// instance-id, tag:KEY, tag-key, tag-value, image-id, private-ip-address,
// availability-zone, instance-type and owner-id (with * and ? wildcards).
// S3 is github.com/johannesboyne/gofakes3 on its in-memory backend, with
// path-style addressing (S3Options sets it).
//
// # Running commands
//
// SendCommand runs only the AWS-RunShellScript document. Its commands
// parameter (a list of lines, joined with newlines) is parsed as POSIX sh
// and run by mvdan.cc/sh/v3's interpreter against the simulated host, so
// the whole language works (pipes, command substitution, functions,
// loops, redirections, traps). No command of the test machine ever runs:
// every command that is not a shell builtin is one of Tools, which the
// fake implements itself (tools.go) on the host's own file system, and
// anything else is "NAME: command not found" with status 127. The tools:
//
//   - osqueryi [--flags] --json SQL: when SQL is one of
//     payload.StandardPack()'s queries (compared after normalizing case and
//     white space), it prints the host's Output for that command ID;
//     other SQL is answered by a QueryHost, or prints an error on stderr
//     and exits 1;
//   - sh -c / bash -c (a child interpreter on the same host); gzip (-c,
//     -d), base64 (-w, -d), sha256sum; curl (-fsS, --max-time, -o) and
//     wget (-q, -T, -O), which GET loopback URLs only; sleep and timeout
//     (-k, -s, --preserve-status and the like accepted; past its limit the
//     command is stopped there and timeout exits 124), which never wait in
//     real time but make the invocation run that much longer on the fake's
//     clock (a script that sleeps an hour stays InProgress until its
//     executionTimeout, or a CancelCommand); date and date +%s, which read
//     that clock (the invocation's start plus what the script slept);
//   - cat, head, tail, cut, tr, wc, dirname, basename, mkdir (-p, -m),
//     rmdir, mktemp (-d, -p), rm, mv, cp, ln -s, touch, chmod (octal),
//     chown, stat -c (%a %u %U %s %n %F), id, uname, tee, ls, readlink,
//     env, and echo, printf, test, [, true, false from /usr/bin.
//
// Each host has its own file system: a shared read-only Linux image (/tmp
// and /var/tmp world-writable and sticky, the tools in /usr/bin, /bin a
// link to it) and the host's own changes, kept across its invocations
// (a downloaded osquery executable stays cached). Scripts run as root
// (uid 0); a file of another uid is someone else's for the shell's -O
// test, so a hostile local user's files can be planted in tests.
// Instance.Without removes tools from a host (say gzip or curl), NoOsquery
// removes osqueryi; a file whose content is OsqueryExecutable runs as
// osqueryi, which is what payload.OsqueryFetch can download.
//
// Each invocation of a command is Pending, then InProgress for RunTime,
// then final; a command's invocations run MaxConcurrency at a time.
// Statuses: Success; Failed with the script's non-zero ResponseCode;
// TimedOut (ExecutionTimedOut) after executionTimeout; Cancelled after
// CancelCommand; Failed with StatusDetails Undeliverable or Terminated
// (ResponseCode -1). The script runs when the invocation becomes final
// (for its exit status, its plugin Output, what GetCommandInvocation shows
// and its S3 objects); when its text names sleep or timeout it runs once,
// earlier, for how long it sleeps (which may keep it InProgress longer,
// or past its executionTimeout: then TimedOut with no output, as the agent
// kills a script that prints at its end), and what that run printed is
// its output.
// Only what the API shows is kept per invocation (2,500 characters for
// ListCommandInvocations, 24,000 and 8,000 for GetCommandInvocation: a
// few kilobytes of compressed output), the whole output going to S3.
//
// # Faithful to AWS
//
//   - Wire formats, error shapes ({"__type": ..., "message": ...} for SSM,
//     <Response><Errors><Error> for EC2) and HTTP statuses, so the SDK's
//     error types, retryers and paginators behave as against AWS.
//   - SendCommand takes at most 50 InstanceIds (ValidationException) and 5
//     Targets; an instance ID that SSM does not manage (unknown, not
//     managed, terminated) fails the whole call with InvalidInstanceId,
//     "Instances [[i-1, i-2]] not in a valid state for account N", as AWS
//     does. Targets select only managed instances.
//   - GetCommandInvocation returns at most StdoutLimit (24,000) characters
//     of stdout: longer output is cut so that, with the SSM agent's marker
//     StdoutTruncatedMarker ("\n---Output truncated---") appended, it is
//     24,000 long; stderr likewise at 8,000 with StderrTruncatedMarker.
//     ListCommandInvocations with Details gives each plugin's Output cut to
//     2,500 the way the agent cuts it (stdout, "\n----------ERROR-------\n",
//     stderr).
//   - With OutputS3BucketName, the whole stdout (and stderr, when not
//     empty) is written to
//     PREFIX/COMMANDID/INSTANCEID/awsrunShellScript/0.awsrunShellScript/stdout
//     before the invocation reports its final status; StandardOutputUrl is
//     https://s3.REGION.amazonaws.com/BUCKET/KEY. The bucket must exist
//     (CreateBucket, or the s3 client): as with AWS, SendCommand does not
//     check it, and a missing bucket means no object.
//   - Right after SendCommand, during ConsistencyDelay,
//     GetCommandInvocation answers InvocationDoesNotExist and the list
//     operations leave the command out.
//   - Throttling: ThrottlingException (SSM, HTTP 400), RequestLimitExceeded
//     (EC2, HTTP 503), SlowDown (S3, HTTP 503).
//   - Pagination with MaxResults and opaque NextToken tokens, the limits
//     of each operation (1-50, 5-50 for DescribeInstanceInformation, 5-1000
//     for DescribeInstances, which refuses MaxResults with InstanceId.N).
//
// # Simplified
//
//   - Requests are not authenticated (any signature passes), and IDs are
//     not checked against AWS's patterns (an unknown "i-x" is
//     InvalidInstanceId, not ValidationException).
//   - Only AWS-RunShellScript, version 1, with the parameters commands,
//     executionTimeout and workingDirectory (ignored); no CloudWatch, SNS,
//     alarms. MaxConcurrency sends a command in waves (one RunTime
//     apart); once more than MaxErrors invocations ended Failed or
//     TimedOut, the invocations not started yet end Failed with
//     StatusDetails Terminated, as in AWS. Delivery never times out;
//     TimeoutSeconds is only checked.
//   - Cancelled is immediate (no Cancelling state). An undeliverable
//     instance stays Pending for RunTime, then Failed/Undeliverable. An
//     instance terminated while a command runs ends Failed with
//     StatusDetails Terminated too (collect.StatusTerminated); in AWS that
//     detail is MaxErrors' (above), and a vanished instance shows as
//     Undeliverable or timed out.
//   - ListCommands and ListCommandInvocations ignore Filters.
//   - Every instance is its own reservation; instance states are only
//     running and terminated (terminated instances stay listed).
//   - The fake's own clock is the wall clock; nothing is persisted.
//
// # Knobs
//
// WithRunTime and WithConsistencyDelay shape command lifecycles.
// WithCallFaults applies CallFaults per API call: Latency, token-bucket throttles
// per operation (Throttle, ThrottleAll; AWSRates gives AWS's documented
// rates: S3 5,500 GET/s and 3,500 PUT/s, EC2 Describe 20/s after a burst
// of 100, and a given rate per SSM operation, 100/s by default, since AWS
// publishes none), bursts of HTTP 500
// (ServerErrorEvery/ServerErrorBurst), connection resets (ResetEvery, a
// TCP RST without an answer) and slow answers (SlowEvery/SlowDelay, which
// a client with a shorter deadline sees as a timeout), and malformed
// answers (Malformed: an operation answered HTTP 200 with a body of the
// test's choosing, such as `{}`). WithFaults picks
// misbehaving instances by fraction, deterministically from a seed
// (Server.Selected lists them): failing, undeliverable, terminating
// mid-run, big output, no osqueryi, not managed by SSM, vanishing
// (terminated) or losing its SSM agent right after a DescribeInstances
// lists it, hanging until executionTimeout, and missing S3 output.
// Server.Terminate and Server.LoseAgent do the same to one instance at any
// time.
//
// WithInMemory puts the endpoints on an in-memory network, so that the
// fake, the SDK and the code under test can run in a testing/synctest
// bubble.
//
// # Defaults
//
// New takes Options (WithInstances, WithRegion, ...), applied in order;
// what they leave unset is: region DefaultRegion, account DefaultAccount,
// run time DefaultRunTime, no consistency delay, no fault, loopback
// sockets; every answer takes at least MinLatency (1 ms), which also
// keeps a known race of the SDK on loopback at bay. Config gives static credentials
// (AccessKeyID), each service's endpoint, and the adaptive retryer with 10
// attempts and no retry quota.
//
// # Errors
//
// New fails only on instances without an ID or with a duplicate one. The
// endpoints answer API errors in each service's own shape, so the SDK
// returns its modeled error types: SSM InvocationDoesNotExist,
// InvalidInstanceId, InvalidCommandId, InvalidDocument, InvalidParameters,
// InvalidTarget, InvalidPluginName, InvalidNextToken, ValidationException
// (and ThrottlingException, InternalServerError from CallFaults); EC2
// InvalidInstanceID.NotFound, InvalidParameterValue,
// InvalidParameterCombination, InvalidAction (and RequestLimitExceeded,
// InternalError); S3 errors are gofakes3's (NoSuchKey, NoSuchBucket, ...).
// Messages name the input that was refused.
//
// # Testing
//
// Server.Calls counts calls per operation ("ssm:SendCommand") with how
// many were throttled, failed or reset; Server.SentCommands records every
// SendCommand with its full parameters and raw body (to check that no
// credential, such as AccessKeyID or SecretAccessKey, is ever sent to a
// host).
//
// The fake's own cost is small beside the client's. Running the framed
// standard pack on a diffytest/fleet host (printing about 25 KB of rows
// with OsqueryJSON) and writing it to S3 took about 0.6 ms of CPU per
// invocation in a 10,000-host run (go test -cpuprofile), half of it
// printing rows; GetCommandInvocation prints them again. State is locked per
// invocation and per token bucket, never behind one lock for the whole
// fake. BenchmarkGetCommandInvocation measures client and fake together.
package awsfake
