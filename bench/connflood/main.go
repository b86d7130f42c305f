// Command connflood measures examples/diffy-server under a flood of
// connections that never send the token (docs/reliability.md, the
// connection cap): C connections held half open (the start of a request,
// never its end), each dialled again as soon as the server closes it,
// for D; meanwhile the owner sends GET /v1/jobs with the token every
// 200 ms, on a kept-alive connection and on a new connection each time.
// It prints the server's RSS before the flood (the floor, the same
// process idle) and its peak, the connections the flood held at the end,
// and the owner's latencies and failures. The flood's connections are
// opened over its first 2 s (so their deadlines do not fall together);
// the owner is another process (this program with -owner), so that the
// flood's goroutines do not delay its requests.
//
//	go run ./bench/connflood [-conns 15000] [-duration 20s] [-nofile N] [-binary PATH]
//
// The server is the real binary, built from this tree (or -binary, such
// as one built from an older commit, for a before/after), run with a
// local store; -nofile runs it under prlimit with that file limit. The
// flood needs C file descriptors in this process.
package main

import (
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/diffy-dfir/diffy/bench/internal/childserver"
	"github.com/diffy-dfir/diffy/bench/internal/sample"
)

func main() {
	conns := flag.Int("conns", 15000, "connections the flood holds")
	duration := flag.Duration("duration", 20*time.Second, "how long the flood lasts")
	nofile := flag.Int("nofile", 0, "the server's file limit (prlimit; 0: this process's)")
	binary := flag.String("binary", "", "the server binary (default: built from ./examples/diffy-server)")
	owner := flag.String("owner", "", "(internal) be the owner: GET URL/jobs every 200 ms for -duration")
	flag.Parse()
	log.SetFlags(0)
	if *owner != "" {
		beOwner(*owner, *duration)
		return
	}
	if err := run(*conns, *duration, *nofile, *binary); err != nil {
		log.Fatal("bench/connflood: ", err)
	}
}

func run(conns int, duration time.Duration, nofile int, bin string) error {
	tmp, err := os.MkdirTemp("", "diffy-bench-connflood-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	if bin == "" {
		if bin, err = childserver.Build(tmp); err != nil {
			return err
		}
	}
	argv := []string{bin, "--listen", "127.0.0.1:0", "--store", filepath.Join(tmp, "store")}
	if nofile > 0 {
		argv = append([]string{"prlimit", fmt.Sprintf("--nofile=%d:%d", nofile, nofile), "--"}, argv...)
	}
	logTail := &logCount{}
	srv, err := childserver.Start(argv, nil, logTail.count)
	if err != nil {
		return err
	}
	defer srv.Stop()
	base, pid := srv.URL+"/v1/", srv.Pid
	addr := strings.TrimPrefix(srv.URL, "http://")
	if _, err := get(&http.Client{Timeout: 10 * time.Second}, base); err != nil {
		return err
	}
	floor := status(pid, "VmRSS")
	fmt.Printf("server %s (pid %d), file limit %s; flood of %d half-open connections for %v\n", base, pid, limitOf(pid), conns, duration)

	stop := make(chan struct{})
	var dials, closed, dialErrs, open atomic.Int64
	var firstDialErr atomic.Value
	var wg sync.WaitGroup
	for i := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]byte, 512)
			time.Sleep(time.Duration(i) * rampUp / time.Duration(conns))
			for {
				select {
				case <-stop:
					return
				default:
				}
				c, err := net.DialTimeout("tcp", addr, 5*time.Second)
				if err != nil {
					if dialErrs.Add(1) == 1 {
						firstDialErr.Store(err.Error())
					}
					time.Sleep(100 * time.Millisecond)
					continue
				}
				dials.Add(1)
				open.Add(1)
				io.WriteString(c, "GET /v1/jobs HTTP/1.1\r\nHost: x\r\n")
				done := make(chan struct{})
				go func() {
					select {
					case <-stop:
						c.Close()
					case <-done:
					}
				}()
				for {
					if _, err := c.Read(buf); err != nil {
						break
					}
				}
				close(done)
				c.Close()
				open.Add(-1)
				select {
				case <-stop: // closed by us
				default:
					closed.Add(1)
				}
			}
		}()
	}
	var rssPeak int64
	stopSampling := sample.Every(250*time.Millisecond, func() { rssPeak = max(rssPeak, status(pid, "VmRSS")) })
	self, err := os.Executable()
	if err != nil {
		return err
	}
	ownerOut, err := exec.Command(self, "-owner", base, "-duration", duration.String()).Output()
	if err != nil {
		return fmt.Errorf("the owner: %w", err)
	}
	held := open.Load()
	stopSampling()
	close(stop)
	wg.Wait()
	fmt.Printf("flood: %d dials (%.0f/s), %d closed by the server, %d dial errors, %d held at the end\n",
		dials.Load(), float64(dials.Load())/duration.Seconds(), closed.Load(), dialErrs.Load(), held)
	if e := firstDialErr.Load(); e != nil {
		fmt.Printf("first dial error: %s\n", e)
	}
	fmt.Printf("server RSS: %d KiB idle before the flood, %d KiB peak sampled during it, VmHWM %d KiB\n", floor, rssPeak, status(pid, "VmHWM"))
	os.Stdout.Write(ownerOut)
	fmt.Printf("server log lines during the flood: %d (%d \"too many open files\")\n", logTail.lines.Load(), logTail.emfile.Load())
	return nil
}

// rampUp is how long the flood takes to open its connections.
const rampUp = 2 * time.Second

// beOwner sends GET base/jobs with the token every 200 ms for d, on a
// kept-alive connection and on a new one each time, and prints the
// latencies.
func beOwner(base string, d time.Duration) {
	kept := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{}}
	fresh := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	get(kept, base)
	var keptLat, freshLat []time.Duration
	var keptErr, freshErr int
	for end := time.Now().Add(d); time.Now().Before(end); {
		if d, err := get(kept, base); err != nil {
			keptErr++
		} else {
			keptLat = append(keptLat, d)
		}
		if d, err := get(fresh, base); err != nil {
			freshErr++
		} else {
			freshLat = append(freshLat, d)
		}
		time.Sleep(200 * time.Millisecond)
	}
	fmt.Printf("owner, kept-alive connection: %s\n", summary(keptLat, keptErr))
	fmt.Printf("owner, new connection each time: %s\n", summary(freshLat, freshErr))
}

// logCount counts the server's log lines after it serves.
type logCount struct{ lines, emfile atomic.Int64 }

// count counts line.
func (lc *logCount) count(line string) {
	lc.lines.Add(1)
	if strings.Contains(line, "too many open files") {
		lc.emfile.Add(1)
	}
}

// get sends GET /v1/jobs with the token and returns how long it took.
func get(c *http.Client, base string) (time.Duration, error) {
	req, _ := http.NewRequest("GET", base+"jobs", nil)
	req.Header.Set("Authorization", "Bearer "+childserver.Token)
	start := time.Now()
	resp, err := c.Do(req)
	if err != nil {
		return 0, err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("status %d", resp.StatusCode)
	}
	return time.Since(start), nil
}

// summary is the percentiles of ds and the failures.
func summary(ds []time.Duration, failed int) string {
	if len(ds) == 0 {
		return fmt.Sprintf("0 served, %d failed", failed)
	}
	slices.Sort(ds)
	p := func(q float64) time.Duration { return ds[min(len(ds)-1, int(q*float64(len(ds))))] }
	return fmt.Sprintf("%d served, %d failed; p50 %v, p99 %v, max %v", len(ds), failed,
		p(0.5).Round(time.Microsecond), p(0.99).Round(time.Microsecond), ds[len(ds)-1].Round(time.Microsecond))
}

// status returns a KiB field of /proc/PID/status, 0 if unreadable.
func status(pid int, field string) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, field+":"); ok {
			n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return n
		}
	}
	return 0
}

// limitOf returns the soft file limit of process pid.
func limitOf(pid int) string {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/limits", pid))
	if err != nil {
		return "?"
	}
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "Max open files") {
			if f := strings.Fields(l); len(f) >= 5 {
				return f[3]
			}
		}
	}
	return "?"
}
