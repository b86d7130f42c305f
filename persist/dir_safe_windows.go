//go:build windows

package persist

import (
	"io/fs"
	"os"
)

// checkAbove does nothing on Windows, whose folders have access control
// lists rather than an owner and mode bits.
func checkAbove(root string) error { return nil }

// owner is unknown on Windows.
func owner(fi fs.FileInfo) (int, bool) { return 0, false }

// writers is unknown on Windows.
func writers(fi fs.FileInfo) string { return "" }

// openNoFollow opens path for reading (Windows has no O_NOFOLLOW; Lstat
// first).
func openNoFollow(path string) (*os.File, error) {
	if fi, err := os.Lstat(path); err == nil && fi.Mode()&fs.ModeSymlink != 0 {
		return nil, unsafeFolder(path, "is a symbolic link", "remove it")
	}
	return os.Open(path)
}

// openFolder opens the folder path to read its entries (Windows has no
// O_NOFOLLOW; Lstat first).
func openFolder(path string) (*os.File, error) {
	if fi, err := os.Lstat(path); err == nil && fi.Mode()&fs.ModeSymlink != 0 {
		return nil, unsafeFolder(path, "is a symbolic link", "remove it")
	}
	return os.Open(path)
}
