package ssmcollect_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/diffy-dfir/diffy/collect"
	"github.com/diffy-dfir/diffy/collect/ssmcollect"
	"github.com/diffy-dfir/diffy/diffytest/awsfake"
	"github.com/diffy-dfir/diffy/payload"
)

// TestHangingCommandKeepsTheOthers is the fault of a command that never
// ends (an osquery table stuck on a hung mount, say) in the middle of the
// pack, in both output modes: the script keeps each command within its
// share of the execution timeout, so the commands before and after the
// hung one keep their rows (compared with the fleet's truth), and the
// hung one is TimedOut, saying that it was stopped and how to give it more
// time. Before, the agent killed the whole script at its execution
// timeout, and every command's output was lost. On a host without
// timeout(1) that is still what happens: every Result is TimedOut.
//
// It runs in a testing/synctest bubble: the sleeps of the hung command and
// the execution timeout are on the fake's and the bubble's clocks.
func TestHangingCommandKeepsTheOthers(t *testing.T) {
	for _, mode := range []string{"api", "s3"} {
		t.Run(mode, func(t *testing.T) { synctest.Test(t, func(t *testing.T) { testHangingCommand(t, mode) }) })
	}
}

func testHangingCommand(t *testing.T, mode string) {
	const hosts = 4
	e := newEnv(t, hosts, awsfake.WithInMemory())
	noTimeout := e.fleet.Hosts[hosts-1].Instance.ID
	// The last host has no timeout(1): the fleet's instances, rebuilt.
	insts := make([]awsfake.Instance, hosts)
	for i := range e.fleet.Hosts {
		insts[i] = awsfake.Instance{Instance: e.fleet.Hosts[i].Instance, Host: newCachedHost(&e.fleet.Hosts[i])}
	}
	insts[hosts-1].Without = []string{"timeout"}
	srv, err := awsfake.New(awsfake.WithInstances(insts...), awsfake.WithRunTime(30*time.Millisecond), awsfake.WithInMemory())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	e.srv, e.cfg = srv, srv.Config()

	pack := payload.StandardPack()
	hang := payload.Command{ID: "hang", Shell: "sleep 86400"}
	cmds := slices.Insert(slices.Clone(pack), 2, hang)
	const exec = 2 * time.Minute
	bucket := ""
	if mode == "s3" {
		bucket = "diffy-hang"
	}
	col := e.collector(t, bucket, ssmcollect.WithTimeouts(0, exec))
	res, err := col.Collect(context.Background(), e.fleet.Instances(), cmds)
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != hosts*len(cmds) {
		t.Fatalf("%d Results, want %d", len(res), hosts*len(cmds))
	}
	var others []collect.Result
	for _, r := range res {
		switch {
		case r.InstanceID == noTimeout:
			// The agent killed the script: nothing it printed survives.
			if r.Status != collect.StatusTimedOut || !strings.Contains(r.Error, "execution timeout") {
				t.Errorf("%s/%s without timeout(1): %s %q, want TimedOut at the execution timeout", r.InstanceID, r.CommandID, r.Status, r.Error)
			}
		case r.CommandID == hang.ID:
			if r.Status != collect.StatusTimedOut || r.Rows != nil || !strings.Contains(r.Error, "was stopped after") ||
				!strings.Contains(r.Error, "WithTimeouts") {
				t.Errorf("%s/hang: %s %q, want TimedOut, stopped, with the way to give it more time", r.InstanceID, r.Status, r.Error)
			}
		default:
			others = append(others, r)
		}
	}
	// Every command of the pack, before and after the hung one, is whole
	// on the hosts with timeout(1).
	var withTimeout = e.fleet.Instances()[:hosts-1]
	e.check(t, withTimeout, others, func(r collect.Result) error { return wholeOrCut(false)(r) })
	// The script ended before its execution timeout: SSM reported it
	// Success, so the fake never had to time it out.
	for _, r := range others {
		if r.StatusDetails != "Success" {
			t.Errorf("%s/%s: StatusDetails %q, want Success (the script ended within its time)", r.InstanceID, r.CommandID, r.StatusDetails)
		}
	}
}

// TestNoTimeLeftNotRun: a command that finds no time left when its turn
// comes is not started; it is TimedOut, saying so, and the commands that
// ran keep their rows. With an execution timeout of 12 s the commands have
// 2 s in all (12 s less ssmframe.KillAfter and the 5 s kept for the
// output), shares of at least 1 s: the two hung commands after the first
// take 1 s each, and the five after them find none.
func TestNoTimeLeftNotRun(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t, 2, awsfake.WithInMemory())
		hang := func(id string) payload.Command { return payload.Command{ID: id, Shell: "sleep 86400"} }
		pack := payload.StandardPack()
		cmds := append([]payload.Command{pack[0], hang("hang1"), hang("hang2")}, pack[1:]...)
		col := e.collector(t, "", ssmcollect.WithTimeouts(0, 12*time.Second))
		res, err := col.Collect(context.Background(), e.fleet.Instances(), cmds)
		if err != nil {
			t.Fatal(err)
		}
		var first []collect.Result
		for _, r := range res {
			switch {
			case r.CommandID == pack[0].ID:
				first = append(first, r)
			case strings.HasPrefix(r.CommandID, "hang"):
				if r.Status != collect.StatusTimedOut || !strings.Contains(r.Error, "was stopped after") {
					t.Errorf("%s/%s: %s %q, want TimedOut, stopped", r.InstanceID, r.CommandID, r.Status, r.Error)
				}
			default:
				if r.Status != collect.StatusTimedOut || !strings.Contains(r.Error, "was not run") {
					t.Errorf("%s/%s: %s %q, want TimedOut, not run", r.InstanceID, r.CommandID, r.Status, r.Error)
				}
			}
		}
		for _, r := range first {
			if r.Status != collect.StatusSuccess || r.Rows == nil {
				t.Errorf("%s/%s before the hung commands: %s %q, want Success with rows", r.InstanceID, r.CommandID, r.Status, r.Error)
			}
		}
	})
}
