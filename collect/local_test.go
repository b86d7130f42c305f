package collect_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/diffy-dfir/diffy/collect"
	"github.com/diffy-dfir/diffy/diffyerr"
	"github.com/diffy-dfir/diffy/payload"
	"github.com/diffy-dfir/diffy/target"
)

var localInst = []target.Instance{{ID: target.LocalID}}

// collectOne runs one command on this machine and returns its Result.
func collectOne(t *testing.T, l collect.Local, c payload.Command) collect.Result {
	t.Helper()
	rs, err := l.Collect(context.Background(), localInst, []payload.Command{c})
	if err != nil {
		t.Fatalf("Collect(%s): %v", c.ID, err)
	}
	if len(rs) != 1 {
		t.Fatalf("Collect(%s) returned %d Results, want 1", c.ID, len(rs))
	}
	r := rs[0]
	if r.InstanceID != target.LocalID || r.CommandID != c.ID {
		t.Fatalf("Result is for (%q, %q), want (%q, %q)", r.InstanceID, r.CommandID, target.LocalID, c.ID)
	}
	if r.CollectedAt.IsZero() {
		t.Errorf("command %s: CollectedAt is zero", c.ID)
	}
	return r
}

// standard returns the standard pack's command id.
func standard(t *testing.T, id string) payload.Command {
	t.Helper()
	for _, c := range payload.StandardPack() {
		if c.ID == id {
			return c
		}
	}
	t.Fatalf("no standard command %q", id)
	return payload.Command{}
}

func shell(id, script string) payload.Command { return payload.Command{ID: id, Shell: script} }

func TestLocalShellSuccess(t *testing.T) {
	r := collectOne(t, collect.Local{}, shell("hello", `printf '[{"greeting":"hello","n":"1"}]'`))
	if r.Status != collect.StatusSuccess || r.ExitCode != 0 || r.Error != "" {
		t.Fatalf("got status %s exit %d error %q, want Success 0 \"\"", r.Status, r.ExitCode, r.Error)
	}
	if len(r.Rows) != 1 || r.Rows[0]["greeting"] != "hello" || r.Rows[0]["n"] != "1" {
		t.Errorf("rows = %v, want [{greeting:hello n:1}]", r.Rows)
	}
}

func TestLocalFailingCommandKeepsStderrAndExitStatus(t *testing.T) {
	r := collectOne(t, collect.Local{}, shell("fails", `echo partial; echo "disk on fire" >&2; exit 3`))
	if r.Status != collect.StatusFailed {
		t.Errorf("status = %s, want %s", r.Status, collect.StatusFailed)
	}
	if r.ExitCode != 3 {
		t.Errorf("exit code = %d, want 3", r.ExitCode)
	}
	if r.Stderr != "disk on fire\n" {
		t.Errorf("stderr = %q, want %q", r.Stderr, "disk on fire\n")
	}
	if !strings.Contains(r.Error, "fails") || !strings.Contains(r.Error, "3") || r.Rows != nil {
		t.Errorf("error = %q rows = %v, want an error naming command fails and status 3, no rows", r.Error, r.Rows)
	}
}

func TestLocalInvalidJSONIsFailedNamingCommand(t *testing.T) {
	for _, out := range []string{`not json`, `{"a":"b"}`, `[{"a":"b"}`, ``, `[{"a":{"nested":"x"}}]`} {
		r := collectOne(t, collect.Local{}, shell("badjson", "printf '%s' "+payload.ShellQuote(out)))
		if r.Status != collect.StatusFailed || !strings.Contains(r.Error, "badjson") || r.Rows != nil {
			t.Errorf("output %q: status %s error %q rows %v, want Failed, an error naming badjson, no rows", out, r.Status, r.Error, r.Rows)
		}
		if r.ExitCode != 0 {
			t.Errorf("output %q: exit code %d, want 0 (the command itself succeeded)", out, r.ExitCode)
		}
	}
}

func TestLocalOutputOverMaxBytesIsTruncatedNotParsed(t *testing.T) {
	// 20,000 valid rows: parseable, but far over the cap.
	script := `printf '['; i=0; while [ $i -lt 20000 ]; do printf '{"k":"v"},'; i=$((i+1)); done; printf '{"k":"v"}]'`
	l := collect.Local{Limits: collect.Limits{MaxBytes: 1000}}
	r := collectOne(t, l, shell("big", script))
	if r.Status != collect.StatusFailed || !r.Truncated || r.Rows != nil {
		t.Fatalf("status %s truncated %v rows %d, want Failed, truncated, no rows", r.Status, r.Truncated, len(r.Rows))
	}
	if !strings.Contains(r.Error, "big") || !strings.Contains(r.Error, "1000") {
		t.Errorf("error = %q, want it to name the command and the cap", r.Error)
	}
	if r.RawBytes > 1001 {
		t.Errorf("RawBytes = %d: read past the cap of 1000 (+1 to see it is over)", r.RawBytes)
	}
}

func TestLocalEndlessOutputIsStopped(t *testing.T) {
	// `yes` never ends on its own: the cap must stop it, not a timeout.
	l := collect.Local{Limits: collect.Limits{MaxBytes: 64 << 10}, Timeout: time.Hour}
	r := collectOne(t, l, shell("endless", `yes '{"k":"v"},'`))
	if r.Status != collect.StatusFailed || !r.Truncated {
		t.Fatalf("status %s truncated %v error %q, want Failed and truncated", r.Status, r.Truncated, r.Error)
	}
}

func TestLocalStderrIsCapped(t *testing.T) {
	l := collect.Local{Limits: collect.Limits{MaxStderr: 100}}
	r := collectOne(t, l, shell("noisy", `i=0; while [ $i -lt 1000 ]; do echo "warning number $i" >&2; i=$((i+1)); done; echo '[]'`))
	if r.Status != collect.StatusSuccess {
		t.Fatalf("status %s error %q, want Success", r.Status, r.Error)
	}
	if !strings.HasPrefix(r.Stderr, "warning number 0\n") || !strings.Contains(r.Stderr, "bytes cut]") || len(r.Stderr) > 150 {
		t.Errorf("stderr = %q (%d bytes), want the first 100 bytes and a cut marker", r.Stderr, len(r.Stderr))
	}
}

func TestLocalTimeout(t *testing.T) {
	l := collect.Local{Timeout: 50 * time.Millisecond}
	r := collectOne(t, l, shell("slow", `echo started >&2; sleep 3600`))
	if r.Status != collect.StatusTimedOut || r.Rows != nil || !strings.Contains(r.Error, "slow") {
		t.Errorf("status %s error %q, want TimedOut naming the command", r.Status, r.Error)
	}
	if r.Stderr != "started\n" {
		t.Errorf("stderr = %q, want what the command printed before it was killed", r.Stderr)
	}
}

func TestLocalCancelKillsRunningCommands(t *testing.T) {
	dir := t.TempDir()
	started := filepath.Join(dir, "started")
	// The script records its sleep's pid, then waits on it: cancelling must
	// kill the sleep too, not only the shell.
	hang := shell("hang", fmt.Sprintf(`sleep 3600 & echo $! > %s; wait`, payload.ShellQuote(started)))
	quick := shell("quick", `echo '[]'`)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		for {
			if b, err := os.ReadFile(started); err == nil && strings.HasSuffix(string(b), "\n") {
				cancel()
				return
			}
			time.Sleep(5 * time.Millisecond)
		}
	}()
	rs, err := collect.Local{}.Collect(ctx, localInst, []payload.Command{quick, hang})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Collect error = %v, want one matching context.Canceled", err)
	}
	if len(rs) != 2 {
		t.Fatalf("%d results, want 2", len(rs))
	}
	for _, r := range rs {
		switch r.CommandID {
		case "hang":
			if r.Status != collect.StatusCancelled || !strings.Contains(r.Error, "hang") {
				t.Errorf("hang: status %s error %q, want Cancelled naming the command", r.Status, r.Error)
			}
		case "quick":
			// It usually finished before the cancel; either way its Result
			// is final and whole.
			if r.Status != collect.StatusSuccess && r.Status != collect.StatusCancelled || r.Status == collect.StatusSuccess && r.Rows == nil {
				t.Errorf("quick: status %s rows %v error %q, want Success with its rows, or Cancelled", r.Status, r.Rows, r.Error)
			}
		}
	}
	if runtime.GOOS == "linux" {
		// SIGKILL is delivered asynchronously: wait (no time limit; the
		// test's own timeout catches a sleep that survived) until the
		// script's sleep is gone or a zombie.
		b, _ := os.ReadFile(started)
		pid := strings.TrimSpace(string(b))
		for {
			stat, err := os.ReadFile("/proc/" + pid + "/stat")
			if err != nil {
				break
			}
			if f := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+1:])); len(f) > 0 && f[0] == "Z" {
				break
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
}

func TestLocalCancelledBeforeStart(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	dir := t.TempDir()
	ran := filepath.Join(dir, "ran")
	cmds := []payload.Command{shell("a", "touch "+payload.ShellQuote(ran)), standard(t, payload.Users)}
	rs, err := collect.Local{}.Collect(ctx, localInst, cmds)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("error = %v, want context.Canceled", err)
	}
	if len(rs) != 2 {
		t.Fatalf("%d results, want 2", len(rs))
	}
	for _, r := range rs {
		if r.Status != collect.StatusCancelled || r.Error == "" {
			t.Errorf("%s: status %s error %q, want Cancelled with an error", r.CommandID, r.Status, r.Error)
		}
	}
	if _, err := os.Stat(ran); err == nil {
		t.Error("a command ran although the context was cancelled before Collect")
	}
}

func TestLocalOtherInstancesAreUndeliverable(t *testing.T) {
	insts := []target.Instance{{ID: "i-0abc"}, {ID: target.LocalID}, {ID: "i-0abc"}, {ID: target.LocalID}, {ID: "localhost"}}
	cmds := []payload.Command{shell("one", `echo '[{"x":"1"}]'`), shell("two", `echo '[]'`), shell("one", `echo 'not run'`)}
	rs, err := collect.Local{}.Collect(context.Background(), insts, cmds)
	if err != nil {
		t.Fatalf("Collect: %v (an unreachable instance must not fail the run)", err)
	}
	got := map[string]collect.Result{}
	for _, r := range rs {
		k := r.InstanceID + "/" + r.CommandID
		if _, dup := got[k]; dup {
			t.Errorf("two Results for %s", k)
		}
		got[k] = r
	}
	if len(rs) != 6 {
		t.Errorf("%d Results, want 6 (3 instances x 2 commands)", len(rs))
	}
	for _, id := range []string{"i-0abc", "localhost"} {
		for _, c := range []string{"one", "two"} {
			r := got[id+"/"+c]
			if r.Status != collect.StatusUndeliverable || !strings.Contains(r.Error, "only reaches this machine") || r.CollectedAt.IsZero() {
				t.Errorf("%s/%s: status %q error %q, want Undeliverable saying the local collector only reaches this machine", id, c, r.Status, r.Error)
			}
		}
	}
	if r := got["local/one"]; r.Status != collect.StatusSuccess || len(r.Rows) != 1 {
		t.Errorf("local/one: status %s rows %v error %q, want the first command of ID one to run", r.Status, r.Rows, r.Error)
	}
}

func TestLocalRejectsBadArguments(t *testing.T) {
	good := []payload.Command{shell("ok", "echo '[]'")}
	cases := []struct {
		name  string
		insts []target.Instance
		cmds  []payload.Command
	}{
		{"empty instance ID", []target.Instance{{ID: ""}}, good},
		{"invalid command ID", localInst, []payload.Command{shell("Bad ID", "echo '[]'")}},
		{"command with nothing to run", localInst, []payload.Command{{ID: "empty"}}},
	}
	for _, tc := range cases {
		rs, err := collect.Local{}.Collect(context.Background(), tc.insts, tc.cmds)
		if !errors.Is(err, diffyerr.ErrInvalidInput) || len(rs) != 0 {
			t.Errorf("%s: got %d results and error %v, want none and ErrInvalidInput", tc.name, len(rs), err)
		}
	}
}

func TestLocalConcurrentUse(t *testing.T) {
	l := collect.Local{NoOsquery: true, Concurrency: 2}
	cmds := append(payload.StandardPack(), shell("extra", `echo '[{"a":"b"}]'`))
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for range 4 {
		wg.Go(func() {
			rs, err := l.Collect(context.Background(), localInst, cmds)
			if err != nil {
				errs <- err
				return
			}
			if len(rs) != len(cmds) {
				errs <- fmt.Errorf("%d results, want %d", len(rs), len(cmds))
			}
			for _, r := range rs {
				if runtime.GOOS == "linux" && r.Status != collect.StatusSuccess {
					errs <- fmt.Errorf("%s: %s %s", r.CommandID, r.Status, r.Error)
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// fakeOsqueryi writes a fake osqueryi into dir: it records its arguments
// in dir/args (one per line) and its query in dir/query, then runs body.
func fakeOsqueryi(t *testing.T, dir, body string) string {
	t.Helper()
	p := filepath.Join(dir, "osqueryi")
	script := "#!/bin/sh\n" +
		`for a in "$@"; do printf '%s\n' "$a"; done > "$(dirname "$0")/args"` + "\n" +
		`printf '%s' "$2" > "$(dirname "$0")/query"` + "\n" + body + "\n"
	if err := os.WriteFile(p, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestLocalUsesOsqueryi(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("the fake osqueryi is a shell script")
	}
	dir := t.TempDir()
	fake := fakeOsqueryi(t, dir, `echo '[{"source":"fake osqueryi","n":"7"}]'`)
	q := payload.QueryCommand("quoted", "", `SELECT 'it''s' AS a, "b" AS c, '$HOME' AS d;`)

	r := collectOne(t, collect.Local{Osqueryi: fake}, q)
	if r.Status != collect.StatusSuccess || len(r.Rows) != 1 || r.Rows[0]["source"] != "fake osqueryi" {
		t.Fatalf("status %s rows %v error %q, want the fake's row", r.Status, r.Rows, r.Error)
	}
	args, _ := os.ReadFile(filepath.Join(dir, "args"))
	query, _ := os.ReadFile(filepath.Join(dir, "query"))
	if !strings.HasPrefix(string(args), "--json\n") || string(query) != q.Query {
		t.Errorf("osqueryi got args %q query %q, want --json and %q intact", args, query, q.Query)
	}

	// Found on PATH, and used for a standard query instead of the probe.
	t.Setenv("PATH", dir+string(os.PathListSeparator)+os.Getenv("PATH"))
	r = collectOne(t, collect.Local{}, standard(t, payload.Users))
	if r.Status != collect.StatusSuccess || len(r.Rows) != 1 || r.Rows[0]["source"] != "fake osqueryi" {
		t.Fatalf("with osqueryi on PATH: status %s rows %v, want the fake's row", r.Status, r.Rows)
	}
	if query, _ := os.ReadFile(filepath.Join(dir, "query")); string(query) != standard(t, payload.Users).Query {
		t.Errorf("osqueryi on PATH got query %q, want the users query", query)
	}

	// NoOsquery: the built-in probe answers, the fake is not run.
	os.Remove(filepath.Join(dir, "query"))
	r = collectOne(t, collect.Local{NoOsquery: true}, standard(t, payload.Users))
	if _, err := os.Stat(filepath.Join(dir, "query")); err == nil {
		t.Error("NoOsquery: osqueryi was run")
	}
	if runtime.GOOS == "linux" && (r.Status != collect.StatusSuccess || len(r.Rows) == 0 || r.Rows[0]["source"] != "") {
		t.Errorf("NoOsquery: status %s rows %d error %q, want the probe's users", r.Status, len(r.Rows), r.Error)
	}
}

func TestLocalOsqueryiFailureKeepsStderr(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("the fake osqueryi is a shell script")
	}
	fake := fakeOsqueryi(t, t.TempDir(), `echo 'Error: near "SELEC": syntax error' >&2; exit 1`)
	r := collectOne(t, collect.Local{Osqueryi: fake}, payload.QueryCommand("typo", "", "SELEC 1;"))
	if r.Status != collect.StatusFailed || r.ExitCode != 1 || !strings.Contains(r.Stderr, "syntax error") {
		t.Errorf("status %s exit %d stderr %q, want Failed, 1, the syntax error", r.Status, r.ExitCode, r.Stderr)
	}
	if !strings.Contains(r.Error, "typo") || !strings.Contains(r.Error, "syntax error") {
		t.Errorf("error = %q, want it to name the command and say why", r.Error)
	}
}

func TestLocalMissingOsqueryiBinaryIsFailedResult(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "no-such-osqueryi")
	r := collectOne(t, collect.Local{Osqueryi: missing}, payload.QueryCommand("q", "", "SELECT 1;"))
	if r.Status != collect.StatusFailed || !strings.Contains(r.Error, "q") || !strings.Contains(r.Error, "no-such-osqueryi") {
		t.Errorf("status %s error %q, want Failed naming the command and the program", r.Status, r.Error)
	}
}

func TestLocalWithoutOsqueryi(t *testing.T) {
	l := collect.Local{NoOsquery: true}
	// A query no probe answers, without a Shell: a Failed Result saying so.
	r := collectOne(t, l, payload.Command{ID: "custom", Query: "SELECT * FROM usb_devices;"})
	if r.Status != collect.StatusFailed || !strings.Contains(r.Error, "custom") || !strings.Contains(r.Error, "osqueryi") {
		t.Errorf("status %s error %q, want Failed naming the command and osqueryi", r.Status, r.Error)
	}
	// A standard ID with another query is not the probe's to answer: its
	// Shell runs.
	r = collectOne(t, l, payload.Command{ID: payload.Users, Query: "SELECT uid FROM users;", Shell: `echo '[{"uid":"from shell"}]'`})
	if r.Status != collect.StatusSuccess || len(r.Rows) != 1 || r.Rows[0]["uid"] != "from shell" {
		t.Errorf("status %s rows %v, want the Shell's row", r.Status, r.Rows)
	}
	// An osquery command's Shell on a host without osqueryi exits 127 and
	// says so.
	t.Setenv("PATH", t.TempDir()+string(os.PathListSeparator)+"/usr/bin:/bin")
	r = collectOne(t, l, payload.Command{ID: "custom", Shell: payload.OsqueryShell("SELECT 1;")})
	if _, err := os.Stat("/usr/bin/osqueryi"); err == nil {
		t.Skip("osqueryi is installed in /usr/bin")
	}
	if r.ExitCode != payload.ExitNoOsquery || !strings.Contains(r.Stderr, "osqueryi not found") {
		t.Errorf("exit %d stderr %q, want %d and the message", r.ExitCode, r.Stderr, payload.ExitNoOsquery)
	}
}
