//go:build unix

package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/diffy-dfir/diffy"
	"github.com/diffy-dfir/diffy/collect"
	"github.com/diffy-dfir/diffy/diffytest/awsfake"
	"github.com/diffy-dfir/diffy/persist"
)

// serverChildEnv, in the environment of this test binary, makes it the
// server program (its value: the arguments, as a JSON array): the kill
// test runs the real program in a child process and kills it.
const serverChildEnv = "DIFFY_SERVER_TEST_CHILD"

// serverChildNofile, in the child's environment, is the file limit
// (RLIMIT_NOFILE) the child sets itself before it runs the program.
const serverChildNofile = "DIFFY_SERVER_TEST_NOFILE"

func TestMain(m *testing.M) {
	if args, ok := os.LookupEnv(serverChildEnv); ok {
		var argv []string
		if err := json.Unmarshal([]byte(args), &argv); err != nil {
			fmt.Fprintln(os.Stderr, "bad", serverChildEnv, err)
			os.Exit(2)
		}
		if v, ok := os.LookupEnv(serverChildNofile); ok {
			n, err := strconv.ParseUint(v, 10, 64)
			var lim syscall.Rlimit
			if err == nil {
				err = syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim)
			}
			if err == nil {
				lim.Cur = n
				err = syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim)
			}
			if err != nil {
				fmt.Fprintln(os.Stderr, "setting the file limit:", err)
				os.Exit(2)
			}
		}
		os.Exit(run(context.Background(), argv, os.Stdout, os.Stderr, nil))
	}
	os.Exit(m.Run())
}

// child is the server program running in a child process.
type child struct {
	cmd *exec.Cmd
	env *env // its API (url), with the test's client
	// log is its log after the line that says it serves, whole once
	// logDone is closed (the child exited).
	log     bytes.Buffer
	logDone chan struct{}
}

// startChild runs the server program (this test binary, see TestMain)
// over fake and the store in dir, with batches of one instance, and
// returns once it serves.
func startChild(t *testing.T, fake *awsfake.Server, dir string) *child {
	t.Helper()
	none := filepath.Join(t.TempDir(), "none")
	return startProgram(t, []string{"--listen", "127.0.0.1:0", "--target", "asg", "--collector", "ssm",
		"--region", fake.Region(), "--store", dir, "--batch-size", "1"},
		"AWS_ENDPOINT_URL_EC2="+fake.EC2URL(), "AWS_ENDPOINT_URL_SSM="+fake.SSMURL(), "AWS_ENDPOINT_URL_S3="+fake.S3URL(),
		"AWS_ACCESS_KEY_ID="+awsfake.AccessKeyID, "AWS_SECRET_ACCESS_KEY="+awsfake.SecretAccessKey,
		"AWS_CONFIG_FILE="+none, "AWS_SHARED_CREDENTIALS_FILE="+none)
}

// startProgram runs the server program with args in a child process, with
// the test token and the variables vars, and returns once it serves; the
// rest of its log goes to the child's log (child.log).
func startProgram(t *testing.T, argv []string, vars ...string) *child {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	args, _ := json.Marshal(argv)
	cmd := exec.Command(exe)
	cmd.Env = append(append(os.Environ(), serverChildEnv+"="+string(args), TokenEnv+"="+testToken), vars...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	re := regexp.MustCompile(`url=(http://[^ ]+)/v1/`)
	sc := bufio.NewScanner(stderr)
	for sc.Scan() {
		t.Log("child:", sc.Text())
		if m := re.FindStringSubmatch(sc.Text()); m != nil {
			ch := &child{cmd: cmd, env: &env{t: t, url: m[1]}, logDone: make(chan struct{})}
			go func() {
				io.Copy(&ch.log, stderr)
				close(ch.logDone)
			}()
			return ch
		}
	}
	t.Fatalf("the server exited before serving: %v", cmd.Wait())
	return nil
}

// TestKilledProcessResumes: the server program, run in a child process
// against awsfake, is killed with SIGKILL while a collection job is in
// the middle of a batch (k instances stored, the next one's command in
// flight); a new process on the same store lists the job as interrupted,
// resumes it over the API, asks only the instances not collected before
// the kill, and stores a collection holding every instance, those of
// before the kill as they were collected then.
func TestKilledProcessResumes(t *testing.T) {
	const n = 6
	fake, insts, k := hangingFleet(t, n)
	dir := t.TempDir()
	a := startChild(t, fake, dir)
	j := a.env.submit(`{"kind": "collect", "key": "web"}`)
	ctx := testContext(t)
	for {
		rec := a.env.get1(j.ID)
		if rec.Progress.Done == k {
			break
		}
		if final(rec.State) || ctx.Err() != nil {
			t.Fatalf("before the kill: %+v, want running with %d done", rec, k)
		}
		time.Sleep(10 * time.Millisecond)
	}
	inFlight(fake, k+1)
	if err := a.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	if err := a.cmd.Wait(); err == nil || a.cmd.ProcessState.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Fatalf("the child ended %v, want killed by SIGKILL", err)
	}

	store := persist.NewDir(dir)
	d, err := diffy.New(diffy.WithStore(store))
	if err != nil {
		t.Fatal(err)
	}
	before, err := d.Partial(ctx, group)
	if err != nil || len(before) != 1 || before[0].Instances != k {
		t.Fatalf("kept at the kill: %+v (%v), want %d instances", before, err, k)
	}
	// The hosts answer now (the hang was why the server was killed).
	fake2 := newFake(t, insts)
	b := startChild(t, fake2, dir)
	if got := b.env.get1(j.ID); got.State != StateInterrupted {
		t.Fatalf("after the restart: %+v, want the job interrupted", got)
	}
	if code, body, _ := b.env.do("POST", "/v1/jobs/"+j.ID+"/resume", ""); code != 202 {
		t.Fatalf("resume: %d %s", code, body)
	}
	got := b.env.poll(j.ID)
	if got.State != StateSucceeded || got.Resumes != 1 || got.Result == nil || got.Result.Instances != n {
		t.Fatalf("resumed job: %+v", got)
	}
	var asked []string
	for _, s := range fake2.SentCommands() {
		asked = append(asked, s.InstanceIDs...)
	}
	kept := map[string]collect.Result{}
	for _, r := range before[0].Results {
		kept[r.InstanceID+" "+r.CommandID] = r
		if slices.Contains(asked, r.InstanceID) {
			t.Errorf("instance %s, collected before the kill, was asked again", r.InstanceID)
		}
	}
	if len(asked) != n-k {
		t.Errorf("the resumed job asked %d instances, want %d", len(asked), n-k)
	}
	rs, err := d.LoadCollection(ctx, group, j.ID)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, r := range rs {
		seen[r.InstanceID] = true
		if old, ok := kept[r.InstanceID+" "+r.CommandID]; ok && !old.CollectedAt.Equal(r.CollectedAt) {
			t.Errorf("%s %s: collected at %v, the kept Result at %v", r.InstanceID, r.CommandID, r.CollectedAt, old.CollectedAt)
		}
		if !r.OK() {
			t.Errorf("%s %s: %s %s", r.InstanceID, r.CommandID, r.Status, r.Error)
		}
	}
	if len(seen) != n {
		t.Errorf("the collection has %d instances, want %d", len(seen), n)
	}
}

// get1 returns the record of job id.
func (e *env) get1(id string) Job {
	e.t.Helper()
	code, b, _ := e.do("GET", "/v1/jobs/"+id, "")
	var j Job
	if code != 200 || json.Unmarshal(b, &j) != nil {
		e.t.Fatalf("GET /v1/jobs/%s: %d %s", id, code, b)
	}
	return j
}
