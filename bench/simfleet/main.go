// Command simfleet writes a simulated group with real variation
// (diffytest/fleet.Sim) as one JSON file of Results per host, the layout
// `diffy analyze --from DIR` reads, and its truth (which hosts and rows
// were planted) as DIR.truth.json beside the directory; or, with -score,
// scores a report against a truth file.
//
// It prints what it wrote, the time, CPU and peak RSS it took. With -peer,
// it then writes the same number of hosts the way bench/cluster writes
// the old generator's fleets (fleet.Generate, the whole fleet in memory,
// json.Marshal per host), in a child process, for the figures beside
// each other.
//
// Usage, from the repository root:
//
//	go run ./bench/simfleet -hosts 10000 -dir /tmp/fleet
//	go run ./bench/simfleet -hosts 1000 -families all,-splay -campaign=false -dir /tmp/fleet
//	go run ./bench/simfleet -hosts 1000 -week-earlier -dir /tmp/baseline
//	go run ./bench/simfleet -score report.json -truth /tmp/fleet.truth.json
//	go run ./bench/simfleet -hosts 100000 -peer
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/diffy-dfir/diffy/analyze"
	"github.com/diffy-dfir/diffy/collect"
	"github.com/diffy-dfir/diffy/diffytest/fleet"
)

func main() {
	var (
		hosts    = flag.Int("hosts", 1000, "number of hosts")
		seed     = flag.Int64("seed", 1, "seed")
		families = flag.String("families", "all", `families of variation: "all", "none", names joined by commas, "all,-name" to leave some out (`+strings.Join(familyNames(), ", ")+")")
		kinds    = flag.String("attacks", "all", `single-host attack kinds, joined by commas, "all" or "none" (`+strings.Join(fleet.AttackKinds, ", ")+")")
		share    = flag.Float64("share", 0, "share of hosts with single-host attacks (0: drawn from [0.005, 0.03])")
		campaign = flag.Bool("campaign", true, "plant the campaign (miner, crontab line, key on 5-9% of the hosts)")
		earlier  = flag.Bool("week-earlier", false, "write the same group collected a week earlier (no attack): a fleet baseline")
		dir      = flag.String("dir", "", "directory to write into (created; default: a temporary one, removed after)")
		score    = flag.String("score", "", "score this report (JSON, as `diffy analyze --format json` writes it) against -truth, then exit")
		truth    = flag.String("truth", "", "the truth file for -score")
		peer     = flag.Bool("peer", false, "also time the old generator's writer on as many hosts (child process)")
		oldPeer  = flag.String("old-peer", "", "internal: write the old generator's fleet of -hosts hosts into this directory")
		table    = flag.Bool("families-table", false, "print, for each family alone and for all, the distinct rows per host and the share of clean hosts plain 1% stacking flags, on -hosts hosts and seeds 1 to -seed, then exit")
	)
	flag.Parse()
	log.SetFlags(0)
	if *score != "" {
		scoreReport(*score, *truth)
		return
	}
	if *table {
		familiesTable(*hosts, *seed)
		return
	}
	if *oldPeer != "" {
		writeOld(*oldPeer, *hosts, *seed)
		return
	}
	fs, err := fleet.ParseFamilies(*families)
	if err != nil {
		log.Fatal(err)
	}
	var ks []string
	switch *kinds {
	case "all":
		ks = fleet.AttackKinds
	case "none", "":
	default:
		ks = strings.Split(*kinds, ",")
		for _, k := range ks {
			if !slices.Contains(fleet.AttackKinds, k) {
				log.Fatalf("simfleet: unknown attack kind %q (known: %s)", k, strings.Join(fleet.AttackKinds, ", "))
			}
		}
	}
	cfg := fleet.SimConfig{Seed: *seed, Hosts: *hosts, Families: fs, WeekEarlier: *earlier,
		Attacks: fleet.Attacks{Kinds: ks, Share: *share, Campaign: *campaign}}
	out := *dir
	if out == "" {
		tmp, err := os.MkdirTemp("", "simfleet-")
		if err != nil {
			log.Fatal(err)
		}
		defer os.RemoveAll(tmp)
		out = tmp
	} else if err := os.MkdirAll(out, 0o755); err != nil {
		log.Fatal(err)
	}
	var ru0 syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru0)
	start := time.Now()
	s := fleet.NewSim(cfg)
	if err := s.WriteDir(context.Background(), out); err != nil {
		log.Fatal(err)
	}
	wall := time.Since(start)
	t := s.Truth()
	data, err := json.Marshal(t)
	if err != nil {
		log.Fatal(err)
	}
	truthFile := filepath.Clean(out) + ".truth.json"
	if err := os.WriteFile(truthFile, data, 0o644); err != nil {
		log.Fatal(err)
	}
	if *dir == "" {
		defer os.Remove(truthFile)
	}
	var ru1 syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru1)
	size, files := dirSize(out)
	campaignHosts := 0
	for _, h := range t.Compromised {
		if h.Kinds[0] == fleet.AttackCampaign {
			campaignHosts++
		}
	}
	fmt.Printf("sim: %d hosts (families %v), %d compromised (%d campaign), %d files, %.1f MiB, %.1f KiB/host, into %s (truth: %s)\n",
		*hosts, fs, len(t.Compromised), campaignHosts, files, float64(size)/(1<<20), float64(size)/float64(*hosts)/1024, out, truthFile)
	fmt.Printf("sim write (WriteDir + truth):  wall %7.2fs  CPU %7.2fs  peak RSS %6.0f MiB\n",
		wall.Seconds(), cpu(ru0, ru1).Seconds(), float64(ru1.Maxrss)/1024)
	if *peer {
		runPeer(*hosts, *seed)
	}
}

func familyNames() []string {
	var out []string
	for _, f := range fleet.FamilyList() {
		out = append(out, f.String())
	}
	return out
}

func cpu(a, b syscall.Rusage) time.Duration {
	return time.Duration(b.Utime.Nano() + b.Stime.Nano() - a.Utime.Nano() - a.Stime.Nano())
}

func dirSize(dir string) (int64, int) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		log.Fatal(err)
	}
	var n int64
	for _, e := range ents {
		if fi, err := e.Info(); err == nil {
			n += fi.Size()
		}
	}
	return n, len(ents)
}

// runPeer times, in a child process, the old generator's writer on as
// many hosts: its peak RSS is the child's own (GNU time's %M when there,
// else rusage, an upper bound: see bench/cluster's run).
func runPeer(hosts int, seed int64) {
	tmp, err := os.MkdirTemp("", "simfleet-peer-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(tmp)
	self, err := os.Executable()
	if err != nil {
		log.Fatal(err)
	}
	args := []string{"-old-peer", tmp, "-hosts", fmt.Sprint(hosts), "-seed", fmt.Sprint(seed)}
	name := self
	rusage := filepath.Join(tmp, "rusage")
	if _, err := exec.LookPath("/usr/bin/time"); err == nil {
		name, args = "/usr/bin/time", append([]string{"-f", "%M", "-o", rusage, self}, args...)
	}
	cmd := exec.Command(name, args...)
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	start := time.Now()
	if err := cmd.Run(); err != nil {
		log.Fatal(err)
	}
	wall := time.Since(start)
	rss := "?"
	if b, err := os.ReadFile(rusage); err == nil {
		var kib int64
		fmt.Sscan(strings.TrimSpace(string(b)), &kib)
		rss = fmt.Sprintf("%.0f MiB", float64(kib)/1024)
	} else if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		rss = fmt.Sprintf("%.0f MiB (rusage: an upper bound)", float64(ru.Maxrss)/1024)
	}
	fmt.Printf("peer (Generate + json.Marshal): wall %7.2fs  CPU %7.2fs  peak RSS %s\n",
		wall.Seconds(), (cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()).Seconds(), rss)
}

// writeOld writes the old generator's fleet of n hosts as bench/cluster
// does.
func writeOld(dir string, n int, seed int64) {
	cfg := fleet.Scenario("huge")
	cfg.Hosts, cfg.Seed = n, seed
	f := fleet.Generate(cfg)
	at := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	var size int64
	for i := range f.Hosts {
		data, err := json.Marshal(f.Hosts[i].Results(at))
		if err != nil {
			log.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, f.Hosts[i].Instance.ID+".json"), data, 0o600); err != nil {
			log.Fatal(err)
		}
		size += int64(len(data))
	}
	fmt.Printf("peer: %d hosts of fleet.Generate, %.1f MiB, %.1f KiB/host\n", n, float64(size)/(1<<20), float64(size)/float64(n)/1024)
}

// scoreReport prints the Evaluation of a report against a truth file.
func scoreReport(reportFile, truthFile string) {
	if truthFile == "" {
		log.Fatal("simfleet: -score needs -truth FILE")
	}
	var rep analyze.Report
	var t fleet.Truth
	for file, v := range map[string]any{reportFile: &rep, truthFile: &t} {
		data, err := os.ReadFile(file)
		if err != nil {
			log.Fatal(err)
		}
		if err := json.Unmarshal(data, v); err != nil {
			log.Fatalf("simfleet: %s: %v", file, err)
		}
	}
	fmt.Println(t.Evaluate(&rep))
}

// familiesTable prints, for each family alone, none and all, on hosts
// hosts without attacks: the rows per host, the distinct rows (volatile
// columns dropped) per host, and the share of hosts plain 1% stacking
// flags (every one a false positive: nothing is planted), averaged over
// seeds 1 to seeds.
func familiesTable(hosts int, seeds int64) {
	fmt.Printf("| families | rows/host | distinct rows/host | hosts flagged by 1%% stacking |\n|---|---:|---:|---:|\n")
	sets := []fleet.Families{0}
	sets = append(sets, fleet.FamilyList()...)
	sets = append(sets, fleet.AllFamilies)
	vol := analyze.DefaultVolatile()
	for _, fs := range sets {
		var rows, distinct, flagged float64
		for seed := int64(1); seed <= seeds; seed++ {
			s := fleet.NewSim(fleet.SimConfig{Seed: seed, Hosts: hosts, Families: fs})
			var res []collect.Result
			seen := map[string]bool{}
			for i := range hosts {
				rs := s.Results(i)
				for _, r := range rs {
					rows += float64(len(r.Rows))
					for _, row := range r.Rows {
						seen[r.CommandID+"\x00"+vol.Key(r.CommandID, row)] = true
					}
				}
				res = append(res, rs...)
			}
			distinct += float64(len(seen))
			rep := fleet.Stacking(res, 0.01)
			flagged += float64(len(rep.Outliers()))
		}
		n := float64(seeds) * float64(hosts)
		fmt.Printf("| %v | %.0f | %.1f | %.3f |\n", fs, rows/n, distinct/n, flagged/n)
	}
}
