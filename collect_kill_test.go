//go:build unix

package diffy_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/diffy-dfir/diffy"
	"github.com/diffy-dfir/diffy/collect"
	"github.com/diffy-dfir/diffy/diffytest"
	"github.com/diffy-dfir/diffy/payload"
	"github.com/diffy-dfir/diffy/persist"
	"github.com/diffy-dfir/diffy/target"
)

// The kill tests run a Diffy collection in a child process (this test
// binary again, told by collectKillEnv what to do), kill it with SIGKILL
// in the middle, and check from the parent what the store holds: every
// batch stored before the kill is there, loadable and complete, and a
// later run resumes from it.

const (
	collectKillEnv   = "DIFFY_TEST_COLLECT_KILL" // "store path,mode,rows per result" in a child
	killKey          = "web-asg"
	killIncident     = "kill-test"
	killBatch        = 2
	killInstances    = 12
	killBlockAtBatch = 4 // in mode "block", the collector hangs in this batch
)

var killCommands = payload.Commands{
	{ID: "processes", Shell: "ps"}, {ID: "listening_ports", Shell: "ss"}, {ID: "crontab", Shell: "crontab -l"},
}

func killInstanceIDs() []string {
	ids := make([]string, killInstances)
	for i := range ids {
		ids[i] = fmt.Sprintf("i-%017d", i)
	}
	return ids
}

// killResult is the Result the fake collector gives for (instance,
// command): rows rows of about 200 bytes, the same in every process.
func killResult(inst, cmd string, rows int) collect.Result {
	r := collect.Result{InstanceID: inst, CommandID: cmd, Status: collect.StatusSuccess,
		CollectedAt: time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC), Stderr: "", ExitCode: 0, Rows: []collect.Row{}}
	for i := range rows {
		r.Rows = append(r.Rows, collect.Row{"n": strconv.Itoa(i), "instance": inst, "command": cmd,
			"cmdline": strings.Repeat(fmt.Sprintf("%s/%s/%d ", inst, cmd, i), 5)})
	}
	return r
}

// killCollector answers every batch with killResult; calls counts the
// batches; in block mode the call numbered killBlockAtBatch prints
// "blocking" and waits for ctx (which never ends: the process is killed).
func killCollector(mode string, rows int, out io.Writer, asked *[]string, mu *sync.Mutex) collect.Collector {
	calls := 0
	return diffytest.CollectorFunc(func(ctx context.Context, insts []target.Instance, cmds []payload.Command) ([]collect.Result, error) {
		mu.Lock()
		calls++
		n := calls
		for _, in := range insts {
			*asked = append(*asked, in.ID)
		}
		mu.Unlock()
		if mode == "block" && n == killBlockAtBatch {
			fmt.Fprintln(out, "blocking")
			<-ctx.Done()
			return nil, ctx.Err()
		}
		var rs []collect.Result
		for _, in := range insts {
			for _, c := range cmds {
				rs = append(rs, killResult(in.ID, c.ID, rows))
			}
		}
		return rs, nil
	})
}

// announcingStore is a persist.Dir that says "put KIND KEY" on stdout
// before each Put and waits for a line on stdin before it goes on: the
// parent answers and, when it means to, kills the child right after, so
// the kill lands while that batch is being stored (or the next one being
// collected), and the child can never run ahead of the parent.
type announcingStore struct {
	*persist.Dir
	say func(format string, a ...any)
	in  *bufio.Reader
}

func (s announcingStore) Put(ctx context.Context, kind persist.Kind, key string, doc []byte) error {
	s.say("put %s %s", kind, key)
	if _, err := s.in.ReadString('\n'); err != nil {
		os.Exit(4) // the parent is gone
	}
	return s.Dir.Put(ctx, kind, key, doc)
}

// killDiffy makes the Diffy of the kill tests, in the child and in the
// parent alike: same target, payload, store, batch size and incident.
func killDiffy(path string, coll collect.Collector, progress func(diffy.Progress), opts ...diffy.Option) *diffy.Diffy {
	d, err := diffy.New(append([]diffy.Option{
		diffy.WithTarget(target.StaticIDs(killKey, killInstanceIDs()...)),
		diffy.WithPayload(killCommands),
		diffy.WithCollector(coll),
		diffy.WithStore(persist.NewDir(path)),
		diffy.WithBatchSize(killBatch),
		diffy.WithIncident(killIncident),
		diffy.WithProgress(progress),
		diffy.WithLogger(slog.New(slog.DiscardHandler)),
	}, opts...)...)
	if err != nil {
		panic("diffy.New: " + err.Error()) // the options above are all valid
	}
	return d
}

// collectKillChild runs one collection and reports progress on stdout.
func collectKillChild(spec string) {
	parts := strings.Split(spec, ",")
	path, mode := parts[0], parts[1]
	rows, _ := strconv.Atoi(parts[2])
	out := bufio.NewWriter(os.Stdout)
	var asked []string
	var mu sync.Mutex
	say := func(format string, a ...any) { fmt.Fprintf(out, format+"\n", a...); out.Flush() }
	d := killDiffy(path, killCollector(mode, rows, writerFunc(func(p []byte) (int, error) {
		say("%s", bytes.TrimSpace(p))
		return len(p), nil
	}), &asked, &mu), func(p diffy.Progress) {
		if p.Stage == "collect" {
			say("progress %d %d", p.Done, p.Total)
		}
	}, diffy.WithStore(announcingStore{persist.NewDir(path), say, bufio.NewReader(os.Stdin)}))
	if _, err := d.Collect(context.Background(), killKey); err != nil {
		say("error %v", err)
		os.Exit(3)
	}
	say("finished")
	os.Exit(0)
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

// runKilled starts a child collection and kills it with SIGKILL at the
// first line for which kill returns true. It returns the progress Done
// values reported before the kill, and whether the child finished first.
func runKilled(t *testing.T, path, mode string, rows int, kill func(line string, progress []int) bool) (progress []int, finished bool) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestCollectKill")
	cmd.Env = append(os.Environ(), fmt.Sprintf("%s=%s,%s,%d", collectKillEnv, path, mode, rows))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	defer stdin.Close()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	killed := false
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		line := sc.Text()
		if f := strings.Fields(line); len(f) == 3 && f[0] == "progress" {
			n, _ := strconv.Atoi(f[1])
			progress = append(progress, n)
		}
		if line == "finished" {
			finished = true
		}
		if strings.HasPrefix(line, "error ") {
			t.Errorf("child collection failed: %s", line)
		}
		if killed {
			continue
		}
		if strings.HasPrefix(line, "put ") {
			if _, err := io.WriteString(stdin, "go\n"); err != nil {
				t.Fatalf("answer the child: %v", err)
			}
		}
		if kill(line, progress) {
			if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
				t.Fatalf("kill: %v", err)
			}
			killed = true
		}
	}
	err = cmd.Wait()
	if killed {
		if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
			t.Fatalf("child: want death by SIGKILL, got %v; stderr: %s", cmd.ProcessState, stderr.String())
		}
	} else if err != nil {
		t.Fatalf("child: %v; stderr: %s", err, stderr.String())
	}
	return progress, finished
}

// checkParts checks every part in the store: each is a JSON array of the
// Results of one whole batch (killBatch instances, or fewer for the last,
// times every command), each Result exactly as collected. It returns the
// instances whose Results are stored.
func checkParts(t *testing.T, path string, rows int) map[string]bool {
	t.Helper()
	ctx := context.Background()
	st := persist.NewDir(path)
	keys, err := st.List(ctx, persist.KindPartial)
	if err != nil {
		t.Fatal(err)
	}
	stored := map[string]bool{}
	for _, k := range keys {
		doc, err := st.Get(ctx, persist.KindPartial, k)
		if err != nil {
			t.Fatalf("part %s: %v", k, err)
		}
		var rs []collect.Result
		if err := json.Unmarshal(doc, &rs); err != nil {
			t.Fatalf("part %s (%d bytes) does not load: %v", k, len(doc), err)
		}
		insts := map[string]int{}
		for _, r := range rs {
			insts[r.InstanceID]++
			want := killResult(r.InstanceID, r.CommandID, rows)
			if r.Status != want.Status || !r.CollectedAt.Equal(want.CollectedAt) || len(r.Rows) != rows || !slices.EqualFunc(r.Rows, want.Rows, func(a, b collect.Row) bool {
				return fmt.Sprint(a) == fmt.Sprint(b)
			}) {
				t.Errorf("part %s: Result %s/%s differs from the one collected", k, r.InstanceID, r.CommandID)
			}
		}
		if len(insts) == 0 || len(insts) > killBatch {
			t.Errorf("part %s holds %d instances, want 1..%d", k, len(insts), killBatch)
		}
		for id, n := range insts {
			if n != len(killCommands) {
				t.Errorf("part %s: instance %s has %d Results, want one per command (%d)", k, id, n, len(killCommands))
			}
			stored[id] = true
		}
	}
	return stored
}

// TestCollectKillMidCollection kills a collection while its collector
// hangs in the 4th batch: the 3 batches before are in the store, whole;
// Partial reports them; a new run with the same incident collects only the
// 6 instances left and stores the whole collection.
func TestCollectKillMidCollection(t *testing.T) {
	if spec := os.Getenv(collectKillEnv); spec != "" {
		collectKillChild(spec)
		return
	}
	path := t.TempDir() + "/store"
	const rows = 20
	progress, _ := runKilled(t, path, "block", rows, func(line string, _ []int) bool { return line == "blocking" })
	wantDone := (killBlockAtBatch - 1) * killBatch
	if len(progress) == 0 || progress[len(progress)-1] != wantDone {
		t.Fatalf("progress before the kill %v, want it to end at %d", progress, wantDone)
	}
	stored := checkParts(t, path, rows)
	if len(stored) != wantDone {
		t.Fatalf("%d instances stored before the kill, want %d", len(stored), wantDone)
	}

	var asked []string
	var mu sync.Mutex
	d := killDiffy(path, killCollector("fast", rows, io.Discard, &asked, &mu), nil)
	ctx := context.Background()
	runs, err := d.Partial(ctx, killKey)
	if err != nil {
		t.Fatal(err)
	}
	if len(runs) != 1 || runs[0].Incident != killIncident || runs[0].Instances != wantDone || len(runs[0].Results) != wantDone*len(killCommands) {
		t.Fatalf("Partial = %+v, want one run of %s with %d instances", runs, killIncident, wantDone)
	}
	rs, err := d.Collect(ctx, killKey)
	if err != nil {
		t.Fatalf("resumed Collect: %v", err)
	}
	for _, id := range asked {
		if stored[id] {
			t.Errorf("resumed run collected %s again", id)
		}
	}
	if len(asked) != killInstances-wantDone {
		t.Errorf("resumed run asked for %d instances, want %d", len(asked), killInstances-wantDone)
	}
	checkWholeCollection(t, d, rs, rows)
}

// checkWholeCollection checks a finished collection: every instance and
// command once, as collected, stored as KindCollection, parts gone.
func checkWholeCollection(t *testing.T, d *diffy.Diffy, rs []collect.Result, rows int) {
	t.Helper()
	ctx := context.Background()
	seen := map[string]bool{}
	for _, r := range rs {
		k := r.InstanceID + "/" + r.CommandID
		if seen[k] {
			t.Errorf("Result %s twice", k)
		}
		seen[k] = true
		if !r.OK() || len(r.Rows) != rows {
			t.Errorf("Result %s: %s with %d rows", k, r.Status, len(r.Rows))
		}
	}
	if len(seen) != killInstances*len(killCommands) {
		t.Errorf("%d Results, want %d", len(seen), killInstances*len(killCommands))
	}
	sk, _ := diffy.StoreKey(killKey)
	doc, err := d.Store().Get(ctx, persist.KindCollection, sk)
	if err != nil {
		t.Fatalf("whole collection not stored: %v", err)
	}
	var stored []collect.Result
	if err := json.Unmarshal(doc, &stored); err != nil || len(stored) != len(rs) {
		t.Errorf("stored collection: %d Results, %v; want %d", len(stored), err, len(rs))
	}
	if runs, err := d.Partial(ctx, killKey); err != nil || len(runs) != 0 {
		t.Errorf("Partial after a whole collection = %+v, %v; want none", runs, err)
	}
}

// TestCollectKillWhileStoring kills collections with SIGKILL as a batch
// starts being stored (the child announces each Put and waits for the
// parent, which answers and kills it at once), round after round on the
// same incident: after every kill each stored part loads and is complete,
// and every batch reported done is stored; each round resumes where the
// last stopped, and the last one finishes the collection with nothing lost
// or repeated. (Kills inside the file write itself are persist's
// TestDirKillMidWrite.)
func TestCollectKillWhileStoring(t *testing.T) {
	if spec := os.Getenv(collectKillEnv); spec != "" {
		collectKillChild(spec)
		return
	}
	path := t.TempDir() + "/store"
	const rows = 120
	prev := 0
	for round := 0; ; round++ {
		// Kill as the 2nd or 3rd batch of this run starts being stored:
		// in the middle of that Put, one batch at least stored before.
		puts := 0
		progress, finished := runKilled(t, path, "fast", rows, func(line string, progress []int) bool {
			if strings.HasPrefix(line, "put "+string(persist.KindPartial)+" ") {
				puts++
			}
			return puts >= 2+round%2
		})
		stored := checkParts(t, path, rows)
		if finished {
			break
		}
		done := progress[len(progress)-1]
		if len(stored) < done {
			t.Fatalf("round %d: %d instances reported collected before the kill, %d stored", round, done, len(stored))
		}
		if len(stored) <= prev {
			t.Fatalf("round %d: no progress (%d instances stored, %d before)", round, len(stored), prev)
		}
		prev = len(stored)
		temps, _ := filepath.Glob(filepath.Join(path, string(persist.KindPartial), ".diffy-*.tmp"))
		t.Logf("round %d: killed after %d instances reported; %d stored; %d interrupted writes left temporary files",
			round, done, len(stored), len(temps))
		if round > killInstances {
			t.Fatal("too many rounds")
		}
	}
	// The round that finished stored the whole collection: check it as
	// stored, through a Diffy whose collector must not be needed.
	d := killDiffy(path, diffytest.CollectorFunc(func(context.Context, []target.Instance, []payload.Command) ([]collect.Result, error) {
		t.Error("collector called after the collection finished")
		return nil, nil
	}), nil)
	sk, _ := diffy.StoreKey(killKey)
	doc, err := d.Store().Get(context.Background(), persist.KindCollection, sk)
	if err != nil {
		t.Fatalf("finished collection not stored: %v", err)
	}
	var rs []collect.Result
	if err := json.Unmarshal(doc, &rs); err != nil {
		t.Fatal(err)
	}
	checkWholeCollection(t, d, rs, rows)
}
