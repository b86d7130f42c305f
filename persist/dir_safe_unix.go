//go:build !windows

package persist

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
)

// maxLinks bounds the symbolic links followed above a store, as the
// kernel bounds those of one path (40 on Linux).
const maxLinks = 40

// checkAbove checks the folders above the store root, from / down to its
// parent: each must be owned by root or this user, and writable by others
// only with the sticky bit (as /tmp is, where others cannot rename what is
// not theirs), so that no other user can swap the store for a folder of
// their own. A symbolic link on the way must be root's or this user's,
// and the folders it leads to are checked the same way.
func checkAbove(root string) error {
	abs, err := filepath.Abs(root)
	if err != nil {
		return err
	}
	return walkAbove(filepath.Dir(abs), 0)
}

func walkAbove(dir string, links int) error {
	cur := "/"
	if err := checkAncestor(cur, nil); err != nil {
		return err
	}
	parts := strings.Split(strings.Trim(filepath.Clean(dir), "/"), "/")
	for i, part := range parts {
		if part == "" {
			continue
		}
		next := filepath.Join(cur, part)
		fi, err := os.Lstat(next)
		if errors.Is(err, fs.ErrNotExist) {
			return nil // Put makes the rest, as this user
		}
		if err != nil {
			return err
		}
		if err := checkAncestor(next, fi); err != nil {
			return err
		}
		if fi.Mode()&fs.ModeSymlink != 0 {
			if links++; links > maxLinks {
				return fmt.Errorf("%s: more than %d symbolic links", dir, maxLinks)
			}
			target, err := os.Readlink(next)
			if err != nil {
				return err
			}
			if !filepath.IsAbs(target) {
				target = filepath.Join(cur, target)
			}
			return walkAbove(filepath.Join(append([]string{target}, parts[i+1:]...)...), links)
		}
		cur = next
	}
	return nil
}

// checkAncestor checks one folder (or link) above the store; fi is its
// Lstat, or nil to look it up.
func checkAncestor(path string, fi fs.FileInfo) error {
	if fi == nil {
		var err error
		if fi, err = os.Lstat(path); err != nil {
			return err
		}
	}
	if uid, ok := owner(fi); ok && uid != 0 && uid != os.Geteuid() {
		return unsafeFolder(path, fmt.Sprintf("(above the store) belongs to user %d, not to root or this user (%d), who could swap the store for a folder of their own", uid, os.Geteuid()),
			"choose a store under folders that only root and you can change")
	}
	if fi.Mode()&(fs.ModeSymlink|fs.ModeSticky) == 0 {
		if who := writers(fi); who != "" {
			return unsafeFolder(path, fmt.Sprintf("(above the store) is writable by %s (mode %04o), who could swap the store for a folder of their own", who, fi.Mode().Perm()),
				"choose a store under folders that only root and you can change, or chmod go-w "+path)
		}
	}
	return nil
}

// owner returns the user ID that owns fi.
func owner(fi fs.FileInfo) (int, bool) {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return 0, false
	}
	return int(st.Uid), true
}

// writers says who besides its owner may write to fi: "other users", "its
// group", or "" for nobody. A folder writable by its group is fine when
// the group is this user's private group (named after the user, as
// distributions that set umask 002 make them), whose only member is the
// user.
func writers(fi fs.FileInfo) string {
	perm := fi.Mode().Perm()
	switch {
	case perm&0o002 != 0:
		return "other users"
	case perm&0o020 != 0:
		if st, ok := fi.Sys().(*syscall.Stat_t); ok && privateGroup(int(st.Gid)) {
			return ""
		}
		return "its group"
	}
	return ""
}

var (
	privateOnce sync.Once
	privateGID  = -1
)

// privateGroup reports whether gid is this user's private group: the
// user's own group, named as the user is.
func privateGroup(gid int) bool {
	privateOnce.Do(func() {
		u, err := user.Current()
		if err != nil {
			return
		}
		g, err := user.LookupGroupId(u.Gid)
		if err != nil || g.Name != u.Username {
			return
		}
		privateGID, _ = strconv.Atoi(u.Gid)
	})
	return privateGID >= 0 && gid == privateGID
}

// openNoFollow opens path for reading, failing on a symbolic link
// (ELOOP) rather than following it, and without waiting (O_NONBLOCK): a
// FIFO put there opens at once, to be refused by its type, rather than
// wait for a writer forever. (O_NONBLOCK changes nothing for the regular
// files that are read.)
func openNoFollow(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_NONBLOCK, 0)
	if errors.Is(err, syscall.ELOOP) {
		return nil, unsafeFolder(path, "is a symbolic link", "remove it")
	}
	return f, err
}

// openFolder opens the folder path to read its entries, failing on a
// symbolic link rather than following it.
func openFolder(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_DIRECTORY|syscall.O_NONBLOCK, 0)
	if errors.Is(err, syscall.ELOOP) || errors.Is(err, syscall.ENOTDIR) {
		return nil, unsafeFolder(path, "is not a directory (a symbolic link, or another kind of file)", "remove it, or choose another store")
	}
	return f, err
}
