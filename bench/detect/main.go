// Command detect is the detection protocol of issue 11: it scores the
// analyzers' own decision (Host.Outlier) on simulated groups of
// diffytest/fleet.Sim, family by family, and prints Markdown tables:
//
//   - each family of variation alone, every family together, and
//     leave-one-family-out (every family but one), at each size;
//   - every single-host attack kind planted, and the campaign, in
//     separate scenarios;
//   - the cluster analyzer beside plain 1% stacking on the same data;
//   - with -baseline, the baseline analyzer against the same group
//     collected a week earlier (Sim.WeekEarlier: some hosts replaced, each
//     rollout a step behind, no attack yet);
//   - with -attacks kinds, one scenario per single-host attack kind;
//   - with -young, attackers at work during the collection on a share
//     of the compromised hosts (fleet.Attacks.Young): processes caught
//     minutes after they started;
//   - with -rare and -minority, the curves of the decision's two
//     constants (analyze's RareShare ρ and MinorityShare φ): one row per
//     value, to show whether the result hinges on them.
//
// Each cell pools the scenarios of every seed: precision and recall of
// the outlier flag, the share of compromised hosts with a planted row
// among their first three findings, and, for the sizes below 100 hosts,
// the share of compromised hosts ranked first (among the first k ranks, k
// the number of compromised hosts) and whether the first note says the
// decision is weak at that size.
//
// The seeds used to design and tune the analyzers are 1 to 4; the tables
// of bench/README.md are measured on seeds never used for that (the
// default, 101 to 105).
//
// Usage, from the repository root:
//
//	go run ./bench/detect -sizes 200,1000 -seeds 101-105
//	go run ./bench/detect -sizes 20,60 -seeds 101-110 -rows all
//	go run ./bench/detect -sizes 1000 -baseline
//	go run ./bench/detect -sizes 200,1000 -rows all -attacks kinds
//	go run ./bench/detect -sizes 200,1000 -rows all -rare 0.005,0.01,0.02
//	go run ./bench/detect -sizes 200,1000 -rows all -minority 0.1,0.2,0.4
//	go run ./bench/detect -sizes 200,1000 -rows all -attacks kinds -young 1
//
// Hosts are streamed into the analyzer (analyze.Streamer) and into 1%
// stacking (fleet.Stacker) about a thousand Results at a time: no scenario
// holds its group's Results.
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/diffy-dfir/diffy/analyze"
	"github.com/diffy-dfir/diffy/collect"
	"github.com/diffy-dfir/diffy/diffytest/fleet"
)

func main() {
	var (
		sizes    = flag.String("sizes", "200,1000", "group sizes, comma-separated")
		seeds    = flag.String("seeds", "101-105", "seeds: a list (1,2,3) or a range (101-105)")
		rows     = flag.String("rows", "all,leave-one-out", "table rows: all (every family together), alone (each family alone), leave-one-out (every family but one), or a family set, its families joined by + (containers+images; -rollout is every family but rollout)")
		attacks  = flag.String("attacks", "single,campaign", "attack scenarios, comma-separated: single (every single-host kind together), campaign, kinds (one scenario per single-host kind), or a kind's name (listener, miner, ...)")
		baseline = flag.Bool("baseline", false, "score the baseline analyzer against the group a week earlier instead of the cluster analyzer")
		stacking = flag.Bool("stacking", true, "score 1% stacking beside the cluster analyzer")
		jobs     = flag.Int("j", runtime.GOMAXPROCS(0), "scenarios analyzed at once")
		verbose  = flag.Bool("v", false, "print each scenario's scores on stderr, with its wall time, the CPU time the process spent meanwhile (the scenario's own with -j 1) and the process's peak RSS so far")
		why      = flag.Bool("why", false, "print on stderr each report's notes and, for each false positive and each compromised host missed, its first three findings: why the analyzer decided so")
		rare     = flag.String("rare", "", "the analyzer's RareShare (ρ), comma-separated values: one table row each (the curve); empty: the default, analyze.DefaultRareShare")
		minority = flag.String("minority", "", "the analyzer's MinorityShare (φ), comma-separated values: one table row each; empty: the default, analyze.DefaultMinorityShare")
		young    = flag.Float64("young", 0, "the share of compromised hosts whose attacker is at work during the collection, their processes started 30 s to 10 min before it (fleet.Attacks.Young)")
	)
	flag.Parse()
	log.SetFlags(0)
	ns, err := intList(*sizes)
	if err != nil {
		log.Fatalf("-sizes: %v", err)
	}
	ss, err := seedList(*seeds)
	if err != nil {
		log.Fatalf("-seeds: %v", err)
	}
	rs, err := rowList(*rows)
	if err != nil {
		log.Fatalf("-rows: %v", err)
	}
	rhos, err := shareList(*rare, analyze.DefaultRareShare)
	if err != nil {
		log.Fatalf("-rare: %v", err)
	}
	phis, err := shareList(*minority, analyze.DefaultMinorityShare)
	if err != nil {
		log.Fatalf("-minority: %v", err)
	}
	var settings []shares
	for _, rho := range rhos {
		for _, phi := range phis {
			settings = append(settings, shares{rho, phi})
		}
	}
	curve := *rare != "" || *minority != ""
	var kinds []scenarioAttack
	for _, a := range strings.Split(*attacks, ",") {
		switch a {
		case "single":
			kinds = append(kinds, scenarioAttack{"single-host attacks", fleet.Attacks{Kinds: fleet.AttackKinds}})
		case "campaign":
			kinds = append(kinds, scenarioAttack{"campaign", fleet.Attacks{Campaign: true}})
		case "kinds":
			for _, k := range fleet.AttackKinds {
				kinds = append(kinds, scenarioAttack{k, fleet.Attacks{Kinds: []string{k}}})
			}
		default:
			if !slices.Contains(fleet.AttackKinds, a) {
				log.Fatalf("-attacks: unknown %q (single, campaign, kinds, or one of %s)", a, strings.Join(fleet.AttackKinds, ", "))
			}
			kinds = append(kinds, scenarioAttack{a, fleet.Attacks{Kinds: []string{a}}})
		}
	}
	if *young < 0 || *young > 1 {
		log.Fatalf("-young: %g is not a share in [0, 1]", *young)
	}
	for i := range kinds {
		kinds[i].attacks.Young = *young
	}
	what := "cluster analyzer"
	if *baseline {
		what = "baseline analyzer, fleet baseline a week earlier"
	}
	if *young > 0 {
		what += fmt.Sprintf(", attackers at work during the collection on %g of the compromised hosts", *young)
	}
	fmt.Printf("Detection at the analyzer's own decision (%s), seeds %s; each cell pools the seeds.\n\n", what, *seeds)
	header := "| families | attacks | hosts | compromised | flagged | precision | recall | F1 | top-3 |"
	sep := "|---|---|---:|---:|---:|---:|---:|---:|---:|"
	if slices.ContainsFunc(ns, func(n int) bool { return n < 100 }) {
		header += " ranked first | weak note |"
		sep += "---:|---:|"
	}
	if *stacking && !*baseline {
		header += " 1% stacking precision | recall | F1 |"
		sep += "---:|---:|---:|"
	}
	if curve {
		header = "| ρ | φ " + header
		sep = "|---:|---:" + sep
	}
	fmt.Println(header)
	fmt.Println(sep)
	for _, sh := range settings {
		for _, n := range ns {
			for _, row := range rs {
				for _, att := range kinds {
					var cells []cell
					var mu sync.Mutex
					sem := make(chan struct{}, max(1, *jobs))
					var wg sync.WaitGroup
					for _, seed := range ss {
						wg.Add(1)
						sem <- struct{}{}
						go func() {
							defer func() { <-sem; wg.Done() }()
							cpu0, _ := usage()
							c := run(fleet.SimConfig{Hosts: n, Seed: seed, Families: row.families, Attacks: att.attacks}, sh, *baseline, *stacking && !*baseline, *why)
							if *verbose {
								cpu1, rss := usage()
								log.Printf("%s %s n=%d seed=%d: %v (%.1f s wall, %.1f s CPU, peak RSS %d MiB)", row.name, att.name, n, seed, c.ev, c.analyzedTime.Seconds(), (cpu1 - cpu0).Seconds(), rss>>20)
							}
							mu.Lock()
							cells = append(cells, c)
							mu.Unlock()
						}()
					}
					wg.Wait()
					l := line(row.name, att.name, n, cells, *stacking && !*baseline)
					if curve {
						l = fmt.Sprintf("| %g | %g %s", sh.rho, sh.phi, l)
					}
					fmt.Println(l)
				}
			}
		}
	}
}

// usage returns the CPU time (user and system) the process has spent so
// far and its peak resident set size in bytes.
func usage() (time.Duration, int64) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), ru.Maxrss << 10 // Maxrss is in KiB on Linux
}

// shares are the analyzer's RareShare (ρ) and MinorityShare (φ).
type shares struct{ rho, phi float64 }

// streamBatch is about the number of Results handed to the analyzer's
// Stream at once (diffy.Diffy.AnalyzeFiles hands it about as many).
const streamBatch = 1024

type scenarioAttack struct {
	name    string
	attacks fleet.Attacks
}

type tableRow struct {
	name     string
	families fleet.Families
}

// cell is the outcome of one scenario.
type cell struct {
	ev, stack    fleet.Evaluation
	rankedFirst  int // compromised hosts among the first k ranks
	weakNote     bool
	compromised  int
	analyzedTime time.Duration // generating, streaming, analyzing and stacking the group
}

// run generates one scenario, analyzes it and scores the report. The
// hosts' Results are streamed into the analyzer (analyze.Streamer) and
// into 1% stacking (fleet.Stacker) a batch of hosts at a time, so that a
// scenario's memory is the analyzer's and the stacker's, not the group's.
func run(cfg fleet.SimConfig, sh shares, baseline, stacking, why bool) cell {
	ctx := context.Background()
	sim := fleet.NewSim(cfg)
	var a analyze.Streamer = analyze.Clustering{RareShare: sh.rho, MinorityShare: sh.phi}
	var base []collect.Result
	if baseline {
		week := sim.WeekEarlier()
		for i := range cfg.Hosts {
			base = append(base, week.Results(i)...)
		}
		a = analyze.Baseline{RareShare: sh.rho, MinorityShare: sh.phi}
	}
	start := time.Now()
	st, err := a.NewStream("sim", base)
	if err != nil {
		log.Fatal(err)
	}
	base = nil
	var stack *fleet.Stacker
	if stacking {
		stack = fleet.NewStacker(0.01)
	}
	var batch []collect.Result
	for i := range cfg.Hosts {
		batch = append(batch, sim.Results(i)...)
		if len(batch) >= streamBatch || i == cfg.Hosts-1 {
			if err := st.Add(ctx, batch); err != nil {
				log.Fatal(err)
			}
			if stacking {
				stack.Add(batch)
			}
			batch = batch[:0]
		}
	}
	rep, err := st.Report(ctx, nil)
	if err != nil {
		log.Fatal(err)
	}
	truth := sim.Truth()
	c := cell{ev: truth.Evaluate(rep), analyzedTime: time.Since(start), compromised: len(truth.Compromised)}
	comp := map[string]bool{}
	for _, h := range truth.Compromised {
		comp[h.InstanceID] = true
	}
	for _, h := range rep.Hosts {
		if h.Rank > 0 && h.Rank <= len(truth.Compromised) && comp[h.InstanceID] {
			c.rankedFirst++
		}
	}
	if why {
		planted := map[string][]fleet.Planted{}
		for _, h := range truth.Compromised {
			planted[h.InstanceID] = h.Planted
		}
		explain(cfg, rep, planted)
	}
	c.weakNote = len(rep.Notes) > 0 && strings.HasPrefix(rep.Notes[0], "the decision is weak at this size")
	if stacking {
		c.stack = truth.Evaluate(stack.Report())
	}
	return c
}

// line pools the cells of one table row.
func line(families, attacks string, n int, cells []cell, stacking bool) string {
	var comp, flagged, tp, top3, ranked, weak int
	var sflag, stp int
	for _, c := range cells {
		comp += c.ev.Compromised
		flagged += c.ev.Flagged
		tp += c.ev.TruePositives
		top3 += int(c.ev.Top3*float64(c.ev.Compromised) + 0.5)
		ranked += c.rankedFirst
		if c.weakNote {
			weak++
		}
		sflag += c.stack.Flagged
		stp += c.stack.TruePositives
	}
	ratio := func(a, b int) string {
		if b == 0 {
			return "1.000"
		}
		return fmt.Sprintf("%.3f", float64(a)/float64(b))
	}
	s := fmt.Sprintf("| %s | %s | %d | %d | %d | %s | %s | %s | %s |", families, attacks, n, comp, flagged, ratio(tp, flagged), ratio(tp, comp), f1(tp, flagged, comp), ratio(top3, comp))
	if n < 100 {
		s += fmt.Sprintf(" %s | %d of %d |", ratio(ranked, comp), weak, len(cells))
	}
	if stacking {
		s += fmt.Sprintf(" %s | %s | %s |", ratio(stp, sflag), ratio(stp, comp), f1(stp, sflag, comp))
	}
	return s
}

// f1 returns the F1 score of tp true positives among flagged hosts
// flagged for comp compromised ones, 2·tp / (flagged + comp): the
// harmonic mean of precision and recall (1 when both counts are zero).
func f1(tp, flagged, comp int) string {
	if flagged+comp == 0 {
		return "1.000"
	}
	return fmt.Sprintf("%.3f", 2*float64(tp)/float64(flagged+comp))
}

func intList(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n <= 0 {
			return nil, fmt.Errorf("%q is not a positive number", f)
		}
		out = append(out, n)
	}
	return out, nil
}

// shareList parses a comma-separated list of shares; empty is def.
func shareList(s string, def float64) ([]float64, error) {
	if s == "" {
		return []float64{def}, nil
	}
	var out []float64
	for _, f := range strings.Split(s, ",") {
		x, err := strconv.ParseFloat(strings.TrimSpace(f), 64)
		if err != nil || x <= 0 || x >= 1 {
			return nil, fmt.Errorf("%q is not a share between 0 and 1", f)
		}
		out = append(out, x)
	}
	return out, nil
}

func seedList(s string) ([]int64, error) {
	if lo, hi, ok := strings.Cut(s, "-"); ok {
		a, err1 := strconv.ParseInt(lo, 10, 64)
		b, err2 := strconv.ParseInt(hi, 10, 64)
		if err1 != nil || err2 != nil || b < a {
			return nil, fmt.Errorf("%q is not a range of seeds", s)
		}
		var out []int64
		for x := a; x <= b; x++ {
			out = append(out, x)
		}
		return out, nil
	}
	ns, err := intList(s)
	if err != nil {
		return nil, err
	}
	out := make([]int64, len(ns))
	for i, n := range ns {
		out[i] = int64(n)
	}
	return out, nil
}

// rowList turns -rows into table rows.
func rowList(s string) ([]tableRow, error) {
	var out []tableRow
	for _, part := range strings.Split(s, ",") {
		switch part {
		case "all":
			out = append(out, tableRow{"all", fleet.AllFamilies})
		case "alone":
			for _, f := range fleet.FamilyList() {
				out = append(out, tableRow{f.String() + " alone", f})
			}
		case "leave-one-out":
			for _, f := range fleet.FamilyList() {
				out = append(out, tableRow{"all but " + f.String(), fleet.AllFamilies &^ f})
			}
		case "none":
			out = append(out, tableRow{"none", 0})
		default:
			fs, err := fleet.ParseFamilies(strings.ReplaceAll(part, "+", ","))
			if err != nil {
				return nil, err
			}
			out = append(out, tableRow{part, fs})
		}
	}
	if len(out) == 0 {
		fmt.Fprintln(os.Stderr, "no rows")
	}
	return out, nil
}

// explain prints on stderr the report's notes and, for every false
// positive and every compromised host the report does not flag, its
// first three findings (command, deciding or not, why, the row), and of a
// missed host what was planted: what to read to find why a family of
// variation fires, or why an attack is missed.
func explain(cfg fleet.SimConfig, rep *analyze.Report, planted map[string][]fleet.Planted) {
	var b strings.Builder
	for i, n := range rep.Notes {
		fmt.Fprintf(&b, "n=%d seed=%d note %d: %s\n", cfg.Hosts, cfg.Seed, i+1, n)
	}
	for _, h := range rep.Hosts {
		var what string
		_, comp := planted[h.InstanceID]
		switch {
		case h.Outlier && !comp:
			what = "false positive"
		case !h.Outlier && comp:
			what = "missed"
		default:
			continue
		}
		fmt.Fprintf(&b, "n=%d seed=%d %s %s (rank %d, score %.1f, %d findings)\n", cfg.Hosts, cfg.Seed, what, h.InstanceID, h.Rank, h.Score, len(h.Findings))
		for _, f := range h.Findings[:min(3, len(h.Findings))] {
			fmt.Fprintf(&b, "\t%s deciding=%v %s: %s\n\t\trow %v\n", f.CommandID, f.Deciding, f.Kind, f.Why, f.Row)
		}
		if !h.Outlier {
			for _, p := range planted[h.InstanceID] {
				fmt.Fprintf(&b, "\tplanted %s %s: %v (%s; replaced %v)\n", p.Kind, p.CommandID, p.Row, p.Detail, p.Replaced)
			}
		}
	}
	fmt.Fprint(os.Stderr, b.String())
}
