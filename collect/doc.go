// Package collect defines the Collector plugin, which runs a payload's
// commands on instances, and its value types Result, Row and Status, with
// the dependency-free collector Local.
//
// A Collector returns one Result per (instance, command): a host that fails
// is its own Result, never the whole run's error, and every instance asked
// for is accounted for. Results are the stable data format of docs/design.md; a
// collection file is a JSON array of them.
//
// Local runs on this machine: the payload's osquery queries through
// osqueryi when it is on PATH, and otherwise through built-in Go probes that
// produce the same columns for every query of the standard pack, so the
// library works with nothing installed. The AWS Systems Manager collector
// lives in collect/ssmcollect.
//
// # How Local runs a command
//
// The first rule that applies:
//
//  1. the command has a Query and osqueryi is found (Local.Osqueryi, or
//     on PATH) and Local.NoOsquery is false: `osqueryi --json QUERY`;
//  2. the command is one of payload.StandardPack's, with its standard
//     Query: the built-in probe of that ID;
//  3. the command has a Shell script: `sh -c SHELL`;
//  4. otherwise: a StatusFailed Result saying nothing here can run it.
//
// Programs run in a process group of their own, so that a timeout or a
// cancel kills a script's children too.
//
// # Built-in probes
//
// The probes read Linux's /proc, /etc and /var (under Local.Root) and
// print what osqueryi would for the standard queries, every value a
// string:
//
//   - listening_ports: TCP sockets in state LISTEN and UDP sockets with no
//     remote port, IPv4 and IPv6, from /proc/net/{tcp,tcp6,udp,udp6};
//     addresses as inet_ntop prints them; the process found by socket inode
//     among /proc/PID/fd (the lowest pid when several share it; pid "-1"
//     and empty name, path and cmdline when no readable process holds it).
//     Unix domain sockets, which osquery also lists, are left out.
//   - processes: every /proc/PID; name from status, path the exe link,
//     cmdline with NULs as spaces, real uid, parent, start_time in seconds
//     since the epoch (btime + starttime / 100).
//   - crontab: /etc/crontab, /etc/cron.d/*, /var/spool/cron/* and
//     /var/spool/cron/crontabs/*; "@reboot"-style lines fill event;
//     comments, blank lines and NAME=value lines are skipped; in system
//     crontabs the command starts with the user, as in osquery.
//   - kernel_modules: /proc/modules; used_by without its trailing comma,
//     "-" for none; no rows (and a note on stderr) when the kernel has no
//     loadable modules.
//   - users: /etc/passwd, lines that are not user entries skipped.
//   - authorized_keys: ~/.ssh/authorized_keys and authorized_keys2 of every
//     user, options skipped, comments and blank lines too.
//
// Files a host's users control (crontabs, passwd, key files) are read only
// when they are regular files (a FIFO or a link to /dev/zero is skipped
// with a note on stderr) and up to 16 MiB (a larger one fails the probe:
// it is never parsed in part). On other systems than Linux the probes give
// StatusFailed Results saying so; install osqueryi there.
//
// # Defaults
//
// Limits caps what one Result may hold: DefaultMaxBytes of stdout,
// DefaultMaxRows rows, DefaultMaxStderr of stderr. Output over a cap, or cut
// by the transport, is marked Truncated and never parsed as if whole; Local
// stops a command as soon as its stdout passes the cap.
//
// Local: osqueryi looked up on PATH; each command limited to
// DefaultLocalTimeout (2 minutes); at most runtime.GOMAXPROCS(0) commands
// at once; probes reading from "/".
//
// Collection files (JSON arrays of Results) are read by ResultDecoder, in
// one pass with the jsontext decoder of github.com/go-json-experiment/json,
// its rows built straight into a RowPool; Result.UnmarshalJSON and
// ParseRows read the same way, and accept what encoding/json accepted
// when this package used it.
//
// # Errors
//
// Output that is not a JSON array of objects is a Result with StatusFailed
// and an Error naming the command; ParseRows returns errors matching
// diffyerr.ErrInvalidInput, and so do ResultDecoder's ResultError and
// InputError, which give the byte offset of the problem.
//
// Local gives every instance other than target.LocalID StatusUndeliverable
// Results; a command it cannot start, that fails or times out is that
// command's Result. Its run error is only for bad arguments (an empty
// instance ID, an invalid command ID: diffyerr.ErrInvalidInput) or a
// cancelled ctx (wrapping ctx.Err(), with every unfinished command
// StatusCancelled).
//
// # Testing
//
// diffytest.TestCollector runs the Collector contract against any
// implementation. Local's probes take Local.Root, so tests can run them on
// a synthetic /proc and /etc tree as well as on the machine itself.
package collect
