package main

import (
	"bufio"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/diffy-dfir/diffy/persist"
)

// fakeTimers stands for time.AfterFunc: the test fires the timers.
type fakeTimers struct {
	mu     sync.Mutex
	timers []*fakeTimer
}

type fakeTimer struct {
	f       func()
	stopped bool
}

func (ft *fakeTimers) afterFunc(_ time.Duration, f func()) func() bool {
	ft.mu.Lock()
	defer ft.mu.Unlock()
	t := &fakeTimer{f: f}
	ft.timers = append(ft.timers, t)
	return func() bool {
		ft.mu.Lock()
		defer ft.mu.Unlock()
		was := !t.stopped
		t.stopped = true
		return was
	}
}

// fire runs every timer not stopped (as if their time had come), and
// returns how many ran.
func (ft *fakeTimers) fire() int {
	ft.mu.Lock()
	var due []func()
	for _, t := range ft.timers {
		if !t.stopped {
			t.stopped = true
			due = append(due, t.f)
		}
	}
	ft.mu.Unlock()
	for _, f := range due {
		f()
	}
	return len(due)
}

// halfOpen dials addr and sends the start of a request that never ends,
// as a client holding connections does.
func halfOpen(t *testing.T, addr string) net.Conn {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if _, err := io.WriteString(c, "GET /v1/jobs HTTP/1.1\r\nHost: x\r\n"); err != nil {
		t.Fatal(err)
	}
	return c
}

// closedByServer reports whether the server closed c: a read ends with
// EOF (or a reset) instead of waiting. The deadline is a safety net for
// a connection left open, not a measure.
func closedByServer(c net.Conn) bool {
	c.SetReadDeadline(time.Now().Add(time.Minute))
	_, err := io.Copy(io.Discard, c)
	var ne net.Error
	return !(errors.As(err, &ne) && ne.Timeout())
}

// ownerClient is a client with its own connections.
func ownerClient() *http.Client {
	return &http.Client{Timeout: time.Minute, Transport: &http.Transport{}}
}

// getReused sends GET path with the token from c and returns the status
// and whether it went on a connection used before.
func (e *env) getReused(c *http.Client, path string) (int, bool) {
	e.t.Helper()
	var reused bool
	req, _ := http.NewRequest("GET", e.url+path, nil)
	req = req.WithContext(httptrace.WithClientTrace(req.Context(), &httptrace.ClientTrace{
		GotConn: func(i httptrace.GotConnInfo) { reused = i.Reused },
	}))
	req.Header.Set("Authorization", "Bearer "+testToken)
	resp, err := c.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, reused
}

// TestConnCapSparesTheOwner: a client holding connections half open (the
// start of a request, never its end) against a cap of 8: the server
// never has more than 8 open; each newcomer closes the oldest connection
// that has not carried the token, so the owner's request (with the
// token), sent after 24 such connections, is served, and its keep-alive
// connection outlives a second wave of 10: the owner's next request goes
// on it. Before, nothing capped them: the server kept every connection
// until its header deadline, and at the process's file limit it accepted
// no one (TestFileLimitFloodSparesTheOwner).
func TestConnCapSparesTheOwner(t *testing.T) {
	const max = 8
	e := newEnv(t, newFake(t, fleetInstances(group, 1, 1)), persist.NewMemory(), setup{maxConns: max, timers: &fakeTimers{}})
	addr := strings.TrimPrefix(e.url, "http://")
	var wave1 []net.Conn
	for range 3 * max {
		wave1 = append(wave1, halfOpen(t, addr))
	}
	owner := ownerClient()
	// Accepted after all of wave 1 (the kernel's queue is in order), so
	// it is served once they have all been counted.
	if code, _ := e.getReused(owner, "/v1/jobs"); code != http.StatusOK {
		t.Fatalf("the owner's request under the flood: %d, want 200", code)
	}
	open, st := e.lim.counts()
	if open != max || st.Peak != max || st.Evicted != 2*max+1 || st.Refused != 0 {
		t.Errorf("after wave 1: %d open, %+v; want %d open, peak %d, %d evicted, none refused", open, st, max, max, 2*max+1)
	}
	for i, c := range wave1[:2*max+1] {
		if !closedByServer(c) {
			t.Errorf("connection %d of wave 1, among the oldest, is still open", i)
		}
	}
	for range max + 2 {
		halfOpen(t, addr)
	}
	// A new connection, accepted after wave 2: once it is served, the
	// whole wave has been counted.
	if code, _ := e.getReused(ownerClient(), "/v1/jobs"); code != http.StatusOK {
		t.Fatalf("a new client with the token after wave 2: %d, want 200", code)
	}
	code, reused := e.getReused(owner, "/v1/jobs")
	if code != http.StatusOK || !reused {
		t.Errorf("the owner's second request after a second wave: %d, reused connection %v; want 200 on the kept connection", code, reused)
	}
	if open, st := e.lim.counts(); open > max || st.Peak != max {
		t.Errorf("after wave 2: %d open, peak %d; the cap is %d", open, st.Peak, max)
	}
}

// TestRefusedConnectionClosed: a request without the token (and one with
// a wrong one) is answered 401 and its connection closed after the
// answer. Before, the connection was kept alive for the next request
// (IdleTimeout, 2 minutes): one request each, and a client held as many
// connections as it liked for two minutes.
func TestRefusedConnectionClosed(t *testing.T) {
	e := newEnv(t, newFake(t, fleetInstances(group, 1, 1)), persist.NewMemory(), setup{})
	addr := strings.TrimPrefix(e.url, "http://")
	for _, auth := range []string{"", "Authorization: Bearer guess\r\n"} {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		io.WriteString(c, "GET /v1/jobs HTTP/1.1\r\nHost: x\r\n"+auth+"\r\n")
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized || !resp.Close {
			t.Errorf("%q: %d, Connection: %q; want 401 and close", auth, resp.StatusCode, resp.Header.Get("Connection"))
		}
		if !closedByServer(c) {
			t.Errorf("%q: the connection is kept open after the 401", auth)
		}
	}
}

// TestFirstRequestDeadline: a connection that has sent no complete
// request when its first-request timer fires is closed; one that has is
// not, and serves its next request.
func TestFirstRequestDeadline(t *testing.T) {
	timers := &fakeTimers{}
	e := newEnv(t, newFake(t, fleetInstances(group, 1, 1)), persist.NewMemory(), setup{maxConns: 100, timers: timers})
	addr := strings.TrimPrefix(e.url, "http://")
	idle, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer idle.Close()
	slow := halfOpen(t, addr)
	owner := ownerClient()
	if code, _ := e.getReused(owner, "/v1/jobs"); code != http.StatusOK {
		t.Fatalf("owner: %d", code)
	}
	if n := timers.fire(); n != 2 {
		t.Errorf("%d first-request timers running, want 2 (the silent and the half-open connections)", n)
	}
	for name, c := range map[string]net.Conn{"silent": idle, "half-open": slow} {
		if !closedByServer(c) {
			t.Errorf("the %s connection is open after its first-request deadline", name)
		}
	}
	if code, reused := e.getReused(owner, "/v1/jobs"); code != http.StatusOK || !reused {
		t.Errorf("the owner's connection after the deadline: %d, reused %v; want 200 on it", code, reused)
	}
	if _, st := e.lim.counts(); st.Late != 2 {
		t.Errorf("%d connections closed late, want 2", st.Late)
	}
}

// TestConnCap: the default cap is the file limit less the reserve; a low
// limit gives half of it (and a warning); an unknown one the default.
func TestConnCap(t *testing.T) {
	for _, c := range []struct {
		nofile uint64
		ok     bool
		jobs   int
		want   int
		low    bool
	}{
		{20000, true, 2, 20000 - 64 - 2*64, false},
		{20000, true, 8, 20000 - 64 - 8*64, false},
		{512, true, 2, 512 - 192, false},
		{256, true, 2, 128, true},
		{100, true, 2, 50, true},
		{1, true, 2, 1, true},
		{^uint64(0), true, 2, 1 << 30, false},
		{0, false, 2, defaultMaxConns, false},
	} {
		if got, low := connCap(c.nofile, c.ok, c.jobs); got != c.want || low != c.low {
			t.Errorf("connCap(%d, %v, %d) = %d, %v; want %d, %v", c.nofile, c.ok, c.jobs, got, low, c.want, c.low)
		}
	}
	if nofile, ok := fileLimit(); ok {
		room, low := connCap(nofile, ok, 2)
		c := &config{jobs: 2, maxConns: room + 1, set: map[string]bool{"max-conns": true}}
		if _, err := maxConnsOf(c, nil); !low && (err == nil || !strings.Contains(err.Error(), "ulimit -n")) {
			t.Errorf("--max-conns %d over the room of the file limit %d: %v, want a usage error saying to raise it", room+1, nofile, err)
		}
		c.maxConns = room
		if n, err := maxConnsOf(c, nil); n != room || err != nil {
			t.Errorf("--max-conns %d: %d, %v", room, n, err)
		}
	}
}

// TestLimitedOfTLS: under TLS, net/http hands the hooks the *tls.Conn;
// the limiter finds its connection under it (so that a TLS client with
// the token is kept at the cap, and its first request stops its timer).
func TestLimitedOfTLS(t *testing.T) {
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	lc := &limitedConn{Conn: a}
	if got := limitedOf(tls.Server(lc, &tls.Config{})); got != lc {
		t.Errorf("limitedOf(a *tls.Conn over a limited connection) = %v, want it", got)
	}
	if got := limitedOf(a); got != nil {
		t.Errorf("limitedOf(a connection not limited) = %v, want nil", got)
	}
}

// TestConnCapConcurrent: half-open connections, requests without the
// token and requests with it, all at once from many goroutines, against
// a cap of 16 (under -race: the limiter's state is shared by Accept, the
// connection hooks, the handlers and the timers): the cap is never
// passed, and every request with the token is answered 200 (a client
// whose connection was closed to make room dials again, as a browser or
// curl in a retry loop would).
func TestConnCapConcurrent(t *testing.T) {
	const max = 16
	timers := &fakeTimers{}
	e := newEnv(t, newFake(t, fleetInstances(group, 1, 1)), persist.NewMemory(), setup{maxConns: max, timers: timers})
	addr := strings.TrimPrefix(e.url, "http://")
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(2)
		go func() { // half-open connections
			defer wg.Done()
			for range 20 {
				if c, err := net.Dial("tcp", addr); err == nil {
					io.WriteString(c, "GET /v1/jobs HTTP/1.1\r\nHost: x\r\n")
					defer c.Close()
				}
			}
		}()
		go func() { // wrong tokens
			defer wg.Done()
			for range 20 {
				req, _ := http.NewRequest("GET", e.url+"/v1/jobs", nil)
				req.Header.Set("Authorization", "Bearer guess")
				if resp, err := ownerClient().Do(req); err == nil {
					resp.Body.Close()
				}
			}
		}()
	}
	var failed sync.Map
	for i := range 4 {
		wg.Add(1)
		go func() { // the owner
			defer wg.Done()
			c := ownerClient()
			for j := range 20 {
				var code int
				for try := 0; try < 100 && code != http.StatusOK; try++ {
					req, _ := http.NewRequest("GET", e.url+"/v1/jobs", nil)
					req.Header.Set("Authorization", "Bearer "+testToken)
					if resp, err := c.Do(req); err == nil {
						code = resp.StatusCode
						io.Copy(io.Discard, resp.Body)
						resp.Body.Close()
					}
				}
				if code != http.StatusOK {
					failed.Store([2]int{i, j}, code)
				}
			}
		}()
	}
	wg.Wait()
	timers.fire()
	failed.Range(func(k, v any) bool {
		t.Errorf("owner %v: %v after 100 tries", k, v)
		return true
	})
	if _, st := e.lim.counts(); st.Peak > max {
		t.Errorf("peak %d open connections, cap %d", st.Peak, max)
	}
}

// TestMemCap: a quarter of the memory at connMemory a connection (the
// policy connMemoryShare); at least one; none known, no bound.
func TestMemCap(t *testing.T) {
	for _, c := range []struct {
		mem  uint64
		ok   bool
		want int
	}{
		{24 << 30, true, 24 << 30 / 4 / (18 << 10)},
		{2 << 30, true, 29127},
		{1 << 10, true, 1},
		{0, false, 1 << 30},
	} {
		if got := memCap(c.mem, c.ok); got != c.want {
			t.Errorf("memCap(%d, %v) = %d, want %d", c.mem, c.ok, got, c.want)
		}
	}
}
