//go:build !unix

package main

// fileLimit cannot read a file limit here.
func fileLimit() (uint64, bool) { return 0, false }
