// Package analyze defines the Analyzer plugin, which turns collected
// Results into a Report, the Report format itself, and the analyzers
// Baseline (row diff against one clean host) and Cluster (no clean host
// needed).
//
// # Baseline
//
// Baseline compares each host with the Results of one known-clean
// instance, command by command, as sets of rows after dropping volatile
// columns: a row only the host has is "added", a row only the baseline has
// is "removed", and a host with any finding is an outlier, scored by its
// number of findings. Rows are matched whole by their RowKey, never by
// position, so hosts that differ only in pids, start times or module
// addresses are not outliers (the original Diffy's positional diff flagged
// every host). Results that did not succeed are listed in Host.Errors and
// give no findings; commands the baseline cannot compare are named in
// Report.Notes.
//
// # Defaults
//
// The volatile columns, dropped from rows before any comparison, are those
// of DefaultVolatile (a Volatile set on an analyzer replaces them):
//
//	every command    pid, start_time, uptime, time, unix_time, timestamp
//	listening_ports  fd, socket, net_namespace
//	processes        parent, pgroup, elapsed_time, user_time, system_time,
//	                 resident_size, total_size, wired_size, threads, nice,
//	                 state, disk_bytes_read, disk_bytes_written
//	kernel_modules   size, address
//
// users, crontab and authorized_keys keep every column.
//
// # Testing
//
// diffytest.TestAnalyzer runs the Analyzer contract against any
// implementation.
package analyze
