package collect_test

import (
	"bytes"
	"net"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/diffy-dfir/diffy/collect"
	"github.com/diffy-dfir/diffy/payload"
)

// These tests run the built-in probes for real, on this machine's /proc
// and /etc, and check them against what the test knows of itself.

// probeRows runs the standard command id through the built-in probe.
func probeRows(t *testing.T, id string) []collect.Row {
	t.Helper()
	r := collectOne(t, collect.Local{NoOsquery: true}, standard(t, id))
	if r.Status != collect.StatusSuccess {
		t.Fatalf("%s: status %s error %q stderr %q, want Success", id, r.Status, r.Error, r.Stderr)
	}
	if r.StatusDetails != "built-in probe" {
		t.Errorf("%s: StatusDetails %q, want the built-in probe to have answered", id, r.StatusDetails)
	}
	return r.Rows
}

// checkColumns fails unless every row has exactly the columns of id's
// query.
func checkColumns(t *testing.T, id string, rows []collect.Row, cols ...string) {
	t.Helper()
	for _, row := range rows {
		if len(row) != len(cols) {
			t.Fatalf("%s: row %v has %d columns, want %v", id, row, len(row), cols)
		}
		for _, c := range cols {
			if _, ok := row[c]; !ok {
				t.Fatalf("%s: row %v has no column %q", id, row, c)
			}
		}
	}
}

var portColumns = []string{"address", "port", "protocol", "name", "path", "cmdline", "pid"}

// ownProcess is what the processes table should say of this test binary.
func ownProcess(t *testing.T) (exe, name, cmdline string) {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	name = filepath.Base(exe)
	if len(name) > 15 { // the kernel's comm is 15 bytes
		name = name[:15]
	}
	return exe, name, strings.TrimSpace(strings.Join(os.Args, " "))
}

// findPort returns the listening_ports row of address and port.
func findPort(rows []collect.Row, address, port, protocol string) collect.Row {
	for _, row := range rows {
		if row["address"] == address && row["port"] == port && row["protocol"] == protocol {
			return row
		}
	}
	return nil
}

func checkOwnListener(t *testing.T, rows []collect.Row, address, port, protocol string) {
	t.Helper()
	exe, name, cmdline := ownProcess(t)
	row := findPort(rows, address, port, protocol)
	if row == nil {
		t.Fatalf("no listening_ports row for %s port %s protocol %s among %d rows", address, port, protocol, len(rows))
	}
	want := collect.Row{"address": address, "port": port, "protocol": protocol, "pid": strconv.Itoa(os.Getpid()),
		"path": exe, "name": name, "cmdline": cmdline}
	for k, v := range want {
		if row[k] != v {
			t.Errorf("listener %s:%s/%s: column %s = %q, want %q", address, port, protocol, k, row[k], v)
		}
	}
}

func TestProbeListeningPortsFindsOwnListeners(t *testing.T) {
	tcp, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer tcp.Close()
	udp, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer udp.Close()
	// A connected socket is not listening: dial the TCP listener and make
	// sure neither end of the connection is reported.
	conn, err := net.Dial("tcp4", tcp.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	var tcp6 net.Listener
	if l, err := net.Listen("tcp6", "[::1]:0"); err == nil {
		tcp6 = l
		defer l.Close()
	}

	rows := probeRows(t, payload.ListeningPorts)
	checkColumns(t, payload.ListeningPorts, rows, portColumns...)
	checkOwnListener(t, rows, "127.0.0.1", strconv.Itoa(tcp.Addr().(*net.TCPAddr).Port), "6")
	checkOwnListener(t, rows, "127.0.0.1", strconv.Itoa(udp.LocalAddr().(*net.UDPAddr).Port), "17")
	if tcp6 != nil {
		checkOwnListener(t, rows, "::1", strconv.Itoa(tcp6.Addr().(*net.TCPAddr).Port), "6")
	}
	local := conn.LocalAddr().(*net.TCPAddr)
	if row := findPort(rows, "127.0.0.1", strconv.Itoa(local.Port), "6"); row != nil {
		t.Errorf("the client end of a connection is reported as listening: %v", row)
	}
}

func TestProbeProcessesFindsItself(t *testing.T) {
	rows := probeRows(t, payload.Processes)
	checkColumns(t, payload.Processes, rows, "pid", "name", "path", "cmdline", "uid", "parent", "start_time")
	exe, name, cmdline := ownProcess(t)
	pid := strconv.Itoa(os.Getpid())
	var own collect.Row
	for _, row := range rows {
		if row["pid"] == pid {
			own = row
		}
	}
	if own == nil {
		t.Fatalf("no processes row for this test's pid %s among %d rows", pid, len(rows))
	}
	want := collect.Row{"pid": pid, "name": name, "path": exe, "cmdline": cmdline,
		"uid": strconv.Itoa(os.Getuid()), "parent": strconv.Itoa(os.Getppid())}
	for k, v := range want {
		if own[k] != v {
			t.Errorf("own process: column %s = %q, want %q", k, own[k], v)
		}
	}
	// start_time: after the machine booted, not after now.
	stat, err := os.ReadFile("/proc/stat")
	if err != nil {
		t.Fatal(err)
	}
	var btime int64 = -1
	for _, line := range strings.Split(string(stat), "\n") {
		if v, ok := strings.CutPrefix(line, "btime "); ok {
			btime, _ = strconv.ParseInt(v, 10, 64)
		}
	}
	start, err := strconv.ParseInt(own["start_time"], 10, 64)
	if err != nil || start < btime || start > time.Now().Unix() {
		t.Errorf("start_time %q: want seconds since the epoch between boot (%d) and now", own["start_time"], btime)
	}
	// pids are unique and ascending.
	last := 0
	for _, row := range rows {
		p, err := strconv.Atoi(row["pid"])
		if err != nil || p <= last {
			t.Fatalf("pid %q after %d: want ascending decimal pids", row["pid"], last)
		}
		last = p
	}
}

func TestProbeUsersFindsRoot(t *testing.T) {
	rows := probeRows(t, payload.Users)
	checkColumns(t, payload.Users, rows, "uid", "gid", "username", "description", "directory", "shell")
	root, err := user.Lookup("root")
	if err != nil {
		t.Skipf("this machine has no root user to compare with: %v", err)
	}
	for _, row := range rows {
		if row["username"] == "root" {
			if row["uid"] != root.Uid || row["gid"] != root.Gid || row["directory"] != root.HomeDir {
				t.Errorf("root row %v, want uid %s gid %s directory %s (os/user)", row, root.Uid, root.Gid, root.HomeDir)
			}
			return
		}
	}
	t.Errorf("no users row for root among %d rows", len(rows))
}

func TestProbeCrontabKernelModulesAuthorizedKeysRunHere(t *testing.T) {
	// What these find depends on the machine; they must answer, with the
	// query's columns, and agree with the files they read.
	rows := probeRows(t, payload.Crontab)
	checkColumns(t, payload.Crontab, rows, "event", "minute", "hour", "day_of_month", "month", "day_of_week", "command", "path")
	for _, row := range rows {
		data, err := os.ReadFile(row["path"])
		if err != nil || !bytes.Contains(data, []byte(strings.Fields(row["command"])[0])) {
			t.Errorf("crontab row %v: its file does not hold its command (%v)", row, err)
		}
	}

	r := collectOne(t, collect.Local{NoOsquery: true}, standard(t, payload.KernelModules))
	if r.Status != collect.StatusSuccess {
		t.Fatalf("kernel_modules: %s %s", r.Status, r.Error)
	}
	checkColumns(t, payload.KernelModules, r.Rows, "name", "size", "used_by", "status", "address")
	if data, err := os.ReadFile("/proc/modules"); err == nil {
		if n := bytes.Count(data, []byte("\n")); n != len(r.Rows) {
			t.Errorf("kernel_modules: %d rows for %d lines of /proc/modules", len(r.Rows), n)
		}
	} else if len(r.Rows) != 0 || !strings.Contains(r.Stderr, "/proc/modules") {
		t.Errorf("no /proc/modules here: rows %v stderr %q, want none and a note", r.Rows, r.Stderr)
	}

	rows = probeRows(t, payload.AuthorizedKeys)
	checkColumns(t, payload.AuthorizedKeys, rows, "username", "algorithm", "key", "key_file")
	for _, row := range rows {
		data, err := os.ReadFile(row["key_file"])
		if err != nil || !bytes.Contains(data, []byte(row["key"])) {
			t.Errorf("authorized_keys row %v: its file does not hold its key (%v)", row, err)
		}
	}
}

// BenchmarkProbes measures each built-in probe on this machine, through
// Local (so the JSON round trip of Limits.Fill is counted too), and the
// whole standard pack run at Local's default concurrency.
func BenchmarkProbes(b *testing.B) {
	l := collect.Local{NoOsquery: true}
	for _, c := range payload.StandardPack() {
		b.Run(c.ID, func(b *testing.B) {
			rows := 0
			for b.Loop() {
				rs, err := l.Collect(b.Context(), localInst, []payload.Command{c})
				if err != nil || rs[0].Status != collect.StatusSuccess {
					b.Fatalf("%v %s %s", err, rs[0].Status, rs[0].Error)
				}
				rows = len(rs[0].Rows)
			}
			b.ReportMetric(float64(rows), "rows")
		})
	}
	b.Run("standard_pack", func(b *testing.B) {
		for b.Loop() {
			if _, err := l.Collect(b.Context(), localInst, payload.StandardPack()); err != nil {
				b.Fatal(err)
			}
		}
	})
}
