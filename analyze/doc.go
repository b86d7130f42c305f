// Package analyze defines the Analyzer plugin, which turns collected
// Results into a Report, the Report format itself, and the analyzers
// Baseline (row diff against a baseline) and Clustering (no clean host
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
// # Clustering
//
// Clustering needs no clean host: it learns from the whole fleet how its
// rows vary, and finds the hosts whose rows the fleet does not share.
//
// Rows. Volatile columns are dropped (as for Baseline) and per-host tokens
// in free text are replaced by placeholders (NormalizeRow). A process row
// also carries the name of its parent process, found by the parent pid
// among the same host's processes (never from a pid that matches none).
//
// Templates. A row is an instance of a template: the row with every
// chunk of a value that holds a digit abstracted (templateValue: versions,
// ports, minutes, worker numbers, ids). Which of those numbers matter,
// and which letter words vary, is learned per template from the fleet:
//
//   - A template few hosts carry is judged in its contexts
//     (templateContexts): the template with one column abstracted
//     ("holding the rest fixed"), or one word abstracted wherever it
//     occurs (a per-host name in both a path and a command line). In a
//     context most of whose rows have a value most hosts have (isUsual,
//     isDominated), the template is a deviation to flag: sshd's path on 1
//     host of 1,000. Values on more than a fifth of the hosts carried by
//     exactly the same hosts as another (a kind of host's set: the
//     container runtime's modules, a kernel build's) count with the usual
//     ones (settledDraws): they come beside the usual values, not instead
//     of them. In a context whose values are spread over many hosts with
//     none dominant (a container name, a worker id) the template is
//     benign variation. With no shared context it is a new row. A path that is
//     the usual one with the kernel's mark of a replaced file ("/usr/sbin/
//     rsyslogd (deleted)": a package upgrade under a daemon not restarted)
//     is a variant, listed, not deciding (isReplacedBinary).
//   - A template most hosts carry is judged by the values of each column
//     within it: a splayed minute, a random port of a common daemon, a
//     kworker name are spread; a port, a uid, a key or a module name
//     where one value dominates, a rare one is a deviation. In free text
//     (another version in a path) it is listed but does not decide; nor
//     does a uid or gid in the usual one's allocation range of
//     login.defs (1-999 system, 1000-60000 login; root apart), which
//     useradd gives in each host's order (drifted, idRange).
//   - The parent of a process is judged the same way: "bash" as the
//     parent of a daemon whose parent is systemd on every other host.
//     A row under a parent the fleet does not usually have (a session's
//     shell, a job) is part of that activity and does not decide
//     (inheritFromParents), except a usual daemon under a long-running
//     one of more than r hosts (a role's application): an exploit of it.
//
// Sessions. An operator logged in at collection time leaves rows on the
// few hosts that have a session (0.5-4%), rare by definition; what ties
// them to a login is on the host (sessionModel.markSessions). A process
// row that is new, or deviates in its command line alone, does not decide
// when it is of one of the host's operators' accounts (a users row of
// the host with a uid in login.defs' range for people, 1000-60000, and a
// login shell): it runs as that uid, its command line names the account
// ("sshd: ubuntu [priv]"), or it is the parent of such a process (a
// Session Manager session worker); and it runs what the fleet runs (the
// path of process rows on more than r hosts, or one beside its parent's
// that is) or, running as the account's uid, an executable of the
// directories the fleet's executables run from (ownInKnownDir: tmux's
// server daemonized under init, a "sleep 3600" left with nohup). What runs under it is part of that session, unless its
// executable lies outside the directories of the fleet's executables or
// under a hidden name (a miner from /tmp in the operator's shell). A
// listener is the session's when its process is (keepListeners): a
// session's row, under one through rows on at most a minority of the
// hosts, or caught running in a session's activity (youngRule). A
// service's user (no login shell), a path, parent or uid that deviates
// still decide. A users row new to the fleet that is such an account,
// with a session of it running on the host, is that session's trace and
// does not decide (accountsInSession: Session Manager's agent creates
// ssm-user at a host's first session); uid 0, a service's account or one
// with no session decide, and its keys are judged apart.
//
// Processes caught running. A process that started less than ρ·24 h
// before its collection (transientAge, 14.4 minutes at ρ = 1%: a job on
// at most ρ of the hosts that runs at most daily runs at most ρ of the
// time) is young: a job or a session caught at collection time, rare by
// definition, but also an attacker at work during the investigation. It
// decides (youngRule) when its executable is suspect wherever it runs (a
// hidden name, a file deleted since it started, a world-writable
// directory: /tmp, /var/tmp, /dev/shm; a pose as a kernel thread: an
// executable titled "[kworker/0:1]", or named as a path-less row of more
// than r hosts), or when its activity (the young processes of its chain
// of parents up to the oldest, below init) is none of the host's own
// work: cron's (a process of it, or above it, runs one of the host's
// crontab commands), the boot's (init itself is young), a session's (a
// process of it or above it is an operator's session) or init's (init
// started it, with a row new to the fleet or whose command line alone
// deviates, as a timer's job; not a daemon from another path, not a
// daemon under a role's application). A session's process decides too
// when it runs from outside the directories of the fleet's executables
// (inKnownDir), and init's activity when what init started does; what a
// crontab line or the boot names is the host's own configuration.
//
// Kernel threads. A processes row with neither an executable (path) nor
// a command line is the kernel's (isKernelThread): Linux gives every
// process of userland an executable (/proc/PID/exe; one deleted since it
// started shows its path marked " (deleted)", one run from memory
// "/memfd:..."), so only the kernel's code, built in or a module's, makes
// such a row (nfsiod and rpciod where an NFS file system is mounted, a
// data volume's xfs-buf/nvme1n1), or a zombie, which runs nothing. A
// kernel thread is listed but does not decide: what made it is judged in
// kernel_modules (a rootkit's module decides there, one hidden from
// /proc/modules by its trace in used_by). A process that poses as a
// kernel thread runs an executable, so it has a path, and is judged as a
// process.
//
// Placed workloads. What a container runtime's shim runs is the workload
// a scheduler placed on that host: a few of the fleet's images a host,
// each on its own share, an image on one host or two as often as not. A
// parent name P places (buildPlacements) when it is no root of a host's
// process tree (not init, not kthreadd), more than max(r, φ·n) hosts
// have a child of it, and its children's templates are spread over
// those hosts: with count(t) the hosts with a child of template t under
// P, the context of the counts is not dominated (isDominated over
// settledDraws, as a template's context is). A process row of a
// template on at most a minority of the hosts, new or deviating, under
// a parent that places, does not decide unless its executable is
// suspect wherever it runs (as a young process's is: deleted, a hidden
// name, a world-writable directory, a pose as a kernel thread: a miner
// from /tmp in a container decides); its listeners (the same path and
// command line) follow it (keepListeners). init's children are the
// host's services, most on most hosts: dominated, and init is a root.
// What it does not tell apart: an attacker's container whose program
// lies in an ordinary directory of its image (listed, not deciding:
// read the findings under the shims).
//
// Kernel modules (docs/kernel-modules.md). A module row that differs from
// its name's usual row only in used_by, every name it adds being a module
// the host lists, is the trace of those modules' rows and does not decide;
// an added name the host does not list is a module hidden from
// /proc/modules, and decides (usedByAdded). A module of the running
// kernel's tree has one size on every host of its build, so a name on at
// most a minority of the hosts, max(r, φ·n), shown with one size by two
// hosts or more is that build's module loaded on demand (a loop device, an
// iptables rule's xt_ modules) and does not decide (demandLoaded); the
// size, volatile in the rows, is tallied per name and size at ingest. A
// name with a size no other host shows (a rootkit, alone or under a
// module's name) decides.
// Otherwise it does not decide, and what runs under it is part of it.
//
// Spread over a kind of host. For a host's configuration (its accounts,
// keys, cron lines, modules: rows of nothing running), a context with no
// usual value explains a new template only when it spreads over more than
// max(r, φ·n) hosts or over a kind of host, the hosts of some template of
// the fleet (spreadExplains: a daemon's port varies on the daemon's hosts,
// a role's splayed line on the role's): a dozen hosts that each bring a
// key of their own do not vouch for each other. Its templates on more
// than max(r, φ·others) hosts each are settled values (configSettled: the
// deploy key's old and new value while it rotates), so a key no kind has,
// on one host, is a deviation.
//
// The decision. A row decides (makes its host an outlier) when at most
// rareCount(n) of the n hosts carry it (1%, at least one) and where it
// is judged no more than a fifth of the other hosts show such
// rows (decides: otherwise new rows are the norm there, variation this
// analysis did not learn). Host.Score is the evidence in bits, one surprise per cause
// (hostScore, noveltyRate, surprise). Every finding says why
// (Finding.Why), its template and how many hosts share the template and
// the usual value.
//
// Campaigns. Rows on more than 1% of the hosts but at most a fifth that no
// role or spread variation explains are not rare; when several of them,
// of different commands, sit together on the same hosts (beyond chance,
// with expected false links below one) and those hosts otherwise look
// like their group (they lack none of its usual rows but what the rows
// replace) and are drawn from it as at random (no template rarer on
// them than on the rest of their clusters beyond chance, a one-sided
// Fisher exact test with expected false deficits below one: the hosts of
// a role lack the other roles' rows; the rest counts only hosts booted,
// by their oldest process's start_time, no later than the youngest of the
// set's hosts: hosts launched after an implant spread are clean whatever
// they run, and what they alone run, their boot's jobs or a newer image,
// is no kind of host), they are an implant spread over
// many hosts: its hosts are outliers, and the first note names the rows
// as a likely campaign (findCampaigns says how). Benign jobs caught running are independent of
// each other; roles and versions lack rows the others have.
//
// Deployments. A service that configuration management or a package
// installs on a minority of the hosts (an EDR sensor, a monitoring agent,
// a daemon on a port of its own) is such a set of rows too: copies, on
// hosts otherwise like the rest, drawn at random. What tells it from an
// implant (findCampaigns test 7) is what its rows are: only processes
// and listeners whose executable lies under the package trees of the
// Filesystem Hierarchy Standard (/usr but /usr/local, /bin, /sbin, /lib,
// /opt, /snap) or in a directory the fleet's own executables (those of
// more than a fifth of the hosts) run from, under no hidden name, not
// deleted, naming no file in /tmp, /var/tmp, /dev/shm, /run/user or a
// home (paths judged once cleaned: /opt/kafka/bin/../logs is
// /opt/kafka/logs; a flag naming the program's temporary directory,
// -Djava.io.tmpdir=/tmp/elasticsearch-N, names where it writes, not what
// it runs); kernel modules; the package manager's records of the packages
// installed (deb_packages, rpm_packages: osquery's tables, which the
// standard pack does not query but other packs' results may carry);
// system users (a uid in login.defs' system range, 1-999, and no login
// shell, or one the group's processes run as: Debian's postgres and
// jenkins have /bin/bash); a package's cron job (Debian Policy 9.5.1: a
// file of /etc/cron.d) that runs installed programs on local files,
// fetching and decoding nothing (no URL, /dev/tcp, IPv4 address or data
// piped into a shell) and starting none of the group's daemons again. A
// service needs nothing else to run after a reboot and lets no one in;
// an implant must be started again and its operator must come back: a
// user's crontab line or a watchdog, an authorized key, a login account
// or a second uid 0, or a binary dropped where anyone can write, any one
// of which keeps the set a campaign. A deployment's hosts are not
// flagged; a note after the campaigns' names its rows ("a deployment on
// 21 of the 200 hosts, not flagged: ..."). An implant installed as a
// service (a binary in /usr/bin, its unit, its system user, a cron.d
// line running a helper of its own) passes as a deployment: read the
// notes.
//
// How far to trust it. Below 100 hosts (1/ρ) a row on one host is rare by
// definition, and the first note says the decision is weak at that size:
// read the hosts by Host.Rank. When more than a fifth of the hosts would
// be outliers, none is flagged, the first note says the decision is not
// to be trusted, and the hosts are ranked instead. The two constants, ρ
// (1%, DefaultRareShare) and φ (a fifth, DefaultMinorityShare), are the
// only ones of the decision (rarity.go); Clustering.RareShare and
// MinorityShare set others, and bench/README.md shows the detection
// figures over a range of each.
//
// Clusters. The templates that at least 5% of the hosts have and at least
// 5% lack (at most 300, the most variable) are the informative features;
// their covariance is factorized with Gonum (mat.EigenSym) and the
// principal components that explain 90% of the variance (at most 8) give
// every host its coordinates (Host.Position holds the first two, for the
// HTML map); k-means, with k chosen by the silhouette, groups the hosts
// (embed, clusterHosts). Report.Clusters lists each cluster's size and
// traits (kind "trait"): rows most of it has and the rest mostly lacks.
// Memory is O(n·r + d²), never an n×n matrix.
//
// Clustering is a Streamer: its Stream takes the Results in batches (one
// file per host, say) and keeps of them only, per command, each distinct
// row once (volatile columns dropped) and, per host, the numbers of its
// rows; Analyze is one Stream given everything at once, so both give the
// same Report. Of several Results of one (instance, command), the later
// collected is analyzed and the others are named in Report.Skipped.
// diffy.Diffy.AnalyzeFiles streams files into it.
//
// Clustering keeps every finding of every host (MaxFindings caps them;
// Host.FindingsOmitted counts those not kept) and DefaultMaxTraits traits
// per cluster; its only errors are ctx's and a RareShare or MinorityShare
// out of range. Figures: bench/README.md.
//
// # Changes
//
// Changes compares each host with its own past: the Results of an earlier
// collection of the same fleet, row sets per command as Baseline compares
// (volatile columns dropped, tokens normalized), so a row the host has and
// did not have is added, one it had and lost removed (diffy.Diffy.Diff).
// Hosts new since are reported without findings, hosts gone as skipped.
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
