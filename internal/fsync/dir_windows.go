//go:build windows

package fsync

// Dir does nothing on Windows, which cannot flush a directory handle;
// NTFS journals the rename itself.
func Dir(dir string) error { return nil }
