package main

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"runtime/pprof"
	"slices"
	"syscall"
	"time"

	"github.com/diffy-dfir/diffy"
	"github.com/diffy-dfir/diffy/analyze"
	"github.com/diffy-dfir/diffy/bench/internal/sample"
	"github.com/diffy-dfir/diffy/collect"
	"github.com/diffy-dfir/diffy/persist"
)

// profileAnalysis analyzes the files of dir in this process as `diffy
// analyze --from dir` does (diffy.AnalyzeFiles with a Dir store), with
// the analyzer named (the baseline analyzer against the first file of
// dir), under a CPU profile written to cpuFile and a heap profile to
// memFile (each skipped when ""), and prints its wall time, CPU time and
// peak RSS.
func profileAnalysis(dir, analyzer, cpuFile, memFile string) {
	var an analyze.Analyzer
	var base []collect.Result
	switch analyzer {
	case "cluster":
		an = analyze.Clustering{}
	case "baseline":
		an = analyze.Baseline{}
		entries, err := os.ReadDir(dir)
		if err != nil {
			log.Fatal(err)
		}
		names := make([]string, 0, len(entries))
		for _, e := range entries {
			names = append(names, e.Name())
		}
		slices.Sort(names)
		if len(names) == 0 {
			log.Fatalf("-profile %s: no file", dir)
		}
		if base, _, err = diffy.LoadResults(filepath.Join(dir, names[0])); err != nil {
			log.Fatal(err)
		}
	default:
		log.Fatalf("-analyzer %q: want cluster or baseline", analyzer)
	}
	storeDir, err := os.MkdirTemp("", "diffy-bench-profile-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(storeDir)
	d, err := diffy.New(diffy.WithAnalyzer(an), diffy.WithStore(persist.NewDir(storeDir)))
	if err != nil {
		log.Fatal(err)
	}
	if cpuFile != "" {
		f, err := os.Create(cpuFile)
		if err != nil {
			log.Fatal(err)
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			log.Fatal(err)
		}
	}
	stop := func() {}
	if memFile != "" {
		stop = watchHeap(memFile + ".peak")
	}
	var ru0, ru1 syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru0)
	start := time.Now()
	rep, _, err := d.AnalyzeFiles(context.Background(), filepath.Base(dir), []string{dir}, base, nil)
	wall := time.Since(start)
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru1)
	if cpuFile != "" {
		pprof.StopCPUProfile()
	}
	stop()
	if err != nil {
		log.Fatal(err)
	}
	if memFile != "" {
		runtime.GC()
		if err := sample.WriteProfile(memFile, "allocs"); err != nil {
			log.Fatal(err)
		}
	}
	cpu := time.Duration(ru1.Utime.Nano()+ru1.Stime.Nano()-ru0.Utime.Nano()-ru0.Stime.Nano()) * time.Nanosecond
	fmt.Printf("in-process AnalyzeFiles (%s) of %d hosts: wall %.2fs, CPU %.2fs, peak RSS %.0f MiB; %d outliers\n",
		analyzer, len(rep.Hosts), wall.Seconds(), cpu.Seconds(), float64(maxRSS())/(1<<20), len(rep.Outliers()))
}

// watchHeap writes a heap profile to file each time the heap in use
// grows by a tenth over its largest so far, checked every 100 ms until
// the function it returns is called: the last one written is the heap
// near its peak (the live objects as of the last GC).
func watchHeap(file string) (stop func()) {
	in := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	var peak uint64
	return sample.Every(100*time.Millisecond, func() {
		metrics.Read(in)
		if v := in[0].Value.Uint64(); v > peak+peak/10 {
			peak = v
			if err := sample.WriteProfile(file, "heap"); err != nil {
				log.Fatal(err)
			}
		}
	})
}
