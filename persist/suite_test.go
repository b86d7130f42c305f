package persist_test

import (
	"path/filepath"
	"testing"

	"github.com/diffy-dfir/diffy/diffytest"
	"github.com/diffy-dfir/diffy/persist"
)

// Dir and Memory pass the Store conformance suite plugin authors use.

func TestDirSuite(t *testing.T) {
	diffytest.TestStore(t, func(t *testing.T) persist.Store {
		return persist.NewDir(filepath.Join(t.TempDir(), "store"))
	})
}

func TestMemorySuite(t *testing.T) {
	diffytest.TestStore(t, func(t *testing.T) persist.Store { return persist.NewMemory() })
}
