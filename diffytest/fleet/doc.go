// Package fleet generates a simulated fleet: EC2-like instances of one Auto
// Scaling group and, for each, the osquery-shaped rows of every command of
// payload.StandardPack(), with realistic benign variation and planted
// anomalies. The fakes of diffytest, the fake AWS endpoints of
// diffytest/awsfake, the analyzers' tests and the benchmarks all use it.
//
// A Fleet is a pure function of its Config: the same Seed gives the same
// instances, rows and plants (math/rand/v2 with a PCG seeded from Seed).
//
// # What a host looks like
//
// Every host carries about 150 rows: listening ports joined with their
// process, processes (kernel threads, system daemons, its role's services),
// crontab lines, kernel modules, users and authorized keys, with exactly the
// columns of the standard pack's SQL (payload/osquery.go), all values
// strings. The group's hosts differ in benign ways:
//
//   - Roles: Config.Roles roles ("web", "api", "worker", "cache") share one
//     group, each with its own services, listeners, processes, users,
//     crontab lines and kernel modules. Roles get fixed shares of the hosts
//     (for three roles: 50%, 30%, 20%).
//   - Canary: CanaryFraction of the hosts run the next version of their
//     role's application: another version string in paths and command
//     lines, and another image ID.
//   - Sidecar: SidecarFraction of the hosts run an Envoy sidecar (its
//     processes, listeners and user).
//   - Volatile columns: pids, parents, start times, kernel module sizes and
//     addresses vary from host to host.
//   - Per-host tokens inside values: instance IDs, hostnames, UUIDs, hex
//     ids, IPv4 and IPv6 addresses, and ephemeral worker ports appear inside
//     command lines and crontab commands, so that those rows are unique to
//     their host unless the tokens are normalized.
//   - Kernel worker threads: each host has its own subset of kworker names.
//
// CompromisedFraction of the hosts (at least one when the fraction is above
// zero) carry PlantsPerHost planted rows each, of distinct kinds drawn from:
// a listener (a bind or reverse shell on an odd port), a crontab line
// piping curl into sh, a kernel module, a uid-0 user, an SSH authorized key
// for root, and a process masquerading as a kernel thread ("[kworker/0:2]"
// running from /tmp). Each compromised host's plants are distinctive
// (random ports, names, keys), except with Config.Spread, where every
// compromised host carries the same planted rows (only pids and start times
// differ). No planted row occurs on a host that is not compromised.
//
// # Scoring an analyzer
//
// Fleet.Evaluate scores a Report against what was planted: host-level
// precision and recall of the Outlier flag, and the share of compromised
// hosts with a planted row among their first three findings. Stacking is
// the naive analysis to compare with: rows seen on fewer than a share of the
// hosts (0.01 for "1% stacking"), volatile columns dropped, nothing
// normalized. bench/cluster prints both for every scenario.
//
// # Memory
//
// Rows without per-host tokens are drawn from small pools of variants
// shared among hosts, so 100,000 hosts take well under a gigabyte. Rows and
// their maps may be shared between hosts and between calls: treat every
// collect.Row a Fleet hands out as read-only.
//
// # Defaults
//
// Generate fills zero fields of Config: Hosts 200, Roles 3 (at most 4),
// SidecarFraction 0.5, PlantsPerHost 1 (at most 2), GroupName "shop-prod",
// Account "123456789012", Region "us-east-1". CanaryFraction and
// CompromisedFraction stay as given (zero means none). Scenario names the
// ready-made configurations.
//
// # Testing
//
// The tests check determinism, the row shapes against the standard pack's
// SQL, the number of compromised hosts, and that no planted row occurs on a
// clean host.
package fleet
