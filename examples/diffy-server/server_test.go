package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/diffy-dfir/diffy"
	"github.com/diffy-dfir/diffy/analyze"
	"github.com/diffy-dfir/diffy/collect"
	"github.com/diffy-dfir/diffy/collect/ssmcollect"
	"github.com/diffy-dfir/diffy/diffytest/awsfake"
	"github.com/diffy-dfir/diffy/diffytest/fleet"
	"github.com/diffy-dfir/diffy/inventory/ec2inventory"
	"github.com/diffy-dfir/diffy/payload"
	"github.com/diffy-dfir/diffy/persist"
	"github.com/diffy-dfir/diffy/target"
	"github.com/diffy-dfir/diffy/target/ec2target"
)

// testToken is the bearer token of the test servers.
const testToken = "test-token-0123456789abcdefghijklmnop"

// group is the Auto Scaling group of the test fleets.
const group = "web"

// fleetInstances returns n instances of a generated fleet in group name.
func fleetInstances(name string, n int, seed int64) []awsfake.Instance {
	cfg := fleet.Scenario("small")
	cfg.Hosts, cfg.GroupName, cfg.Seed = n, name, seed
	return awsfake.FleetInstances(fleet.Generate(cfg))
}

// newFake returns an awsfake of the instances, closed with the test.
func newFake(t *testing.T, insts []awsfake.Instance, opts ...awsfake.Option) *awsfake.Server {
	t.Helper()
	fake, err := awsfake.New(append([]awsfake.Option{awsfake.WithInstances(insts...)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(fake.Close)
	return fake
}

// env is a server under test: real SDK clients (EC2 target, SSM
// collector) against an awsfake, a store in a directory, the API on a
// loopback port, and a real HTTP client.
type env struct {
	t     *testing.T
	fake  *awsfake.Server
	srv   *Server
	hs    *http.Server
	url   string
	d     *diffy.Diffy
	store persist.Store
	lim   *connLimiter // when setup.maxConns is set
}

// setup has what newEnv builds on.
type setup struct {
	batch int
	inv   bool                                      // an ec2inventory of the fake
	wrap  func(collect.Collector) collect.Collector // the collector, wrapped
	cfg   func(*Config)                             // changes the server's Config
	// maxConns, when set, caps the connections (connLimiter), with the
	// first-request deadline's timers from timers (real ones when nil).
	maxConns int
	timers   *fakeTimers
}

// newEnv starts a server over fake and store.
func newEnv(t *testing.T, fake *awsfake.Server, store persist.Store, s setup) *env {
	t.Helper()
	cfg := fake.Config()
	tg, err := ec2target.NewFromConfig(cfg, ec2target.KindASG)
	if err != nil {
		t.Fatal(err)
	}
	var col collect.Collector
	if col, err = ssmcollect.NewFromConfig(cfg, ssmcollect.WithPollInterval(20*time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	if s.wrap != nil {
		col = s.wrap(col)
	}
	if s.batch == 0 {
		s.batch = diffy.DefaultBatchSize
	}
	opts := []diffy.Option{diffy.WithStore(store), diffy.WithTarget(tg), diffy.WithCollector(col), diffy.WithBatchSize(s.batch)}
	if s.inv {
		inv, err := ec2inventory.NewFromConfig(cfg)
		if err != nil {
			t.Fatal(err)
		}
		opts = append(opts, diffy.WithInventory(inv))
	}
	d, err := diffy.New(opts...)
	if err != nil {
		t.Fatal(err)
	}
	sc := Config{Diffy: d, Store: store, Token: testToken, Jobs: 2,
		Logger: slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))}
	if s.cfg != nil {
		s.cfg(&sc)
	}
	srv, err := NewServer(context.Background(), sc)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var lim *connLimiter
	if s.maxConns > 0 {
		lim = newConnLimiter(ln, s.maxConns, nil)
		if s.timers != nil {
			lim.afterFunc = s.timers.afterFunc
		}
		ln = lim
	}
	hs := newHTTPServer(srv.Handler(), slog.New(slog.DiscardHandler))
	if lim != nil {
		lim.hook(hs)
	}
	go hs.Serve(ln)
	srv.Start()
	e := &env{t: t, fake: fake, srv: srv, hs: hs, url: "http://" + ln.Addr().String(), d: d, store: store, lim: lim}
	t.Cleanup(func() {
		hs.Close()
		srv.Shutdown(context.Background())
	})
	return e
}

// testWriter sends the server's log to the test's.
type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

// do sends a request with the test token and returns the status and body.
func (e *env) do(method, path, body string, hdr ...string) (int, []byte, http.Header) {
	e.t.Helper()
	return e.doToken(method, path, body, "Bearer "+testToken, hdr...)
}

// doToken sends a request with the Authorization header auth (none when
// empty) and headers hdr (name, value, ...).
func (e *env) doToken(method, path, body, auth string, hdr ...string) (int, []byte, http.Header) {
	e.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, e.url+path, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return resp.StatusCode, b, resp.Header
}

// submit posts a job and returns its record.
func (e *env) submit(body string) Job {
	e.t.Helper()
	code, b, hdr := e.do("POST", "/v1/jobs", body)
	if code != http.StatusAccepted {
		e.t.Fatalf("POST /v1/jobs %s: %d %s", body, code, b)
	}
	var j Job
	if err := json.Unmarshal(b, &j); err != nil {
		e.t.Fatal(err)
	}
	if hdr.Get("Location") != "/v1/jobs/"+j.ID {
		e.t.Errorf("Location %q, want /v1/jobs/%s", hdr.Get("Location"), j.ID)
	}
	return j
}

// follow reads the job's event stream and calls each with every record
// it sends, until each returns true or the stream ends; it returns the
// last record and the events' names.
func (e *env) follow(id string, each func(Job) bool) (Job, []string) {
	e.t.Helper()
	req, _ := http.NewRequest("GET", e.url+"/v1/jobs/"+id+"/events", nil)
	req.Header.Set("Authorization", "Bearer "+testToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "text/event-stream" {
		e.t.Fatalf("events of %s: %d %s", id, resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	var last Job
	var names []string
	var event, data string
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "event: "):
			event = strings.TrimPrefix(line, "event: ")
		case strings.HasPrefix(line, "data: "):
			data = strings.TrimPrefix(line, "data: ")
		case line == "" && event != "":
			names = append(names, event)
			if err := json.Unmarshal([]byte(data), &last); err != nil {
				e.t.Fatalf("event %s: %v: %s", event, err, data)
			}
			if event == "end" || (each != nil && each(last)) {
				return last, names
			}
			event, data = "", ""
		}
	}
	e.t.Fatalf("the event stream of %s ended without an end event (%v): %v", id, names, sc.Err())
	return last, names
}

// wait follows the job to its end and returns its final record.
func (e *env) wait(id string) Job {
	e.t.Helper()
	j, _ := e.follow(id, nil)
	return j
}

// TestJobOverTheAPI: a baseline job and an analyze job of a group started
// over the API collect it through the real SDK clients and awsfake; the
// analysis's progress comes over the event stream, instance counts
// growing to the group's size; the report is fetched as JSON, HTML and
// CSV; the keys and runs list them.
func TestJobOverTheAPI(t *testing.T) {
	const n = 9
	fake := newFake(t, fleetInstances(group, n, 1))
	e := newEnv(t, fake, persist.NewDir(t.TempDir()), setup{batch: 4})

	b := e.submit(`{"kind": "baseline", "key": "web"}`)
	if b.State != StateQueued || b.Incident == "" {
		t.Errorf("new job: %+v", b)
	}
	if got := e.wait(b.ID); got.State != StateSucceeded || got.Result == nil || got.Result.Instances != 1 {
		t.Fatalf("baseline job ended %+v", got)
	}

	a := e.submit(`{"kind": "analyze", "key": "web", "analyzer": "cluster"}`)
	var dones []int
	final, names := e.follow(a.ID, func(j Job) bool {
		if j.Progress.Stage == "collect" || j.Progress.Total > 0 {
			dones = append(dones, j.Progress.Done)
		}
		return false
	})
	if final.State != StateSucceeded {
		t.Fatalf("analyze job ended %+v", final)
	}
	if names[len(names)-1] != "end" || len(names) < 2 {
		t.Errorf("events %v, want job events then end", names)
	}
	if !slices.IsSorted(dones) || len(dones) == 0 || dones[len(dones)-1] != n || final.Progress.Total != n {
		t.Errorf("progress over the stream: done %v of %d, want rising to %d", dones, final.Progress.Total, n)
	}
	if final.Result == nil || final.Result.Hosts != n || final.Result.Report != "/v1/reports/web?run="+a.ID {
		t.Errorf("result %+v", final.Result)
	}

	code, body, hdr := e.do("GET", final.Result.Report, "", "Accept", "application/json")
	var rep analyze.Report
	if code != 200 || hdr.Get("Content-Type") != "application/json" || json.Unmarshal(body, &rep) != nil || len(rep.Hosts) != n || rep.Analyzer != "cluster" {
		t.Errorf("JSON report: %d %s, %d hosts by %q", code, hdr.Get("Content-Type"), len(rep.Hosts), rep.Analyzer)
	}
	code, body, hdr = e.do("GET", "/v1/reports/web", "", "Accept", "text/html,application/xhtml+xml;q=0.9,*/*;q=0.8")
	if code != 200 || !strings.HasPrefix(hdr.Get("Content-Type"), "text/html") || !bytes.Contains(body, []byte("<html")) {
		t.Errorf("HTML report: %d %s %.80q", code, hdr.Get("Content-Type"), body)
	}
	code, body, hdr = e.do("GET", "/v1/reports/web?run="+a.ID, "", "Accept", "text/csv")
	if code != 200 || !strings.HasPrefix(hdr.Get("Content-Type"), "text/csv") || bytes.Count(body, []byte("\n")) < n {
		t.Errorf("CSV report: %d %s %q", code, hdr.Get("Content-Type"), body)
	}
	if code, body, _ = e.do("GET", "/v1/reports/web", "", "Accept", "image/png"); code != http.StatusNotAcceptable {
		t.Errorf("Accept: image/png: %d %s, want 406", code, body)
	}
	if code, body, _ = e.do("GET", "/v1/reports/nothing-here", ""); code != http.StatusNotFound {
		t.Errorf("report of an unknown key: %d %s, want 404", code, body)
	}

	code, body, _ = e.do("GET", "/v1/keys", "")
	var keys []diffy.StoredKey
	if code != 200 || json.Unmarshal(body, &keys) != nil || len(keys) != 1 || keys[0].StoreKey != group ||
		keys[0].Runs[persist.KindBaseline] != 1 || keys[0].Runs[persist.KindAnalysis] != 1 {
		t.Errorf("keys: %d %s", code, body)
	}
	code, body, _ = e.do("GET", "/v1/keys/web/runs", "")
	var runs []diffy.Run
	if code != 200 || json.Unmarshal(body, &runs) != nil || !slices.ContainsFunc(runs, func(r diffy.Run) bool {
		return r.Kind == persist.KindAnalysis && r.ID == a.ID
	}) {
		t.Errorf("runs: %d %s, want the analysis of run %s", code, body, a.ID)
	}
	if code, body, _ = e.do("GET", "/v1/keys/web/runs", "", "Accept", "text/csv"); code != 200 || !bytes.HasPrefix(body, []byte("kind,id,time")) {
		t.Errorf("runs as CSV: %d %s", code, body)
	}
	if code, body, _ = e.do("GET", "/v1/keys", "", "Accept", "text/html"); code != 200 || !bytes.Contains(body, []byte("<td>web</td>")) {
		t.Errorf("keys as HTML: %d %s", code, body)
	}
	code, body, _ = e.do("GET", "/v1/jobs", "")
	var jobs []Job
	if code != 200 || json.Unmarshal(body, &jobs) != nil || len(jobs) != 2 || jobs[0].ID != a.ID {
		t.Errorf("jobs: %d %s", code, body)
	}
	code, body, _ = e.do("GET", "/v1/openapi.json", "")
	var spec struct {
		Paths map[string]map[string]any `json:"paths"`
	}
	if code != 200 || json.Unmarshal(body, &spec) != nil || spec.Paths["/v1/jobs/{id}/events"]["get"] == nil {
		t.Errorf("openapi: %d %.100s", code, body)
	}
}

// TestTokenRefused: without the token, with a wrong one, or another
// scheme, every endpoint answers 401 and nothing runs: no job is queued,
// awsfake receives no call.
func TestTokenRefused(t *testing.T) {
	fake := newFake(t, fleetInstances(group, 3, 1))
	// Each wrong token a refill apart: none is limited (429, see
	// TestFailedLoginLimit).
	clk := &clock{t: time.Date(2026, 12, 2, 5, 0, 0, 0, time.UTC)}
	e := newEnv(t, fake, persist.NewDir(t.TempDir()), setup{cfg: func(c *Config) { c.Now = clk.now }})
	job := `{"kind": "collect", "key": "web"}`
	for _, auth := range []string{"", "Bearer", "Bearer ", "Bearer wrong", "Bearer " + testToken + "x", "Bearer " + testToken[:len(testToken)-1],
		"Basic " + testToken, testToken, "Bearer  " + strings.ToUpper(testToken)} {
		for _, r := range []struct{ method, path, body string }{
			{"POST", "/v1/jobs", job}, {"GET", "/v1/jobs", ""}, {"GET", "/v1/jobs/x", ""}, {"DELETE", "/v1/jobs/x", ""},
			{"POST", "/v1/jobs/x/resume", ""}, {"GET", "/v1/jobs/x/events", ""}, {"GET", "/v1/keys", ""},
			{"GET", "/v1/keys/web/runs", ""}, {"GET", "/v1/reports/web", ""}, {"GET", "/v1/openapi.json", ""}, {"GET", "/nothing", ""},
		} {
			code, body, hdr := e.doToken(r.method, r.path, r.body, auth)
			clk.add(loginRefill)
			if code != http.StatusUnauthorized || !strings.HasPrefix(hdr.Get("WWW-Authenticate"), "Bearer") {
				t.Errorf("%s %s with Authorization %q: %d %s, want 401", r.method, r.path, auth, code, body)
			}
		}
	}
	if jobs := e.srv.Jobs(); len(jobs) != 0 {
		t.Errorf("%d jobs queued without the token", len(jobs))
	}
	for op, c := range fake.Calls() {
		if c.Operations > 0 {
			t.Errorf("awsfake got %d %s calls", c.Operations, op)
		}
	}
	if ids, _ := e.store.List(context.Background(), KindJob); len(ids) != 0 {
		t.Errorf("job records stored: %v", ids)
	}
}

// TestBadRequests: a job request is checked with the CLI's rules (kind,
// key, incident, run ID, times, which options go with which kind), its
// size capped; each bad one is answered 4xx with a reason and queues
// nothing.
func TestBadRequests(t *testing.T) {
	fake := newFake(t, fleetInstances(group, 3, 1))
	e := newEnv(t, fake, persist.NewDir(t.TempDir()), setup{})
	for _, c := range []struct {
		body, ctype string
		code        int
		says        string
	}{
		{`{"kind": "nuke", "key": "web"}`, "", 400, "kind"},
		{`{"kind": "collect"}`, "", 400, "key is missing"},
		{`{"kind": "collect", "key": "web\u0000x"}`, "", 400, "key"},
		{`{"kind": "collect", "key": "web", "incident": "a b"}`, "", 400, "incident"},
		{`{"kind": "collect", "key": "web", "incident": "` + strings.Repeat("a", 65) + `"}`, "", 400, "incident"},
		{`{"kind": "diff", "key": "web", "run": "yesterday"}`, "", 400, "run"},
		{`{"kind": "diff", "key": "web", "since": "last tuesday"}`, "", 400, "since"},
		{`{"kind": "diff", "key": "web", "since": "7d", "run": "latest"}`, "", 400, "give one"},
		{`{"kind": "analyze", "key": "web", "analyzer": "magic"}`, "", 400, "analyzer"},
		{`{"kind": "analyze", "key": "web", "instance": "i-1"}`, "", 400, "does not apply"},
		{`{"kind": "collect", "key": "web", "since": "7d"}`, "", 400, "does not apply"},
		{`{"kind": "baseline", "key": "web", "instance": "i-` + strings.Repeat("9", 80) + `"}`, "", 400, "instance"},
		{`{"kind": "collect", "key": "web", "extra": 1}`, "", 400, "unknown field"},
		{`{"kind": "collect", "key": "web"} {"kind": "collect", "key": "web"}`, "", 400, "JSON"},
		{`[1]`, "", 400, "not a job request"},
		{`{"kind": "collect", "key": "web"}`, "text/plain", 415, "JSON"},
		{`{"kind": "collect", "key": "` + strings.Repeat("w", maxBody) + `"}`, "", 413, "longer than"},
	} {
		ct := c.ctype
		if ct == "" {
			ct = "application/json"
		}
		code, body, _ := e.do("POST", "/v1/jobs", c.body, "Content-Type", ct)
		if code != c.code || !strings.Contains(string(body), c.says) {
			t.Errorf("POST %.60s: %d %s, want %d saying %q", c.body, code, body, c.code, c.says)
		}
	}
	if jobs := e.srv.Jobs(); len(jobs) != 0 {
		t.Errorf("%d jobs queued by bad requests", len(jobs))
	}
	if code, body, _ := e.do("GET", "/v1/reports/web?run=../../etc", ""); code != 400 {
		t.Errorf("report of a bad run ID: %d %s, want 400", code, body)
	}
	if code, _, _ := e.do("GET", "/v1/jobs/nope", ""); code != 404 {
		t.Errorf("unknown job: %d, want 404", code)
	}
}

// hangingFleet returns a fake of n instances where some hang (their
// commands never finish), and k, the number of instances the target lists
// before the first one that hangs, which is at least 1 and less than n:
// with batches of one instance, a collection gets through k instances and
// then waits on the hanging one until it is cancelled.
func hangingFleet(t *testing.T, n int) (*awsfake.Server, []awsfake.Instance, int) {
	t.Helper()
	insts := fleetInstances(group, n, 2)
	for seed := int64(1); seed < 100; seed++ {
		fake, err := awsfake.New(awsfake.WithInstances(insts...), awsfake.WithFaults(awsfake.Faults{Seed: seed, Hanging: 0.3}))
		if err != nil {
			t.Fatal(err)
		}
		order := targetOrder(t, fake)
		hang := fake.Selected(awsfake.FaultHanging)
		k := slices.IndexFunc(order, func(id string) bool { return slices.Contains(hang, id) })
		if k >= 2 && k < n-1 {
			t.Cleanup(fake.Close)
			return fake, insts, k
		}
		fake.Close()
	}
	t.Fatal("no seed makes a hanging instance after the second")
	return nil, nil, 0
}

// targetOrder returns the IDs of the group's instances in the target's
// order (the order of a collection's batches).
func targetOrder(t *testing.T, fake *awsfake.Server) []string {
	tg, err := ec2target.NewFromConfig(fake.Config(), ec2target.KindASG)
	if err != nil {
		t.Fatal(err)
	}
	insts, err := tg.Targets(context.Background(), group)
	if err != nil {
		t.Fatal(err)
	}
	ids := make([]string, len(insts))
	for i, in := range insts {
		ids[i] = in.ID
	}
	return ids
}

// TestCancelKeepsCollected: DELETE of a running job cancels its in-flight
// SSM command (awsfake gets CancelCommand) and ends it cancelled, with
// the instances collected before kept in the store as its incident's
// parts; resumed, it does not ask them again.
func TestCancelKeepsCollected(t *testing.T) {
	const n = 8
	fake, _, k := hangingFleet(t, n)
	e := newEnv(t, fake, persist.NewDir(t.TempDir()), setup{batch: 1})
	j := e.submit(`{"kind": "collect", "key": "web"}`)
	e.follow(j.ID, func(j Job) bool { return j.State == StateRunning && j.Progress.Done == k })
	inFlight(fake, k+1)
	code, body, _ := e.do("DELETE", "/v1/jobs/"+j.ID, "")
	if code != http.StatusAccepted {
		t.Fatalf("DELETE: %d %s", code, body)
	}
	got := e.wait(j.ID)
	if got.State != StateCancelled || got.Progress.Done != k || got.Progress.Total != n {
		t.Fatalf("cancelled job: %+v, want cancelled after %d of %d", got, k, n)
	}
	if c := fake.Calls()["ssm:CancelCommand"].Operations; c < 1 {
		t.Errorf("%d CancelCommand calls: the in-flight command was not cancelled", c)
	}
	runs, err := e.d.Partial(context.Background(), group)
	if err != nil || len(runs) != 1 || runs[0].Incident != got.Incident || runs[0].Instances != k {
		t.Fatalf("kept in the store: %+v (%v), want %d instances of incident %s", runs, err, k, got.Incident)
	}
	if code, body, _ := e.do("DELETE", "/v1/jobs/"+j.ID, ""); code != http.StatusConflict {
		t.Errorf("second DELETE: %d %s, want 409", code, body)
	}
	// A new job of the same incident resumes it (as the CLI's --incident
	// does); a second one while it runs would share its parts: refused.
	r := e.submit(`{"kind": "collect", "key": "web", "incident": "` + got.Incident + `"}`)
	if code, body, _ := e.do("POST", "/v1/jobs", `{"kind": "collect", "key": "web", "incident": "`+got.Incident+`"}`); code != http.StatusConflict {
		t.Errorf("a second job of a live incident: %d %s, want 409", code, body)
	}
	e.do("DELETE", "/v1/jobs/"+r.ID, "")
	e.wait(r.ID)
}

// inFlight waits until the fake has had the command of the sent-th
// SendCommand polled: the collector holds it in flight.
func inFlight(fake *awsfake.Server, sent int) {
	polls := func() int64 {
		c := fake.Calls()
		return c["ssm:ListCommandInvocations"].Operations + c["ssm:GetCommandInvocation"].Operations
	}
	for len(fake.SentCommands()) < sent {
		time.Sleep(time.Millisecond)
	}
	for p := polls(); polls() == p; {
		time.Sleep(time.Millisecond)
	}
}

// gate is a collector that holds the second batch until released, and
// tells when it has got there.
type gate struct {
	collect.Collector
	calls   int
	mu      sync.Mutex
	at      chan struct{} // closed when batch 2 is asked for
	release chan struct{}
}

func (g *gate) Collect(ctx context.Context, insts []target.Instance, cmds []payload.Command) ([]collect.Result, error) {
	g.mu.Lock()
	g.calls++
	second := g.calls == 2
	g.mu.Unlock()
	if second {
		close(g.at)
		<-g.release
	}
	return g.Collector.Collect(ctx, insts, cmds)
}

// TestShutdownAtBatchBoundary: a shutdown while a batch is in flight lets
// the batch finish (its commands are not cancelled), starts no further
// batch, and stores the job as interrupted with both batches kept;
// --resume's ResumeInterrupted on a new server finishes it.
func TestShutdownAtBatchBoundary(t *testing.T) {
	const n = 6
	fake := newFake(t, fleetInstances(group, n, 3))
	dir := persist.NewDir(t.TempDir())
	g := &gate{at: make(chan struct{}), release: make(chan struct{})}
	a := newEnv(t, fake, dir, setup{batch: 2, wrap: func(c collect.Collector) collect.Collector { g.Collector = c; return g }})
	j := a.submit(`{"kind": "analyze", "key": "web", "analyzer": "cluster"}`)
	<-g.at
	done := make(chan error, 1)
	go func() { done <- a.srv.Shutdown(context.Background()) }()
	<-a.srv.stopJobs // the shutdown has begun
	close(g.release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	rec, _ := a.srv.jobs[j.ID].snapshot()
	if rec.State != StateInterrupted || rec.Progress.Done != 4 {
		t.Fatalf("after the shutdown: %+v, want interrupted with 4 instances done", rec)
	}
	if c := fake.Calls()["ssm:CancelCommand"].Operations; c != 0 {
		t.Errorf("%d commands cancelled: the batch in flight should have finished", c)
	}
	if c := fake.Calls()["ssm:SendCommand"].Operations; c != 2 {
		t.Errorf("%d SendCommand calls, want 2 (no batch after the shutdown began)", c)
	}
	if code, _, _ := a.do("POST", "/v1/jobs", `{"kind": "collect", "key": "web"}`); code != http.StatusServiceUnavailable {
		t.Errorf("a job during the shutdown: %d, want 503", code)
	}
	b := newEnv(t, fake, dir, setup{batch: 2})
	if ids := b.srv.ResumeInterrupted(); !slices.Equal(ids, []string{j.ID}) {
		t.Fatalf("resumed %v, want %s", ids, j.ID)
	}
	got := b.wait(j.ID)
	if got.State != StateSucceeded || got.Result == nil || got.Result.Hosts != n {
		t.Fatalf("resumed: %+v", got)
	}
	if c := fake.Calls()["ssm:SendCommand"].Operations; c != 3 {
		t.Errorf("%d SendCommand calls in all, want 3 (the resumed job asked only the last batch)", c)
	}
}

// TestMainServesLocked runs the program as a user does: the first start
// makes a token file of mode 0600, the server answers only with it,
// serves a local job, and a cancelled context (SIGTERM) stops it with
// status 0; the second start reads the same token.
func TestMainServesLocked(t *testing.T) {
	dir := t.TempDir()
	tokFile := dir + "/conf/token"
	t.Setenv(TokenEnv, "")
	os.Unsetenv(TokenEnv)
	start := func() (string, context.CancelFunc, chan int, *bytes.Buffer) {
		ctx, cancel := context.WithCancel(context.Background())
		addr := make(chan string, 1)
		code := make(chan int, 1)
		var stderr bytes.Buffer
		go func() {
			code <- run(ctx, []string{"--listen", "127.0.0.1:0", "--token-file", tokFile, "--store", dir + "/store"}, io.Discard, &syncWriter{w: &stderr}, func(a string) { addr <- a })
		}()
		select {
		case a := <-addr:
			return a, cancel, code, &stderr
		case c := <-code:
			t.Fatalf("exit %d: %s", c, stderr.String())
		}
		return "", cancel, code, &stderr
	}
	addr, cancel, code, _ := start()
	fi, err := os.Lstat(tokFile)
	if err != nil || fi.Mode().Perm() != 0o600 || !fi.Mode().IsRegular() {
		t.Fatalf("token file: %v %v", fi, err)
	}
	tok, _ := os.ReadFile(tokFile)
	e := &env{t: t, url: "http://" + addr}
	if c, _, _ := e.doToken("GET", "/v1/jobs", "", ""); c != 401 {
		t.Errorf("no token: %d", c)
	}
	c, body, _ := e.doToken("POST", "/v1/jobs", `{"kind": "baseline", "key": "local"}`, "Bearer "+strings.TrimSpace(string(tok)))
	if c != 202 {
		t.Fatalf("job: %d %s", c, body)
	}
	cancel()
	if c := <-code; c != 0 {
		t.Errorf("exit status %d after the shutdown", c)
	}
	addr, cancel, code, _ = start()
	tok2, _ := os.ReadFile(tokFile)
	if !bytes.Equal(tok, tok2) {
		t.Error("the second start made a new token")
	}
	e = &env{t: t, url: "http://" + addr}
	c, body, _ = e.doToken("GET", "/v1/jobs", "", "Bearer "+strings.TrimSpace(string(tok)))
	var jobs []Job
	if c != 200 || json.Unmarshal(body, &jobs) != nil || len(jobs) != 1 {
		t.Errorf("jobs after a restart: %d %s", c, body)
	}
	cancel()
	<-code
}

// syncWriter serializes writes (the logger and the test read stderr).
type syncWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}

// TestWatchBaselinesNewGroups: the inventory watch (ec2inventory through
// the real EC2 client) queues a baseline of the group it finds, none on
// the next round; a group that appears in the fake (awsfake.Launch) is
// baselined once; an instance launched in a known group has the group
// analyzed against its baseline, once; a new server on the same store (a restart) queues nothing,
// as the seen set is in the store.
func TestWatchBaselinesNewGroups(t *testing.T) {
	ctx := context.Background()
	fake := newFake(t, fleetInstances(group, 3, 4))
	dir := persist.NewDir(t.TempDir())
	a := newEnv(t, fake, dir, setup{inv: true})
	round := func(e *env, want ...string) {
		t.Helper()
		es, err := e.srv.WatchRound(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var keys []string
		for _, en := range es {
			keys = append(keys, en.Key)
		}
		if !slices.Equal(keys, want) {
			t.Fatalf("round queued %v, want %v", keys, want)
		}
	}
	// jobOf waits for the one job of kind for key.
	jobOf := func(e *env, kind, key string) {
		t.Helper()
		var j *Job
		for _, rec := range e.srv.Jobs() {
			if rec.Request.Key == key && rec.Request.Kind == kind {
				if j != nil {
					t.Fatalf("two %s jobs for %s", kind, key)
				}
				j = &rec
			}
		}
		if j == nil {
			t.Fatalf("no %s job for %s: %+v", kind, key, e.srv.Jobs())
		}
		if got := e.wait(j.ID); got.State != StateSucceeded {
			t.Fatalf("%s of %s: %+v", kind, key, got)
		}
	}
	round(a, group)
	jobOf(a, "baseline", group)
	round(a)
	if err := fake.Launch(fleetInstances("api", 2, 5)...); err != nil {
		t.Fatal(err)
	}
	round(a, "api")
	jobOf(a, "baseline", "api")
	round(a)
	scaled := fleetInstances(group, 1, 6)[0]
	scaled.Instance.LaunchTime = time.Now().Add(time.Hour) // the group's newest
	if err := fake.Launch(scaled); err != nil {
		t.Fatal(err)
	}
	// A new instance of a known group is checked against its baseline,
	// not made it (TestWatchDoesNotBaselineANewcomer).
	round(a, group)
	jobOf(a, "analyze", group)
	round(a)
	a.hs.Close()
	if err := a.srv.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	b := newEnv(t, fake, dir, setup{inv: true})
	round(b)
	if n := len(b.srv.Jobs()); n != 3 {
		t.Errorf("%d jobs after the restart, want the 2 baselines and the analysis", n)
	}
	for k, want := range map[string][]persist.Kind{group: {persist.KindBaseline, persist.KindCollection, persist.KindAnalysis}, "api": {persist.KindBaseline}} {
		runs, err := b.d.Runs(ctx, k)
		var kinds []persist.Kind
		for _, r := range runs {
			kinds = append(kinds, r.Kind)
		}
		if err != nil || !slices.Equal(kinds, want) {
			t.Errorf("runs of %s: %v (%v), want %v", k, kinds, err, want)
		}
	}
}
