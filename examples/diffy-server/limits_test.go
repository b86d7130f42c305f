package main

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/diffy-dfir/diffy"
	"github.com/diffy-dfir/diffy/collect"
	"github.com/diffy-dfir/diffy/payload"
	"github.com/diffy-dfir/diffy/persist"
)

// clock is a test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

// testContext ends a little before the test's deadline (-timeout), so
// that a poll that never sees what it waits for fails saying so.
func testContext(t *testing.T) context.Context {
	ctx := t.Context()
	if dl, ok := t.Deadline(); ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, dl.Add(-10*time.Second))
		t.Cleanup(cancel)
	}
	return ctx
}

// fromAddr returns an HTTP client whose connections come from the
// loopback address ip (another client of the same machine).
func fromAddr(ip string) *http.Client {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}, Timeout: 10 * time.Second}
	return &http.Client{Timeout: time.Minute, Transport: &http.Transport{DialContext: d.DialContext}}
}

// get sends GET path with auth from client c and returns the status and
// the Retry-After header.
func (e *env) get(c *http.Client, path, auth string) (int, string) {
	e.t.Helper()
	req, _ := http.NewRequest("GET", e.url+path, nil)
	req.Header.Set("Authorization", auth)
	resp, err := c.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode, resp.Header.Get("Retry-After")
}

// TestFailedLoginLimit: an address that sent loginBurst wrong tokens is
// answered 429 (with Retry-After) for a wrong or missing token, so wrong
// tokens go no faster than one per loginRefill; the right token is still
// served (TestLoginLimitSparesTheToken), from another loopback address
// too (the same client: TestLoginLimitLoopbackIsOneClient); once its
// bucket refills (the test's clock), one more wrong token is 401.
// Nothing runs from a refused request.
func TestFailedLoginLimit(t *testing.T) {
	fake := newFake(t, fleetInstances(group, 2, 1))
	clk := &clock{t: time.Date(2026, 12, 2, 5, 0, 0, 0, time.UTC)}
	e := newEnv(t, fake, persist.NewMemory(), setup{cfg: func(c *Config) { c.Now = clk.now }})
	a, b := fromAddr("127.0.0.1"), fromAddr("127.0.0.2")
	good, bad := "Bearer "+testToken, "Bearer guess"
	for i := range loginBurst {
		if code, _ := e.get(a, "/v1/jobs", bad); code != http.StatusUnauthorized {
			t.Fatalf("wrong token %d: %d, want 401", i+1, code)
		}
	}
	for _, auth := range []string{bad, ""} {
		code, after := e.get(a, "/v1/jobs", auth)
		if n, err := strconv.Atoi(after); code != http.StatusTooManyRequests || err != nil || n < 1 || n > int(loginRefill/time.Second)+1 {
			t.Errorf("after %d wrong tokens, Authorization %q: %d, Retry-After %q; want 429 and a wait of at most %v", loginBurst, auth, code, after, loginRefill)
		}
	}
	if code, _ := e.get(b, "/v1/jobs", good); code != http.StatusOK {
		t.Errorf("another loopback address with the token: %d, want 200", code)
	}
	clk.add(loginRefill)
	if code, _ := e.get(a, "/v1/jobs", good); code != http.StatusOK {
		t.Errorf("after %v, the token: %d, want 200", loginRefill, code)
	}
	if code, _ := e.get(a, "/v1/jobs", bad); code != http.StatusUnauthorized {
		t.Errorf("after %v, one wrong token: %d, want 401", loginRefill, code)
	}
	if code, _ := e.get(a, "/v1/jobs", bad); code != http.StatusTooManyRequests {
		t.Errorf("the refilled failure used, a wrong token: %d, want 429", code)
	}
	if code, _ := e.get(a, "/v1/jobs", good); code != http.StatusOK {
		t.Errorf("the refilled failure used, the token: %d, want 200", code)
	}
	if n := len(e.srv.Jobs()); n != 0 {
		t.Errorf("%d jobs", n)
	}
}

// TestLoginLimitLoopbackIsOneClient: a local user who has used up the
// failures of 127.0.0.1 gains nothing by sending from 127.0.0.2, or any
// other loopback address: every one of them is answered 429 (naming this
// machine), while the token is still served. Before, each of the 16
// million addresses of 127.0.0.0/8 had a bucket of its own (and 4,096 of
// them filled the limiter), so the limit bound nothing for a local user.
func TestLoginLimitLoopbackIsOneClient(t *testing.T) {
	e := newEnv(t, newFake(t, fleetInstances(group, 1, 1)), persist.NewMemory(), setup{})
	for i := range loginBurst {
		if code, _ := e.get(fromAddr("127.0.0.1"), "/v1/jobs", "Bearer guess"); code != http.StatusUnauthorized {
			t.Fatalf("wrong token %d: %d, want 401", i+1, code)
		}
	}
	for _, ip := range []string{"127.0.0.2", "127.9.8.7"} {
		if code, _ := e.get(fromAddr(ip), "/v1/jobs", "Bearer guess"); code != http.StatusTooManyRequests {
			t.Errorf("a wrong token from %s after %d from 127.0.0.1: %d, want 429", ip, loginBurst, code)
		}
		if code, _ := e.get(fromAddr(ip), "/v1/jobs", "Bearer "+testToken); code != http.StatusOK {
			t.Errorf("the token from %s: %d, want 200", ip, code)
		}
	}
	if n := e.srv.logins.size(); n != 1 {
		t.Errorf("the limiter remembers %d clients, want 1", n)
	}
}

// TestLoginLimitBounded: a flood of wrong tokens from more addresses than
// the limiter remembers keeps it at maxLoginClients; the addresses that
// failed last stay limited (those that failed longest ago go first), and
// the ones whose buckets refilled are dropped before any other.
func TestLoginLimitBounded(t *testing.T) {
	clk := &clock{t: time.Date(2026, 12, 2, 5, 0, 0, 0, time.UTC)}
	l := newLoginLimit(clk.now)
	addr := func(i int) netip.Prefix {
		return netip.PrefixFrom(netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)}), 32)
	}
	const n = 3 * maxLoginClients
	for i := range n {
		for range loginBurst {
			l.failed(addr(i))
		}
		clk.add(time.Millisecond)
		if l.size() > maxLoginClients {
			t.Fatalf("%d addresses remembered after %d, bound %d", l.size(), i+1, maxLoginClients)
		}
	}
	for _, i := range []int{n - 1, n - maxLoginClients} {
		if _, blocked := l.blocked(addr(i)); !blocked {
			t.Errorf("address %d of %d, among the last %d to fail, is not limited", i, n, maxLoginClients)
		}
	}
	if _, blocked := l.blocked(addr(0)); blocked {
		t.Errorf("the first address is still remembered")
	}
	// Refilled buckets go first: after loginBurst refills, a new address
	// empties the map of the refilled ones.
	clk.add(loginBurst * loginRefill)
	l.failed(addr(n))
	if l.size() != 1 {
		t.Errorf("%d addresses remembered after all refilled, want 1", l.size())
	}
}

// TestClientOf: IPv4 addresses are limited one by one, IPv6 ones by /64
// (a host has a /64 to itself); an IPv4-mapped IPv6 address is its IPv4
// one; every loopback address is one client.
func TestClientOf(t *testing.T) {
	for _, c := range []struct{ remote, want string }{
		{"127.0.0.1:5000", "127.0.0.0/8"},
		{"127.45.6.7:5000", "127.0.0.0/8"},
		{"[::1]:5000", "127.0.0.0/8"},
		{"[::ffff:127.0.0.2]:80", "127.0.0.0/8"},
		{"10.1.2.3:5000", "10.1.2.3/32"},
		{"[::ffff:10.0.0.1]:80", "10.0.0.1/32"},
		{"[2001:db8:1:2:3:4:5:6]:443", "2001:db8:1:2::/64"},
		{"[2001:db8:1:2:ffff::1]:443", "2001:db8:1:2::/64"},
		{"[fe80::1%eth0]:443", "fe80::/64"},
	} {
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = c.remote
		if got := clientOf(r).String(); got != c.want {
			t.Errorf("clientOf(%s) = %s, want %s", c.remote, got, c.want)
		}
	}
}

// TestEventStreamCap: with MaxStreams 2, a third event stream is
// answered 503 while two are open, and gets in once one has closed;
// status polling is not affected.
func TestEventStreamCap(t *testing.T) {
	fake := newFake(t, fleetInstances(group, 4, 1))
	g := &gate{at: make(chan struct{}), release: make(chan struct{})}
	e := newEnv(t, fake, persist.NewMemory(), setup{batch: 1, wrap: func(c collect.Collector) collect.Collector { g.Collector = c; return g },
		cfg: func(c *Config) { c.MaxStreams = 2 }})
	j := e.submit(`{"kind": "collect", "key": "web"}`)
	<-g.at // the job runs, held in its second batch
	open := func() (*http.Response, error) {
		req, _ := http.NewRequest("GET", e.url+"/v1/jobs/"+j.ID+"/events", nil)
		req.Header.Set("Authorization", "Bearer "+testToken)
		return http.DefaultClient.Do(req)
	}
	var streams []*http.Response
	for range 2 {
		resp, err := open()
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("stream: %v %v", resp, err)
		}
		streams = append(streams, resp)
	}
	resp, err := open()
	if err != nil {
		t.Fatal(err)
	}
	var body apiError
	json.NewDecoder(resp.Body).Decode(&body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" {
		t.Errorf("a third stream: %d %q, want 503 with Retry-After", resp.StatusCode, body.Error)
	}
	if code, _, _ := e.do("GET", "/v1/jobs/"+j.ID, ""); code != http.StatusOK {
		t.Errorf("polling with the streams full: %d", code)
	}
	streams[0].Body.Close()
	// The server sees the close when its stream next waits: poll.
	ctx := testContext(t)
	for {
		resp, err := open()
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode == http.StatusOK {
			streams[0] = resp
			break
		}
		resp.Body.Close()
		if ctx.Err() != nil {
			t.Fatal("no stream got in after one closed")
		}
		time.Sleep(time.Millisecond)
	}
	for _, s := range streams {
		s.Body.Close()
	}
	close(g.release)
	if got := e.poll(j.ID); got.State != StateSucceeded {
		t.Errorf("job: %+v", got)
	}
}

// poll polls GET /v1/jobs/{id} until the job is over (or the test's
// deadline).
func (e *env) poll(id string) Job {
	e.t.Helper()
	for ctx := testContext(e.t); ; {
		code, b, _ := e.do("GET", "/v1/jobs/"+id, "")
		var j Job
		if code != http.StatusOK || json.Unmarshal(b, &j) != nil {
			e.t.Fatalf("GET /v1/jobs/%s: %d %s", id, code, b)
		}
		if final(j.State) || ctx.Err() != nil {
			return j
		}
		time.Sleep(time.Millisecond)
	}
}

// TestJobRetention: at start and as jobs end, finished job records beyond
// the retention (count, age by end time) are dropped from memory and the
// store; live jobs are kept whatever their age.
func TestJobRetention(t *testing.T) {
	ctx := testContext(t)
	clk := &clock{t: time.Date(2026, 12, 2, 5, 0, 0, 0, time.UTC)}
	store := persist.NewMemory()
	ids := map[string]string{}
	put := func(name, state string, ended time.Duration) {
		t.Helper()
		id := diffy.NewRunID()
		ids[name] = id
		rec := Job{ID: id, State: state, Request: JobRequest{Kind: "collect", Key: group}, Incident: "inc-" + name, Created: clk.now().Add(-ended - time.Minute)}
		if final(state) {
			at := clk.now().Add(-ended)
			rec.Ended = &at
		}
		doc, _ := json.Marshal(rec)
		if err := store.Put(ctx, KindJob, id, doc); err != nil {
			t.Fatal(err)
		}
	}
	put("j1", StateSucceeded, 100*time.Hour) // too old
	put("j2", StateFailed, 3*time.Hour)      // beyond the count
	put("j3", StateCancelled, 2*time.Hour)
	put("j4", StateSucceeded, time.Hour)
	put("j5", StateQueued, 1000*time.Hour) // live: kept
	fake := newFake(t, fleetInstances(group, 2, 1))
	e := newEnv(t, fake, store, setup{cfg: func(c *Config) {
		c.Now, c.JobRetention = clk.now, &JobRetention{Count: 2, MaxAge: 48 * time.Hour}
	}})
	// kept waits until the jobs are those named (a job's end is
	// published before its record is stored and the others pruned).
	kept := func(names ...string) {
		t.Helper()
		var want []string
		for _, n := range names {
			want = append(want, cmp.Or(ids[n], n))
		}
		slices.Sort(want)
		for {
			var got []string
			for _, j := range e.srv.Jobs() {
				got = append(got, j.ID)
			}
			stored, err := store.List(ctx, KindJob)
			slices.Sort(got)
			if err == nil && slices.Equal(got, want) && slices.Equal(stored, want) {
				return
			}
			if ctx.Err() != nil {
				t.Fatalf("jobs %v, stored %v (%v), want %v (%v)", got, stored, err, want, names)
			}
			time.Sleep(time.Millisecond)
		}
	}
	// j5 runs now (queued at the last stop): it ends newest.
	if got := e.wait(ids["j5"]); got.State != StateSucceeded {
		t.Fatalf("j5: %+v", got)
	}
	kept("j4", "j5")
	clk.add(time.Hour)
	j := e.submit(`{"kind": "collect", "key": "web"}`)
	e.wait(j.ID)
	kept("j5", j.ID)
}

// TestEncodedFollowsChanges: the encoded record GET /v1/jobs/{id} serves
// is made again after every change, and bytes handed out before are not
// changed.
func TestEncodedFollowsChanges(t *testing.T) {
	j := newJob(Job{ID: "j", State: StateQueued})
	first := j.encoded()
	kept := string(first)
	if again := j.encoded(); &again[0] != &first[0] {
		t.Error("encoded twice without a change")
	}
	j.update(func(r *Job) { r.State, r.Progress.Done = StateRunning, 7 })
	var got Job
	if err := json.Unmarshal(j.encoded(), &got); err != nil || got.State != StateRunning || got.Progress.Done != 7 {
		t.Errorf("after a change: %+v, %v", got, err)
	}
	if string(first) != kept {
		t.Error("bytes handed out before the change were changed")
	}
}

// TestJobOptionsPerJob: Config.JobOptions (--osquery-url, presigned for
// each job) is asked once per job as it starts, and its payload is what
// the job sends: the fetch of osquery by the URL of that job's call.
func TestJobOptionsPerJob(t *testing.T) {
	fake := newFake(t, fleetInstances(group, 2, 1))
	var calls atomic.Int32
	sum := strings.Repeat("ab", 32)
	e := newEnv(t, fake, persist.NewMemory(), setup{cfg: func(c *Config) {
		c.JobOptions = func(context.Context) ([]diffy.Option, error) {
			n := calls.Add(1)
			f := payload.OsqueryFetch{URL: fmt.Sprintf("https://tools.example/osqueryi?sig=%d", n), SHA256: sum}
			return []diffy.Option{diffy.WithPayload(payload.FetchPayload(payload.Osquery{}, f))}, nil
		}
	}})
	for i := 1; i <= 2; i++ {
		j := e.submit(`{"kind": "collect", "key": "web"}`)
		if got := e.wait(j.ID); got.State != StateSucceeded {
			t.Fatalf("job %d: %+v", i, got)
		}
		sent := fake.SentCommands()
		if n := calls.Load(); n != int32(i) || !bytes.Contains(sent[len(sent)-1].Body, []byte(fmt.Sprintf("tools.example/osqueryi?sig=%d", i))) {
			t.Errorf("job %d: JobOptions called %d times; its command names the URL of call %d: %v", i, n, i, bytes.Contains(sent[len(sent)-1].Body, []byte("tools.example")))
		}
	}
}

// BenchmarkLoginLimitFull: a wrong token from a new address while the
// limiter is full of addresses that have not refilled (a client with
// many addresses: IPv6 /64s).
func BenchmarkLoginLimitFull(b *testing.B) {
	clk := &clock{t: time.Date(2026, 12, 2, 5, 0, 0, 0, time.UTC)}
	l := newLoginLimit(clk.now)
	addr := func(i int) netip.Prefix {
		return netip.PrefixFrom(netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)}), 32)
	}
	for i := range maxLoginClients {
		for range loginBurst {
			l.failed(addr(i))
		}
	}
	b.ResetTimer()
	for i := range b.N {
		l.failed(addr(maxLoginClients + i%(1<<20)))
	}
}
