package awsfake_test

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/smithy-go/middleware"

	"github.com/diffy-dfir/diffy/collect"
	"github.com/diffy-dfir/diffy/diffytest/awsfake"
	"github.com/diffy-dfir/diffy/payload"
	"github.com/diffy-dfir/diffy/target"
)

// testInstances returns n instances of the Auto Scaling group group, each
// with a few rows per standard-pack command (one row naming the instance).
func testInstances(n int, group string) []awsfake.Instance {
	out := make([]awsfake.Instance, n)
	for i := range out {
		id := fmt.Sprintf("i-%017x", 0xabc000+i)
		rows := awsfake.Rows{}
		for _, c := range payload.StandardPack() {
			rows[c.ID] = []collect.Row{
				{"name": "sshd", "path": "/usr/sbin/sshd", "host": id},
				{"name": "cron", "path": "/usr/sbin/cron", "host": id},
			}
		}
		out[i] = awsfake.Instance{
			Instance: target.Instance{
				ID: id, Name: fmt.Sprintf("web-%d", i),
				Tags:      map[string]string{"aws:autoscaling:groupName": group, "role": []string{"web", "api"}[i%2]},
				PrivateIP: fmt.Sprintf("10.0.%d.%d", i/250, i%250+1), ImageID: "ami-0123456789abcdef0",
				LaunchTime: time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC),
			},
			Host: rows,
		}
	}
	return out
}

func newServer(t testing.TB, opts ...awsfake.Option) *awsfake.Server {
	t.Helper()
	srv, err := awsfake.New(opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	return srv
}

// attempts is what one call of a client cost: its HTTP attempts, and the
// errors of those that were retried. Tests compare the fake's counters
// with these, not with the number of calls they make: the SDK may retry an
// attempt for its own reasons (a connection closed under a loaded
// machine), and a test that counts calls then counts that retry too.
// It is safe for concurrent use.
type attempts struct {
	mu      sync.Mutex
	n       int
	retried []string
}

// add counts the attempts of one call from its result metadata.
func (a *attempts) add(t testing.TB, md middleware.Metadata) {
	t.Helper()
	res, ok := retry.GetAttemptResults(md)
	if !ok {
		t.Error("the call's metadata has no attempt results")
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	a.n += len(res.Results)
	for _, r := range res.Results {
		if r.Err != nil {
			a.retried = append(a.retried, r.Err.Error())
		}
	}
}

// checkRetried checks the fake's count c of one operation, on which it
// injected faults (the count of one fault kind), against what the client
// did: ops calls, all successful, and tries their attempts. Each fault
// costs the call one more attempt; when the client retried nothing else,
// the fake saw exactly ops+faults calls, else at least that and no more
// than the attempts.
func checkRetried(t testing.TB, what string, c awsfake.CallCount, ops int, faults int64, tries *attempts) {
	t.Helper()
	tries.mu.Lock()
	defer tries.mu.Unlock()
	want := int64(ops) + faults
	switch {
	case c.Operations != int64(ops):
		t.Errorf("%s: counts %+v, want %d operations", what, c, ops)
	case faults == 0:
		t.Errorf("%s: counts %+v: no fault injected", what, c)
	case int64(len(tries.retried)) == faults && c.Calls != want:
		t.Errorf("%s: counts %+v for %d calls, want %d calls: one per call and one per fault", what, c, ops, want)
	case c.Calls < want || c.Calls > int64(tries.n):
		t.Errorf("%s: counts %+v for %d calls in %d attempts (retried: %q), want from %d to %d", what, c, ops, tries.n, tries.retried, want, tries.n)
	}
}
