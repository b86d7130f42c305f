//go:build unix

package main

import (
	"fmt"
	"io/fs"
	"os"
	"syscall"
)

// oNoFollow makes opening a symbolic link fail.
const oNoFollow = syscall.O_NOFOLLOW

// ownedByMe refuses a file of another user.
func ownedByMe(fi fs.FileInfo) error {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if ok && int(st.Uid) != os.Geteuid() {
		return fmt.Errorf("belongs to user %d, not to this user (%d)", st.Uid, os.Geteuid())
	}
	return nil
}

// checkTokenDir refuses a folder for the token that another user owns or
// may write to (who could swap the file).
func checkTokenDir(dir string) error {
	fi, err := os.Stat(dir)
	if err != nil {
		return err
	}
	if err := ownedByMe(fi); err != nil {
		return fmt.Errorf("folder %s %w", dir, err)
	}
	if fi.Mode().Perm()&0o022 != 0 {
		return fmt.Errorf("folder %s has mode %v: others may write in it", dir, fi.Mode().Perm())
	}
	return nil
}
