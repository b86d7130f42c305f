// Package collect defines the Collector plugin, which runs a payload's
// commands on instances, and its value types Result, Row and Status, with
// the dependency-free collector Local.
//
// A Collector returns one Result per (instance, command): a host that fails
// is its own Result, never the whole run's error, and every instance asked
// for is accounted for. Results are the stable data format of DESIGN.md; a
// collection file is a JSON array of them.
//
// Local runs on this machine: the payload's osquery queries through
// osqueryi when it is on PATH, and otherwise through built-in Go probes that
// produce the same columns for every query of the standard pack, so the
// library works with nothing installed. The AWS Systems Manager collector
// lives in collect/ssmcollect.
//
// # Defaults
//
// Limits caps what one Result may hold: DefaultMaxBytes of stdout,
// DefaultMaxRows rows, DefaultMaxStderr of stderr. Output over a cap, or cut
// by the transport, is marked Truncated and never parsed as if whole.
//
// # Errors
//
// Output that is not a JSON array of objects is a Result with StatusFailed
// and an Error naming the command; ParseRows returns errors matching
// diffyerr.ErrInvalidInput.
//
// # Testing
//
// diffytest.TestCollector runs the Collector contract against any
// implementation.
package collect
