package persist

import (
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/diffy-dfir/diffy/diffyerr"
	"github.com/diffy-dfir/diffy/internal/readall"
)

// UnsafePathError is the error of a Dir whose root, kind folder or a
// folder above them another user could change, or of a document another
// user could have written, so that what is read or written could be
// theirs. It matches diffyerr.ErrInvalidInput.
type UnsafePathError struct {
	// Path is the folder or document.
	Path string
	// Problem says what is wrong with it ("is a symbolic link").
	Problem string
	// Fix says what to do.
	Fix string
}

func (e *UnsafePathError) Error() string {
	return fmt.Sprintf("%s %s; not using it (%s)", e.Path, e.Problem, e.Fix)
}

// Is reports whether target is diffyerr.ErrInvalidInput.
func (e *UnsafePathError) Is(target error) bool { return target == diffyerr.ErrInvalidInput }

func unsafeFolder(path, problem, fix string) error {
	return &UnsafePathError{Path: path, Problem: problem, Fix: fix}
}

// checkFolders checks the store's root, the folders above it and the
// folder of kind, as far as they exist (see Dir).
func (d *Dir) checkFolders(kind Kind) error {
	if err := checkAbove(d.Path); err != nil {
		return err
	}
	if err := checkFolder(d.Path); err != nil {
		return err
	}
	return checkFolder(filepath.Join(d.Path, string(kind)))
}

// checkFolder checks a folder of the store (its root or a kind folder)
// that exists: a directory, not a symbolic link, owned by the user
// running this, and writable by nobody else. A folder that does not
// exist is fine (Put makes it, 0700).
func checkFolder(path string) error {
	fi, err := os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	return checkFolderInfo(path, fi)
}

// checkFolderInfo is checkFolder of a folder whose Lstat (or the Stat of
// its open descriptor) is fi.
func checkFolderInfo(path string, fi fs.FileInfo) error {
	if fi.Mode()&fs.ModeSymlink != 0 {
		target, _ := os.Readlink(path)
		return unsafeFolder(path, fmt.Sprintf("is a symbolic link (to %s), which whoever can change it can point at a folder of their own", target),
			"use the folder it points to as the store, or replace the link with a folder")
	}
	if !fi.IsDir() {
		return unsafeFolder(path, "is not a directory", "remove it, or choose another store")
	}
	if uid, ok := owner(fi); ok && uid != os.Geteuid() {
		return unsafeFolder(path, fmt.Sprintf("belongs to user %d, not to this user (%d), and its owner can replace the documents in it", uid, os.Geteuid()),
			"use a store of your own, or run as its owner")
	}
	if who := writers(fi); who != "" {
		return unsafeFolder(path, fmt.Sprintf("is writable by %s (mode %04o), who could replace the documents in it", who, fi.Mode().Perm()),
			"chmod go-w "+path)
	}
	return nil
}

// readDoc reads a document file, refusing one that another user could
// have written: a symbolic link, not a regular file, another user's, or
// writable by others (a file put there while the folder was open to them,
// say). Dir writes every document 0600 as this user.
func readDoc(path string) ([]byte, error) {
	f, err := openNoFollow(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	switch uid, ok := owner(fi); {
	case !fi.Mode().IsRegular():
		return nil, unsafeFolder(path, "is not a regular file", "remove it")
	case ok && uid != os.Geteuid():
		return nil, unsafeFolder(path, fmt.Sprintf("belongs to user %d, not to this user (%d), who did not write it", uid, os.Geteuid()),
			"remove it if you did not put it there, or run as its owner")
	case writers(fi) != "":
		return nil, unsafeFolder(path, fmt.Sprintf("is writable by %s (mode %04o), who could have changed it", writers(fi), fi.Mode().Perm()),
			"check it, then chmod go-w "+path)
	}
	// A buffer of its size and a byte (readall): io.ReadAll's, growing
	// from 512 bytes, allocated twice a document's size.
	data, err := readall.Read(f, nil, fi.Size(), math.MaxInt64)
	if err != nil {
		return nil, err
	}
	return data, nil
}

// afterCheck is called by Dir.walk between the check of the folders and
// the reading of the kind folder; tests replace it to change the folders
// there, as another user could.
var afterCheck = func() {}

// readFolder reads the entries of a kind folder, checking the folder it
// opened (checkFolderInfo on its descriptor), not its path again: a store
// root missing when the folders were checked, made by another user before
// it is read (in a folder open to all, as /tmp is), is theirs and is
// refused, never listed.
func readFolder(path string) ([]fs.DirEntry, error) {
	f, err := openFolder(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if err := checkFolderInfo(path, fi); err != nil {
		return nil, err
	}
	entries, err := f.ReadDir(-1)
	slices.SortFunc(entries, func(a, b fs.DirEntry) int { return strings.Compare(a.Name(), b.Name()) })
	return entries, err
}
