package analyze

import (
	"maps"
	"slices"

	"github.com/diffy-dfir/diffy/collect"
	"github.com/diffy-dfir/diffy/payload"
)

// AnyCommand is the Volatile key whose columns are dropped from the rows of
// every command.
const AnyCommand = "*"

// Volatile names the columns whose values differ between identical hosts
// (process IDs, start times, load addresses) and so are dropped before rows
// are compared: command ID to column names, plus AnyCommand for columns
// dropped from every command. A nil Volatile drops nothing; analyzers take
// DefaultVolatile() when theirs is nil.
//
// A Volatile is read-only once in use: it is safe for concurrent use as
// long as no one changes it.
type Volatile map[string][]string

// DefaultVolatile returns the default volatile columns (see the package
// doc's # Defaults), a fresh map the caller may change:
//
//	AnyCommand       pid, start_time, uptime, time, unix_time, timestamp
//	listening_ports  fd, socket, net_namespace
//	processes        parent, pgroup, elapsed_time, user_time, system_time,
//	                 resident_size, total_size, wired_size, threads, nice,
//	                 state, disk_bytes_read, disk_bytes_written
//	kernel_modules   size, address
//
// users, crontab and authorized_keys keep every column but AnyCommand's.
//
// Process rows are thus compared by name, path, cmdline and uid; listening
// sockets by address, port, protocol and the owning process's name, path
// and cmdline; kernel modules by name, used_by (the modules that depend on
// it) and status. A module's size is stable for one kernel build but
// differs between builds (a canary kernel), and its address moves with
// every boot (KASLR), so both are dropped.
func DefaultVolatile() Volatile {
	return Volatile{
		AnyCommand:             {"pid", "start_time", "uptime", "time", "unix_time", "timestamp"},
		payload.ListeningPorts: {"fd", "socket", "net_namespace"},
		payload.Processes: {"parent", "pgroup", "elapsed_time", "user_time", "system_time",
			"resident_size", "total_size", "wired_size", "threads", "nice", "state",
			"disk_bytes_read", "disk_bytes_written"},
		payload.KernelModules: {"size", "address"},
	}
}

// Columns returns the columns dropped from the rows of commandID: those of
// AnyCommand, then those of commandID, without repeats. The result is a new
// slice; pass it to AppendRowKey to key many rows of one command.
func (v Volatile) Columns(commandID string) []string {
	out := slices.Clone(v[AnyCommand])
	for _, c := range v[commandID] {
		if !slices.Contains(out, c) {
			out = append(out, c)
		}
	}
	return out
}

// Strip returns a copy of row without the volatile columns of commandID.
// It never returns row itself, so the caller may change the result; a nil
// row gives an empty Row.
func (v Volatile) Strip(commandID string, row collect.Row) collect.Row {
	any, cmd := v[AnyCommand], v[commandID]
	out := make(collect.Row, len(row))
	for c, val := range row {
		if !slices.Contains(any, c) && !slices.Contains(cmd, c) {
			out[c] = val
		}
	}
	return out
}

// Key returns RowKey(v.Strip(commandID, row)) without building the
// stripped row.
func (v Volatile) Key(commandID string, row collect.Row) string {
	return string(v.AppendKey(nil, commandID, row))
}

// AppendKey appends v.Key(commandID, row) to dst and returns the extended
// slice. With a reused dst it allocates nothing for rows of up to 32
// columns: the fast path for keying millions of rows.
func (v Volatile) AppendKey(dst []byte, commandID string, row collect.Row) []byte {
	return appendKey(dst, row, v[AnyCommand], v[commandID])
}

// Clone returns a deep copy of v.
func (v Volatile) Clone() Volatile {
	if v == nil {
		return nil
	}
	out := make(Volatile, len(v))
	for k, cols := range maps.All(v) {
		out[k] = slices.Clone(cols)
	}
	return out
}
