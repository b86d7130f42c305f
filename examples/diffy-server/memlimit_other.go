//go:build !linux

package main

// systemMemory cannot read the machine's memory here.
func systemMemory() (uint64, bool) { return 0, false }
