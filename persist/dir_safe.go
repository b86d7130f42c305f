package persist

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/diffy-dfir/diffy/diffyerr"
)

// UnsafeFolderError is the error of a Dir whose root, kind folder or a
// folder above them another user could change, so that documents read
// from it or written to it could be theirs. It matches
// diffyerr.ErrInvalidInput.
type UnsafeFolderError struct {
	// Path is the folder.
	Path string
	// Problem says what is wrong with it ("is a symbolic link").
	Problem string
	// Fix says what to do.
	Fix string
}

func (e *UnsafeFolderError) Error() string {
	return fmt.Sprintf("%s %s; not using it (%s)", e.Path, e.Problem, e.Fix)
}

// Is reports whether target is diffyerr.ErrInvalidInput.
func (e *UnsafeFolderError) Is(target error) bool { return target == diffyerr.ErrInvalidInput }

func unsafeFolder(path, problem, fix string) error {
	return &UnsafeFolderError{Path: path, Problem: problem, Fix: fix}
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
