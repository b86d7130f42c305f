// Command server measures examples/diffy-server under load (issue 15):
// a job over a large fleet (awsfake, real SDK clients in the server)
// runs alone, then again while C clients poll its status and fetch a
// stored report over HTTP for at least D; it prints the job times, their
// ratio, and the clients' latency percentiles and errors. The server is
// the real binary, built and run as a subprocess; awsfake runs in this
// process.
//
//	go run ./bench/server [-hosts 2000] [-clients 50] [-duration 1m] [-think 1s,250ms] [-rounds 2]
//
// Each client loops: GET /v1/jobs/{id}, then GET /v1/reports/{key} (JSON),
// pausing -think between requests (a dashboard polls; 0 is a client that
// never waits). Rounds alternate alone and loaded, so that a drift of the
// machine's load falls on both; the figure is the ratio of the loaded
// job's time to the mean of the alone ones around it.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/diffy-dfir/diffy/bench/internal/childserver"
	"github.com/diffy-dfir/diffy/diffytest/awsfake"
	"github.com/diffy-dfir/diffy/diffytest/fleet"
)

const group = "bench-asg"

func main() {
	hosts := flag.Int("hosts", 2000, "instances in the group")
	clients := flag.Int("clients", 50, "concurrent HTTP clients")
	duration := flag.Duration("duration", time.Minute, "clients run at least this long (and until the job ends)")
	thinks := flag.String("think", "1s,250ms", "pauses of a client between requests, comma-separated: one loaded round each")
	rounds := flag.Int("rounds", 2, "loaded rounds per think time (each between two alone rounds)")
	kind := flag.String("kind", "analyze", "the job's kind: analyze or collect")
	flag.Parse()
	log.SetFlags(0)
	if err := run(*hosts, *clients, *duration, *thinks, *rounds, *kind); err != nil {
		log.Fatal("bench/server: ", err)
	}
}

func uptime() string {
	b, err := exec.Command("uptime").Output()
	if err != nil {
		return "?"
	}
	return strings.TrimSpace(string(b))
}

func run(hosts, clients int, duration time.Duration, thinks string, rounds int, kind string) error {
	var pauses []time.Duration
	for _, s := range strings.Split(thinks, ",") {
		d, err := time.ParseDuration(strings.TrimSpace(s))
		if err != nil || d < 0 {
			return fmt.Errorf("-think %q: %v", s, err)
		}
		pauses = append(pauses, d)
	}
	tmp, err := os.MkdirTemp("", "diffy-bench-server-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	bin, err := childserver.Build(tmp)
	if err != nil {
		return err
	}
	cfg := fleet.Scenario("large")
	cfg.Hosts, cfg.GroupName = hosts, group
	fake, err := awsfake.New(awsfake.WithInstances(awsfake.FleetInstances(fleet.Generate(cfg))...))
	if err != nil {
		return err
	}
	defer fake.Close()
	srv, err := childserver.Start([]string{bin, "--listen", "127.0.0.1:0", "--target", "asg", "--collector", "ssm",
		"--analyzer", "cluster", "--region", fake.Region(), "--store", filepath.Join(tmp, "store"), "--jobs", "1"},
		[]string{"AWS_ENDPOINT_URL_EC2=" + fake.EC2URL(), "AWS_ENDPOINT_URL_SSM=" + fake.SSMURL(), "AWS_ENDPOINT_URL_S3=" + fake.S3URL(),
			"AWS_ACCESS_KEY_ID=" + awsfake.AccessKeyID, "AWS_SECRET_ACCESS_KEY=" + awsfake.SecretAccessKey,
			"AWS_CONFIG_FILE=" + filepath.Join(tmp, "none"), "AWS_SHARED_CREDENTIALS_FILE=" + filepath.Join(tmp, "none")}, nil)
	if err != nil {
		return err
	}
	defer srv.Stop()
	base := srv.URL
	c := &client{base: base, http: &http.Client{Timeout: time.Minute, Transport: &http.Transport{MaxIdleConnsPerHost: clients}}}
	fmt.Printf("uptime before: %s\n", uptime())
	fmt.Printf("server: %s, %d hosts, %s job, %d clients for at least %v\n", base, hosts, kind, clients, duration)
	// A first job, so that a report is stored for the clients to fetch.
	if _, err := c.job(kind); err != nil {
		return err
	}
	var alone []time.Duration
	aloneRound := func() error {
		d, err := c.job(kind)
		if err != nil {
			return err
		}
		alone = append(alone, d)
		fmt.Printf("  alone: job %.2fs\n", d.Seconds())
		return nil
	}
	if err := aloneRound(); err != nil {
		return err
	}
	fmt.Println("| think | job alone (s) | job with clients (s) | ratio | requests | errors | p50 (ms) | p99 (ms) | max (ms) |")
	fmt.Println("|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
	var lines []string
	for _, think := range pauses {
		for range rounds {
			loaded, st, err := c.loadedJob(kind, clients, duration, think)
			if err != nil {
				return err
			}
			before := alone[len(alone)-1]
			if err := aloneRound(); err != nil {
				return err
			}
			ref := (before + alone[len(alone)-1]) / 2
			line := fmt.Sprintf("| %v | %.2f | %.2f | %.3f | %d | %d | %.1f | %.1f | %.1f |", think, ref.Seconds(), loaded.Seconds(),
				loaded.Seconds()/ref.Seconds(), st.n, st.errors, ms(st.pct(0.50)), ms(st.pct(0.99)), ms(st.pct(1)))
			fmt.Printf("  loaded: %s\n", line)
			lines = append(lines, line)
			if st.firstErr != "" {
				fmt.Printf("  first error: %s\n", st.firstErr)
			}
		}
	}
	fmt.Println()
	for _, l := range lines {
		fmt.Println(l)
	}
	fmt.Printf("uptime after: %s\n", uptime())
	return nil
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// client talks to the server.
type client struct {
	base string
	http *http.Client
}

func (c *client) do(method, path string, body []byte) (int, []byte, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequest(method, c.base+path, rd)
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Authorization", "Bearer "+childserver.Token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, b, err
}

// jobRecord is the part of a job's record the driver reads.
type jobRecord struct {
	ID      string     `json:"id"`
	State   string     `json:"state"`
	Error   string     `json:"error"`
	Started *time.Time `json:"started"`
	Ended   *time.Time `json:"ended"`
}

// start queues a job and returns its ID.
func (c *client) start(kind string) (string, error) {
	code, b, err := c.do("POST", "/v1/jobs", []byte(`{"kind": "`+kind+`", "key": "`+group+`"}`))
	if err != nil || code != http.StatusAccepted {
		return "", fmt.Errorf("POST /v1/jobs: %d %s %v", code, b, err)
	}
	var j jobRecord
	return j.ID, json.Unmarshal(b, &j)
}

// wait polls the job every 200 ms until it ends and returns its run time
// (started to ended, as the server recorded them).
func (c *client) wait(id string) (time.Duration, error) {
	for {
		code, b, err := c.do("GET", "/v1/jobs/"+id, nil)
		if err != nil || code != 200 {
			return 0, fmt.Errorf("GET job: %d %v", code, err)
		}
		var j jobRecord
		if err := json.Unmarshal(b, &j); err != nil {
			return 0, err
		}
		switch j.State {
		case "succeeded":
			return j.Ended.Sub(*j.Started), nil
		case "failed", "cancelled", "interrupted":
			return 0, fmt.Errorf("job %s %s: %s", id, j.State, j.Error)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func (c *client) job(kind string) (time.Duration, error) {
	id, err := c.start(kind)
	if err != nil {
		return 0, err
	}
	return c.wait(id)
}

// stats are the clients' latencies.
type stats struct {
	mu       sync.Mutex
	lat      []time.Duration
	n        int
	errors   int
	firstErr string
}

func (s *stats) add(d time.Duration, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.n++
	s.lat = append(s.lat, d)
	if err != nil {
		s.errors++
		if s.firstErr == "" {
			s.firstErr = err.Error()
		}
	}
}

func (s *stats) pct(p float64) time.Duration {
	if len(s.lat) == 0 {
		return 0
	}
	slices.Sort(s.lat)
	i := int(p*float64(len(s.lat))+0.5) - 1
	return s.lat[max(0, min(i, len(s.lat)-1))]
}

// loadedJob runs a job while clients poll it and fetch the stored report
// for at least duration, and returns the job's time and the clients'
// stats.
func (c *client) loadedJob(kind string, clients int, duration, think time.Duration) (time.Duration, *stats, error) {
	st := &stats{}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var jobID atomic.Value
	jobID.Store("")
	var wg sync.WaitGroup
	for i := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			paths := []string{"", "/v1/reports/" + group}
			for n := i; ctx.Err() == nil; n++ {
				p := paths[n%2]
				if p == "" {
					p = "/v1/reports/" + group
					if id := jobID.Load().(string); id != "" {
						p = "/v1/jobs/" + id
					}
				}
				t0 := time.Now()
				code, _, err := c.do("GET", p, nil)
				if err == nil && code != 200 {
					err = fmt.Errorf("GET %s: %d", p, code)
				}
				if ctx.Err() == nil {
					st.add(time.Since(t0), err)
				}
				if think > 0 {
					select {
					case <-ctx.Done():
					case <-time.After(think):
					}
				}
			}
		}()
	}
	id, err := c.start(kind)
	if err != nil {
		return 0, nil, err
	}
	jobID.Store(id)
	t0 := time.Now()
	d, err := c.wait(id)
	if rest := duration - time.Since(t0); rest > 0 {
		time.Sleep(rest)
	}
	cancel()
	wg.Wait()
	return d, st, err
}
