// Command cluster is the benchmark driver of the cluster analysis (issues
// 5 and 14): it generates a simulated fleet (diffytest/fleet), writes one
// JSON file of Results per host into a temporary directory, then times,
// as whole programs in the same run:
//
//   - the raw read: this program reading every file, one after the other,
//     and doing nothing with the bytes (the cat of the files; -read DIR,
//     run as a child);
//   - CPython's json.load of every file (jsonload.py), when python3 is
//     there (-python); said to be skipped otherwise;
//   - the floor: this program reading and decoding those files with
//     diffy.ScanResults, as the CLI does, and nothing else (-floor DIR, run
//     as a child);
//   - `diffy analyze --from DIR --analyzer cluster --format json`, the
//     example CLI built from this checkout;
//   - with -baseline, the same with --analyzer baseline and
//     --baseline-from one clean host's file;
//   - scikit-learn's LocalOutlierFactor on the same files (lof.py), where a
//     python3 can import sklearn (Debian's python3-sklearn: -sklearn), up
//     to -lof-hosts hosts; said to be skipped otherwise.
//
// Each is measured by wall time, CPU time (user + sys) and the child's peak
// RSS (GNU time's %M: see run), and the load average is printed before
// and after. The ratios that matter are those of CPU times in the same
// run: the machine may be shared. The cluster report, and LOF's outliers,
// are scored against what the fleet planted (precision, recall, top-3),
// beside plain 1% stacking on the same data.
//
// With -profile DIR it only analyzes the files of DIR in this process, as
// the CLI does (diffy.AnalyzeFiles), under the CPU and heap profiles of
// -cpuprofile and -memprofile (FILE.peak: the heap near its peak), for go
// tool pprof.
//
// Usage, from the repository root:
//
//	go run ./bench/cluster -hosts 10000 -baseline
//	go run ./bench/cluster -hosts 100000
//	go run ./bench/cluster -profile DIR [-analyzer baseline] -cpuprofile cpu.prof -memprofile mem.prof
package main

import (
	"bytes"
	"context"
	_ "embed"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/diffy-dfir/diffy"
	"github.com/diffy-dfir/diffy/analyze"
	"github.com/diffy-dfir/diffy/collect"
	"github.com/diffy-dfir/diffy/diffytest/fleet"
)

func main() {
	var (
		hosts    = flag.Int("hosts", 10000, "number of hosts")
		scenario = flag.String("scenario", "xlarge", "fleet scenario (diffytest/fleet.Scenario); -hosts overrides its size")
		seed     = flag.Int64("seed", 0, "fleet seed (0: the scenario's)")
		baseline = flag.Bool("baseline", false, "also time the baseline analyzer")
		keep     = flag.Bool("keep", false, "keep the temporary directory")
		reuse    = flag.String("dir", "", "time the files already in this directory (written by an earlier -keep run with the same -hosts, -scenario and -seed) instead of writing new ones")
		floor    = flag.String("floor", "", "internal: only load the Results of this directory, then exit")
		stacking = flag.Bool("stacking", true, "score plain 1% stacking too (in this process, after the timed runs)")
		inproc   = flag.Bool("inprocess", false, "only time analyze.Clustering in this process on the generated Results (no files, no CLI)")
		figures  = flag.Bool("figures", false, "print the precision/recall table of every scenario up to 10,000 hosts, cluster beside 1% stacking")
		rawRead  = flag.String("read", "", "internal: only read every file of this directory, then exit")
		python   = flag.String("python", "python3", "the python3 that runs CPython's json.load of the files (\"\": skip it)")
		sklearn  = flag.String("sklearn", "", "the python3 that runs scikit-learn's LocalOutlierFactor (\"\": the first of python3 and /usr/bin/python3 that imports sklearn; \"none\": skip it)")
		lofHosts = flag.Int("lof-hosts", 20000, "skip LocalOutlierFactor above this many hosts (its distances are n×n)")
		profile  = flag.String("profile", "", "only analyze the files of this directory in this process, as `diffy analyze --from` does (diffy.AnalyzeFiles), with -analyzer, writing -cpuprofile and -memprofile")
		analyzer = flag.String("analyzer", "cluster", "with -profile: cluster or baseline (against the directory's first file)")
		cpuProf  = flag.String("cpuprofile", "", "with -profile: write a CPU profile of the analysis to this file (go tool pprof)")
		memProf  = flag.String("memprofile", "", "with -profile: write a heap profile (allocations and what is in use at the Report) to this file")
	)
	flag.Parse()
	if *rawRead != "" {
		readAll(*rawRead)
		return
	}
	if *profile != "" {
		profileAnalysis(*profile, *analyzer, *cpuProf, *memProf)
		return
	}
	if *figures {
		printFigures()
		return
	}
	if *inproc {
		inProcess(*scenario, *hosts, *seed)
		return
	}
	if *floor != "" {
		// The CLI reads the files the same way (Diffy.AnalyzeFiles), one
		// file at a time; here each file's Results are dropped at once.
		n := 0
		skips, err := diffy.ScanResults([]string{*floor}, func(_ string, rs []collect.Result) error {
			n += len(rs)
			return nil
		})
		if err != nil {
			log.Fatal(err)
		}
		fmt.Printf("%d results, %d skipped\n", n, len(skips))
		return
	}
	log.SetFlags(0)

	tmp, err := os.MkdirTemp("", "diffy-bench-cluster-")
	if err != nil {
		log.Fatal(err)
	}
	if !*keep {
		defer os.RemoveAll(tmp)
	} else {
		log.Printf("keeping %s", tmp)
	}
	dir := filepath.Join(tmp, "results")
	if *reuse != "" {
		dir = *reuse
	} else if err := os.Mkdir(dir, 0o700); err != nil {
		log.Fatal(err)
	}

	cfg := fleet.Scenario(*scenario)
	cfg.Hosts = *hosts
	if *seed != 0 {
		cfg.Seed = *seed
	}
	t0 := time.Now()
	f := fleet.Generate(cfg)
	at := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	var bytesWritten int64
	rows := 0
	cleanFile := ""
	for i := range f.Hosts {
		h := &f.Hosts[i]
		data, err := json.Marshal(h.Results(at))
		if err != nil {
			log.Fatal(err)
		}
		name := filepath.Join(dir, h.Instance.ID+".json")
		if *reuse == "" {
			if err := os.WriteFile(name, data, 0o600); err != nil {
				log.Fatal(err)
			}
		} else if fi, err := os.Stat(name); err != nil || fi.Size() != int64(len(data)) {
			log.Fatalf("-dir %s does not hold this fleet's files (%s: %v)", dir, name, err)
		}
		if cleanFile == "" && !h.Compromised {
			cleanFile = name
		}
		bytesWritten += int64(len(data))
		for _, rs := range h.Rows {
			rows += len(rs)
		}
	}
	log.Printf("fleet %s: %d hosts (%d compromised, %d plants each), %.0f rows/host, %.1f MiB of JSON, written in %v",
		*scenario, len(f.Hosts), count(f), cfg.PlantsPerHost, float64(rows)/float64(len(f.Hosts)), float64(bytesWritten)/(1<<20), time.Since(t0).Round(time.Millisecond))

	self, err := os.Executable()
	if err != nil {
		log.Fatal(err)
	}
	bin := filepath.Join(tmp, "diffy")
	build := exec.Command("go", "build", "-o", bin, "./examples/diffy")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		log.Fatalf("building examples/diffy (run from the repository root): %v", err)
	}
	store := filepath.Join(tmp, "store")

	fmt.Printf("load average before: %s\n", loadAverage())
	raw := run("raw read (cat of the files)", self, "-read", dir)
	var py *measure
	if *python == "" {
		fmt.Println("CPython json.load: skipped (-python \"\")")
	} else if _, err := exec.LookPath(*python); err != nil {
		fmt.Printf("CPython json.load: skipped (%s: %v)\n", *python, err)
	} else {
		m := run("CPython json.load of every file", *python, "-c", jsonLoadPy, dir)
		py = &m
	}
	fl := run("floor (ScanResults)", self, "-floor", dir)
	report := filepath.Join(tmp, "cluster.json")
	cl := run("diffy analyze --analyzer cluster --format json", bin, "analyze", "--from", dir, "--analyzer", "cluster",
		"--format", "json", "--store", store, "-o", report)
	var bl measure
	if *baseline {
		bl = run("diffy analyze --analyzer baseline --format json", bin, "analyze", "--from", dir, "--analyzer", "baseline",
			"--baseline-from", cleanFile, "--format", "json", "--store", store, "-o", filepath.Join(tmp, "baseline.json"))
	}
	var lof *lofRun
	switch py := sklearnPython(*sklearn); {
	case len(f.Hosts) > *lofHosts:
		fmt.Printf("scikit-learn LocalOutlierFactor: skipped (%d hosts, over -lof-hosts %d)\n", len(f.Hosts), *lofHosts)
	case py == "":
		fmt.Println("scikit-learn LocalOutlierFactor: skipped (no python3 here imports sklearn: apt-get install python3-sklearn)")
	default:
		lof = runLOF(py, dir)
	}
	fmt.Printf("load average after: %s\n", loadAverage())

	mb := float64(bytesWritten) / 1e6
	fmt.Printf("raw read: %.0f MB/s of CPU; floor (reading and decoding): %.0f MB/s of CPU (per core), wall %.2fs for CPU %.2fs\n",
		mb/raw.cpu.Seconds(), mb/fl.cpu.Seconds(), fl.wall.Seconds(), fl.cpu.Seconds())
	if dec := fl.cpu - raw.cpu; dec > 0 {
		fmt.Printf("decoding alone (floor CPU - raw read CPU, %.2fs): %.0f MB/s of CPU (per core)\n", dec.Seconds(), mb/dec.Seconds())
	}
	fmt.Printf("cluster/floor: wall %.2fx, CPU %.2fx, peak RSS %.2fx; cluster wall/CPU %.2f\n", cl.wall.Seconds()/fl.wall.Seconds(), cl.cpu.Seconds()/fl.cpu.Seconds(),
		float64(cl.rss)/float64(fl.rss), cl.wall.Seconds()/cl.cpu.Seconds())
	if py != nil {
		fmt.Printf("floor/CPython json.load: CPU %.2fx, wall %.2fx; cluster/CPython json.load: CPU %.2fx, wall %.2fx\n",
			fl.cpu.Seconds()/py.cpu.Seconds(), fl.wall.Seconds()/py.wall.Seconds(), cl.cpu.Seconds()/py.cpu.Seconds(), cl.wall.Seconds()/py.wall.Seconds())
	}
	if *baseline {
		fmt.Printf("baseline/floor: wall %.2fx, CPU %.2fx, peak RSS %.2fx; baseline/cluster CPU %.2fx\n", bl.wall.Seconds()/fl.wall.Seconds(), bl.cpu.Seconds()/fl.cpu.Seconds(),
			float64(bl.rss)/float64(fl.rss), bl.cpu.Seconds()/cl.cpu.Seconds())
		if py != nil {
			fmt.Printf("baseline/CPython json.load: CPU %.2fx, wall %.2fx\n", bl.cpu.Seconds()/py.cpu.Seconds(), bl.wall.Seconds()/py.wall.Seconds())
		}
	}
	if lof != nil {
		fmt.Printf("LOF/cluster: CPU %.2fx, wall %.2fx (%d hosts, %d features)\n", lof.cpu.Seconds()/cl.cpu.Seconds(), lof.wall.Seconds()/cl.wall.Seconds(), lof.Hosts, lof.Features)
	}

	data, err := os.ReadFile(report)
	if err != nil {
		log.Fatal(err)
	}
	var rep analyze.Report
	if err := json.Unmarshal(data, &rep); err != nil {
		log.Fatal(err)
	}
	fmt.Printf("cluster:  %v (%d clusters)\n", f.Evaluate(&rep), len(rep.Clusters))
	if lof != nil {
		compromised := map[string]bool{}
		for i := range f.Hosts {
			compromised[f.Hosts[i].Instance.ID] = f.Hosts[i].Compromised
		}
		k, hits := min(count(f), len(lof.Ranked)), 0
		for _, id := range lof.Ranked[:k] {
			if compromised[id] {
				hits++
			}
		}
		fmt.Printf("LOF:      %v; of its %d most outlying hosts, %d are compromised\n", f.Evaluate(lof.report(f)), k, hits)
	}
	if *stacking {
		runtime.GC()
		fmt.Printf("stacking: %v\n", f.Evaluate(fleet.Stacking(f.Results(at), 0.01)))
	}
}

// printFigures prints, as a Markdown table, the host-level precision and
// recall and the top-3 share of the cluster analyzer and of plain 1%
// stacking on every scenario of up to 10,000 hosts.
func printFigures() {
	at := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	fmt.Println("| scenario | hosts | compromised | plants | cluster precision | recall | top-3 | clusters | 1% stacking precision | recall | top-3 |")
	fmt.Println("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
	for _, name := range fleet.Scenarios() {
		cfg := fleet.Scenario(name)
		if cfg.Hosts > 10000 {
			continue
		}
		f := fleet.Generate(cfg)
		res := f.Results(at)
		rep, err := analyze.Clustering{}.Analyze(context.Background(), analyze.Input{Key: name, Results: res})
		if err != nil {
			log.Fatal(err)
		}
		c := f.Evaluate(rep)
		s := f.Evaluate(fleet.Stacking(res, 0.01))
		fmt.Printf("| %s | %d | %d (%.1f%%) | %d | %.3f | %.3f | %.3f | %d | %.3f | %.3f | %.3f |\n", name, c.Hosts, c.Compromised,
			100*float64(c.Compromised)/float64(c.Hosts), cfg.PlantsPerHost, c.Precision, c.Recall, c.Top3, len(rep.Clusters), s.Precision, s.Recall, s.Top3)
	}
}

// inProcess times the analyzer alone, in this process, on Results that
// share their rows with the generated fleet: the analysis's own time and
// the memory it adds to its input.
func inProcess(scenario string, hosts int, seed int64) {
	cfg := fleet.Scenario(scenario)
	cfg.Hosts = hosts
	if seed != 0 {
		cfg.Seed = seed
	}
	f := fleet.Generate(cfg)
	res := f.Results(time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC))
	runtime.GC()
	before := maxRSS()
	var ru0, ru1 syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru0)
	start := time.Now()
	rep, err := analyze.Clustering{}.Analyze(context.Background(), analyze.Input{Key: scenario, Results: res})
	wall := time.Since(start)
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru1)
	if err != nil {
		log.Fatal(err)
	}
	cpu := time.Duration(ru1.Utime.Nano()+ru1.Stime.Nano()-ru0.Utime.Nano()-ru0.Stime.Nano()) * time.Nanosecond
	fmt.Printf("in-process Clustering.Analyze of %d hosts: wall %.2fs, cpu %.2fs, peak RSS %0.f MiB (%.0f MiB before the analysis)\n",
		hosts, wall.Seconds(), cpu.Seconds(), float64(maxRSS())/(1<<20), float64(before)/(1<<20))
	fmt.Printf("cluster:  %v (%d clusters)\n", f.Evaluate(rep), len(rep.Clusters))
}

//go:embed jsonload.py
var jsonLoadPy string

//go:embed lof.py
var lofPy string

// readAll reads every file of dir, in name order, one after the other,
// as cat would, and does nothing with the bytes.
func readAll(dir string) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		log.Fatal(err)
	}
	buf := make([]byte, 1<<16)
	var n int64
	for _, e := range entries {
		f, err := os.Open(filepath.Join(dir, e.Name()))
		if err != nil {
			log.Fatal(err)
		}
		for {
			k, err := f.Read(buf)
			n += int64(k)
			if err != nil {
				break
			}
		}
		f.Close()
	}
	fmt.Printf("%d bytes read\n", n)
}

// sklearnPython returns the python3 to run LocalOutlierFactor with: py
// itself when given, else the first of python3 and /usr/bin/python3 that
// imports sklearn; "" when there is none.
func sklearnPython(py string) string {
	if py == "none" {
		return ""
	}
	candidates := []string{py}
	if py == "" {
		candidates = []string{"python3", "/usr/bin/python3"}
	}
	for _, c := range candidates {
		if exec.Command(c, "-c", "import sklearn").Run() == nil {
			return c
		}
	}
	return ""
}

// lofRun is a run of lof.py: what it found and what it took.
type lofRun struct {
	measure
	Outliers []string `json:"outliers"`
	Ranked   []string `json:"ranked"` // most outlying first
	Hosts    int      `json:"hosts"`
	Features int      `json:"features"`
}

// runLOF runs LocalOutlierFactor (lof.py) with py on the files of dir.
func runLOF(py, dir string) *lofRun {
	vol, err := json.Marshal(analyze.DefaultVolatile())
	if err != nil {
		log.Fatal(err)
	}
	out, err := os.CreateTemp("", "diffy-bench-lof-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.Remove(out.Name())
	var l lofRun
	l.measure = runTo(out, "scikit-learn LocalOutlierFactor", py, "-c", lofPy, dir, string(vol))
	out.Close()
	data, err := os.ReadFile(out.Name())
	if err != nil {
		log.Fatal(err)
	}
	if err := json.Unmarshal(data, &l); err != nil {
		log.Fatalf("lof.py: %v: %.300s", err, data)
	}
	return &l
}

// report is LOF's decision on the hosts of f as a Report: its outliers
// flagged, every other host not, and no finding.
func (l *lofRun) report(f *fleet.Fleet) *analyze.Report {
	out := map[string]bool{}
	for _, id := range l.Outliers {
		out[id] = true
	}
	rep := &analyze.Report{Analyzer: "lof"}
	for i := range f.Hosts {
		id := f.Hosts[i].Instance.ID
		rep.Hosts = append(rep.Hosts, analyze.Host{InstanceID: id, Outlier: out[id]})
	}
	return rep
}

// loadAverage returns the first three fields of /proc/loadavg, or "?".
func loadAverage() string {
	data, err := os.ReadFile("/proc/loadavg")
	if f := strings.Fields(string(data)); err == nil && len(f) >= 3 {
		return strings.Join(f[:3], " ")
	}
	return "?"
}

func maxRSS() int64 {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return ru.Maxrss * 1024
}

func count(f *fleet.Fleet) int {
	n := 0
	for _, h := range f.Hosts {
		if h.Compromised {
			n++
		}
	}
	return n
}

type measure struct {
	wall time.Duration
	cpu  time.Duration // user + sys
	rss  int64         // bytes
}

// run runs a child program and reports its wall time, CPU time and peak
// RSS. The peak RSS comes from GNU time (/usr/bin/time) when it is there:
// the rusage Maxrss of a child started by this process is not its own, as
// Linux carries the high-water mark of the memory the child was exec'd
// from (Go starts children with vfork: this process's, several GiB at
// 100,000 hosts) into the child's Maxrss; GNU time forks its child from
// its own small memory. Without GNU time, the rusage figure is given and
// said to be an upper bound.
func run(what, bin string, args ...string) measure {
	return runTo(os.Stdout, what, bin, args...)
}

// runTo is run with the child's standard output going to w.
func runTo(w io.Writer, what, bin string, args ...string) measure {
	name, argv := bin, args
	var rusageFile string
	if tb, err := exec.LookPath("/usr/bin/time"); err == nil {
		f, err := os.CreateTemp("", "diffy-bench-rusage-")
		if err != nil {
			log.Fatal(err)
		}
		f.Close()
		rusageFile = f.Name()
		defer os.Remove(rusageFile)
		name, argv = tb, append([]string{"-f", "%M", "-o", rusageFile, bin}, args...)
	}
	cmd := exec.Command(name, argv...)
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = w, &stderr
	start := time.Now()
	err := cmd.Run()
	wall := time.Since(start)
	if err != nil {
		log.Fatalf("%s: %v\n%s", what, err, stderr.String())
	}
	if s := strings.TrimSpace(stderr.String()); s != "" {
		log.Printf("%s stderr: %.300s", what, s)
	}
	m := measure{wall: wall, cpu: cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()}
	how := "GNU time"
	if rusageFile != "" {
		data, err := os.ReadFile(rusageFile)
		if err != nil {
			log.Fatal(err)
		}
		fields := strings.Fields(string(data))
		kib, err := strconv.ParseInt(fields[len(fields)-1], 10, 64)
		if err != nil {
			log.Fatalf("%s: peak RSS from GNU time: %q: %v", what, data, err)
		}
		m.rss = kib * 1024
	} else if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		m.rss = ru.Maxrss * 1024 // KiB on Linux
		how = "rusage, an upper bound: includes this driver's"
	}
	fmt.Printf("%-50s wall %8.2fs  peak RSS %7.0f MiB (%s)  (user %.2fs sys %.2fs)\n", what, wall.Seconds(), float64(m.rss)/(1<<20), how,
		cmd.ProcessState.UserTime().Seconds(), cmd.ProcessState.SystemTime().Seconds())
	return m
}
