// Package childserver runs examples/diffy-server as a child process for
// the bench drivers that measure it (bench/server, bench/connflood): the
// real binary, built from this tree, its log read until it says where it
// serves.
package childserver

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"time"
)

// Token is the bearer token the child is given (DIFFY_SERVER_TOKEN).
const Token = "bench-token-0123456789abcdefghijklmn"

// stopGrace is how long Stop waits for the child to exit after the
// interrupt before it kills it.
const stopGrace = 10 * time.Second

// Build builds ./examples/diffy-server (run from the module's root) into
// dir and returns the binary's path; the compiler's errors go to stderr.
func Build(dir string) (string, error) {
	bin := filepath.Join(dir, "diffy-server")
	build := exec.Command("go", "build", "-o", bin, "./examples/diffy-server")
	build.Stderr = os.Stderr
	if err := build.Run(); err != nil {
		return "", fmt.Errorf("building the server: %w", err)
	}
	return bin, nil
}

// Server is a running child.
type Server struct {
	// URL is where it serves: "http://127.0.0.1:PORT", without the
	// API's /v1/.
	URL string
	// Pid is the child's process ID.
	Pid int

	cmd  *exec.Cmd
	read chan struct{} // closed when its log is read to the end
}

// url finds where the server serves in its log line.
var url = regexp.MustCompile(`url=(http://[^ ]+)/v1/`)

// Start runs argv (the server binary, or a program such as prlimit that
// runs it) with env added to this process's environment and
// DIFFY_SERVER_TOKEN set to Token. It reads the child's log (its stderr)
// until a line says where it serves, copying the lines before that one to
// os.Stderr, and gives each later line to rest, on a goroutine of its own
// (nil: copied to os.Stderr). A child that exits before it serves is an
// error saying so.
func Start(argv, env []string, rest func(line string)) (*Server, error) {
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = append(append(os.Environ(), "DIFFY_SERVER_TOKEN="+Token), env...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	s := &Server{Pid: cmd.Process.Pid, cmd: cmd, read: make(chan struct{})}
	if rest == nil {
		rest = func(line string) { fmt.Fprintln(os.Stderr, line) }
	}
	sc := bufio.NewScanner(stderr)
	for sc.Scan() {
		if m := url.FindStringSubmatch(sc.Text()); m != nil {
			s.URL = m[1]
			break
		}
		fmt.Fprintln(os.Stderr, sc.Text())
	}
	go func() {
		defer close(s.read)
		for s.URL != "" && sc.Scan() {
			rest(sc.Text())
		}
		io.Copy(io.Discard, stderr) // after a line too long for sc: the child must not block on its log
	}()
	if s.URL == "" {
		err := sc.Err()
		s.Stop()
		return nil, fmt.Errorf("the server exited before serving (%v)", err)
	}
	return s, nil
}

// Stop interrupts the child, kills it if it has not exited stopGrace
// later, and waits for it and for its log to be read.
func (s *Server) Stop() {
	s.cmd.Process.Signal(os.Interrupt)
	kill := time.AfterFunc(stopGrace, func() { s.cmd.Process.Kill() })
	defer kill.Stop()
	<-s.read
	s.cmd.Wait()
}
