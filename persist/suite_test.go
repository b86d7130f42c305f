package persist_test

import (
	"path/filepath"
	"testing"

	"github.com/diffy-dfir/diffy/diffytest"
	"github.com/diffy-dfir/diffy/persist"
)

// Dir and Memory pass the Store conformance suite plugin authors use, the
// one suite of the Store contract (persist/s3store runs it too).

func TestDirSuite(t *testing.T) {
	diffytest.TestStore(t, func(t *testing.T) persist.Store {
		return persist.NewDir(filepath.Join(t.TempDir(), "store"))
	})
}

func TestMemorySuite(t *testing.T) {
	diffytest.TestStore(t, func(t *testing.T) persist.Store { return persist.NewMemory() })
}

// The zero Memory is ready to use, as its doc says.
func TestZeroMemorySuite(t *testing.T) {
	diffytest.TestStore(t, func(t *testing.T) persist.Store { return &persist.Memory{} })
}
