//go:build unix

package persist

// SetAfterCheck replaces what Dir.walk calls between its checks and its
// reading of the kind folder, until the returned func restores it.
func SetAfterCheck(f func()) (restore func()) {
	old := afterCheck
	afterCheck = f
	return func() { afterCheck = old }
}
