package diffytest_test

import (
	"testing"

	"github.com/diffy-dfir/diffy/analyze"
	"github.com/diffy-dfir/diffy/diffytest"
	"github.com/diffy-dfir/diffy/inventory"
	"github.com/diffy-dfir/diffy/payload"
	"github.com/diffy-dfir/diffy/persist"
	"github.com/diffy-dfir/diffy/target"
)

// The built-in, dependency-free implementations keep their contracts.
// (collect.Local runs the Collector suite in its own package's tests.)

func TestBuiltinTargetLocal(t *testing.T) {
	for _, key := range []string{"local", "localhost"} {
		t.Run(key, func(t *testing.T) {
			diffytest.TestTarget(t, func(t *testing.T) diffytest.TargetHarness {
				return diffytest.TargetHarness{Target: target.Local{}, Key: key, Want: []string{target.LocalID}, Missing: "i-0123456789abcdef0"}
			})
		})
	}
}

func TestBuiltinTargetStatic(t *testing.T) {
	diffytest.TestTarget(t, func(t *testing.T) diffytest.TargetHarness {
		return diffytest.TargetHarness{
			Target: target.Static{
				"web": {{ID: "i-2", Tags: map[string]string{"role": "web"}}, {ID: "i-1"}, {ID: "i-2"}},
				"db":  {{ID: "i-9", Name: "db-1"}},
			},
			Key:     "web",
			Want:    []string{"i-1", "i-2"},
			Missing: "cache",
		}
	})
	t.Run("StaticIDs", func(t *testing.T) {
		diffytest.TestTarget(t, func(t *testing.T) diffytest.TargetHarness {
			return diffytest.TargetHarness{Target: target.StaticIDs("ids", "i-a", "i-b"), Key: "ids", Want: []string{"i-a", "i-b"}, Missing: "other"}
		})
	})
}

func TestBuiltinPayloadOsquery(t *testing.T) {
	diffytest.TestPayload(t, func(t *testing.T) payload.Payload { return payload.Osquery{} })
	t.Run("Extra", func(t *testing.T) {
		diffytest.TestPayload(t, func(t *testing.T) payload.Payload {
			return payload.Osquery{Extra: []payload.Command{payload.QueryCommand("suid_binaries", "setuid binaries", "SELECT path, username FROM suid_bin;")}}
		})
	})
}

func TestBuiltinPayloadCommands(t *testing.T) {
	diffytest.TestPayload(t, func(t *testing.T) payload.Payload {
		return payload.Commands{{ID: "uptime", Shell: `printf '[{"uptime":"%s"}]' "$(cut -d' ' -f1 /proc/uptime)"`}, {ID: "kernel", Query: "SELECT version FROM kernel_info;"}}
	})
}

func TestBuiltinInventoryStatic(t *testing.T) {
	diffytest.TestInventory(t, func(t *testing.T) inventory.Inventory {
		return inventory.Static{{Key: "web", Labels: map[string]string{"account": "111122223333"}}, {Key: "db", Instance: "i-9"}}
	})
	t.Run("empty", func(t *testing.T) {
		diffytest.TestInventory(t, func(t *testing.T) inventory.Inventory { return inventory.Static{} })
	})
}

func TestBuiltinStoreDir(t *testing.T) {
	diffytest.TestStore(t, func(t *testing.T) persist.Store { return persist.NewDir(t.TempDir()) })
}

func TestBuiltinStoreMemory(t *testing.T) {
	diffytest.TestStore(t, func(t *testing.T) persist.Store { return persist.NewMemory() })
}

func TestBuiltinAnalyzerBaseline(t *testing.T) {
	diffytest.TestAnalyzer(t, func(t *testing.T) analyze.Analyzer { return analyze.Baseline{} })
}

func TestBuiltinAnalyzerClustering(t *testing.T) {
	diffytest.TestAnalyzer(t, func(t *testing.T) analyze.Analyzer { return analyze.Clustering{} })
}
