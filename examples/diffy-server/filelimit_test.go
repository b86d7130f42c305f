//go:build unix

package main

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestFileLimitFloodSparesTheOwner: the server program, in a child
// process whose file limit is 512, is held by twice that many half-open
// connections (the start of a request, never its end); the owner's
// request with the token is served, the server never runs out of file
// descriptors (no "too many open files" in its log: Accept never fails),
// and it caps the connections at the limit less the reserve for 2 jobs
// (320). Before, every connection was kept until its 10 s header
// deadline: the server reached its file limit, Accept failed with EMFILE
// (logged, retried) and no one was accepted, the owner included, until
// the held connections timed out.
func TestFileLimitFloodSparesTheOwner(t *testing.T) {
	const nofile = 512
	ch := startProgram(t, []string{"--listen", "127.0.0.1:0", "--store", t.TempDir(), "--jobs", "2"},
		serverChildNofile+"="+fmt.Sprint(nofile))
	addr := strings.TrimPrefix(ch.env.url, "http://")
	var flood []net.Conn
	for range 2 * nofile {
		flood = append(flood, halfOpen(t, addr))
	}
	owner := ownerClient()
	start := time.Now()
	code, _ := ch.env.getReused(owner, "/v1/jobs")
	took := time.Since(start)
	if code != http.StatusOK {
		t.Fatalf("the owner's request under the flood: %d, want 200", code)
	}
	hwm := childPeakRSS(t, ch.cmd.Process.Pid)
	for _, c := range flood {
		c.Close()
	}
	if err := ch.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	ch.cmd.Wait()
	<-ch.logDone
	log := ch.log.String()
	t.Logf("%d half-open connections, file limit %d: the owner served in %v; the child's peak RSS %s", len(flood), nofile, took.Round(time.Millisecond), hwm)
	if strings.Contains(log, "too many open files") {
		t.Errorf("the server ran out of file descriptors:\n%s", log)
	}
	if want := fmt.Sprintf("connections at the cap (--max-conns %d)", nofile-connReserveBase-2*connReservePerJob); !strings.Contains(log, want) {
		t.Errorf("the log does not say %q:\n%s", want, log)
	}
}

// childPeakRSS returns the VmHWM line of process pid, or "unknown".
func childPeakRSS(t *testing.T, pid int) string {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return "unknown"
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "VmHWM:"); ok {
			return strings.TrimSpace(v)
		}
	}
	return "unknown"
}
