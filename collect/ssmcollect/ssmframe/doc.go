// Package ssmframe builds the shell script that runs several commands in one
// SSM Run Command invocation and splits the invocation's output back into
// each command's own stdout, stderr and exit status.
//
// # Why framing
//
// One AWS-RunShellScript invocation per batch of instances, carrying every
// command of the payload, needs the fewest API calls (see package
// ssmcollect), but then the commands share one stdout and one stderr. The
// original Diffy parsed that shared stdout as one JSON document, which broke
// as soon as two queries ran. Here the script builds one stream in which
// each command has two frames, its stderr's, then its stdout's:
//
//	\n<M> ERRBEGIN <id>\n<the command's stderr>\n<M> ERREND <id> <rc>\n
//	\n<M> BEGIN <id>\n<the command's stdout>.\n<M> END <id> <rc>\n
//
// and the stream ends with "\n<M> DONE\n". <M> is "DIFFY-" followed by 32
// random hex digits, new for every invocation; <id> is the command's ID
// (payload.ValidID); <rc> its exit status. The newline before each END
// line is the frame's, not the command's; so is the dot before a stdout
// frame's, which keeps the command's trailing newlines through the shell.
//
// # Encoding and digest
//
// The script prints, on stdout, a Header line and the stream encoded:
//
//	<M> OUTPUT <encoding> <sha256>\n<body>
//
// With EncodingGzip the body is the stream gzipped, then base64 (the gzip
// and base64 of every base image): osquery's JSON shrinks 4 to 5 times, so
// SSM's 24,000 characters through GetCommandInvocation hold about
// 80 KB of output instead of 24 KB (see package ssmcollect for the
// figures). A host without gzip or base64 falls back to EncodingPlain,
// the stream as it is, and says so in its header. <sha256> is the body's
// SHA-256 digest ("-" on a host without sha256sum): see Security.
//
// # Nothing on the host's disk
//
// The script runs each command with sh -c, captures its stdout in a
// shell variable (a pipe), and encodes and digests the stream through
// pipes into another variable, since the digest comes first: no temporary
// file, and only the standard file descriptors. A DFIR tool should change
// the host it examines as little as it can (files in /tmp are evidence
// too), a full or read-only disk must not stop it, and a file in a
// world-writable place is a race a hostile local user can win. The price:
// the output is printed once the last command ended, so a script the agent
// kills at its execution timeout prints nothing (see Time limits).
//
// # Time limits
//
// So that one command that never ends (an osquery table stuck on a hung
// mount) cannot cost the output of all the others, a script made
// WithTimeLimit(L) ends by itself within L, plus KillAfter and the time to
// encode its output: each command in turn runs under timeout(1) (GNU
// coreutils, or busybox) with its share of the time left, (left) /
// (commands left), at least one second while any is left; a fast command
// leaves its unused share to those after it. A command still running at
// its share is stopped (SIGTERM, which GNU timeout sends to the command's
// whole process group; SIGKILL KillAfter later); one whose turn comes
// with no time left is not started. Either is
// reported on a line of the stream, after the command's frames, if any:
//
//	\n<M> STOPPED <id> <seconds>\n
//
// (<seconds> is the share it was stopped at, 0 when it never started), and
// Split sets the Frame's Stopped and Limit: what a stopped command printed
// is not its whole output, whatever its frame's State. The other commands
// keep their frames, and the script prints its header and stream as
// always. The script reads the clock with date +%s; on a host where
// timeout(1) or date +%s does not work (an old busybox has timeout -t
// SECS), the commands run without limits, as they do without
// WithTimeLimit, and a command that never ends still costs the whole
// output at the execution timeout. (Printing each command's output as it
// ends instead would keep it through a kill, but then the digest, which
// must come first, could not cover it.)
//
// # Strictness
//
// The END line is printed only after the command ended, and carries the
// invocation's random marker, the command's ID and its exit status; the
// transports that cut output (SSM's 24,000 characters through
// GetCommandInvocation, 2,500 through ListCommandInvocations) cut the
// encoded body's tail, which Decode turns into the stream's first part
// (a gzip stream decodes up to where it was cut). So a frame is Whole only
// when its END line arrived, and a frame without one is Cut: its content is
// returned only as what arrived, never to be parsed as whole. A frame whose
// END line is unreadable, or a command with two frames, is Malformed. Text
// outside frames (the agent's "---Output truncated---",
// "----------ERROR-------") is ignored. Decode caps what it decompresses
// (a few kilobytes of gzip can claim gigabytes), and Bound says how much
// to expect before decoding.
//
// # Security
//
// A compromised host can print anything, including lines with the marker
// (it can read the script the agent stored, and every host of a batch is
// sent the same marker): through SSM's API it can only lie about its own
// output, which it controls anyway. But in S3 output mode each instance
// writes its output objects with its own role, and a role that may write
// under the output prefix may write any instance's objects: host A could
// replace host B's stdout object with valid frames of its choosing (B's
// processes without the attacker's row, say). So an object read from S3 is
// trusted only if Verify accepts it against the Header that B's own agent
// reported through SSM (ListCommandInvocations' Details, or
// GetCommandInvocation), which A cannot forge: same first line, same
// digest of the rest. So host A cannot make B's output pass as whole with
// content of its choosing: it can only make it fail, by changing or
// deleting B's object, and B's Results then say that the object was
// changed (or, deleted, are read through the API). Package ssmcollect
// does so, and documents the bucket policy that keeps the damage to that.
package ssmframe
