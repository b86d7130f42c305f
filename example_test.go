package diffy_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/diffy-dfir/diffy"
	"github.com/diffy-dfir/diffy/analyze"
	"github.com/diffy-dfir/diffy/collect"
	"github.com/diffy-dfir/diffy/inventory"
	"github.com/diffy-dfir/diffy/payload"
	"github.com/diffy-dfir/diffy/persist"
	"github.com/diffy-dfir/diffy/render"
	"github.com/diffy-dfir/diffy/target"
)

// labTarget is a Target of three web servers, answering the key "web".
type labTarget struct{}

func (labTarget) Targets(ctx context.Context, key string) ([]target.Instance, error) {
	if key != "web" {
		return nil, fmt.Errorf("lab target %q: %w", key, diffy.ErrNotFound)
	}
	return []target.Instance{{ID: "web-1"}, {ID: "web-2"}, {ID: "web-3"}}, nil
}

// portsPayload is a Payload of one command: the listening ports.
type portsPayload struct{}

func (portsPayload) Generate(ctx context.Context, incident string) ([]payload.Command, error) {
	return []payload.Command{{ID: payload.ListeningPorts, Query: "SELECT address, port, name, pid FROM listening_ports;"}}, nil
}

// labCollector is a Collector that "runs" the command on the lab's
// machines: every one listens on port 22 (with its own pid), and web-3
// also on 4444. Like every collector, it turns raw output into a Result
// with collect.Limits.Fill.
type labCollector struct{}

func (labCollector) Collect(ctx context.Context, insts []target.Instance, cmds []payload.Command) ([]collect.Result, error) {
	var out []collect.Result
	for i, in := range insts {
		stdout := fmt.Sprintf(`[{"address":"0.0.0.0","port":"22","name":"sshd","pid":"%d"}`, 600+i)
		if in.ID == "web-3" {
			stdout += `,{"address":"0.0.0.0","port":"4444","name":"nc","pid":"31337"}`
		}
		stdout += "]"
		for _, c := range cmds {
			r := collect.Result{InstanceID: in.ID, CommandID: c.ID, CollectedAt: time.Now().UTC()}
			collect.Limits{}.Fill(&r, []byte(stdout), "", false, "")
			out = append(out, r)
		}
	}
	return out, nil
}

// Example wires every kind of plugin: a custom Target, Payload and
// Collector, the in-memory Store, the Baseline analyzer and a static
// Inventory. It baselines the group from its first machine, then analyzes
// it: pids differ on every machine and do not count; the extra port does.
func Example() {
	ctx := context.Background()
	d, err := diffy.New(
		diffy.WithTarget(labTarget{}),
		diffy.WithPayload(portsPayload{}),
		diffy.WithCollector(labCollector{}),
		diffy.WithStore(persist.NewMemory()),
		diffy.WithAnalyzer(analyze.Baseline{}),
		diffy.WithInventory(inventory.Static{{Key: "web", Instance: "web-1"}}),
		diffy.WithIncident("IR-42"),
	)
	if err != nil {
		fmt.Println(err)
		return
	}
	keys, err := d.BaselineInventory(ctx) // baselines "web" from web-1
	fmt.Println("baselined:", keys, err)

	report, err := d.Analyze(ctx, "web")
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, h := range report.Hosts {
		fmt.Printf("%s outlier=%v\n", h.InstanceID, h.Outlier)
		for _, f := range h.Findings {
			fmt.Printf("  %s %s %s\n", f.Kind, f.CommandID, render.FormatRow(f.Row))
		}
	}
	// Output:
	// baselined: [web] <nil>
	// web-1 outlier=false
	// web-2 outlier=false
	// web-3 outlier=true
	//   added listening_ports address=0.0.0.0 name=nc port=4444
}

// ExampleDiffy_Analyze_noBaseline shows the error of an analysis that
// needs a baseline before one was taken.
func ExampleDiffy_Analyze_noBaseline() {
	d, _ := diffy.New(diffy.WithTarget(labTarget{}), diffy.WithCollector(labCollector{}),
		diffy.WithPayload(portsPayload{}), diffy.WithStore(persist.NewMemory()))
	_, err := d.Analyze(context.Background(), "web")
	fmt.Println(errors.Is(err, diffy.ErrNoBaseline))
	fmt.Println(err)
	// Output:
	// true
	// no baseline stored for "web"; run `diffy baseline web` (or Diffy.Baseline) first: no baseline
}

// ExampleLoadResults analyzes Results saved in files (here, one in the
// original Diffy's format) against a baseline taken from one of the hosts.
func ExampleLoadResults() {
	results, skipped, err := diffy.LoadResults("testdata/original")
	if err != nil {
		fmt.Println(err)
		return
	}
	var base []collect.Result
	for _, r := range results {
		if r.InstanceID == "i-0f1e2d3c4b5a69788" {
			base = append(base, r)
		}
	}
	d, _ := diffy.New(diffy.WithStore(persist.NewMemory()))
	report, err := d.AnalyzeResults(context.Background(), "web", results, base, skipped)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, h := range report.Outliers() {
		fmt.Println(h.InstanceID, h.Findings[0].Kind, render.FormatRow(h.Findings[0].Row))
	}
	// Output:
	// i-0a9b8c7d6e5f40312 added address=0.0.0.0 name=nc port=4444
}

// ExampleStoreKey shows the store keys of target keys.
func ExampleStoreKey() {
	for _, key := range []string{"local", "i-0abc,i-0def", "Name=web/prod"} {
		sk, _ := diffy.StoreKey(key)
		fmt.Println(sk)
	}
	// Output:
	// local
	// i-0abc,i-0def
	// Name=web%2Fprod
}

// ExampleWithProgress prints the stages of a collection.
func ExampleWithProgress() {
	d, _ := diffy.New(diffy.WithTarget(labTarget{}), diffy.WithCollector(labCollector{}),
		diffy.WithPayload(portsPayload{}), diffy.WithStore(persist.NewMemory()), diffy.WithBatchSize(2),
		diffy.WithProgress(func(p diffy.Progress) { fmt.Fprintf(os.Stdout, "%s %d/%d\n", p.Stage, p.Done, p.Total) }))
	if _, err := d.Collect(context.Background(), "web"); err != nil {
		fmt.Println(err)
	}
	// Output:
	// target 3/3
	// collect 0/3
	// collect 2/3
	// collect 3/3
}
