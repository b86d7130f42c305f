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
// # Fleets with real variation: Sim
//
// Generate's fleets vary in a few fixed ways. A Sim (NewSim, SimConfig) is
// a scenario of (Hosts, Seed, Families, Attacks) whose hosts vary the way
// the hosts of a real group do, in families of variation that are switched
// on and off one by one (Families, ParseFamilies), each drawing its shares
// and counts from seeded ranges so that no family has one fixed shape:
//
//   - FamilyRoles: 2 to 5 roles of a catalog (web behind nginx and pm2, a
//     JVM api, celery workers, redis, an envoy gateway, pgbouncer), shares
//     from a flat Dirichlet floored at 4%, at least 2 hosts a role; off,
//     one role.
//   - FamilySplay: 2 to 4 crontab lines of configuration management with
//     a schedule drawn from the host's name (fqdn_rand): by the minute (60
//     variants), twice or four times an hour (30, 15), daily in a window
//     of hours (hundreds), weekly (thousands), or after a per-host sleep;
//     off, the same lines with one schedule.
//   - FamilyRollout: each role's application in a deploy pipeline: the new
//     version on a share of [0.15, 0.85] of the hosts, a canary of
//     [0.005, 0.03] on the next one, which opens a port of its own;
//     versions are semantic, dated, git commits; start times follow the
//     deploy. Off, one version.
//   - FamilyTokens: per-host tokens in values: instance IDs, ip-10-...
//     host names and private addresses in command lines and listening
//     addresses, UUIDs, an ephemeral metrics port, systemd-networkd's
//     DHCP socket on the private address, and the collection's own
//     processes (the SSM document worker with the command and instance
//     IDs, its shell, osqueryi running the processes query).
//   - FamilySizes: a mixed-instances policy of 1 to 3 instance families
//     and 2 or 3 sizes: per-CPU kernel threads (cpuhp/N, migration/N,
//     ksoftirqd/N, ...), kworker names of the size's pools
//     ("kworker/u16:3-events_unbound"), worker counts (nginx, pm2,
//     celery, envoy), JVM heaps. Off, one instance type.
//   - FamilyDaemons: known daemons on random high ports on a minority:
//     remote JMX on a share of [0.05, 0.30] of the JVM hosts (the RMI
//     server on a port drawn at each start), rpcbind and rpc.statd (ports
//     drawn at boot, with the NFS client's modules, threads and users) on
//     a share of [0.05, 0.30]; a service configuration management installs
//     with its package on [0.05, 0.20] (zabbix_agent2 with two modules,
//     memcached, consul, haproxy, telegraf: its process from /usr, its
//     listener on a port drawn for the group from [10000, 60000] or, half
//     the time, at each start, its system user); and one daemon
//     installed with its package on [0.05, 0.15], in the shape that
//     package leaves (postgres with its workers and a /bin/bash user,
//     jenkins and kafka with remote JMX on the group's port and RMI on one
//     drawn at start, munin-node with its cron.d line, uwsgi's forked
//     workers on one port, elasticsearch with its temporary directory
//     under /tmp).
//   - FamilyImages: hosts launched from 2 or 3 successive images of the
//     launch template (Ubuntu 22.04 with kernels 6.2, 6.5 or 6.8, 24.04):
//     kernel threads (6.8 names workqueue rescuers kworker/R-*), module
//     sets and sizes, daemons' paths and users' uids, the launch key
//     pair. Off, one image.
//   - FamilyContainers: on a share of [0.4, 1] of the hosts, Docker
//     (containerd, dockerd, a docker-proxy per published port on 0.0.0.0
//     and ::, moved off ports the host already uses) or Kubernetes
//     (kubelet, containerd's CRI server on a port drawn at start,
//     kube-proxy, the VPC CNI, a pause process per pod); 1 to 2-6
//     containers a host from 4 to 8 images weighted by a flat Dirichlet,
//     drawn anew at each collection; shims with 64-hex IDs; the
//     containers' own listeners (osquery sees every network namespace);
//     the runtime's kernel modules.
//   - FamilyJobs: 5 to 9 short-lived jobs, each caught running on a share
//     of [0.005, 0.05] of the hosts at a collection: cron's children
//     (run-parts of cron.hourly, and of cron.daily with a script and its
//     children: logrotate and gzip, mandb, dpkg-db-backup and tar,
//     updatedb, find and sort; sysstat, the role's own job, a
//     configuration-management run), logrotate, apt's daily update with
//     its http methods, unattended-upgrade's dpkg, mandb, fstrim,
//     systemd-tmpfiles, the release check, an IMDS token fetched with
//     curl, a backup upload; systemd timers' e2scrub_all, sysstat's sa2,
//     certbot renew, motd-news, update-notifier, a journal shipper's and
//     a health check's one-shots; jobs of cron.d lines every host carries
//     when the fleet has the job: a nightly backup script with dated file
//     names (tar and gzip, pg_dump, rsync over ssh, aws s3 cp), half the
//     time caught 20-90 minutes after it started, salt-call, ansible-pull
//     with git and its AnsiballZ modules; a Kubernetes CronJob's pod.
//   - FamilyPackages: upgrades caught half done: the SSM agent's snap
//     refreshing to a new revision (the agent's, its worker's and the
//     document worker's paths), node_exporter linked from a versioned
//     directory, the new version on a share of [0.1, 0.9] each (a week
//     earlier, less); 1 or 2 binaries replaced under daemons that were
//     not restarted, on [0.05, 0.6] ("/usr/bin/dbus-daemon (deleted)",
//     the image's Python under every Python process older than the
//     upgrade).
//   - FamilyLogShippers: the log shipper being replaced by another
//     (fluent-bit, filebeat, vector, td-agent-bit, the OpenTelemetry
//     collector) on [0.1, 0.9] of the hosts, [0, 0.05] running both,
//     with their users and listeners.
//   - FamilyUsers: 2 to 6 operators of configuration management (most on
//     [0.9, 1] of the hosts, one being added, maybe one being removed)
//     with their keys, uids pinned or allocated by useradd in each host's
//     order; ssm-user on [0.05, 0.4]; the deploy key rotated on
//     [0.1, 0.9], both keys on [0, 0.1]. Package users (any family) take
//     the highest free uid below 1000 where the image took theirs.
//   - FamilyVolumes: 0 to 3 data volumes a host, weights from a flat
//     Dirichlet (ext4: a journal thread and a workqueue each; XFS: eight
//     threads and its module); EFS over TLS on [0.1, 0.6] (stunnel on a
//     local port drawn at mount time and named in its configuration
//     file, the mount watchdog, NFSv4's modules and threads).
//   - FamilySessions: operators logged in on [0.005, 0.04] of the hosts
//     at a collection, over SSH (sshd's [priv] and pts processes,
//     systemd --user, (sd-pam), a login shell and what it runs, through
//     sudo or not) or, for [0, 0.6] of them, Session Manager (the session
//     worker with its session ID, ssm-user's shell); a tenth each a file
//     transfer (sftp-server or scp under sshd's notty process), a process
//     left under init with nohup after the operator left (sleep, tail),
//     sudo -i's root shell, tmux (its server under init) or screen; tools
//     from top to a python REPL, kubectl and docker logs.
//   - FamilyAgents: an agent rolled out on [0.1, 0.9] of the hosts: an EDR
//     sensor with its kernel modules or in eBPF mode, or a monitoring
//     agent with its listeners and user.
//   - FamilyBoot: [0.005, 0.03] of the hosts launched minutes before the
//     collection: cloud-init's final stage running the user data and
//     configuration management's first pass; the role's services,
//     crontab lines, monitoring, containers, agents and operators are not
//     there yet. It changes launch times, never which instance fills a
//     slot.
//   - FamilyModules (not in AllFamilies: switch it on by name): kernel
//     modules loaded on demand since boot by one action, each on a share of
//     [0.003, 0.03] of the hosts: a loop device, an ISO or UDF mount, an
//     iptables or nft rule, one docker run, an NFS or CIFS mount,
//     cryptsetup, an LVM snapshot, tcp_bbr, WireGuard, VXLAN; every module
//     an added one depends on lists it in its used_by, newest first.
//
// Host.Traits name each host's draws ("size=m5.2xlarge", "version=2.14.0",
// "containers=3", "job=logrotate", "session=ssh", "booting", ...).
//
// Every host has the base system of its image (kernel threads, systemd's
// daemons, the SSM agent, node_exporter, the CloudWatch agent, a log
// shipper), exactly the columns of the standard pack's SQL, in the order
// osquery prints them (processes by pid, modules newest first, keys by
// the users joined on uid), with pids that follow a boot sequence and a
// per-host pid rate, parents that exist, and start times between boot
// and collection.
//
// Attacks (Attacks, AttackKinds) plant single-host attacks on a share of
// [0.005, 0.03] of the hosts, one or two each, each host its own values: a
// bind shell listening with its process, crontab persistence, a rootkit
// module, a uid-0 user (with root's keys joined to it), the attacker's
// SSH key, a process posing as a kernel thread from /tmp or /dev/shm, a
// renamed miner, a system daemon run from a new path with its usual
// command line (the genuine row replaced), a second daemon started by the
// role's application (only its parent differs); and the campaign: one
// implant (miner, crontab line, key) with the same rows on a share of
// [0.05, 0.09]. The attackers started their processes 10 minutes to 5
// days before the collection; on the share Attacks.Young of the
// compromised hosts (none by default), 30 seconds to 10 minutes before:
// caught at work. Sim.Truth says which hosts and rows (Planted.Replaced,
// Planted.Detail), and Truth.Evaluate scores a Report as Fleet.Evaluate
// does. Sim.WeekEarlier is the same group a week before: the hosts
// replaced since (a share of [0.03, 0.15]) not yet replaced, each rollout
// a step behind (today's rolling version was the canary), no attack: the
// fleet-baseline scenario.
//
// A Sim holds a few bytes per host and generates a host on demand (Host,
// All), so that 100,000 hosts stream in bounded memory: AppendJSON prints
// a host's Results without building maps, WriteDir writes one file per
// host on every core. Host i is a function of (Seed, i) alone: hosts can
// be generated in any order; and each family draws from its own stream,
// so that switching one off leaves the others' draws as they were (but
// what depends on a host's role, which changes without FamilyRoles, and a
// booting host's services, which FamilyBoot holds back).
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
// NewSim fills zero fields of SimConfig: Hosts 200, GroupName "shop-prod",
// Account "123456789012", Region "us-east-1"; zero Families is none, zero
// Attacks plants nothing, and zero shares in Attacks are drawn from the
// ranges above. Its hosts are collected at 2026-11-26T12:00:00Z (a week
// earlier for WeekEarlier).
//
// # Testing
//
// The tests check determinism, the row shapes against the standard pack's
// SQL, the number of compromised hosts, and that no planted row occurs on a
// clean host; for Sims also that each family is switchable (its variation
// there alone, gone without it, the other families unchanged), the truth
// (every planted row on its host and on no clean host, the campaign's rows
// the same everywhere), the week-earlier pair, that AppendJSON prints what
// json.Marshal prints, and, in BenchmarkSimStream, the heap at 1,000 to
// 100,000 hosts.
package fleet
