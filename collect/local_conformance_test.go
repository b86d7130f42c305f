package collect_test

import (
	"runtime"
	"testing"

	"github.com/diffy-dfir/diffy/collect"
	"github.com/diffy-dfir/diffy/diffytest"
	"github.com/diffy-dfir/diffy/payload"
	"github.com/diffy-dfir/diffy/target"
)

// Local keeps the Collector contract, checked by the diffytest suite: with
// the built-in probes answering the standard pack on this machine, and
// with Shell scripts alone.
func TestLocalConformance(t *testing.T) {
	harness := func(cmds []payload.Command) func(t *testing.T) diffytest.CollectorHarness {
		return func(t *testing.T) diffytest.CollectorHarness {
			return diffytest.CollectorHarness{
				Collector: collect.Local{NoOsquery: true},
				Instances: []target.Instance{{ID: target.LocalID}},
				Commands:  cmds,
				Failing:   []target.Instance{{ID: "i-0123456789abcdef0"}, {ID: "localhost"}},
				Hang:      &payload.Command{ID: "hang", Shell: "sleep 3600"},
			}
		}
	}
	t.Run("shell", func(t *testing.T) {
		diffytest.TestCollector(t, harness([]payload.Command{
			{ID: "rows", Shell: `echo '[{"a":"1"},{"a":"2"}]'`},
			{ID: "none", Shell: `echo '[]'`},
		}))
	})
	t.Run("probes", func(t *testing.T) {
		if runtime.GOOS != "linux" {
			t.Skip("the built-in probes run on Linux")
		}
		diffytest.TestCollector(t, harness(payload.StandardPack()))
	})
}
