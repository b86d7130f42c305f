// Package render writes an analyze.Report for people and programs: Table
// (aligned text for a terminal), JSON (the stable Report format of
// docs/design.md) and HTML (a self-contained page).
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
// Table and HTML take Options (WithMaxFindings, WithTitle, ...), applied in
// order, then every setting still unset takes its default: at most
// DefaultMaxFindings findings per outlier, DefaultMaxTraits traits per
// cluster, DefaultHTMLMaxOutliers outliers on the page, DefaultHTMLMaxPoints
// hosts on its map of DefaultHTMLMapWidth × DefaultHTMLMapHeight points.
// JSON indents by two spaces.
//
// # Errors
//
// The writers return the io.Writer's error; a nil Report, or an option out
// of its range (WithMaxPoints(0)), is an error matching
// diffyerr.ErrInvalidInput, before anything is written.
package render
