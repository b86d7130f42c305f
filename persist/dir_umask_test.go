//go:build unix

package persist_test

import (
	"context"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/diffy-dfir/diffy/persist"
)

// TestDirModesWhateverTheUmask checks that a permissive umask does not open
// the store to others and a strict one does not lock its owner out. The
// umask is process-wide, so this test does not run in parallel.
func TestDirModesWhateverTheUmask(t *testing.T) {
	for _, mask := range []int{0, 0o022, 0o277} {
		// The temporary folder first, with the usual umask: made under
		// umask 0 it would be writable by everyone, and Dir refuses a
		// store below such a folder.
		root := filepath.Join(t.TempDir(), "new", "store")
		old := syscall.Umask(mask)
		err := persist.NewDir(root).Put(context.Background(), persist.KindBaseline, "k", []byte("x"))
		syscall.Umask(old)
		if err != nil {
			t.Fatalf("umask %04o: Put: %v", mask, err)
		}
		for p, want := range map[string]os.FileMode{
			root:                            persist.DirMode,
			filepath.Join(root, "baseline"): persist.DirMode,
			filepath.Join(root, "baseline", "k.json"): persist.FileMode,
		} {
			fi, err := os.Stat(p)
			if err != nil {
				t.Fatal(err)
			}
			if fi.Mode().Perm() != want {
				t.Errorf("umask %04o: %s has mode %v, want %v", mask, p, fi.Mode().Perm(), want)
			}
		}
		// Let t.TempDir's cleanup remove what a strict umask made.
		os.Chmod(filepath.Dir(root), 0o700)
	}
}
