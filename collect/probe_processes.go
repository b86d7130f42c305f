package collect

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path"
	"slices"
	"strconv"
	"strings"
)

// clockTicks is USER_HZ, the unit of /proc/PID/stat's times: 100 on every
// Linux ABI that Go supports.
const clockTicks = 100

// procInfo is what the processes table says of one process.
type procInfo struct {
	name, path, cmdline, uid, parent, startTime string
}

// probeProcesses answers the processes query: pid, name, path, cmdline,
// uid, parent, start_time for every process in /proc, by pid. name is
// status's Name; path the exe link ("" when unreadable, as for kernel
// threads); cmdline the arguments joined by spaces; uid the real uid;
// parent the PPid; start_time seconds since the epoch (btime + starttime /
// USER_HZ), "-1" when unknown. A process that exits during the scan is
// left out.
func probeProcesses(ctx context.Context, env *probeEnv) ([]Row, error) {
	pids, err := env.pids()
	if err != nil {
		return nil, err
	}
	btime := env.bootTime()
	rows := []Row{}
	for _, pid := range pids {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		p, err := env.proc(pid, btime)
		if err != nil {
			continue // exited during the scan
		}
		rows = append(rows, Row{
			"pid": strconv.Itoa(pid), "name": p.name, "path": p.path, "cmdline": p.cmdline,
			"uid": p.uid, "parent": p.parent, "start_time": p.startTime,
		})
	}
	return rows, nil
}

// pids lists the process IDs in /proc, in increasing order.
func (e *probeEnv) pids() ([]int, error) {
	ents, err := os.ReadDir(e.path("/proc"))
	if err != nil {
		return nil, fmt.Errorf("listing /proc: %w", unwrapPath(err))
	}
	var pids []int
	for _, ent := range ents {
		if pid, err := strconv.Atoi(ent.Name()); err == nil && pid > 0 && ent.IsDir() {
			pids = append(pids, pid)
		}
	}
	slices.Sort(pids)
	return pids, nil
}

// bootTime returns btime of /proc/stat, or -1.
func (e *probeEnv) bootTime() int64 {
	data, err := os.ReadFile(e.path("/proc/stat"))
	if err != nil {
		e.note("/proc/stat: %v; start_time is -1", unwrapPath(err))
		return -1
	}
	for _, line := range lines(data) {
		if v, ok := strings.CutPrefix(line, "btime "); ok {
			if n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64); err == nil {
				return n
			}
		}
	}
	e.note("/proc/stat has no btime line; start_time is -1")
	return -1
}

// proc reads process pid. An error means the process is gone (or its
// status unreadable); the other files are best effort, as in osquery.
func (e *probeEnv) proc(pid int, btime int64) (procInfo, error) {
	dir := path.Join("/proc", strconv.Itoa(pid))
	status, err := os.ReadFile(e.path(dir + "/status"))
	if err != nil {
		return procInfo{}, err
	}
	p := procInfo{startTime: "-1"}
	for _, line := range lines(status) {
		key, val, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		val = strings.TrimSpace(val)
		switch key {
		case "Name":
			p.name = val
		case "PPid":
			p.parent = val
		case "Uid":
			if f := strings.Fields(val); len(f) > 0 {
				p.uid = f[0]
			}
		}
	}
	if p.name == "" && p.parent == "" && p.uid == "" {
		return procInfo{}, errors.New(dir + "/status has no Name, PPid or Uid")
	}
	if cmd, err := os.ReadFile(e.path(dir + "/cmdline")); err == nil {
		p.cmdline = strings.TrimSpace(string(bytes.ReplaceAll(cmd, []byte{0}, []byte{' '})))
	}
	if exe, err := os.Readlink(e.path(dir + "/exe")); err == nil {
		p.path = exe
	}
	if stat, err := os.ReadFile(e.path(dir + "/stat")); err == nil && btime >= 0 {
		if ticks, ok := statStartTime(stat); ok {
			p.startTime = strconv.FormatInt(btime+ticks/clockTicks, 10)
		}
	}
	return p, nil
}

// statStartTime returns field 22 (starttime, in clock ticks since boot) of
// a /proc/PID/stat line. The command name (field 2) is in parentheses and
// may hold spaces and parentheses, so fields are counted after the last
// ')'.
func statStartTime(stat []byte) (int64, bool) {
	i := bytes.LastIndexByte(stat, ')')
	if i < 0 {
		return 0, false
	}
	f := strings.Fields(string(stat[i+1:]))
	const idx = 22 - 3 // the fields after ')' start at field 3 (state)
	if len(f) <= idx {
		return 0, false
	}
	n, err := strconv.ParseInt(f[idx], 10, 64)
	return n, err == nil && n >= 0
}
