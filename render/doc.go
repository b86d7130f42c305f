// Package render writes an analyze.Report for people and programs: Table
// (text for a terminal, 100 columns wide), JSON (the stable Report format
// of docs/design.md), CSV (one row per finding, for spreadsheets and
// scripts) and HTML (a self-contained page for triage: the verdict, the
// outliers, a map of every host, a table of every host).
//
// Everything in a Report that came from a host (rows, instance IDs, error
// texts) is untrusted: a compromised host can print ANSI escape sequences
// that rewrite the investigator's terminal, NUL bytes, invalid UTF-8 or
// HTML. Table and HTML pass all of it through Escape, the one
// terminal-safe escaper of Diffy, and HTML then through html/template;
// JSON keeps the content intact, escaped as encoding/json escapes strings;
// CSV keeps it intact too, but puts a quote before a cell a spreadsheet
// would run as a formula.
//
// No list is cut silently: where Table or HTML shows fewer findings than
// the report holds, or the analyzer kept fewer than it found
// (Host.FindingsOmitted), they say how many are left out and where they
// are.
//
// # Defaults
//
// Table and HTML take Options (WithMaxFindings, WithTitle, ...), applied in
// order, then every setting still unset takes its default: Table shows at
// most DefaultMaxFindings findings per outlier, one line per cluster, in
// lines of DefaultWidth columns; HTML lists at most DefaultHTMLMaxHosts
// hosts with their findings (DefaultHTMLMaxFindings each), the first
// DefaultHTMLOpen unfolded, draws a map from DefaultHTMLMinMapHosts hosts
// up, and shows DefaultHTMLTableRows rows of its table of every host until
// asked for more. JSON indents by two spaces.
//
// # Errors
//
// The writers return the io.Writer's error; a nil Report, or an option out
// of its range (WithWidth(10)), is an error matching
// diffyerr.ErrInvalidInput, before anything is written.
package render
