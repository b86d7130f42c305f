//go:build windows

package persist

// syncDir does nothing on Windows, which cannot flush a directory handle;
// NTFS journals the rename itself.
func syncDir(dir string) error { return nil }
