// Package analyze defines the Analyzer plugin, which turns collected
// Results into a Report, the Report format itself, and the analyzers
// Baseline (row diff against one clean host) and Clustering (no clean
// host needed).
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
// # Cluster
//
// Clustering needs no clean host. It finds the hosts that carry rows the
// rest of the fleet, or the host's own cluster, does not share, in three
// steps.
//
// Rows become features. Volatile columns are dropped (as for Baseline),
// then per-host tokens inside values are normalized (NormalizeRow): in the
// free-text columns (FreeTextColumns: cmdline, command, path, directory,
// key_file, ...) NormalizeText replaces UUIDs, EC2 instance IDs and host
// names, IPv4 and IPv6 addresses other than wildcard and loopback, runs of
// 12+ hex digits, runs of 6 to 11 decimal digits and numbers of the
// ephemeral port range with <uuid>, <id>, <host>, <ip>, <hex>, <num> and
// <port>; the address column of listening_ports becomes <ip> when it names
// one host. Structured columns (a port, a user or module name, a key) are
// never touched: a planted listener's port is what sets its row apart. A
// feature is a (command, normalized row) pair, interned by a 64-bit hash,
// and each host is a sparse set of features. A coarse form of each row
// also collapses the numbers of its free text and of process names
// ("1.4.2", "1.5.0-rc.1", "kworker/1:2" alike).
//
// Hosts are mapped and clustered. The coarse rows that at least 5% of the
// hosts have and at least 5% lack (at most 300, the most variable) are the
// informative features; their d×d covariance is accumulated from the
// sparse host sets and factorized with Gonum (mat.EigenSym), and the
// principal components that explain 90% of the variance (at most 8) give
// every host its coordinates (Host.Position holds the first two, for the
// HTML map). k-means (k-means++ seeding, three restarts, a fixed seed)
// runs on at most 4,000 hosts for k from 2 to 8; k is the smallest whose
// mean silhouette is within 0.05 of the best (one cluster when none
// reaches 0.4), and every host joins its nearest centre. Why this method: roles are groups of hosts sharing many
// rows, which a few principal components of the shared rows separate
// cleanly; it needs no parameter from the user, its memory is O(n·r + d²)
// (never an n×n matrix: 100,000 hosts are fine), and its time is linear in
// the rows. Report.Clusters lists each cluster's size and traits (kind
// "trait"): the rows most of it has (80%) and the rest of the fleet mostly
// lacks (at most half).
//
// The decision: a row of a host is rare when, in its coarse form, at most
// max(1, ⌊n/100⌋) of the n hosts carry it, or at most 1% of the host's
// cluster when the cluster has 100 hosts or more, unless it is a variant
// of a common row: a row with the same structured columns as a row more
// hosts carry, and free text sharing at least 75% of its words with it
// (another version in a path, another --service-cluster name). A host with
// a rare row is an outlier. The threshold counts hosts, not rows: a
// distinctive planted row is on one host, or a few, while what the fleet
// varies in benignly is shared by groups (a canary version on a few
// percent of the hosts is absorbed by the coarse form and the variant
// rule; a role or a sidecar is shared by tens of percent), so nothing needs
// tuning. Host.Score sums, over its rare rows, log2((n+1)/S) +
// log2((m+1)/s) (S and s: hosts carrying the coarse row in the fleet and
// in the cluster of m hosts), plus 0.1·log2((n+1)/F) for each variant or
// uncommon row (F hosts carry it, at most max(⌊n/100⌋, 5%)), which are
// listed as findings but never make an outlier. Findings (kind "rare",
// at most MaxFindings, highest weight first, so the most telling first)
// show the host's own row with volatile columns dropped; HostsWithRow
// counts the hosts that have the row once normalized.
//
// Known limits, measured in bench/README.md: a compromise that puts the
// same rows on many hosts (10% of a group) is not rare, and its hosts are
// not flagged (those rows are as common as a small role's); Report.Notes
// then names the rows that more than the rare threshold and at most 20%
// of the hosts share without setting any cluster apart, which is where
// such a compromise shows (groups of 50 hosts or more); a row missing from a host (a
// security agent stopped) is not a finding; in groups of under 50 hosts,
// a host alone in its kind is flagged with it, and Report.Notes says how
// far the result can be trusted.
//
// Clustering is a Streamer: its Stream takes the Results in batches (one
// file per host, say) and keeps of them only, per command, each distinct
// row once (volatile columns dropped) and, per host, the numbers of its
// rows; Analyze is one Stream given everything at once, so both give the
// same Report. diffy.Diffy.AnalyzeFiles streams files into it.
//
// Clustering keeps DefaultMaxFindings findings per host (MaxFindings
// changes it) and DefaultMaxTraits traits per cluster; its only errors are
// ctx's. Figures: 10,000 hosts of 175 rows take 1.5 s of CPU and 50 MiB
// beyond the input, 100,000 hosts 14 s and 0.4 GiB (bench/cluster).
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
