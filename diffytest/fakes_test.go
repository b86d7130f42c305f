package diffytest_test

import (
	"reflect"
	"testing"

	"github.com/diffy-dfir/diffy/analyze"
	"github.com/diffy-dfir/diffy/collect"
	"github.com/diffy-dfir/diffy/diffytest"
	"github.com/diffy-dfir/diffy/diffytest/fleet"
	"github.com/diffy-dfir/diffy/inventory"
	"github.com/diffy-dfir/diffy/payload"
	"github.com/diffy-dfir/diffy/persist"
	"github.com/diffy-dfir/diffy/target"
)

// Every fake passes its own suite.

func fakeTargetHarness(t *testing.T) diffytest.TargetHarness {
	return diffytest.TargetHarness{
		Target: diffytest.NewFakeTarget(map[string][]target.Instance{
			"web": {{ID: "i-2", Tags: map[string]string{"role": "web"}}, {ID: "i-1", Name: "one"}, {ID: "i-2"}},
			"db":  {{ID: "i-9"}},
		}),
		Key:     "web",
		Want:    []string{"i-1", "i-2"},
		Missing: "no-such-group",
	}
}

func TestFakeTarget(t *testing.T) {
	diffytest.TestTarget(t, fakeTargetHarness)
}

func TestFakePayload(t *testing.T) {
	diffytest.TestPayload(t, func(t *testing.T) payload.Payload {
		return diffytest.NewFakePayload(payload.StandardPack()...)
	})
}

func TestFakeInventory(t *testing.T) {
	diffytest.TestInventory(t, func(t *testing.T) inventory.Inventory {
		return diffytest.NewFakeInventory(
			inventory.Entry{Key: "web", Labels: map[string]string{"account": "111122223333"}},
			inventory.Entry{Key: "db", Instance: "i-9"},
		)
	})
}

func TestFakeStore(t *testing.T) {
	diffytest.TestStore(t, func(t *testing.T) persist.Store { return diffytest.NewFakeStore() })
}

func TestFakeStoreZeroValue(t *testing.T) {
	diffytest.TestStore(t, func(t *testing.T) persist.Store { return &diffytest.FakeStore{} })
}

// fakeCollectorHarness is a FakeCollector over three instances of clean
// rows, one failing instance and one hanging command.
func fakeCollectorHarness(t *testing.T) diffytest.CollectorHarness {
	insts := []target.Instance{{ID: "i-1", Tags: map[string]string{"role": "web"}}, {ID: "i-2"}, {ID: "i-3"}}
	rows := map[string]map[string][]collect.Row{}
	for _, in := range insts {
		rows[in.ID] = diffytest.CleanRows()
	}
	c := diffytest.NewFakeCollector(rows)
	c.Fail("i-dead", collect.StatusUndeliverable, "agent not running")
	c.Hang("sleep")
	var cmds []payload.Command
	for _, id := range []string{payload.ListeningPorts, payload.Processes, payload.Users} {
		cmds = append(cmds, payload.Command{ID: id, Query: "SELECT 1;"})
	}
	return diffytest.CollectorHarness{
		Collector: c,
		Instances: insts,
		Commands:  cmds,
		Failing:   []target.Instance{{ID: "i-dead"}, {ID: "i-unknown"}},
		Hang:      &payload.Command{ID: "sleep", Shell: "sleep 3600"},
	}
}

func TestFakeCollector(t *testing.T) {
	diffytest.TestCollector(t, fakeCollectorHarness)
}

func TestFakeAnalyzer(t *testing.T) {
	diffytest.TestAnalyzer(t, func(t *testing.T) analyze.Analyzer { return &diffytest.FakeAnalyzer{} })
}

func TestFakeAnalyzerWithBaseline(t *testing.T) {
	diffytest.TestAnalyzer(t, func(t *testing.T) analyze.Analyzer { return &diffytest.FakeAnalyzer{UseBaseline: true} })
}

// A FakeCollector over a simulated fleet keeps the contract too, and
// answers each host's rows as the fleet holds them.
func TestFleetCollector(t *testing.T) {
	f := fleet.Generate(fleet.Scenario("small"))
	diffytest.TestCollector(t, func(t *testing.T) diffytest.CollectorHarness {
		c := diffytest.NewFleetCollector(f)
		c.Fail(f.Hosts[0].Instance.ID, collect.StatusTerminated, "instance terminated")
		c.Hang("hang")
		return diffytest.CollectorHarness{
			Collector: c,
			Instances: f.Instances()[1:4],
			Commands:  payload.StandardPack(),
			Failing:   []target.Instance{f.Hosts[0].Instance},
			Hang:      &payload.Command{ID: "hang", Shell: "sleep 3600"},
		}
	})
	t.Run("rows", func(t *testing.T) {
		rs, err := diffytest.NewFleetCollector(f).Collect(t.Context(), f.Instances(), payload.StandardPack())
		if err != nil {
			t.Fatal(err)
		}
		want := f.Results(diffytest.CollectedAt)
		if len(rs) != len(want) {
			t.Fatalf("%d Results, want %d", len(rs), len(want))
		}
		for i := range rs {
			if rs[i].InstanceID != want[i].InstanceID || rs[i].CommandID != want[i].CommandID || !reflect.DeepEqual(rs[i].Rows, want[i].Rows) {
				t.Fatalf("Result %d (%s/%s) differs from the fleet's rows", i, want[i].InstanceID, want[i].CommandID)
			}
		}
	})
}
