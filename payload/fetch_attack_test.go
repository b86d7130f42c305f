//go:build linux

package payload_test

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/diffy-dfir/diffy/payload"
)

// The attacker of TestOsqueryCacheSwapAttack is this test binary run again
// as another user, with these variables set.
const (
	envSwapTarget    = "DIFFY_SWAP_TARGET"    // the path it swaps with its own
	envSwapEvil      = "DIFFY_SWAP_EVIL"      // its own directory, made by it
	envSwapEvilBin   = "DIFFY_SWAP_EVIL_BIN"  // where in it the fake osqueryi goes
	envSwapPrecreate = "DIFFY_SWAP_PRECREATE" // a directory it makes first, or ""
	envSwapMark      = "DIFFY_SWAP_MARK"      // the file its osqueryi touches
	envSwapWatch     = "DIFFY_SWAP_WATCH"     // the sha256sum executable
)

// nobody is the user the attacker runs as.
const nobody = 65534

// swapTries is how many times the victim's script runs under attack.
// Before the fix the attacker won within 4 tries in each of 6 runs
// (docs/reliability.md), so 30, over 7 times that, leave no doubt that it
// can win when the script lets it; after the fix it must never.
const swapTries = 30

func TestMain(m *testing.M) {
	if os.Getenv(envSwapTarget) != "" {
		swapAttacker()
		return
	}
	os.Exit(m.Run())
}

// TestOsqueryCacheSwapAttack is the attack on the osquery cache by a local
// user, run for real: as user nobody, the attacker makes the cache folder
// first in a folder open to everyone (as /var/tmp is), then, each time
// sha256sum (which the script runs to check the cached copy) exits, swaps
// the digest's directory with its own, holding its own osqueryi, with
// renameat2(RENAME_EXCHANGE), so that the script runs its program as root.
// Before the fix the script checked only the last folder and lost the
// race; now it refuses a folder of another user's on the way, says so,
// and runs nothing from it. Without a folder made first, the script works
// in the shared folder and the attacker cannot swap anything of root's.
func TestOsqueryCacheSwapAttack(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("the attack needs two users: the script runs as root, the attacker as nobody; run the tests as root")
	}
	e := newFetchEnv(t)
	watch, err := filepath.EvalSymlinks(filepath.Join(e.bin, "sha256sum"))
	if err != nil {
		t.Fatal(err)
	}
	base, err := os.MkdirTemp("", "diffy-swap-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(base) })
	shared := filepath.Join(base, "shared") // like /var/tmp
	for _, d := range []struct {
		path string
		mode os.FileMode
	}{{base, 0o755}, {shared, 0o777 | os.ModeSticky}} {
		if err := os.MkdirAll(d.path, 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(d.path, d.mode); err != nil {
			t.Fatal(err)
		}
	}
	attacker := filepath.Join(base, "attacker")
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	if err := copyFile(self, attacker, 0o755); err != nil {
		t.Fatal(err)
	}
	f := e.fetch()
	f.Dir = filepath.Join(shared, "diffy-osquery")
	sum16 := f.SHA256[:16]
	mark := filepath.Join(base, "attacker-ran")

	t.Run("folder made first by the attacker", func(t *testing.T) {
		// The attacker makes the folder and waits while root's first run
		// fills the cache (the old script downloaded into it), then swaps
		// the digest's directory on every later run.
		env := map[string]string{
			envSwapPrecreate: f.Dir, envSwapTarget: filepath.Join(f.Dir, sum16),
			envSwapEvil: filepath.Join(f.Dir, ".x"), envSwapEvilBin: "osqueryi", envSwapMark: mark, envSwapWatch: watch,
		}
		startAttacker(t, attacker, env).stop()
		want := f.Dir + " belongs to user 65534, not to root or this user (0)"
		used := 0 // runs that did not refuse the folder
		if _, errOut, code, _ := e.run(f.Shell("SELECT 1;")); code != payload.ExitFetchFailed || !strings.Contains(errOut, want) {
			used++
			t.Errorf("first run: exit %d, stderr %q: want exit %d and %q", code, errOut, payload.ExitFetchFailed, want)
		}
		delete(env, envSwapPrecreate)
		a := startAttacker(t, attacker, env)
		for try := 1; try <= swapTries; try++ {
			_, errOut, code, _ := e.run(f.Shell("SELECT 1;"))
			if _, err := os.Stat(mark); err == nil {
				t.Fatalf("try %d: the attacker's osqueryi ran as root (%d runs used the folder; attacker: %s)", try, used, a.stop())
			}
			if code != payload.ExitFetchFailed || !strings.Contains(errOut, want) {
				if used++; used == 1 {
					t.Errorf("try %d: exit %d, stderr %q: want exit %d and %q", try, code, errOut, payload.ExitFetchFailed, want)
				}
			}
		}
		t.Logf("%d tries, the attacker never won; %d runs did not refuse the folder (attacker: %s)", swapTries, used, a.stop())
		if e.gets.Load() != 0 {
			t.Errorf("%d downloads into a folder of another user's", e.gets.Load())
		}
	})

	t.Run("folder made by the script", func(t *testing.T) {
		os.Remove(mark)
		if err := os.RemoveAll(f.Dir); err != nil { // the attacker's, from above
			t.Fatal(err)
		}
		if _, _, code, ran := e.run(f.Shell("SELECT 1;")); code != 0 || !ran {
			t.Fatalf("first run: exit %d, ran %v", code, ran)
		}
		a := startAttacker(t, attacker, map[string]string{
			envSwapTarget: f.Dir, envSwapEvil: filepath.Join(shared, ".x"), envSwapEvilBin: sum16 + "/osqueryi",
			envSwapMark: mark, envSwapWatch: watch,
		})
		for try := 1; try <= swapTries; try++ {
			out, errOut, code, ran := e.run(f.Shell("SELECT 1;"))
			if _, err := os.Stat(mark); err == nil {
				t.Fatalf("try %d: the attacker's osqueryi ran as root (attacker: %s)", try, a.stop())
			}
			if code != 0 || !ran || !strings.Contains(out, "SELECT 1;") {
				t.Fatalf("try %d: exit %d, ran %v, stdout %q, stderr %q", try, code, ran, out, errOut)
			}
		}
		t.Logf("%d tries, the attacker never won; every run ran the checked copy (attacker: %s)", swapTries, a.stop())
	})
}

// attackerProc is a running attacker; stop ends it and returns its tally.
type attackerProc struct {
	cmd   *exec.Cmd
	tally chan string
}

func (a *attackerProc) stop() string {
	if a.cmd.Process != nil {
		a.cmd.Process.Kill()
	}
	return <-a.tally
}

// startAttacker runs the attacker as nobody and waits until it is ready.
func startAttacker(t *testing.T, bin string, env map[string]string) *attackerProc {
	t.Helper()
	cmd := exec.Command(bin)
	cmd.Env = []string{"PATH=/usr/bin:/bin"}
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: nobody, Gid: nobody}}
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	a := &attackerProc{cmd: cmd, tally: make(chan string, 1)}
	ready := make(chan error, 1)
	go func() {
		sc := bufio.NewScanner(out)
		counts := map[string]int{}
		first := true
		for sc.Scan() {
			if first {
				first = false
				if sc.Text() != "ready" {
					ready <- fmt.Errorf("attacker: %s", sc.Text())
					continue
				}
				ready <- nil
				continue
			}
			counts[sc.Text()]++
		}
		if first {
			ready <- errors.New("attacker exited before it was ready")
		}
		cmd.Wait()
		a.tally <- fmt.Sprint("exchanges ", counts)
	}()
	if err := <-ready; err != nil {
		a.stop()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			a.stop()
		}
	})
	return a
}

// swapAttacker is the attacker: it makes its folders, says "ready", then
// each time the sha256sum executable is closed (a sha256sum process
// exited) exchanges the target with its own directory, and back a moment
// later. It prints one line per exchange tried: "swapped" or the error.
func swapAttacker() {
	die := func(err error) { fmt.Println(err); os.Exit(1) }
	if d := os.Getenv(envSwapPrecreate); d != "" {
		if err := os.Mkdir(d, 0o755); err != nil {
			die(err)
		}
	}
	evil := os.Getenv(envSwapEvil)
	bin := filepath.Join(evil, os.Getenv(envSwapEvilBin))
	if err := os.MkdirAll(filepath.Dir(bin), 0o755); err != nil {
		die(err)
	}
	script := "#!/bin/sh\ntouch " + payload.ShellQuote(os.Getenv(envSwapMark)) + "\necho '[]'\n"
	if err := os.WriteFile(bin, []byte(script), 0o755); err != nil {
		die(err)
	}
	fd, err := unix.InotifyInit1(unix.IN_CLOEXEC)
	if err != nil {
		die(err)
	}
	if _, err := unix.InotifyAddWatch(fd, os.Getenv(envSwapWatch), unix.IN_CLOSE_NOWRITE); err != nil {
		die(err)
	}
	fmt.Println("ready")
	target := os.Getenv(envSwapTarget)
	buf := make([]byte, 64*(unix.SizeofInotifyEvent+unix.NAME_MAX+1))
	for {
		n, err := unix.Read(fd, buf)
		if err != nil {
			die(err)
		}
		for off := 0; off+unix.SizeofInotifyEvent <= n; {
			ev := (*unix.InotifyEvent)(unsafe.Pointer(&buf[off]))
			off += unix.SizeofInotifyEvent + int(ev.Len)
		}
		err = unix.Renameat2(unix.AT_FDCWD, target, unix.AT_FDCWD, evil, unix.RENAME_EXCHANGE)
		if err != nil {
			fmt.Println(err)
			continue
		}
		fmt.Println("swapped")
		time.Sleep(20 * time.Millisecond) // the script runs what it finds meanwhile
		unix.Renameat2(unix.AT_FDCWD, target, unix.AT_FDCWD, evil, unix.RENAME_EXCHANGE)
	}
}

func copyFile(from, to string, mode os.FileMode) error {
	in, err := os.Open(from)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(to, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
