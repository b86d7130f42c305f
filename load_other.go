//go:build !unix

package diffy

import "os"

// resultFile is a file of results open for reading (see load_unix.go).
type resultFile struct{ *os.File }

// openNoWait opens path for reading.
func openNoWait(path string) (resultFile, error) {
	f, err := os.Open(path)
	return resultFile{f}, err
}

// stat says whether f is a regular file, and its size.
func (f resultFile) stat() (regular bool, size int64, err error) {
	fi, err := f.Stat()
	if err != nil {
		return false, 0, err
	}
	return fi.Mode().IsRegular(), fi.Size(), nil
}
