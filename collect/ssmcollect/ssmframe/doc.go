// Package ssmframe builds the shell script that runs several commands in one
// SSM Run Command invocation and splits the invocation's stdout back into
// each command's own output.
//
// # Why framing
//
// One AWS-RunShellScript invocation per batch of instances, carrying every
// command of the payload, needs the fewest API calls (see package
// ssmcollect), but then the commands share one stdout. The original Diffy
// parsed that shared stdout as one JSON document, which broke as soon as two
// queries ran. Here each command's output is a frame:
//
//	\n<M> BEGIN <id> <rc> <outlen> <errlen>\n<stdout bytes><stderr bytes>\n<M> END <id>\n
//
// and the script ends with "\n<M> DONE\n". <M> is "DIFFY-" followed by 32
// random hex digits, new for every invocation; <id> is the command's ID
// (payload.ValidID); <rc> its exit status; <outlen> and <errlen> the byte
// lengths of its stdout and of its stderr (the stderr clipped on the host to
// MaxStderr bytes). The frame's content is taken by length, so nothing the
// command prints (not even a copy of the marker) can end a frame early.
//
// # Strictness
//
// Split never guesses. A frame whose content is shorter than its header
// says, or whose END line is missing or names another command, is cut: the
// transport stopped (SSM's 24,000-character limit, the 2,500-character
// limit of ListCommandInvocations, a killed script). A cut frame's content is
// never returned as whole. A header that cannot be parsed is malformed.
// Text outside frames (the agent's own messages, "---Output truncated---")
// is ignored.
//
// # For fakes
//
// ParseScript recovers the marker and the commands from a script built by
// Script, and AppendFrame and AppendDone write what the script prints, so a
// fake SSM endpoint can answer without a shell.
package ssmframe
