package collect

import (
	"math"
	"time"
)

// Status is the outcome of one command on one instance. The values follow
// the invocation statuses of AWS Systems Manager so that an SSM status maps
// to itself; Local uses the same set.
type Status string

// The statuses a Result can have. Only StatusSuccess results carry rows that
// analyzers use.
const (
	// StatusSuccess: the command ran, exited 0, and its whole output
	// parsed as rows.
	StatusSuccess Status = "Success"
	// StatusFailed: the command ran and failed (non-zero exit), or its
	// output could not be parsed, or it was cut (see Result.Truncated).
	StatusFailed Status = "Failed"
	// StatusTimedOut: the command did not finish in its time limit.
	StatusTimedOut Status = "TimedOut"
	// StatusCancelled: the run was cancelled before the command finished.
	StatusCancelled Status = "Cancelled"
	// StatusUndeliverable: the command could not reach the instance (not
	// managed by SSM, agent down, unknown instance).
	StatusUndeliverable Status = "Undeliverable"
	// StatusTerminated: the command was stopped on the instance by the
	// system that ran it: the instance went away while the command ran,
	// or, through SSM (StatusDetails Terminated), the command went over
	// its MaxErrors and SSM cancelled the invocations it had not run.
	StatusTerminated Status = "Terminated"
)

// Done reports whether s is a final status. Every status above is final;
// pending states never appear in a Result.
func (s Status) Done() bool {
	switch s {
	case StatusSuccess, StatusFailed, StatusTimedOut, StatusCancelled, StatusUndeliverable, StatusTerminated:
		return true
	}
	return false
}

// Row is one row of a command's output: column name to value, as
// `osqueryi --json` prints it (every value a string).
//
// Treat the Rows of Results you are given as read-only, and copy a Row
// before changing it: a collector may share one Row between the Results of
// several hosts that have the same row (see RowPool), so a change would
// show on all of them.
type Row map[string]string

// Result is the outcome of one command on one instance. A collection file
// is a JSON array of Results. The JSON names are stable (see docs/design.md) and
// stay readable by the original Diffy's files, which had only instance_id,
// status, collected_at and stdout.
type Result struct {
	// InstanceID is the instance the command ran on.
	InstanceID string `json:"instance_id"`
	// CommandID is the payload.Command's ID. Empty means the one unnamed
	// command of the original's files.
	CommandID string `json:"command_id,omitempty"`
	// Status is the outcome.
	Status Status `json:"status"`
	// StatusDetails keeps the collector's finer status (SSM's
	// "Undeliverable", "DeliveryTimedOut", "Terminated", ...).
	StatusDetails string `json:"status_details,omitempty"`
	// CollectedAt is when the result was gathered.
	CollectedAt time.Time `json:"collected_at"`
	// Rows is the parsed output; nil unless Status is StatusSuccess.
	Rows []Row `json:"stdout"`
	// Stderr is the command's standard error, as the collector got it.
	Stderr string `json:"stderr"`
	// ExitCode is the command's exit status; -1 when it never ran or it
	// is unknown.
	ExitCode int `json:"exit_code"`
	// Error says what went wrong, naming the command, or is empty.
	Error string `json:"error"`
	// Truncated is set when the output was cut (by the transport's limit
	// or by a cap on what one Result may hold). A truncated Result is never
	// parsed as if whole: its Status is StatusFailed and Rows is nil.
	Truncated bool `json:"truncated,omitempty"`
	// RawBytes is the size of the command's stdout in bytes, when known.
	RawBytes int64 `json:"raw_bytes,omitempty"`
}

// OK reports whether r succeeded and its rows can be analyzed.
func (r *Result) OK() bool { return r.Status == StatusSuccess && !r.Truncated }

// UnmarshalJSON decodes a Result, accepting the original Diffy's shapes too:
// stdout as an array of row objects, or as a string holding such an array
// (or empty); row values that are numbers, booleans or null (turned into
// their JSON text, null into ""); collected_at as RFC 3339 or as the
// original's "2006-01-02 15:04:05[.999999]" form. A missing exit_code is -1
// unless the status is Success (0). An instance_id or command_id over
// MaxIDBytes is an error. Errors match diffyerr.ErrInvalidInput.
// The rows are not capped (a ResultDecoder caps them).
func (r *Result) UnmarshalJSON(data []byte) error {
	d := getDecoder(nil, math.MaxInt)
	defer d.put()
	out, err := d.unmarshalResult(data)
	if err != nil {
		return err
	}
	*r = out
	return nil
}

// ParseRows parses the output of `osqueryi --json`: a JSON array of
// objects. Values that are strings stay as they are; numbers and booleans
// become their JSON text; null becomes "". Nested arrays or objects,
// anything that is not an array of objects, and trailing data are errors
// matching diffyerr.ErrInvalidInput. Empty output is an error too: osqueryi
// prints [] for no rows. An array of no objects is a non-nil empty slice.
func ParseRows(data []byte) ([]Row, error) {
	d := getDecoder(nil, math.MaxInt)
	defer d.put()
	return d.parseRows(data)
}
