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
//     whole (up to collect.Limits.MaxBytes); in API mode one
//     GetCommandInvocation, which returns the first 24,000 characters of
//     stdout and 8,000 of stderr. Polls ask for Details, whose 2,500
//     characters of output per instance spare the read when the whole
//     output fits (small payloads), and in S3 mode carry the digest that
//     binds the object (see Security); in API mode, once a run's outputs
//     prove bigger, polls stop asking for Details, which only make
//     answers larger.
//
// So the calls strictly needed are ceil(n/50) SendCommand and n reads, and
// the reads dominate: at SSM's per-operation rate limits the run takes at
// least n / rate(read operation).
//
// # No cut output in API mode
//
// Without an output bucket, SSM returns only the first 24,000 characters
// of an invocation's stdout. The hosts therefore compress their output
// (package ssmframe: gzip, then base64, where both tools exist; plainly,
// and said in the header, where one is missing: WithCompression(false)
// turns compression off), so that the budget holds 4 to 5 times more:
// the standard pack's output of a simulated host, 24 KB as JSON, is
// 4.7 KB gzipped by GNU gzip (5.6 KB by the fake's faster gzip), 6.3 to
// 7.5 thousand characters of base64. When the output of a batch's
// invocation is still cut, the commands whose frames did not arrive whole
// are collected again, each alone in an invocation of its own sent to the
// instances where it was cut, so that each has the whole budget: one
// SendCommand per (batch, command cut), and one read per instance
// concerned. Only a command whose output alone is over 24,000 characters
// compressed is then Truncated, with the hint to set an output bucket;
// nothing cut is ever parsed.
//
// The alternatives cost more calls: one invocation per command from the
// start costs c times the SendCommand calls and c times the reads (6 for
// the standard pack); sending again every command of an instance whose
// output was cut costs as much as the first invocation and is cut again.
// Measured (bench/ssm, bench/README.md): on the benchmark fleet of 10,000
// instances, no Result is truncated in API mode, where 11,610 of 60,000
// were without compression.
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
// Output being read is bounded over all reads at once by WithReadBudget
// (DefaultReadBudget, 256 MiB): each read reserves what it reads (an S3
// object's length, or 24,000 and 8,000 characters), then what the stream
// may decompress to (the size its gzip trailer claims, at most
// collect.Limits.MaxBytes; decoding stops there, so a host cannot claim
// less than it sends), and holds it until its Results are built. A read
// never waits while it holds bytes (reads would wait on each other), nor
// gives back budget for bytes it still holds (the budget would not bound
// them): one that cannot get more at once drops what it read, waits,
// holding nothing, for the whole it needs, and reads again (one more
// GetObject or GetCommandInvocation; from its third try it waits for the
// whole budget); one output larger than the budget is read alone. The
// bytes read into memory at once stay within the budget: 0.99 times it
// where reads gave it back before (1.67 to 1.94 times), at the cost of
// reads again: 12 outputs of 1.2 MiB, all read at once under a 3 MiB
// budget, took 22 to 24 GetObject calls and 1.35 times the bytes
// (TestReadBudgetHoldsBytesInMemory). A read is read again only when the
// budget is short: outputs that fit in it DefaultReadConcurrency times
// over (under 10 MiB each at the default budget) never are.
//
// # Time limits
//
// The agent kills a script at its execution timeout (WithTimeouts,
// DefaultExecutionTimeout), and a killed script prints nothing: the
// framed stream is printed, after its digest, when the last command ends
// (package ssmframe). So one command that never ends (an osquery table
// stuck on a hung NFS mount, say) would cost every command's output. The
// script therefore keeps its commands within the execution timeout less
// ssmframe.KillAfter and a reserve for printing the output (a twentieth
// of the timeout, at least 5 s): each command in turn gets its share of
// the time left, enforced with timeout(1), a fast command leaving what it
// did not use to the next ones (ssmframe.WithTimeLimit). At the default
// 10 minutes the commands have 565 s: a hung command first in the
// standard pack of 6 is stopped after 94 s and the 5 others still have
// 471 s. The hung command's Result is TimedOut ("was stopped after 94s,
// its share of the script's time"), one that finds no time left is
// TimedOut ("was not run"), and the others are collected as usual. On a
// host where timeout(1) or date +%s does not work, the commands run
// without limits and the agent's kill still costs the whole output
// (tested with awsfake's Instance.Without).
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
//   - A command the script's time limit stopped, or kept from starting
//     (see Time limits): TimedOut, saying which, and that a longer
//     execution timeout (WithTimeouts) gives it more time; nothing it
//     printed is parsed. The other commands keep their Results.
//   - TimedOut (ExecutionTimedOut: the agent killed the script, which
//     happens only on a host where timeout(1) does not work), Cancelled:
//     the script prints its output at its end, so what it printed before
//     is lost: every command is TimedOut or Cancelled (after a
//     CancelCommand, those whose output was already read keep it).
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
// when the caller asks for it. The script runs as root on hosts that may
// have hostile local users: it writes no file, uses only the standard
// file descriptors, and quotes every value.
//
// In S3 mode each instance writes its output objects to the bucket with
// its own role, and a role that may write under the output prefix may
// write any instance's objects: a compromised instance could replace
// another's stdout object with valid frames of its choosing. So every
// object read is checked against the header line its own instance's agent
// reported through SSM (ListCommandInvocations' Details, or
// GetCommandInvocation when Details did not show it), which another
// instance cannot forge: the object must start with that line and the rest
// must have its SHA-256 digest (ssmframe.Verify). An object that does not
// match is not parsed: every Result of the instance is Failed, and the
// error says that the object was changed. An instance without sha256sum
// cannot be checked: its output is read through the SSM API instead (cut
// to 24,000 characters, then collected again alone as in API mode). The
// stderr objects are not read: the commands' stderr is in the checked
// stream.
//
// No bucket policy can keep each instance to its own objects under SSM's
// layout, checked against AWS's documentation: SSM writes an
// invocation's output to PREFIX/COMMAND-ID/INSTANCE-ID/awsrunShellScript/
// 0.awsrunShellScript/stdout (OutputKey; the prefix is one per command,
// so shared by the up to 50 instances of a batch), and the only policy
// variables an instance's requests carry that name the instance are
// ${aws:userid}, which for an EC2 instance role is "ROLE-ID:INSTANCE-ID"
// (IAM User Guide, "IAM policy elements: Variables and tags", the
// aws:userid values by principal), and ${ec2:SourceInstanceARN},
// "arn:aws:ec2:REGION:ACCOUNT:instance/INSTANCE-ID". Neither is the bare
// instance ID that the key holds after the command ID, and IAM has no
// function to take a part of a variable, so a Resource such as
// "arn:aws:s3:::BUCKET/PREFIX/*/${aws:userid}/*" never matches. (Giving
// each instance its own prefix would take one SendCommand per instance,
// 50 times the calls.) So an instance that may write its own output
// object may write any instance's, and what makes this safe is the digest
// above: another instance can make an output fail, never pass as whole
// with content of its choosing.
//
// The bucket policy keeps the damage to that: grant the instances' role
// only s3:PutObject under the output prefix (and the bucket's
// s3:GetEncryptionConfiguration, which the agent needs when the bucket is
// encrypted, as every bucket is by default), and the role that runs Diffy
// s3:GetObject there; no ListBucket, GetObject or DeleteObject for the
// instances, so that an instance can neither read nor delete another's
// output. AWS's example instance-profile policy for an output bucket (SSM
// User Guide, "Create an IAM instance profile for Systems Manager", the
// custom policy for S3 bucket access) also grants s3:GetObject, which
// would let every instance read every other's output, and s3:PutObjectAcl,
// needed only for a bucket of another account. Set the bucket's Object
// Ownership to BucketOwnerEnforced (ACLs off), so that no ACL can share an
// object:
//
//	{"Effect": "Allow", "Principal": {"AWS": "INSTANCE-ROLE-ARN"},
//	 "Action": "s3:PutObject", "Resource": "arn:aws:s3:::BUCKET/PREFIX/*"},
//	{"Effect": "Allow", "Principal": {"AWS": "INSTANCE-ROLE-ARN"},
//	 "Action": "s3:GetEncryptionConfiguration", "Resource": "arn:aws:s3:::BUCKET"},
//	{"Effect": "Deny", "Principal": {"AWS": "INSTANCE-ROLE-ARN"},
//	 "NotAction": ["s3:PutObject", "s3:GetEncryptionConfiguration"],
//	 "Resource": ["arn:aws:s3:::BUCKET", "arn:aws:s3:::BUCKET/*"]}
//
// A role of its own for each Auto Scaling group (or other set of
// instances of one owner), with its own prefix, keeps the groups apart:
// an instance can then spoil only the outputs of its own group. Use a
// bucket for this output alone: in particular not the store's
// (examples/diffy warns when --store and --output-bucket name the same
// bucket), where an instance could overwrite baselines.
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
