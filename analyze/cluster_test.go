package analyze_test

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"maps"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/diffy-dfir/diffy/analyze"
	"github.com/diffy-dfir/diffy/collect"
	"github.com/diffy-dfir/diffy/diffytest/fleet"
)

var update = flag.Bool("update", false, "rewrite the golden reports in testdata")

// host returns the Results of one hand-made host: every command's rows.
func host(id string, rows map[string][]collect.Row) []collect.Result {
	var out []collect.Result
	for _, cmd := range []string{"listening_ports", "processes", "users"} {
		out = append(out, collect.Result{InstanceID: id, CommandID: cmd, Status: collect.StatusSuccess, CollectedAt: collectedAt, Rows: rows[cmd]})
	}
	return out
}

// commonRows are the rows of every hand-made host; extra rows are added
// per host. pid varies, as it does.
func commonRows(i int, extra map[string][]collect.Row) map[string][]collect.Row {
	rows := map[string][]collect.Row{
		"listening_ports": {{"address": "0.0.0.0", "port": "22", "protocol": "6", "name": "sshd", "path": "/usr/sbin/sshd", "cmdline": "/usr/sbin/sshd -D", "pid": fmt.Sprint(600 + i)}},
		"processes": {
			{"pid": "1", "name": "systemd", "path": "/usr/lib/systemd/systemd", "cmdline": "/sbin/init", "uid": "0", "parent": "0", "start_time": fmt.Sprint(1795000000 + i)},
			{"pid": fmt.Sprint(600 + i), "name": "sshd", "path": "/usr/sbin/sshd", "cmdline": "/usr/sbin/sshd -D", "uid": "0", "parent": "1", "start_time": fmt.Sprint(1795000010 + i)},
		},
		"users": {{"uid": "0", "gid": "0", "username": "root", "description": "root", "directory": "/root", "shell": "/bin/bash"}},
	}
	for cmd, rs := range extra {
		rows[cmd] = append(rows[cmd], rs...)
	}
	return rows
}

func analyzeResults(t *testing.T, res []collect.Result) *analyze.Report {
	t.Helper()
	rep, err := analyze.Clustering{Now: func() time.Time { return collectedAt }}.Analyze(context.Background(), analyze.Input{Key: "k", Results: res})
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

// TestClusterPlantedRowScore checks the score and finding of a planted
// row against the formula of the package doc.
func TestClusterPlantedRowScore(t *testing.T) {
	const n = 40
	planted := collect.Row{"address": "0.0.0.0", "port": "4444", "protocol": "6", "name": "nc", "path": "/usr/bin/nc", "cmdline": "nc -lvnp 4444", "pid": "31337"}
	var res []collect.Result
	for i := range n {
		var extra map[string][]collect.Row
		if i == 7 {
			extra = map[string][]collect.Row{"listening_ports": {planted}}
		}
		res = append(res, host(fmt.Sprintf("i-%03d", i), commonRows(i, extra))...)
	}
	rep := analyzeResults(t, res)
	if len(rep.Clusters) != 1 || rep.Clusters[0].Size != n {
		t.Fatalf("clusters %+v, want one of %d hosts", rep.Clusters, n)
	}
	for _, h := range rep.Hosts {
		if h.InstanceID != "i-007" {
			if h.Outlier || h.Score != 0 || len(h.Findings) != 0 {
				t.Errorf("clean host %s: outlier %v, score %v, findings %v", h.InstanceID, h.Outlier, h.Score, h.Findings)
			}
			continue
		}
		// One new row on one host of n, in a command where no other host
		// shows one: p = noveltyRate(0, n-1) = 1/n, surprise log2(n).
		want := math.Log2(n)
		if !h.Outlier || math.Abs(h.Score-want) > 1e-3 {
			t.Errorf("planted host: outlier %v, score %v, want %v", h.Outlier, h.Score, want)
		}
		if len(h.Findings) != 1 {
			t.Fatalf("planted host findings %v, want one", h.Findings)
		}
		f := h.Findings[0]
		stripped := maps.Clone(planted)
		delete(stripped, "pid")
		if f.CommandID != "listening_ports" || f.Kind != analyze.KindRare || !maps.Equal(f.Row, stripped) ||
			f.HostsWithRow != 1 || math.Abs(f.Prevalence-1.0/n) > 1e-12 || !f.Deciding ||
			f.Why != "no other of the 40 hosts has a listening_ports row like it" {
			t.Errorf("finding %+v, want the planted row without pid, on 1 host of %d", f, n)
		}
	}
}

// TestClusterTokensAndVariants: per-host tokens inside command lines make
// no outlier, and a version variant of a common row is a finding that
// does not decide (it weighs nothing in the score) and says so.
func TestClusterTokensAndVariants(t *testing.T) {
	const n = 30
	var res []collect.Result
	for i := range n {
		ver := "2.4.1"
		if i == 3 {
			ver = "2.5.0-rc.1"
		}
		app := collect.Row{"pid": "900", "name": "app", "path": "/opt/app-" + ver + "/bin/app", "uid": "1000", "parent": "1", "start_time": "1",
			"cmdline": fmt.Sprintf("/opt/app-%s/bin/app --id i-0%016x --node %08x-1111-4222-a333-%012x --bind 10.0.%d.%d --worker-port %d",
				ver, i*7919, i, i, i/200, i%200+1, 40000+i)}
		res = append(res, host(fmt.Sprintf("i-%03d", i), commonRows(i, map[string][]collect.Row{"processes": {app}}))...)
	}
	rep := analyzeResults(t, res)
	if out := rep.Outliers(); len(out) != 0 {
		t.Fatalf("outliers %v: per-host tokens and a version variant are benign", out)
	}
	h := rep.Hosts[3]
	if len(h.Findings) != 1 || h.Score != 0 || h.Findings[0].Deciding || h.Findings[0].Column != "cmdline" ||
		!strings.Contains(h.Findings[0].Why, "on 1 of the 30 hosts with this row in another version, where 29 have") {
		t.Errorf("variant host: score %v, findings %+v; want one finding that does not decide", h.Score, h.Findings)
	}
}

// TestClusterTwoRoles: two groups of hosts with their own services form
// two clusters whose traits are their services, apart on the map.
func TestClusterTwoRoles(t *testing.T) {
	var res []collect.Result
	for i := range 60 {
		svc := collect.Row{"address": "0.0.0.0", "port": "80", "protocol": "6", "name": "nginx", "path": "/usr/sbin/nginx", "cmdline": "nginx: master", "pid": "700"}
		user := collect.Row{"uid": "33", "gid": "33", "username": "www-data", "description": "", "directory": "/var/www", "shell": "/usr/sbin/nologin"}
		if i%3 == 0 {
			svc = collect.Row{"address": "127.0.0.1", "port": "6379", "protocol": "6", "name": "redis-server", "path": "/usr/bin/redis-server", "cmdline": "redis-server", "pid": "700"}
			user = collect.Row{"uid": "112", "gid": "119", "username": "redis", "description": "", "directory": "/var/lib/redis", "shell": "/usr/sbin/nologin"}
		}
		res = append(res, host(fmt.Sprintf("i-%03d", i), commonRows(i, map[string][]collect.Row{"listening_ports": {svc}, "users": {user}}))...)
	}
	rep := analyzeResults(t, res)
	if len(rep.Clusters) != 2 || rep.Clusters[0].Size != 40 || rep.Clusters[1].Size != 20 {
		t.Fatalf("clusters %+v, want 40 and 20 hosts", rep.Clusters)
	}
	if len(rep.Outliers()) != 0 {
		t.Errorf("outliers %v in a fleet of two clean roles", rep.Outliers())
	}
	traits := rep.Clusters[1].Traits
	if len(traits) == 0 || traits[0].Kind != analyze.KindTrait || (traits[0].Row["username"] != "redis" && traits[0].Row["name"] != "redis-server") {
		t.Errorf("traits of the redis cluster: %v", traits)
	}
	for _, h := range rep.Hosts {
		other := rep.Hosts[0]
		if h.Cluster != other.Cluster {
			d := math.Hypot(h.Position[0]-other.Position[0], h.Position[1]-other.Position[1])
			if d < 0.5 {
				t.Errorf("hosts of two clusters are %.3f apart on the map", d)
			}
			break
		}
	}
}

// TestClusterInputOrder: the report does not depend on the order of the
// Results.
func TestClusterInputOrder(t *testing.T) {
	f := fleet.Generate(fleet.Config{Seed: 5, Hosts: 60, CanaryFraction: 0.05, CompromisedFraction: 0.05, PlantsPerHost: 2})
	res := f.Results(collectedAt)
	want := analyzeResults(t, res)
	shuffled := append([]collect.Result(nil), res...)
	rand.New(rand.NewPCG(1, 2)).Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
	got := analyzeResults(t, shuffled)
	if diff := cmp.Diff(want, got, cmpopts.EquateApprox(0, 1e-6)); diff != "" {
		t.Errorf("the report changed with the order of the results (-ordered +shuffled):\n%s", diff)
	}
}

// TestClusterFailedResults: a failed command is the host's error, its
// other commands are analyzed, and the report says so.
func TestClusterFailedResults(t *testing.T) {
	var res []collect.Result
	for i := range 10 {
		res = append(res, host(fmt.Sprintf("i-%03d", i), commonRows(i, nil))...)
	}
	res[0].Status, res[0].Rows, res[0].Error = collect.StatusFailed, nil, "exit status 1"
	res = append(res, collect.Result{InstanceID: "i-gone", CommandID: "users", Status: collect.StatusUndeliverable, Error: "not managed"})
	rep := analyzeResults(t, res)
	if len(rep.Hosts) != 11 || len(rep.Hosts[0].Errors) != 1 || rep.Hosts[10].InstanceID != "i-gone" || len(rep.Hosts[10].Errors) != 1 {
		t.Fatalf("hosts %+v: want 11, with the errors of i-000 and i-gone", rep.Hosts)
	}
	found := false
	for _, n := range rep.Notes {
		if n == "2 of 11 hosts have commands that did not succeed (see their errors); only their successful commands were analyzed" {
			found = true
		}
	}
	if !found {
		t.Errorf("notes %q do not mention the failed commands", rep.Notes)
	}
}

func TestClusterEmptyAndCancelled(t *testing.T) {
	rep, err := analyze.Clustering{}.Analyze(context.Background(), analyze.Input{Key: "none"})
	if err != nil || len(rep.Hosts) != 0 || rep.Hosts == nil {
		t.Fatalf("empty input: %v, %+v", err, rep)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := (analyze.Clustering{}).Analyze(ctx, analyze.Input{Results: host("i-1", commonRows(1, nil))}); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled: %v", err)
	}
}

// TestClusterGolden compares the reports of small fixed fleets with the
// golden ones in testdata/<case>/report.json (floats within 1e-5, for
// the map's coordinates). The
// input, testdata/<case>/results.json, was written by the simulated fleet;
// -update rewrites the reports (and writes missing inputs).
func TestClusterGolden(t *testing.T) {
	cases := map[string]fleet.Config{
		"twelve-hosts-one-plant":   {Seed: 21, Hosts: 12, Roles: 2, CanaryFraction: 0.1, CompromisedFraction: 0.05, PlantsPerHost: 1},
		"sixteen-hosts-two-plants": {Seed: 22, Hosts: 16, Roles: 3, CanaryFraction: 0.1, CompromisedFraction: 0.1, PlantsPerHost: 2},
		"ten-clean-hosts":          {Seed: 23, Hosts: 10, Roles: 1, CanaryFraction: 0.1},
	}
	for name, cfg := range cases {
		t.Run(name, func(t *testing.T) {
			dir := filepath.Join("testdata", name)
			in := filepath.Join(dir, "results.json")
			if _, err := os.Stat(in); os.IsNotExist(err) && *update {
				data, err := json.Marshal(fleet.Generate(cfg).Results(collectedAt))
				if err != nil {
					t.Fatal(err)
				}
				if err := os.MkdirAll(dir, 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(in, data, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			data, err := os.ReadFile(in)
			if err != nil {
				t.Fatal(err)
			}
			var res []collect.Result
			if err := json.Unmarshal(data, &res); err != nil {
				t.Fatal(err)
			}
			rep := analyzeResults(t, res)
			rep.Key = name
			golden := filepath.Join(dir, "report.json")
			if *update {
				out, err := json.MarshalIndent(rep, "", "  ")
				if err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(golden, append(out, '\n'), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			wantData, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -run TestClusterGolden -update)", err)
			}
			var want, got analyze.Report
			if err := json.Unmarshal(wantData, &want); err != nil {
				t.Fatal(err)
			}
			gotData, _ := json.Marshal(rep)
			if err := json.Unmarshal(gotData, &got); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(want, got, cmpopts.EquateApprox(1e-9, 1e-5)); diff != "" {
				t.Errorf("report differs from %s (-want +got):\n%s", golden, diff)
			}
			if reflect.DeepEqual(want.Hosts, []analyze.Host(nil)) {
				t.Error("golden report has no hosts")
			}
		})
	}
}

// TestClusterOriginalFiles: Results without a command ID (the original
// Diffy's files) are one unnamed command, analyzed like any other.
func TestClusterOriginalFiles(t *testing.T) {
	var res []collect.Result
	for i := range 12 {
		rows := []collect.Row{{"name": "sshd", "port": "22"}, {"name": "cron", "port": ""}}
		if i == 4 {
			rows = append(rows, collect.Row{"name": "backdoor", "port": "31337"})
		}
		res = append(res, collect.Result{InstanceID: fmt.Sprintf("i-%02d", i), Status: collect.StatusSuccess, Rows: rows})
	}
	rep := analyzeResults(t, res)
	out := rep.Outliers()
	if len(out) != 1 || out[0].InstanceID != "i-04" || out[0].Findings[0].CommandID != "" || out[0].Findings[0].Row["name"] != "backdoor" {
		t.Fatalf("outliers %+v, want i-04 with its backdoor row", out)
	}
}
