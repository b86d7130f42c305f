//go:build !windows

package persist

import "os"

// syncDir flushes dir's entries (a rename or a removal) to disk, so that a
// crash after Put returned cannot lose the document.
func syncDir(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = f.Sync()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}
