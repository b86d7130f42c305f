package plugin_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/diffy-dfir/diffy"
	"github.com/diffy-dfir/diffy/collect"
	"github.com/diffy-dfir/diffy/diffytest"
	"github.com/diffy-dfir/diffy/examples/plugin"
	"github.com/diffy-dfir/diffy/payload"
	"github.com/diffy-dfir/diffy/persist"
)

// The two plugins wired into diffy.New: instances from an inventory file,
// the standard pack plus a setuid query. A FakeCollector stands in for the
// hosts here; in real use, leave WithCollector out (this machine) or give
// an SSM collector.
func Example() {
	dir, err := os.MkdirTemp("", "plugin-example")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(dir)
	inv := filepath.Join(dir, "inventory.csv")
	os.WriteFile(inv, []byte("key,instance_id,role\nweb,i-01,api\nweb,i-02,api\nweb,i-03,api\n"), 0o600)

	// What each host answers: the same rows everywhere, and on i-02 a
	// setuid copy of bash, which only the added query sees.
	hosts := diffytest.NewFakeCollector(nil)
	for _, id := range []string{"i-01", "i-02", "i-03"} {
		for _, cmd := range payload.StandardPack() {
			hosts.SetRows(id, cmd.ID, diffytest.CleanRows()[cmd.ID])
		}
		suid := []collect.Row{{"path": "/usr/bin/passwd", "username": "root", "groupname": "root", "permissions": "S"}}
		if id == "i-02" {
			suid = append(suid, collect.Row{"path": "/var/tmp/.X11/bash", "username": "root", "groupname": "root", "permissions": "S"})
		}
		hosts.SetRows(id, "suid_binaries", suid)
	}

	d, err := diffy.New(
		diffy.WithTarget(plugin.FileTarget{Path: inv}),
		diffy.WithPayload(plugin.WithQueries(payload.Osquery{}, plugin.SUIDBinaries())),
		diffy.WithCollector(hosts),
		diffy.WithStore(persist.NewMemory()),
	)
	if err != nil {
		fmt.Println(err)
		return
	}
	ctx := context.Background()
	if _, err := d.Baseline(ctx, "web"); err != nil { // from i-01, the first instance
		fmt.Println(err)
		return
	}
	rep, err := d.Analyze(ctx, "web")
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, h := range rep.Hosts {
		fmt.Printf("%s outlier=%v\n", h.InstanceID, h.Outlier)
		for _, f := range h.Findings {
			fmt.Printf("  %s %s %s\n", f.Kind, f.CommandID, f.Row["path"])
		}
	}
	// Output:
	// i-01 outlier=false
	// i-02 outlier=true
	//   added suid_binaries /var/tmp/.X11/bash
	// i-03 outlier=false
}

// WithQueries adds queries of one's own after another payload's.
func ExampleWithQueries() {
	p := plugin.WithQueries(payload.Osquery{}, plugin.SUIDBinaries(), plugin.SystemdUnits())
	cmds, err := p.Generate(context.Background(), "incident-42")
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, c := range cmds {
		fmt.Println(c.ID)
	}
	// Output:
	// listening_ports
	// processes
	// crontab
	// kernel_modules
	// users
	// authorized_keys
	// suid_binaries
	// systemd_units
}

// FileTarget reads a key's instances, with their columns, from the file.
func ExampleFileTarget() {
	dir, err := os.MkdirTemp("", "plugin-example")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(dir)
	inv := filepath.Join(dir, "inventory.csv")
	os.WriteFile(inv, []byte("# IR inventory\nkey,instance_id,name,region,role\npayments,i-0aa1,pay-1,eu-west-1,api\nledger,i-0bb2,ledger-1,eu-west-1,db\n"), 0o600)

	insts, err := plugin.FileTarget{Path: inv}.Targets(context.Background(), "ledger")
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, in := range insts {
		fmt.Println(in.ID, in.Name, in.Region, in.Tags["role"])
	}
	_, err = plugin.FileTarget{Path: inv}.Targets(context.Background(), "billing")
	fmt.Println(err != nil)
	// Output:
	// i-0bb2 ledger-1 eu-west-1 db
	// true
}
