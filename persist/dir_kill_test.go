//go:build unix

package persist_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/diffy-dfir/diffy/persist"
)

// The kill test runs writers in child processes (this test binary again,
// told by killChildEnv to be a writer) and kills them with SIGKILL in the
// middle of a Put, round after round, on one store directory; then it
// checks what a crash can leave behind.

const killChildEnv = "DIFFY_TEST_DIR_KILL_CHILD" // the store path, in a child

var (
	killKinds = []persist.Kind{persist.KindCollection, persist.KindBaseline}
	killKeys  = []string{"web-asg", "i-0abc,i-0def", strings.Repeat("long-key.", 28)} // the last is 252 bytes: a .long directory
)

// killDoc is the document writer w puts as version v of key: about 450 KiB
// of JSON, different for every (key, w, v), with a checksum of its rows.
func killDoc(key, w string, v int) []byte {
	seed := sha256.Sum256([]byte(fmt.Sprintf("%s\x00%s\x00%d", key, w, v)))
	rng := rand.New(rand.NewPCG(binary.LittleEndian.Uint64(seed[:8]), binary.LittleEndian.Uint64(seed[8:16])))
	rows := make([]map[string]string, 2000)
	sum := sha256.New()
	for i := range rows {
		rows[i] = map[string]string{"pid": strconv.Itoa(i), "cmdline": fmt.Sprintf("%x%0200x", rng.Uint64(), rng.Uint64())}
		sum.Write([]byte(rows[i]["cmdline"]))
	}
	doc, err := json.Marshal(map[string]any{"key": key, "writer": w, "version": v, "rows": rows, "sum": fmt.Sprintf("%x", sum.Sum(nil))})
	if err != nil {
		panic(err)
	}
	return doc
}

// killChild writes forever: each of its goroutines puts new versions of
// every (kind, key) in turn, printing "begin" before and "wrote" after each
// Put. It runs until killed.
func killChild(path, name string) {
	d := persist.NewDir(path)
	out := bufio.NewWriter(os.Stdout)
	var mu sync.Mutex
	say := func(format string, args ...any) {
		mu.Lock()
		defer mu.Unlock()
		fmt.Fprintf(out, format+"\n", args...)
		out.Flush()
	}
	var wg sync.WaitGroup
	for g := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w := fmt.Sprintf("%s.%d", name, g)
			for v := 0; ; v++ {
				for _, kind := range killKinds {
					for ki, key := range killKeys {
						doc := killDoc(key, w, v)
						say("begin %s %s %d %d", w, kind, ki, v)
						if err := d.Put(context.Background(), kind, key, doc); err != nil {
							fmt.Fprintf(os.Stderr, "writer %s: %v\n", w, err)
							os.Exit(3)
						}
						say("wrote %s %s %d %d", w, kind, ki, v)
					}
				}
			}
		}()
	}
	wg.Wait()
}

// TestDirKillMidWrite checks that Dir's writes stay atomic under
// concurrent writers (two processes with two goroutines each, on the same
// keys) and through SIGKILL in the middle of a Put: after each kill every
// document present parses whole and equals, byte for byte, a version some
// writer put; every document reported written before the kill is still
// there (the old or a newer version, never nothing); the temporary files
// a killed Put leaves are never listed as keys; files are 0600 and
// directories 0700.
func TestDirKillMidWrite(t *testing.T) {
	if path := os.Getenv(killChildEnv); path != "" {
		killChild(path, os.Getenv(killChildEnv+"_NAME"))
		return
	}
	path := filepath.Join(t.TempDir(), "store")
	d := persist.NewDir(path)
	ctx := context.Background()
	const rounds = 4
	temps := 0
	var mu sync.Mutex             // guards reported
	reported := map[string]bool{} // "kind/keyIndex" of every Put reported done
	for round := range rounds {
		var wg sync.WaitGroup
		for c := range 2 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				// Kill after a few completed writes, at the next "begin":
				// in the middle of that Put (or of another goroutine's).
				done := killOneChild(t, path, fmt.Sprintf("r%dc%d", round, c), 2+round+c)
				mu.Lock()
				for _, k := range done {
					reported[k] = true
				}
				mu.Unlock()
			}()
		}
		wg.Wait()
		if t.Failed() {
			return
		}
		temps = checkKilledStore(t, ctx, d, path, reported)
	}
	t.Logf("%d rounds of 2 writer processes killed mid-Put: every document whole; %d temporary files of interrupted Puts left, none listed as a key",
		rounds, temps)
}

// killOneChild starts a writer child, waits until it reported minWrites
// completed Puts and has begun another, kills it with SIGKILL, and returns
// the "kind/keyIndex" of every Put it reported done.
func killOneChild(t *testing.T, path, name string, minWrites int) []string {
	cmd := exec.Command(os.Args[0], "-test.run=^TestDirKillMidWrite$")
	cmd.Env = append(os.Environ(), killChildEnv+"="+path, killChildEnv+"_NAME="+name)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Error(err)
		return nil
	}
	if err := cmd.Start(); err != nil {
		t.Error(err)
		return nil
	}
	var done []string
	killed := false
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		switch {
		case len(f) == 5 && f[0] == "wrote":
			done = append(done, f[2]+"/"+f[3])
		case len(f) == 5 && f[0] == "begin" && len(done) >= minWrites && !killed:
			if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
				t.Errorf("kill %s: %v", name, err)
			}
			killed = true
		}
	}
	err = cmd.Wait()
	if !killed {
		t.Errorf("writer %s ended before it was killed (%v): %s", name, err, stderr.String())
		return done
	}
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		t.Errorf("writer %s: want death by SIGKILL, got %v; stderr: %s", name, cmd.ProcessState, stderr.String())
	}
	return done
}

// checkKilledStore checks the store after the writers died and returns
// how many temporary files they left.
func checkKilledStore(t *testing.T, ctx context.Context, d *persist.Dir, path string, reported map[string]bool) int {
	t.Helper()
	for _, kind := range killKinds {
		keys, err := d.List(ctx, kind)
		if err != nil {
			t.Fatalf("List %s after kill: %v", kind, err)
		}
		for _, k := range keys {
			if !slices.Contains(killKeys, k) {
				t.Errorf("List %s after kill holds %q, which no writer put (a temporary file taken for a key?)", kind, k)
			}
		}
		for ki, key := range killKeys {
			doc, err := d.Get(ctx, kind, key)
			if err != nil {
				if reported[fmt.Sprintf("%s/%d", kind, ki)] {
					t.Errorf("document %s/%d was written before the kill and is gone: %v", kind, ki, err)
				}
				continue
			}
			if !slices.Contains(keys, key) {
				t.Errorf("document %s/%d can be read but List does not give it", kind, ki)
			}
			var head struct {
				Key, Writer string
				Version     int
			}
			if err := json.Unmarshal(doc, &head); err != nil {
				t.Errorf("document %s/%d (%d bytes) is torn: %v", kind, ki, len(doc), err)
				continue
			}
			if head.Key != key || !bytes.Equal(doc, killDoc(key, head.Writer, head.Version)) {
				t.Errorf("document %s/%d is not the version %d of writer %q byte for byte", kind, ki, head.Version, head.Writer)
			}
		}
	}
	temps := 0
	err := filepath.WalkDir(path, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := e.Info()
		if err != nil {
			return err
		}
		switch {
		case e.IsDir() && fi.Mode().Perm() != persist.DirMode:
			t.Errorf("directory %s has mode %v, want %v", p, fi.Mode().Perm(), persist.DirMode)
		case !e.IsDir() && fi.Mode().Perm() != persist.FileMode:
			t.Errorf("file %s has mode %v, want %v", p, fi.Mode().Perm(), persist.FileMode)
		}
		if !e.IsDir() && !strings.HasSuffix(e.Name(), ".json") {
			temps++
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return temps
}
