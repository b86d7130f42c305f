// Package fsync flushes to disk what a rename or a removal changed in a
// folder, so that a file written atomically (a temporary file, synced and
// renamed over the old one) survives a crash once the write returned.
// persist.Dir and the CLI's -o use it.
package fsync
