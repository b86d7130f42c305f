package collect

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os/exec"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/diffy-dfir/diffy/diffyerr"
	"github.com/diffy-dfir/diffy/payload"
	"github.com/diffy-dfir/diffy/target"
)

// DefaultLocalTimeout is the time limit of one command run by Local when
// Local.Timeout is zero.
const DefaultLocalTimeout = 2 * time.Minute

// Local is the Collector for this machine (instance ID target.LocalID). The
// zero value is ready to use and takes the defaults named on each field.
//
// For each command, Local:
//
//  1. runs `osqueryi --json QUERY` when the command has a Query and osqueryi
//     is found (Osqueryi, or "osqueryi" on PATH) and NoOsquery is false;
//  2. otherwise, when the command is one of the standard pack's
//     (payload.StandardPack) with its standard Query, answers it with the
//     built-in Go probe of that ID, which prints the same columns;
//  3. otherwise, when the command has a Shell script, runs `sh -c SHELL`;
//  4. otherwise gives a StatusFailed Result saying that nothing here can run
//     the query.
//
// Commands run at most Concurrency at a time, each under Timeout. Stdout is
// read up to Limits.MaxBytes: past that the command is stopped and its
// Result is Truncated, never parsed. Limits.Fill turns the output into the
// Result, as for every collector.
//
// Any instance whose ID is not target.LocalID gets StatusUndeliverable
// Results: Local reaches only this machine.
//
// Local is safe for concurrent use; it holds no state between calls.
type Local struct {
	// Osqueryi is the path of the osqueryi program. Default: "" looks up
	// "osqueryi" on PATH (exec.LookPath) at each Collect.
	Osqueryi string
	// NoOsquery, when set, never runs osqueryi: the built-in probes (and
	// Shell scripts) answer instead. Default: false.
	NoOsquery bool
	// Timeout is the time limit of one command. A command over it is
	// killed, with its process group, and its Result is StatusTimedOut.
	// Default: DefaultLocalTimeout (2 minutes).
	Timeout time.Duration
	// Concurrency is the most commands run at once. Default:
	// runtime.GOMAXPROCS(0).
	Concurrency int
	// Limits caps what one Result may hold. Default: the zero Limits, that
	// is DefaultMaxBytes, DefaultMaxRows and DefaultMaxStderr.
	Limits Limits
	// Root is the directory the built-in probes read the machine's /proc,
	// /etc and /var from, so that tests can point them at a synthetic tree.
	// The paths they report (crontab and key files) are the paths under
	// Root, as the host sees them. Root does not affect osqueryi or Shell
	// scripts. Default: "/".
	Root string
}

// Collect runs every command on this machine and returns one Result per
// (instance, command) pair, as the Collector contract says. Duplicate
// instance IDs and duplicate command IDs are collected once (the first
// command of an ID wins). An empty instance ID, an invalid command ID
// (payload.ValidID) or a command with neither Query nor Shell is an error
// matching diffyerr.ErrInvalidInput, returned before anything runs.
func (l Local) Collect(ctx context.Context, instances []target.Instance, commands []payload.Command) ([]Result, error) {
	var results []Result
	err := l.CollectBatches(ctx, instances, commands, func(b []Result) error {
		results = append(results, b...)
		return nil
	})
	return results, err
}

var _ BatchCollector = Local{}

// CollectBatches is Collect, batch by batch (see BatchCollector): one
// batch for the instances other than this machine (all Undeliverable), then
// one for this machine's Results.
func (l Local) CollectBatches(ctx context.Context, instances []target.Instance, commands []payload.Command, fn func([]Result) error) error {
	cmds, err := uniqueCommands(commands)
	if err != nil {
		return fmt.Errorf("collect local: %w", err)
	}
	var ids []string
	seen := make(map[string]bool, len(instances))
	for i, in := range instances {
		if in.ID == "" {
			return fmt.Errorf("collect local: instance %d has an empty ID: %w", i+1, diffyerr.ErrInvalidInput)
		}
		if !seen[in.ID] {
			seen[in.ID] = true
			ids = append(ids, in.ID)
		}
	}

	start := time.Now().UTC()
	var others []Result
	local := false
	for _, id := range ids {
		if id == target.LocalID {
			local = true
			continue
		}
		for _, c := range cmds {
			others = append(others, Result{
				InstanceID: id, CommandID: c.ID, Status: StatusUndeliverable,
				StatusDetails: "Undeliverable", CollectedAt: start, ExitCode: -1,
				Error: fmt.Sprintf("command %s: instance %q is not reachable: the local collector only reaches this machine (instance %q)",
					c.ID, id, target.LocalID),
			})
		}
	}
	if len(others) > 0 {
		if err := fn(others); err != nil {
			return err
		}
	}
	if local {
		results := make([]Result, len(cmds))
		for i, c := range cmds {
			results[i] = Result{InstanceID: target.LocalID, CommandID: c.ID, ExitCode: -1}
		}
		l.runner().all(ctx, cmds, results)
		if err := fn(results); err != nil {
			return err
		}
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("collect local: %w", err)
	}
	return nil
}

// uniqueCommands checks commands and drops repeated IDs, keeping the first.
func uniqueCommands(commands []payload.Command) ([]payload.Command, error) {
	out := make([]payload.Command, 0, len(commands))
	seen := make(map[string]bool, len(commands))
	for i, c := range commands {
		if !payload.ValidID(c.ID) {
			return nil, fmt.Errorf("command %d: ID %q is not 1-64 of [a-z0-9_-]: %w", i+1, c.ID, diffyerr.ErrInvalidInput)
		}
		if c.Query == "" && c.Shell == "" {
			return nil, fmt.Errorf("command %q has neither a query nor a shell script: %w", c.ID, diffyerr.ErrInvalidInput)
		}
		if !seen[c.ID] {
			seen[c.ID] = true
			out = append(out, c)
		}
	}
	return out, nil
}

// localRunner is one Collect call's settings, defaults filled.
type localRunner struct {
	osqueryi    string // "" when osqueryi is not used
	timeout     time.Duration
	concurrency int
	limits      Limits
	root        string
}

func (l Local) runner() localRunner {
	r := localRunner{timeout: l.Timeout, concurrency: l.Concurrency, limits: l.Limits.WithDefaults(), root: l.Root}
	if r.timeout <= 0 {
		r.timeout = DefaultLocalTimeout
	}
	if r.concurrency <= 0 {
		r.concurrency = runtime.GOMAXPROCS(0)
	}
	if r.root == "" {
		r.root = "/"
	}
	if !l.NoOsquery {
		if l.Osqueryi != "" {
			r.osqueryi = l.Osqueryi
		} else if p, err := exec.LookPath("osqueryi"); err == nil {
			r.osqueryi = p
		}
	}
	return r
}

// all runs cmds, at most r.concurrency at once, filling out[i] for cmds[i].
// Each out[i] already holds its instance and command IDs. Commands not
// started when ctx is cancelled become StatusCancelled.
func (r localRunner) all(ctx context.Context, cmds []payload.Command, out []Result) {
	sem := make(chan struct{}, r.concurrency)
	var wg sync.WaitGroup
	for i := range cmds {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res := &out[i]
			select {
			case sem <- struct{}{}:
				defer func() { <-sem }()
			case <-ctx.Done():
				cancelled(res, ctx)
				return
			}
			if ctx.Err() != nil {
				cancelled(res, ctx)
				return
			}
			r.one(ctx, cmds[i], res)
			res.CollectedAt = time.Now().UTC()
		}()
	}
	wg.Wait()
}

// cancelled marks r as cancelled by ctx before it finished.
func cancelled(r *Result, ctx context.Context) {
	r.Status, r.Rows, r.ExitCode = StatusCancelled, nil, -1
	r.Error = fmt.Sprintf("command %s: cancelled before it finished: %v", r.CommandID, context.Cause(ctx))
	r.CollectedAt = time.Now().UTC()
}

// one runs one command by the first way that applies (see Local).
func (r localRunner) one(ctx context.Context, c payload.Command, res *Result) {
	switch {
	case r.osqueryi != "" && c.Query != "":
		r.exec(ctx, c, res, r.osqueryi, "--json", c.Query)
	case probeFor(c) != nil:
		r.probe(ctx, c, probeFor(c), res)
	case c.Shell != "":
		r.exec(ctx, c, res, "sh", "-c", c.Shell)
	default:
		res.Status, res.ExitCode = StatusFailed, -1
		res.Error = fmt.Sprintf("command %s: osqueryi is not used here (not on PATH, or NoOsquery) and no built-in probe answers its query; "+
			"install osqueryi or give the command a Shell script", c.ID)
	}
}

// probe answers c with a built-in probe. Its rows go through Limits.Fill
// as JSON, as any command's output would, so the caps apply the same way.
func (r localRunner) probe(ctx context.Context, c payload.Command, p probeFunc, res *Result) {
	res.StatusDetails = "built-in probe"
	if runtime.GOOS != "linux" && r.root == "/" {
		res.Status, res.ExitCode = StatusFailed, -1
		res.Error = fmt.Sprintf("command %s: the built-in probe reads Linux's /proc and /etc and does not run on %s; install osqueryi", c.ID, runtime.GOOS)
		return
	}
	env := &probeEnv{root: r.root}
	rows, err := p(ctx, env)
	stderr := strings.Join(env.notes, "\n")
	switch {
	case err != nil && ctx.Err() != nil:
		cancelled(res, ctx)
		res.Stderr = clip(stderr, r.limits.MaxStderr)
	case err != nil:
		res.Status, res.ExitCode, res.Rows = StatusFailed, -1, nil
		res.Stderr = clip(stderr, r.limits.MaxStderr)
		res.Error = fmt.Sprintf("command %s: built-in probe: %v", c.ID, err)
	default:
		if rows == nil {
			rows = []Row{}
		}
		data, err := json.Marshal(rows)
		if err != nil { // rows of strings always marshal
			panic("collect: marshal probe rows: " + err.Error())
		}
		res.ExitCode = 0
		r.limits.Fill(res, data, stderr, false, "")
	}
}

// exec runs name with args, its stdout read through the MaxBytes cap.
func (r localRunner) exec(ctx context.Context, c payload.Command, res *Result, name string, args ...string) {
	cctx, cancel := context.WithTimeout(ctx, r.timeout)
	defer cancel()
	cmd := exec.CommandContext(cctx, name, args...)
	stdout := &capWriter{max: int(min(r.limits.MaxBytes+1, int64(^uint(0)>>1)))}
	stderr := &capWriter{max: r.limits.MaxStderr}
	cmd.Stdout, cmd.Stderr = stdout, stderr
	setProcessGroup(cmd) // so that a timeout or cancel kills the script's children too
	cmd.WaitDelay = 2 * time.Second
	stdout.over = func() { killGroup(cmd) }

	err := cmd.Run()
	if cmd.ProcessState != nil {
		res.ExitCode = cmd.ProcessState.ExitCode()
		if res.ExitCode == -1 {
			res.StatusDetails = cmd.ProcessState.String() // "signal: killed"
		}
	}
	errText := stderr.String()
	started := cmd.Process != nil
	// Interrupted: the timeout or the cancel stopped the command. One that
	// exited on its own just before keeps its whole, valid output.
	interrupted := cctx.Err() != nil && (!started || res.ExitCode == -1 ||
		errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded))
	switch {
	case interrupted && ctx.Err() != nil:
		cancelled(res, ctx)
		res.Stderr = errText
	case interrupted:
		res.Status, res.Rows, res.Stderr, res.ExitCode = StatusTimedOut, nil, errText, -1
		res.Error = fmt.Sprintf("command %s: did not finish within %v; killed", c.ID, r.timeout)
	case !started:
		res.Status, res.ExitCode, res.Stderr = StatusFailed, -1, errText
		res.Error = fmt.Sprintf("command %s: cannot start %s: %v", c.ID, name, err)
	case stdout.cut:
		r.limits.Fill(res, stdout.buf, errText, true,
			fmt.Sprintf("stdout is over the %d-byte cap; the command was stopped there", r.limits.MaxBytes))
	default:
		if res.ExitCode == 0 && err != nil { // exited 0 but its output could not be read whole
			res.Status, res.Stderr = StatusFailed, errText
			res.Error = fmt.Sprintf("command %s: reading its output: %v", c.ID, err)
			return
		}
		r.limits.Fill(res, stdout.buf, errText, false, "")
	}
	if stderr.dropped > 0 {
		res.Stderr += fmt.Sprintf("... [%d bytes cut]", stderr.dropped)
	}
}

// errOverCap stops os/exec from copying more of a command's output.
var errOverCap = errors.New("output over the cap")

// capWriter keeps the first max bytes written to it. Past max it counts
// what it drops; with over set, it calls over once and fails the write,
// which closes the pipe so that the command stops (the stdout case).
type capWriter struct {
	mu      sync.Mutex
	max     int
	buf     []byte
	dropped int64
	cut     bool
	over    func()
}

func (w *capWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	room := w.max - len(w.buf)
	if len(p) <= room {
		w.buf = append(w.buf, p...)
		return len(p), nil
	}
	w.buf = append(w.buf, p[:max(room, 0)]...)
	w.dropped += int64(len(p) - max(room, 0))
	if w.over == nil {
		return len(p), nil // stderr: keep draining so the command is not blocked
	}
	if !w.cut {
		w.cut = true
		w.over()
	}
	return max(room, 0), errOverCap
}

func (w *capWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return string(w.buf)
}
