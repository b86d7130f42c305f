package collect_test

import (
	"context"
	"fmt"

	"github.com/diffy-dfir/diffy/collect"
	"github.com/diffy-dfir/diffy/payload"
	"github.com/diffy-dfir/diffy/target"
)

// Local runs a payload's commands on this machine, one Result per command.
// A command that prints rows as osqueryi does succeeds with them; one that
// fails keeps its exit status and stderr.
func ExampleLocal() {
	cmds := []payload.Command{
		{ID: "greeting", Shell: `echo '[{"hello":"world"}]'`},
		{ID: "broken", Shell: `echo 'no such table: procs' >&2; exit 1`},
	}
	results, err := collect.Local{}.Collect(context.Background(), []target.Instance{{ID: target.LocalID}}, cmds)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, r := range results {
		fmt.Println(r.CommandID, r.Status, r.ExitCode, r.Rows)
		if r.Error != "" {
			fmt.Println("  error:", r.Error)
		}
	}
	// Output:
	// greeting Success 0 [map[hello:world]]
	// broken Failed 1 []
	//   error: command broken exited with status 1: no such table: procs
}

// The standard pack on this machine: through osqueryi when it is on PATH,
// through the built-in Linux probes otherwise. What it finds depends on
// the machine.
func ExampleLocal_standardPack() {
	ctx := context.Background()
	insts, err := target.Local{}.Targets(ctx, "local")
	if err != nil {
		fmt.Println(err)
		return
	}
	results, err := collect.Local{}.Collect(ctx, insts, payload.StandardPack())
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, r := range results {
		fmt.Printf("%-16s %-8s %d rows %s\n", r.CommandID, r.Status, len(r.Rows), r.Error)
	}
}

// Local reaches only this machine: any other instance is accounted for
// with an Undeliverable Result, and the run goes on.
func ExampleLocal_otherInstance() {
	cmds := []payload.Command{{ID: "greeting", Shell: `echo '[{"hello":"world"}]'`}}
	insts := []target.Instance{{ID: "i-0abc"}, {ID: target.LocalID}}
	results, err := collect.Local{}.Collect(context.Background(), insts, cmds)
	fmt.Println("run error:", err)
	for _, r := range results {
		fmt.Println(r.InstanceID, r.Status)
	}
	// Output:
	// run error: <nil>
	// i-0abc Undeliverable
	// local Success
}

// Limits caps what one Result may hold; output over a cap is marked
// truncated and never parsed.
func ExampleLocal_limits() {
	l := collect.Local{Limits: collect.Limits{MaxBytes: 16}}
	cmds := []payload.Command{{ID: "chatty", Shell: `echo '[{"a":"1"},{"a":"2"},{"a":"3"}]'`}}
	results, _ := l.Collect(context.Background(), []target.Instance{{ID: target.LocalID}}, cmds)
	r := results[0]
	fmt.Println(r.Status, r.Truncated, len(r.Rows))
	// Output:
	// Failed true 0
}

// ParseRows reads osqueryi --json output; every value becomes a string.
func ExampleParseRows() {
	rows, err := collect.ParseRows([]byte(`[{"pid": 612, "name": "sshd", "on_disk": true, "parent": null}]`))
	fmt.Println(rows, err)
	// Output:
	// [map[name:sshd on_disk:true parent: pid:612]] <nil>
}

// Limits.Fill is how every collector turns a command's raw output into a
// Result.
func ExampleLimits_Fill() {
	r := collect.Result{InstanceID: "i-0abc", CommandID: "users"}
	collect.Limits{}.Fill(&r, []byte(`[{"username":"root"}`), "", false, "")
	fmt.Println(r.Status, r.Error)
	// Output:
	// Failed command users: output is cut short: it ends in the middle of a JSON value at byte 20: invalid input
}

// ResultDecoder reads a collection file: here two hosts whose one row is
// the same, which the pool holds once, and a value that is not a Result.
func ExampleResultDecoder() {
	file := []byte(`[
  {"instance_id": "i-1", "command_id": "users", "status": "Success", "stdout": [{"username": "root", "uid": "0"}]},
  {"instance_id": "i-2", "command_id": "users", "status": "Success", "stdout": [{"uid": "0", "username": "root"}]},
  42
]`)
	pool := &collect.RowPool{}
	d := collect.ResultDecoder{Pool: pool}
	results, bad, err := d.Decode(file)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, r := range results {
		fmt.Println(r.InstanceID, r.Status, r.Rows)
	}
	for _, e := range bad {
		fmt.Println(e)
	}
	fmt.Println("distinct rows:", pool.Len())
	// Output:
	// i-1 Success [map[uid:0 username:root]]
	// i-2 Success [map[uid:0 username:root]]
	// result 3 at byte 236: result: a number, not a Result object: invalid input
	// distinct rows: 1
}
