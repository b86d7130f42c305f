package payload

import "context"

// Command is one thing to run on every instance. Its output is kept apart
// from every other command's, under its ID, from collection to report.
type Command struct {
	// ID names the command, stable across runs and releases
	// ("listening_ports"). It is what Results and Findings carry as
	// command_id. IDs are non-empty, unique within a payload, and made of
	// lower-case letters, digits, '_' and '-' (see ValidID).
	ID string `json:"id"`
	// Description says what the command collects, for people.
	Description string `json:"description,omitempty"`
	// Query is the osquery SQL of an osquery command, or empty. A collector
	// that can run osquery runs it as `osqueryi --json QUERY`; collect.Local
	// answers the standard pack's queries with built-in probes when osqueryi
	// is missing.
	Query string `json:"query,omitempty"`
	// Shell is the POSIX shell script to run on the host, for collectors
	// that run scripts (SSM Run Command). It prints a JSON array of objects
	// whose values are strings on stdout, exits non-zero on failure, and
	// contains no credential. For an osquery command it is the osqueryi
	// invocation of Query, which reports a missing osqueryi on stderr with
	// exit status ExitNoOsquery.
	Shell string `json:"shell,omitempty"`
}

// ExitNoOsquery is the exit status of an osquery command's Shell script on
// a host where osqueryi is not installed. Collectors map it to a Result
// whose error says so.
const ExitNoOsquery = 127

// Payload produces the commands to run for an incident.
//
// Generate may be called concurrently and honours ctx cancellation. It
// returns at least one command, with unique valid IDs, in a deterministic
// order; an error means no command can be run (it is not retried by
// Diffy). The incident ID may be used in the commands (for instance as a
// marker) but a payload never puts credentials in them.
type Payload interface {
	Generate(ctx context.Context, incident string) ([]Command, error)
}
