package payload

import (
	"context"
	"strings"
)

// The IDs of the standard query pack's commands.
const (
	ListeningPorts = "listening_ports"
	Processes      = "processes"
	Crontab        = "crontab"
	KernelModules  = "kernel_modules"
	Users          = "users"
	AuthorizedKeys = "authorized_keys"
)

// The IDs that other packs give osquery's tables of the package managers'
// records (a row per installed package: name, version, arch, ...). The
// standard pack does not query them (collect.Local has no probe for
// them); analyze knows them when results carry them: a package's record is
// what a deployment leaves on its hosts (see analyze's package doc,
// Deployments).
const (
	DebPackages = "deb_packages"
	RpmPackages = "rpm_packages"
)

// standardQueries is the standard pack, in the order it runs. The columns of
// each query are the contract the built-in probes of collect.Local follow.
var standardQueries = []struct{ id, desc, sql string }{
	{ListeningPorts, "listening sockets joined with their process: address, port, protocol, name, path, cmdline, pid",
		"SELECT lp.address, lp.port, lp.protocol, p.name, p.path, p.cmdline, lp.pid FROM listening_ports AS lp LEFT JOIN processes AS p USING (pid);"},
	{Processes, "running processes: pid, name, path, cmdline, uid, parent, start_time",
		"SELECT pid, name, path, cmdline, uid, parent, start_time FROM processes;"},
	{Crontab, "crontab entries of the system and of users: event, minute, hour, day_of_month, month, day_of_week, command, path",
		"SELECT event, minute, hour, day_of_month, month, day_of_week, command, path FROM crontab;"},
	{KernelModules, "loaded kernel modules: name, size, used_by, status, address",
		"SELECT name, size, used_by, status, address FROM kernel_modules;"},
	{Users, "local users: uid, gid, username, description, directory, shell",
		"SELECT uid, gid, username, description, directory, shell FROM users;"},
	{AuthorizedKeys, "SSH authorized keys of every user: username, algorithm, key, key_file",
		"SELECT u.username, k.algorithm, k.key, k.key_file FROM users AS u JOIN authorized_keys AS k USING (uid);"},
}

// StandardPack returns the standard osquery pack, one Command per query:
// listening_ports, processes, crontab, kernel_modules, users and
// authorized_keys. Each has its Query and the Shell script that runs it with
// osqueryi (see OsqueryShell).
func StandardPack() []Command {
	cmds := make([]Command, len(standardQueries))
	for i, q := range standardQueries {
		cmds[i] = QueryCommand(q.id, q.desc, q.sql)
	}
	return cmds
}

// QueryCommand returns an osquery Command with the given ID, description and
// SQL, its Shell set by OsqueryShell.
func QueryCommand(id, description, sql string) Command {
	return Command{ID: id, Description: description, Query: sql, Shell: OsqueryShell(sql)}
}

// OsqueryShell returns the POSIX shell script that runs sql with
// `osqueryi --json`, or, when osqueryi is not on the host's PATH, prints
// "osqueryi not found on this host" on stderr and exits with ExitNoOsquery.
// The script needs no credential.
func OsqueryShell(sql string) string {
	return "command -v osqueryi >/dev/null 2>&1 || { echo 'osqueryi not found on this host' >&2; exit 127; }\n" +
		"osqueryi --json " + ShellQuote(sql)
}

// ShellQuote quotes s for a POSIX shell as one word.
func ShellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// Osquery is the Payload of the standard osquery pack (StandardPack),
// followed by Extra, the caller's own queries. The zero value is the
// standard pack alone.
type Osquery struct {
	// Extra commands run after the standard pack; their IDs must not
	// collide with the pack's.
	Extra []Command
}

// Generate returns the standard pack followed by o.Extra, checked by
// Validate.
func (o Osquery) Generate(ctx context.Context, incident string) ([]Command, error) {
	return Commands(append(StandardPack(), o.Extra...)).Generate(ctx, incident)
}
