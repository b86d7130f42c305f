package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/diffy-dfir/diffy/analyze"
	"github.com/diffy-dfir/diffy/collect"
	"github.com/diffy-dfir/diffy/diffytest/awsfake"
	"github.com/diffy-dfir/diffy/diffytest/fleet"
	"github.com/diffy-dfir/diffy/internal/history"
	"github.com/diffy-dfir/diffy/payload"
	"github.com/diffy-dfir/diffy/persist"
	"github.com/diffy-dfir/diffy/target"
)

// Attacks on the server (issue 10's style: each test shows the attack;
// docs/reliability.md lists them).

// stalling is a collector that collects nothing until its run is
// cancelled: a job using it stays running until DELETE or shutdown.
type stalling struct{}

func (stalling) Collect(ctx context.Context, _ []target.Instance, _ []payload.Command) ([]collect.Result, error) {
	<-ctx.Done()
	return nil, ctx.Err()
}

// TestResumeRefusedWhileIncidentLive: a job of an incident is refused
// while another job of that incident is queued or running (two runs of
// one incident write the same parts, and the first to finish deletes
// them under the other), and resuming a job is such a job too. Before,
// POST /v1/jobs/{id}/resume of a cancelled job queued it beside the live
// job that had taken over its incident (202): both ran on the same
// parts.
func TestResumeRefusedWhileIncidentLive(t *testing.T) {
	fake := newFake(t, fleetInstances(group, 3, 1))
	e := newEnv(t, fake, persist.NewDir(t.TempDir()), setup{wrap: func(collect.Collector) collect.Collector { return stalling{} }})
	a := e.submit(`{"kind": "collect", "key": "web"}`)
	e.follow(a.ID, func(j Job) bool { return j.State == StateRunning })
	if code, body, _ := e.do("DELETE", "/v1/jobs/"+a.ID, ""); code != http.StatusAccepted {
		t.Fatalf("DELETE: %d %s", code, body)
	}
	if got := e.wait(a.ID); got.State != StateCancelled {
		t.Fatalf("job %s ended %s, want cancelled", a.ID, got.State)
	}
	// A new job takes the incident over (as the CLI's --incident would).
	b := e.submit(`{"kind": "collect", "key": "web", "incident": "` + a.Incident + `"}`)
	e.follow(b.ID, func(j Job) bool { return j.State == StateRunning })

	code, body, _ := e.do("POST", "/v1/jobs/"+a.ID+"/resume", "")
	if code != http.StatusConflict {
		t.Errorf("resume of %s while job %s runs its incident %s: %d %s, want 409", a.ID, b.ID, a.Incident, code, body)
		e.do("DELETE", "/v1/jobs/"+a.ID, "")
		e.wait(a.ID)
	}
	if rec, _ := e.srv.Job(a.ID); rec != nil {
		if got, _ := rec.snapshot(); code == http.StatusConflict && got.State != StateCancelled {
			t.Errorf("refused resume left job %s %s, want cancelled", a.ID, got.State)
		}
	}
	e.do("DELETE", "/v1/jobs/"+b.ID, "")
	e.wait(b.ID)
	// Once the incident is free again, the resume is taken.
	if code, body, _ := e.do("POST", "/v1/jobs/"+a.ID+"/resume", ""); code != http.StatusAccepted {
		t.Errorf("resume of %s once its incident is free: %d %s, want 202", a.ID, code, body)
	}
	e.do("DELETE", "/v1/jobs/"+a.ID, "")
	e.wait(a.ID)
}

// landingStore stores a new report of a key (run next, hosts of next) right
// after the first read of the key's latest report: an analyze job of the
// key finishing while a client reads the report.
type landingStore struct {
	persist.Store
	once sync.Once
	key  string
	id   string
	doc  []byte
}

func (s *landingStore) Get(ctx context.Context, kind persist.Kind, key string) ([]byte, error) {
	doc, err := s.Store.Get(ctx, kind, key)
	if kind == persist.KindAnalysis && key == s.key {
		s.once.Do(func() {
			if err := history.Put(ctx, s.Store, kind, key, s.id, s.doc, history.Retention{}, time.Now()); err != nil {
				panic(err)
			}
		})
	}
	return doc, err
}

func (s *landingStore) Delete(ctx context.Context, kind persist.Kind, key string) error {
	return s.Store.(persist.Deleter).Delete(ctx, kind, key)
}

// reportDoc returns the stored document of a report of key with one host.
func reportDoc(t *testing.T, key, host string) []byte {
	t.Helper()
	doc, err := json.Marshal(&analyze.Report{Key: key, Analyzer: "cluster", CreatedAt: time.Now().UTC(),
		Hosts: []analyze.Host{{InstanceID: host, Findings: []analyze.Finding{}}}})
	if err != nil {
		t.Fatal(err)
	}
	return doc
}

// TestRenderedReportIsTheRunAsked: the HTML or CSV of a report is made of
// the document read for the request, so a run's page is that run's report
// even when a newer report lands while it is served. Before, the page was
// rendered from a second read of the key (LoadReport) and kept under the
// digest of the first: a report stored between the two reads was served,
// from then on, as the page of the run read first (GET ?run=A showed run
// B's hosts).
func TestRenderedReportIsTheRunAsked(t *testing.T) {
	fake := newFake(t, fleetInstances(group, 1, 1))
	ctx := context.Background()
	const hostA, hostB = "i-0aaaaaaaaaaaaaaaa", "i-0bbbbbbbbbbbbbbbb"
	for _, f := range []string{"text/html", "text/csv"} {
		dir := persist.NewDir(t.TempDir())
		idA, idB := history.IDAt(time.Now().Add(-time.Hour), "a"), history.IDAt(time.Now(), "b")
		if err := history.Put(ctx, dir, persist.KindAnalysis, group, idA, reportDoc(t, group, hostA), history.Retention{}, time.Now()); err != nil {
			t.Fatal(err)
		}
		e := newEnv(t, fake, &landingStore{Store: dir, key: group, id: idB, doc: reportDoc(t, group, hostB)}, setup{})
		// The latest, read as B lands: A's page or B's, either is the
		// latest of some moment.
		e.do("GET", "/v1/reports/web", "", "Accept", f)
		for _, c := range []struct{ run, has, hasNot string }{{idA, hostA, hostB}, {idB, hostB, hostA}} {
			code, body, _ := e.do("GET", "/v1/reports/web?run="+c.run, "", "Accept", f)
			if code != http.StatusOK || !bytes.Contains(body, []byte(c.has)) || bytes.Contains(body, []byte(c.hasNot)) {
				t.Errorf("%s of run %s: %d, has %s: %v, has %s: %v; want that run's host only", f, c.run, code,
					c.has, bytes.Contains(body, []byte(c.has)), c.hasNot, bytes.Contains(body, []byte(c.hasNot)))
			}
		}
	}
}

// TestCrossOriginPageRunsNothing: a page of another origin in a browser on
// the server's machine cannot run a job. It can send a form or a "simple"
// fetch (no custom header, so no token): 401. A fetch with an
// Authorization header needs a CORS preflight, which is answered 401 with
// no Access-Control-Allow-* header, so the browser sends nothing more. A
// page that rebinds its own name to 127.0.0.1 (DNS rebinding) reaches the
// server with its own Host and still has no token: 401. Nothing is
// queued, no AWS call is made. (This held before; the test keeps it.)
func TestCrossOriginPageRunsNothing(t *testing.T) {
	fake := newFake(t, fleetInstances(group, 3, 1))
	e := newEnv(t, fake, persist.NewDir(t.TempDir()), setup{})
	const origin = "http://evil.example"
	job := `{"kind": "collect", "key": "web"}`
	for _, c := range []struct {
		what, method, path, body string
		hdr                      []string
	}{
		{"a form post", "POST", "/v1/jobs", "kind=collect&key=web", []string{"Content-Type", "application/x-www-form-urlencoded", "Origin", origin}},
		{"a simple fetch of JSON as text/plain", "POST", "/v1/jobs", job, []string{"Content-Type", "text/plain", "Origin", origin}},
		{"a preflight of a fetch with a token", "OPTIONS", "/v1/jobs", "", []string{"Origin", origin, "Access-Control-Request-Method", "POST",
			"Access-Control-Request-Headers", "authorization,content-type"}},
		{"a rebound name's POST", "POST", "/v1/jobs", job, []string{"Host", "evil.example:8470", "Origin", "http://evil.example:8470", "Content-Type", "text/plain"}},
		{"a rebound name's read of the reports", "GET", "/v1/reports/web", "", []string{"Host", "evil.example:8470"}},
		{"a resume from a link", "POST", "/v1/jobs/x/resume", "", []string{"Origin", origin}},
	} {
		req, err := http.NewRequest(c.method, e.url+c.path, bytes.NewReader([]byte(c.body)))
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i+1 < len(c.hdr); i += 2 {
			if c.hdr[i] == "Host" {
				req.Host = c.hdr[i+1]
				continue
			}
			req.Header.Set(c.hdr[i], c.hdr[i+1])
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("%s: %d, want 401", c.what, resp.StatusCode)
		}
		for name := range resp.Header {
			if strings.HasPrefix(name, "Access-Control-") {
				t.Errorf("%s: answered %s: %q (a browser would let the page go on)", c.what, name, resp.Header.Get(name))
			}
		}
	}
	if jobs := e.srv.Jobs(); len(jobs) != 0 {
		t.Errorf("%d jobs queued by a page of another origin", len(jobs))
	}
	for op, c := range fake.Calls() {
		if c.Operations > 0 {
			t.Errorf("awsfake got %d %s calls", c.Operations, op)
		}
	}
}

// TestLoginLimitSparesTheToken: every client of the machine comes from
// 127.0.0.1 (and behind a TLS proxy every client comes from the proxy's
// address), so a local user who sends wrong tokens empties the bucket of
// the owner's clients too. The limit slows wrong tokens; a request with
// the right one is served whatever the bucket. Before, once another user
// of 127.0.0.1 had sent loginBurst wrong tokens (and one per loginRefill
// after), the owner's requests with the right token were all 429: locked
// out for as long as the other user kept at it.
func TestLoginLimitSparesTheToken(t *testing.T) {
	fake := newFake(t, fleetInstances(group, 2, 1))
	clk := &clock{t: time.Date(2026, 12, 2, 5, 0, 0, 0, time.UTC)}
	e := newEnv(t, fake, persist.NewMemory(), setup{cfg: func(c *Config) { c.Now = clk.now }})
	other, owner := fromAddr("127.0.0.1"), fromAddr("127.0.0.1")
	for range 3 * loginBurst {
		e.get(other, "/v1/jobs", "Bearer guess")
	}
	if code, _ := e.get(other, "/v1/jobs", "Bearer guess"); code != http.StatusTooManyRequests {
		t.Errorf("wrong tokens after %d: %d, want 429 (limited)", 3*loginBurst, code)
	}
	for _, path := range []string{"/v1/jobs", "/v1/keys"} {
		if code, after := e.get(owner, path, "Bearer "+testToken); code != http.StatusOK {
			t.Errorf("the owner's GET %s with the token, from the same address: %d (Retry-After %q), want 200", path, code, after)
		}
	}
	j := e.submit(`{"kind": "baseline", "key": "web"}`)
	if got := e.wait(j.ID); got.State != StateSucceeded {
		t.Errorf("the owner's job ended %s", got.State)
	}
	if code, _ := e.get(other, "/v1/jobs", ""); code != http.StatusTooManyRequests {
		t.Errorf("no token after the owner's requests: %d, want 429 (still limited)", code)
	}
}

// TestRefusalsSayWhatToDo: the answers that refuse a request, and the
// usage errors about the token, are read by whoever must fix the client:
// they go through the redactor (cli.OneLine) and must come out whole.
// Before, "bearer token" was taken for a credential ("missing or wrong
// Bearer [REDACTED]") and the rest of the 401's text, after
// "Authorization:", for a header's value: the answer said neither what
// was wrong nor where the token is.
func TestRefusalsSayWhatToDo(t *testing.T) {
	fake := newFake(t, fleetInstances(group, 2, 1))
	clk := &clock{t: time.Date(2026, 12, 2, 5, 0, 0, 0, time.UTC)}
	e := newEnv(t, fake, persist.NewMemory(), setup{cfg: func(c *Config) { c.Now = clk.now }})
	c := fromAddr("127.0.0.1")
	var bodies []string
	for range loginBurst + 1 {
		req, _ := http.NewRequest("GET", e.url+"/v1/jobs", nil)
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var b bytes.Buffer
		b.ReadFrom(resp.Body)
		resp.Body.Close()
		bodies = append(bodies, b.String())
	}
	var stderr bytes.Buffer
	run(context.Background(), []string{"--listen", "192.0.2.1:8470"}, io.Discard, &stderr, nil)
	for _, c := range []struct{ what, text string }{
		{"401", bodies[0]}, {"429", bodies[loginBurst]}, {"usage error", stderr.String()},
	} {
		if strings.Contains(c.text, "[REDACTED]") || !strings.Contains(c.text, "bearer token") {
			t.Errorf("%s: %q; want it whole, saying bearer token", c.what, c.text)
		}
	}
	if !strings.Contains(bodies[0], "--token-file") {
		t.Errorf("401: %q; want it to say where the token is", bodies[0])
	}
}

// TestWatchDoesNotBaselineANewcomer: whoever can put an instance into a
// known group (autoscaling:AttachInstances, a launch template or user
// data of their own, an implant planted right after launch) must not set
// the group's reference. The watch hands out the group's new instance;
// the server checks it, and the rest of the group, against the group's
// baseline (an analyze job), and never makes a baseline of it without an
// operator. Before, the watch queued a baseline job from the newcomer,
// which became the group's latest baseline: the implant was then the norm
// the baseline analyzer compared every host with.
func TestWatchDoesNotBaselineANewcomer(t *testing.T) {
	ctx := context.Background()
	const implant = "/dev/shm/.x/kworker-sync"
	fake := newFake(t, fleetInstances(group, 3, 4))
	e := newEnv(t, fake, persist.NewDir(t.TempDir()), setup{inv: true})
	waitAll := func() {
		for _, j := range e.srv.Jobs() {
			if got := e.wait(j.ID); got.State != StateSucceeded {
				t.Fatalf("job %s %s of %s ended %s: %s", j.ID, j.Request.Kind, j.Request.Key, got.State, got.Error)
			}
		}
	}
	if _, err := e.srv.WatchRound(ctx); err != nil {
		t.Fatal(err)
	}
	waitAll()
	clean, err := e.d.LoadRun(ctx, persist.KindBaseline, group, "")
	if err != nil {
		t.Fatal(err)
	}

	cfg := fleet.Scenario("small")
	cfg.Hosts, cfg.GroupName, cfg.Seed = 1, group, 6
	f := fleet.Generate(cfg)
	h := &f.Hosts[0]
	h.Instance.LaunchTime = time.Now().Add(time.Hour) // the group's newest
	h.Rows[payload.Processes] = append(h.Rows[payload.Processes], collect.Row{"pid": "31337", "name": "kworker-sync",
		"path": implant, "cmdline": implant + " --beacon", "uid": "0", "parent": "1", "start_time": "1"})
	if err := fake.Launch(awsfake.FleetInstances(f)...); err != nil {
		t.Fatal(err)
	}
	es, err := e.srv.WatchRound(ctx)
	if err != nil || len(es) != 1 || es[0].Instance != h.Instance.ID {
		t.Fatalf("watch round handed out %+v (%v), want the new instance %s", es, err, h.Instance.ID)
	}
	waitAll()
	for _, j := range e.srv.Jobs() {
		if j.Request.Kind == "baseline" && j.Request.Instance == h.Instance.ID {
			t.Errorf("job %s baselines the group from the newcomer %s", j.ID, h.Instance.ID)
		}
	}
	now, err := e.d.LoadRun(ctx, persist.KindBaseline, group, "")
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(now, []byte(implant)) || !bytes.Equal(now, clean) {
		t.Errorf("the group's baseline changed (holds the implant: %v)", bytes.Contains(now, []byte(implant)))
	}
	rep, err := e.d.LoadReport(ctx, group, "")
	if err != nil {
		t.Fatalf("no analysis of the group after its newcomer: %v", err)
	}
	found := false
	for _, host := range rep.Hosts {
		for _, fd := range host.Findings {
			found = found || host.InstanceID == h.Instance.ID && fd.Row["path"] == implant
		}
	}
	if !found {
		t.Errorf("the analysis does not name the newcomer's implant (%d hosts)", len(rep.Hosts))
	}
}

// TestRenderedCacheBounded: the rendered pages kept stay within the
// byte budget: a new page pushes out the oldest until it fits, and one
// larger than the whole budget is served and not kept. Before, 16 pages
// were kept whatever their size, and a report's size is the hosts' to
// choose (a value of 8 MiB in a finding's row: a 25 MB page).
func TestRenderedCacheBounded(t *testing.T) {
	fake := newFake(t, fleetInstances(group, 1, 1))
	e := newEnv(t, fake, persist.NewMemory(), setup{})
	s := e.srv
	page := func(host string) []byte {
		out, err := s.rendered(group, "", "csv", reportDoc(t, group, host))
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	one := len(page("i-probe"))
	s.cacheMu.Lock()
	s.cache, s.cacheOrder, s.cacheBytes, s.renderBudget = nil, nil, 0, 2*one+one/2
	s.cacheMu.Unlock()
	for _, h := range []string{"i-aaaaa", "i-bbbbb", "i-ccccc"} { // as long as i-probe
		page(h)
	}
	s.cacheMu.Lock()
	kept, bytes := len(s.cache), s.cacheBytes
	s.cacheMu.Unlock()
	if kept != 2 || bytes > 2*one+one/2 {
		t.Errorf("%d pages kept, %d bytes; want the newest 2 within %d bytes", kept, bytes, 2*one+one/2)
	}
	s.cacheMu.Lock()
	s.renderBudget = one - 1
	s.cache, s.cacheOrder, s.cacheBytes = nil, nil, 0
	s.cacheMu.Unlock()
	if out := page("i-ddddd"); len(out) != one {
		t.Fatalf("the page over the budget: %d bytes, want %d", len(out), one)
	}
	s.cacheMu.Lock()
	kept = len(s.cache)
	s.cacheMu.Unlock()
	if kept != 0 {
		t.Errorf("a page over the budget was kept (%d pages)", kept)
	}
}
