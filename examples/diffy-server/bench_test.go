//go:build unix

package main

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"syscall"
	"testing"
	"time"

	"github.com/diffy-dfir/diffy"
	"github.com/diffy-dfir/diffy/analyze"
	"github.com/diffy-dfir/diffy/diffytest/fleet"
	"github.com/diffy-dfir/diffy/persist"
)

// benchServer serves a store holding a job record and the cluster
// report of a 2,000-host fleet (bench/server's), over loopback; it
// returns the base URL, the job's ID and the server.
func benchServer(b *testing.B) (string, string, *Server) {
	b.Helper()
	cfg := fleet.Scenario("large")
	cfg.Hosts, cfg.GroupName = 2000, group
	fl := fleet.Generate(cfg)
	store := persist.NewDir(b.TempDir())
	d, err := diffy.New(diffy.WithStore(store), diffy.WithAnalyzer(&analyze.Clustering{}))
	if err != nil {
		b.Fatal(err)
	}
	if _, err := d.AnalyzeResults(context.Background(), group, fl.Results(time.Date(2026, 12, 2, 5, 0, 0, 0, time.UTC)), nil, nil); err != nil {
		b.Fatal(err)
	}
	srv, err := NewServer(context.Background(), Config{Diffy: d, Store: store, Token: testToken, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		b.Fatal(err)
	}
	j := newJob(Job{ID: diffy.NewRunID(), State: StateRunning, Request: JobRequest{Kind: "analyze", Key: group}, Incident: "bench",
		Progress: Progress{Stage: "collect", Done: 1234, Total: 2000, Failed: 3}, Created: time.Now().UTC()})
	srv.jobs[j.rec.ID] = j
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	hs := newHTTPServer(srv.Handler(), slog.New(slog.DiscardHandler))
	go hs.Serve(ln)
	b.Cleanup(func() { hs.Close() })
	return "http://" + ln.Addr().String(), j.rec.ID, srv
}

// benchGet runs GET path b.N times with a real client and reports the
// bytes of an answer.
func benchGet(b *testing.B, url string) {
	c := &http.Client{Timeout: time.Minute}
	get := func() int64 {
		req, _ := http.NewRequest("GET", url, nil)
		req.Header.Set("Authorization", "Bearer "+testToken)
		resp, err := c.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		n, _ := io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			b.Fatalf("GET %s: %d", url, resp.StatusCode)
		}
		return n
	}
	b.SetBytes(get())
	b.ReportAllocs()
	cpu0 := cpuTime()
	b.ResetTimer()
	for range b.N {
		get()
	}
	b.StopTimer()
	// CPU time (user+system of the process: server and client), less
	// sensitive to the machine's load than wall time.
	b.ReportMetric(float64((cpuTime()-cpu0).Nanoseconds())/float64(b.N), "cpu-ns/op")
}

// cpuTime is the CPU time the process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkServeStatus is GET /v1/jobs/{id} of a running job, as the
// load test's clients poll it; BenchmarkServeReport GET /v1/reports/{key}
// of a 2,000-host report (JSON); BenchmarkServeFloor the same bytes
// written by a bare handler, the floor of the HTTP stack and the client.
//
//	go test -run X -bench Serve -benchtime 200x ./examples/diffy-server
func BenchmarkServeStatus(b *testing.B) {
	base, id, _ := benchServer(b)
	benchGet(b, base+"/v1/jobs/"+id)
}

func BenchmarkServeReport(b *testing.B) {
	base, _, _ := benchServer(b)
	benchGet(b, base+"/v1/reports/"+group)
}

func BenchmarkServeFloor(b *testing.B) {
	_, _, srv := benchServer(b)
	doc, err := srv.d.LoadRun(context.Background(), persist.KindAnalysis, group, "")
	if err != nil {
		b.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	hs := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write(doc) })}
	go hs.Serve(ln)
	b.Cleanup(func() { hs.Close() })
	benchGet(b, "http://"+ln.Addr().String()+"/")
}
