package plugin_test

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/diffy-dfir/diffy"
	"github.com/diffy-dfir/diffy/collect"
	"github.com/diffy-dfir/diffy/diffyerr"
	"github.com/diffy-dfir/diffy/diffytest"
	"github.com/diffy-dfir/diffy/examples/plugin"
	"github.com/diffy-dfir/diffy/inventory"
	"github.com/diffy-dfir/diffy/payload"
	"github.com/diffy-dfir/diffy/persist"
	"github.com/diffy-dfir/diffy/target"
)

const inventoryCSV = `# the payments service and its ledger
key,instance_id,name,region,role
payments,i-0a1b2c3d4e5f60001,pay-1,eu-west-1,api
payments,i-0a1b2c3d4e5f60002,pay-2,eu-west-1,api
payments,i-0a1b2c3d4e5f60003,pay-3,eu-west-1,
ledger,i-0a1b2c3d4e5f60009,ledger-1,eu-west-1,db
payments,i-0a1b2c3d4e5f60002,pay-2,eu-west-1,api
`

// writeFile writes content to a new file in a test directory.
func writeFile(t *testing.T, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "inventory.csv")
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// The plugins keep their contracts: the diffytest suites say so.

func TestFileTargetConformance(t *testing.T) {
	diffytest.TestTarget(t, func(t *testing.T) diffytest.TargetHarness {
		return diffytest.TargetHarness{
			Target:    plugin.FileTarget{Path: writeFile(t, inventoryCSV)},
			Key:       "payments",
			Want:      []string{"i-0a1b2c3d4e5f60001", "i-0a1b2c3d4e5f60002", "i-0a1b2c3d4e5f60003"},
			Missing:   "billing",
			Malformed: "pay,ments",
		}
	})
}

func TestFileTargetInventoryConformance(t *testing.T) {
	diffytest.TestInventory(t, func(t *testing.T) inventory.Inventory {
		return plugin.FileTarget{Path: writeFile(t, inventoryCSV)}
	})
}

func TestExtendedConformance(t *testing.T) {
	diffytest.TestPayload(t, func(t *testing.T) payload.Payload {
		return plugin.WithQueries(payload.Osquery{}, plugin.SUIDBinaries(), plugin.SystemdUnits())
	})
}

func TestFileTargetReadsColumns(t *testing.T) {
	insts, err := plugin.FileTarget{Path: writeFile(t, inventoryCSV)}.Targets(context.Background(), "payments")
	if err != nil {
		t.Fatal(err)
	}
	if len(insts) != 3 {
		t.Fatalf("got %d instances, want 3 (the repeated line counts once): %+v", len(insts), insts)
	}
	first := insts[0]
	if first.Name != "pay-1" || first.Region != "eu-west-1" || first.Tags["role"] != "api" {
		t.Errorf("first instance %+v: want name pay-1, region eu-west-1, tag role=api", first)
	}
	if _, ok := insts[2].Tags["role"]; ok {
		t.Errorf("an empty role column became a tag: %+v", insts[2])
	}
	es, err := plugin.FileTarget{Path: writeFile(t, inventoryCSV)}.Entries(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, e := range es {
		keys = append(keys, e.Key)
	}
	if !slices.Equal(keys, []string{"payments", "ledger"}) {
		t.Errorf("Entries keys = %q, want payments, ledger", keys)
	}
}

func TestFileTargetBadFiles(t *testing.T) {
	ctx := context.Background()
	for _, c := range []struct {
		name, content string
		want          error
		says          string
	}{
		{"empty", "", diffyerr.ErrInvalidInput, "is empty"},
		{"comments only", "# nothing\n", diffyerr.ErrInvalidInput, "is empty"},
		{"no instance_id column", "key,name\nweb,w1\n", diffyerr.ErrInvalidInput, `no column "instance_id"`},
		{"column twice", "key,instance_id,key\nweb,i-1,web\n", diffyerr.ErrInvalidInput, "named twice"},
		{"short line", "key,instance_id,name\nweb,i-1\n", diffyerr.ErrInvalidInput, "line 2"},
		{"bad quote", "key,instance_id\nweb,\"i-1\n", diffyerr.ErrInvalidInput, "line"},
		{"empty instance", "key,instance_id\nweb,\n", diffyerr.ErrInvalidInput, "line 2"},
		{"spaced instance", "key,instance_id\nweb,i-1 i-2\n", diffyerr.ErrInvalidInput, "not one instance ID"},
		{"empty key", "key,instance_id\n,i-1\n", diffyerr.ErrInvalidInput, "line 2"},
	} {
		t.Run(c.name, func(t *testing.T) {
			path := writeFile(t, c.content)
			_, err := plugin.FileTarget{Path: path}.Targets(ctx, "web")
			if !errors.Is(err, c.want) || !strings.Contains(err.Error(), c.says) || !strings.Contains(err.Error(), path) {
				t.Errorf("Targets: %v; want an error matching %v that names the file and says %q", err, c.want, c.says)
			}
		})
	}
	_, err := plugin.FileTarget{Path: filepath.Join(t.TempDir(), "missing.csv")}.Targets(ctx, "web")
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("a missing file gave %v, want fs.ErrNotExist", err)
	}
}

func TestExtendedRefusesCollision(t *testing.T) {
	p := plugin.WithQueries(payload.Osquery{}, payload.QueryCommand(payload.Users, "users again", "SELECT * FROM users;"))
	_, err := p.Generate(context.Background(), "inc")
	if !errors.Is(err, diffyerr.ErrInvalidInput) || !strings.Contains(err.Error(), payload.Users) {
		t.Errorf("a colliding ID gave %v, want ErrInvalidInput naming %q", err, payload.Users)
	}
	if _, err := (plugin.Extended{}).Generate(context.Background(), "inc"); err == nil {
		t.Error("an Extended with no base gave no error")
	}
}

// fleetCollector gives every instance clean rows for every command
// of the payload, and one instance an extra setuid shell that only the
// added query sees.
func fleetCollector(t *testing.T, insts []target.Instance, cmds []payload.Command, odd string) *diffytest.FakeCollector {
	t.Helper()
	c := diffytest.NewFakeCollector(nil)
	for _, in := range insts {
		rows := diffytest.CleanRows()
		rows["suid_binaries"] = []collect.Row{{"path": "/usr/bin/passwd", "username": "root", "groupname": "root", "permissions": "S"}}
		if in.ID == odd {
			rows["suid_binaries"] = append(rows["suid_binaries"], collect.Row{"path": "/var/tmp/.font-unix/bash", "username": "root", "groupname": "root", "permissions": "S"})
		}
		for _, cmd := range cmds {
			c.SetRows(in.ID, cmd.ID, rows[cmd.ID])
		}
	}
	return c
}

// TestWiredThroughDiffy runs a whole baseline and analysis through
// diffy.New with the two plugins: the instance with the planted setuid
// shell is the one outlier, found by the added query.
func TestWiredThroughDiffy(t *testing.T) {
	ctx := context.Background()
	ft := plugin.FileTarget{Path: writeFile(t, inventoryCSV)}
	p := plugin.WithQueries(payload.Osquery{}, plugin.SUIDBinaries())
	insts, err := ft.Targets(ctx, "payments")
	if err != nil {
		t.Fatal(err)
	}
	ledger, err := ft.Targets(ctx, "ledger")
	if err != nil {
		t.Fatal(err)
	}
	cmds, err := p.Generate(ctx, "inc")
	if err != nil {
		t.Fatal(err)
	}
	store := persist.NewMemory()
	d, err := diffy.New(
		diffy.WithTarget(ft),
		diffy.WithPayload(p),
		diffy.WithInventory(ft),
		diffy.WithCollector(fleetCollector(t, append(insts, ledger...), cmds, "i-0a1b2c3d4e5f60002")),
		diffy.WithStore(store),
	)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.Baseline(ctx, "payments"); err != nil {
		t.Fatalf("Baseline: %v", err)
	}
	rep, err := d.Analyze(ctx, "payments")
	if err != nil {
		t.Fatalf("Analyze: %v", err)
	}
	out := rep.Outliers()
	if len(out) != 1 || out[0].InstanceID != "i-0a1b2c3d4e5f60002" {
		t.Fatalf("outliers %+v, want only i-0a1b2c3d4e5f60002", out)
	}
	f := out[0].Findings
	if len(f) != 1 || f[0].CommandID != "suid_binaries" || f[0].Row["path"] != "/var/tmp/.font-unix/bash" {
		t.Errorf("findings %+v, want the setuid shell from suid_binaries", f)
	}
	if len(rep.Hosts) != 3 {
		t.Errorf("report has %d hosts, want 3", len(rep.Hosts))
	}

	// The file is also the inventory: payments has its baseline, ledger
	// not yet, so BaselineInventory baselines ledger alone.
	keys, err := d.BaselineInventory(ctx)
	if err != nil {
		t.Fatalf("BaselineInventory: %v", err)
	}
	if !slices.Equal(keys, []string{"ledger"}) {
		t.Errorf("BaselineInventory baselined %q, want only ledger", keys)
	}
	stored, err := store.List(ctx, persist.KindBaseline)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(stored, []string{"ledger", "payments"}) {
		t.Errorf("stored baselines %q, want ledger and payments", stored)
	}
}
