//go:build windows

package persist

import "io/fs"

// checkAbove does nothing on Windows, whose folders have access control
// lists rather than an owner and mode bits.
func checkAbove(root string) error { return nil }

// owner is unknown on Windows.
func owner(fi fs.FileInfo) (int, bool) { return 0, false }

// writers is unknown on Windows.
func writers(fi fs.FileInfo) string { return "" }
