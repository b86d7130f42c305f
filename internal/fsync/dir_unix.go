//go:build !windows

package fsync

import "os"

// Dir flushes dir's entries (a rename or a removal) to disk, so that a
// crash after the write returned cannot lose it.
func Dir(dir string) error {
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
