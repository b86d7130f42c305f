package plugin_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/diffy-dfir/diffy/diffyerr"
	"github.com/diffy-dfir/diffy/examples/plugin"
)

// FuzzFileTarget feeds arbitrary inventory files to FileTarget: it never
// panics, a bad file is an error matching ErrInvalidInput, and an answer
// keeps the Target contract (at least one instance, IDs set and unique).
// Its seeds run as ordinary tests; fuzz longer with
// go test -fuzz FuzzFileTarget ./examples/plugin.
func FuzzFileTarget(f *testing.F) {
	f.Add([]byte(inventoryCSV), "payments")
	f.Add([]byte("key,instance_id\nweb,i-1\nweb,i-1\n"), "web")
	f.Add([]byte("KEY , Instance_ID,role\n web , i-1 , api\n"), "web")
	f.Add([]byte("key,instance_id\n\"we\"\"b\",i-1\n"), "we\"b")
	f.Add([]byte("key,instance_id\nweb,\"i-1\ni-2\"\n"), "web")
	f.Add([]byte("\xff\xfe,\x00\n"), "web")
	f.Add([]byte("# only a comment"), "web")
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte, key string) {
		path := filepath.Join(dir, "inventory.csv")
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		ft := plugin.FileTarget{Path: path}
		insts, err := ft.Targets(context.Background(), key)
		if err != nil {
			if !errors.Is(err, diffyerr.ErrInvalidInput) && !errors.Is(err, diffyerr.ErrNotFound) && !errors.Is(err, diffyerr.ErrInvalidKey) {
				t.Fatalf("Targets(%q): error %v matches no Diffy error kind", key, err)
			}
			return
		}
		if len(insts) == 0 {
			t.Fatalf("Targets(%q) returned no instance and no error", key)
		}
		seen := map[string]bool{}
		for _, in := range insts {
			if in.ID == "" || seen[in.ID] {
				t.Fatalf("Targets(%q): instance ID %q empty or repeated", key, in.ID)
			}
			seen[in.ID] = true
		}
		es, err := ft.Entries(context.Background())
		if err != nil {
			t.Fatalf("Targets worked but Entries failed: %v", err)
		}
		keys := map[string]bool{}
		for _, e := range es {
			if e.Key == "" || keys[e.Key] {
				t.Fatalf("Entries: key %q empty or repeated", e.Key)
			}
			keys[e.Key] = true
		}
		if !keys[key] {
			t.Fatalf("Targets(%q) answered but Entries lacks the key", key)
		}
	})
}
