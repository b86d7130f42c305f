package childserver_test

import (
	"fmt"
	"os"
	"os/signal"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/diffy-dfir/diffy/bench/internal/childserver"
)

// TestMain makes this test binary the child when CHILDSERVER_CHILD says
// how to behave: "serve" logs a line, where it serves, two more lines,
// then waits for the interrupt; "fail" logs a line and exits 1.
func TestMain(m *testing.M) {
	switch os.Getenv("CHILDSERVER_CHILD") {
	case "":
		os.Exit(m.Run())
	case "serve":
		sig := make(chan os.Signal, 1)
		signal.Notify(sig, os.Interrupt)
		fmt.Fprintln(os.Stderr, "level=INFO msg=starting")
		fmt.Fprintln(os.Stderr, "level=INFO msg=serving url=http://127.0.0.1:4711/v1/ jobs=1")
		fmt.Fprintln(os.Stderr, "after 1", os.Getenv("DIFFY_SERVER_TOKEN"))
		fmt.Fprintln(os.Stderr, "after 2", os.Getenv("EXTRA"))
		<-sig
		fmt.Fprintln(os.Stderr, "interrupted")
		os.Exit(0)
	default:
		fmt.Fprintln(os.Stderr, "level=ERROR msg=no store")
		os.Exit(1)
	}
}

// TestStart: the URL is read from the log, without /v1/; the child gets
// the token and the extra environment; the lines after the URL reach
// rest, the last one written after Stop's interrupt; a child that exits
// before serving is an error.
func TestStart(t *testing.T) {
	var mu sync.Mutex
	var lines []string
	s, err := childserver.Start([]string{os.Args[0]}, []string{"CHILDSERVER_CHILD=serve", "EXTRA=x"}, func(l string) {
		mu.Lock()
		defer mu.Unlock()
		lines = append(lines, l)
	})
	if err != nil {
		t.Fatal(err)
	}
	if s.URL != "http://127.0.0.1:4711" || s.Pid <= 0 {
		t.Errorf("URL %q, pid %d", s.URL, s.Pid)
	}
	s.Stop()
	if want := []string{"after 1 " + childserver.Token, "after 2 x", "interrupted"}; !slices.Equal(lines, want) {
		t.Errorf("lines after the URL: %q, want %q", lines, want)
	}
	if _, err := childserver.Start([]string{os.Args[0]}, []string{"CHILDSERVER_CHILD=fail"}, nil); err == nil ||
		!strings.Contains(err.Error(), "exited before serving") {
		t.Errorf("a child that exits: %v", err)
	}
}
