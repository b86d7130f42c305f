// Package render writes an analyze.Report for people and programs: Table
// (aligned text for a terminal), JSON (the stable Report format of
// DESIGN.md) and HTML (a self-contained page).
//
// Everything in a Report that came from a host (rows, instance IDs, error
// texts) is untrusted: a compromised host can print ANSI escape sequences
// that rewrite the investigator's terminal, NUL bytes, invalid UTF-8 or
// HTML. Table passes all of it through Escape, the one terminal-safe
// escaper of Diffy; HTML escapes through html/template; JSON keeps the
// content intact, escaped as encoding/json escapes strings.
//
// # Defaults
//
// Table shows at most DefaultMaxFindings findings per outlier (TableOptions
// changes it); JSON indents by two spaces.
//
// # Errors
//
// The writers return the io.Writer's error; a nil Report is an error
// matching diffyerr.ErrInvalidInput.
package render
