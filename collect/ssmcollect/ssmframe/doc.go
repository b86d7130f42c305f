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
// as soon as two queries ran. Here each command's output is framed, on
// stdout:
//
//	\n<M> BEGIN <id>\n<the command's stdout>\n<M> END <id> <rc>\n
//
// and on stderr:
//
//	\n<M> ERRBEGIN <id>\n<the command's stderr>\n<M> ERREND <id> <rc>\n
//
// and stdout ends with "\n<M> DONE\n". <M> is "DIFFY-" followed by 32
// random hex digits, new for every invocation; <id> is the command's ID
// (payload.ValidID); <rc> its exit status. The newline before each END
// line is the frame's, not the command's.
//
// # Nothing on the host's disk
//
// The script runs each command with sh -c and prints the frame lines with
// printf: no temporary file, no pipe, no command substitution. A DFIR tool
// should change the host it examines as little as it can (files in /tmp
// are evidence too), and a full or read-only disk must not stop it. So
// frames carry no byte length (measuring one needs a file or a pipe).
//
// # Strictness
//
// The END line is printed only after the command ended, and carries the
// invocation's random marker, the command's ID and its exit status; the
// transports that cut output (SSM's 24,000 characters through
// GetCommandInvocation, 2,500 through ListCommandInvocations, a script
// killed at its time limit) cut its tail. So a frame is Whole only when its
// END line arrived, and a frame without one is Cut: its content is
// returned only as what arrived, never to be parsed as whole. A frame whose
// END line is unreadable, or a command with two frames, is Malformed. Text
// outside frames (the agent's "---Output truncated---",
// "----------ERROR-------") is ignored, so Split can be given the combined
// output that ListCommandInvocations shows.
//
// A compromised host can print anything, including lines with the marker
// (it can read the script the agent stored): it can only lie about its own
// output, which it controls anyway; it cannot make another host's output
// wrong.
package ssmframe
