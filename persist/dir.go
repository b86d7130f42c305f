package persist

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/diffy-dfir/diffy/diffyerr"
	"github.com/diffy-dfir/diffy/internal/fsync"
)

// File and directory modes of a Dir. Baselines and collections are
// evidence and may hold command lines with secrets in them: only the owner
// may read them.
const (
	// FileMode is the mode of every document file: 0600.
	FileMode fs.FileMode = 0o600
	// DirMode is the mode of every directory a Dir creates: 0700.
	DirMode fs.FileMode = 0o700
)

// Names of the files a Dir keeps beside documents.
const (
	// docExt ends every document file name.
	docExt = ".json"
	// tempPrefix and tempSuffix frame the name of a file being written.
	// Such a name never ends in docExt, so List can never take it for a
	// key.
	tempPrefix = ".diffy-"
	tempSuffix = ".tmp"
	// longExt ends the directory that holds the tail of a long key.
	longExt = ".long"
	// maxShortKey is the longest key stored as one file name: the name
	// key+".json" must fit the 255-byte limit of common file systems.
	maxShortKey = 250
	// longHead is how many bytes of a longer key name its directory.
	longHead = 200
)

// Dir is a Store of JSON files in a local directory, the embedded default
// store. A document is the file <Path>/<kind>/<key>.json; a key longer than
// 250 bytes (too long for one file name) is split into
// <Path>/<kind>/<first 200 bytes>.long/<rest>.json. Kind and key are checked
// with ValidKey before anything is touched, so no document is ever written
// outside Path.
//
// Put writes a temporary file (named .diffy-*.tmp, never a key) in the
// document's directory, syncs it to disk, renames it over the document and
// syncs the directory: a reader or a crash sees the old document or the new
// one, never a partial file, and of concurrent writers of one key the last
// rename wins. Files are created 0600 and directories 0700 (Dir chmods what
// it creates, whatever the umask); an existing Path keeps its mode.
//
// Another user must not be able to change what a Dir reads or writes: a
// store root or kind folder that is a symbolic link, belongs to another
// user, or is writable by others (by its group, unless it is the user's
// private group), and a folder above the root that belongs to a user
// other than root and this one or that others may write to without the
// sticky bit, are refused with an *UnsafePathError (matching
// diffyerr.ErrInvalidInput) naming the folder and the fix, before any
// document is read or written; so is a document that is a link, another
// user's, or writable by others. (On Windows only links are refused.)
//
// Create a Dir with NewDir or as &Dir{Path: p}. A Dir is safe for
// concurrent use, also by several processes sharing Path. It does not
// follow the case rules of case-insensitive file systems: there, keys that
// differ only in case name the same document.
type Dir struct {
	// Path is the store's root directory. It is created (0700) on the
	// first Put if missing. It must not be empty.
	Path string
}

// NewDir returns a Dir rooted at path.
func NewDir(path string) *Dir { return &Dir{Path: path} }

// DefaultDir returns the default location of the local store:
// $XDG_DATA_HOME/diffy when XDG_DATA_HOME is an absolute path, else
// $HOME/.local/share/diffy, else ./.diffy when no home directory is known.
func DefaultDir() string {
	if x := os.Getenv("XDG_DATA_HOME"); x != "" && filepath.IsAbs(x) {
		return filepath.Join(x, "diffy")
	}
	if home, err := os.UserHomeDir(); err == nil && home != "" {
		return filepath.Join(home, ".local", "share", "diffy")
	}
	return ".diffy"
}

var (
	_ Store        = (*Dir)(nil)
	_ Deleter      = (*Dir)(nil)
	_ InfoLister   = (*Dir)(nil)
	_ StreamPutter = (*Dir)(nil)
)

// Put stores doc under (kind, key), atomically (see Dir).
func (d *Dir) Put(ctx context.Context, kind Kind, key string, doc []byte) error {
	return d.put(ctx, kind, key, func(f *os.File) error {
		_, err := f.Write(doc)
		return err
	})
}

// PutFrom stores what r yields under (kind, key), atomically, as Put does
// (see StreamPutter): r is copied into the temporary file, which is
// renamed over the document once r is at its end.
func (d *Dir) PutFrom(ctx context.Context, kind Kind, key string, r io.Reader) error {
	return d.put(ctx, kind, key, func(f *os.File) error {
		_, err := io.Copy(f, ctxReader{ctx, r})
		return err
	})
}

// put stores the document that write writes into a temporary file under
// (kind, key), atomically (see Dir). write is called once.
func (d *Dir) put(ctx context.Context, kind Kind, key string, write func(*os.File) error) error {
	dir, name, err := d.locate(ctx, kind, key)
	if err != nil {
		return err
	}
	// A concurrent Delete of the last long key under one head removes
	// that key's directory; make it again once. That can only happen
	// before the temporary file is made (the directory is not empty
	// after), so write is never called twice.
	for try := 0; ; try++ {
		if err = d.mkdirs(dir); err == nil {
			// Again: a folder another user made first, between the check
			// and mkdirs, is theirs.
			err = d.checkFolders(kind)
		}
		if err == nil {
			err = writeAtomic(ctx, dir, name, write)
		}
		if err == nil || try == 1 || !errors.Is(err, errNoTemp) || !errors.Is(err, fs.ErrNotExist) {
			break
		}
	}
	if err != nil {
		return fmt.Errorf("store %s: put %s/%s: %w", d.Path, kind, key, err)
	}
	return nil
}

// Get returns the document stored under (kind, key), or an error matching
// diffyerr.ErrNotFound naming both.
func (d *Dir) Get(ctx context.Context, kind Kind, key string) ([]byte, error) {
	dir, name, err := d.locate(ctx, kind, key)
	if err != nil {
		return nil, err
	}
	doc, err := readDoc(filepath.Join(dir, name))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("store %s: no %s document %q: %w", d.Path, kind, key, diffyerr.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("store %s: get %s/%s: %w", d.Path, kind, key, err)
	}
	return doc, nil
}

// List returns the keys stored under kind, sorted; an empty (non-nil) list
// when there is none. Files that are not documents (temporary files, files
// put there by hand without the .json suffix) are ignored.
func (d *Dir) List(ctx context.Context, kind Kind) ([]string, error) {
	keys := []string{}
	err := d.walk(ctx, kind, "", func(key string, _ fs.DirEntry) error {
		keys = append(keys, key)
		return nil
	})
	if err != nil {
		return nil, err
	}
	slices.Sort(keys)
	return keys, nil
}

// ListInfo returns the Info of the documents under kind whose key starts
// with prefix, sorted by key (see InfoLister): each file's size and
// modification time. A file removed while it is listed is left out.
func (d *Dir) ListInfo(ctx context.Context, kind Kind, prefix string) ([]Info, error) {
	if err := CheckPrefix(prefix); err != nil {
		return nil, err
	}
	infos := []Info{}
	err := d.walk(ctx, kind, prefix, func(key string, e fs.DirEntry) error {
		fi, err := e.Info()
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		if err != nil {
			return err
		}
		infos = append(infos, Info{Key: key, Size: fi.Size(), ModTime: fi.ModTime()})
		return nil
	})
	if err != nil {
		return nil, err
	}
	slices.SortFunc(infos, func(a, b Info) int { return strings.Compare(a.Key, b.Key) })
	return infos, nil
}

// walk calls f with the key and directory entry of every document under
// kind whose key starts with prefix, in no particular order. Only names
// that are valid keys can have been written by Put: the others are not
// documents.
func (d *Dir) walk(ctx context.Context, kind Kind, prefix string, f func(key string, e fs.DirEntry) error) error {
	if err := d.check(ctx, kind); err != nil {
		return err
	}
	afterCheck()
	kdir := filepath.Join(d.Path, string(kind))
	entries, err := readFolder(kdir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("store %s: list %s: %w", d.Path, kind, err)
	}
	visit := func(key string, e fs.DirEntry) error {
		if !strings.HasPrefix(key, prefix) || ValidKey(key) != nil {
			return nil
		}
		if err := f(key, e); err != nil {
			return fmt.Errorf("store %s: list %s: %w", d.Path, kind, err)
		}
		return nil
	}
	for _, e := range entries {
		name := e.Name()
		switch {
		case e.Type().IsRegular():
			if key, ok := strings.CutSuffix(name, docExt); ok && key != "" && len(key) <= maxShortKey {
				if err := visit(key, e); err != nil {
					return err
				}
			}
		case e.IsDir():
			head, ok := strings.CutSuffix(name, longExt)
			if !ok || len(head) != longHead {
				continue
			}
			// A long key starts with its head: skip the heads the prefix
			// rules out without reading their directory.
			if n := min(len(prefix), longHead); head[:n] != prefix[:n] {
				continue
			}
			if err := ctx.Err(); err != nil {
				return err
			}
			tails, err := readFolder(filepath.Join(kdir, name))
			if err != nil && !errors.Is(err, fs.ErrNotExist) {
				return fmt.Errorf("store %s: list %s: %w", d.Path, kind, err)
			}
			for _, t := range tails {
				if tail, ok := strings.CutSuffix(t.Name(), docExt); ok && tail != "" && t.Type().IsRegular() {
					if err := visit(head+tail, t); err != nil {
						return err
					}
				}
			}
		}
	}
	return nil
}

// Delete removes the document stored under (kind, key), or returns an error
// matching diffyerr.ErrNotFound naming both.
func (d *Dir) Delete(ctx context.Context, kind Kind, key string) error {
	dir, name, err := d.locate(ctx, kind, key)
	if err != nil {
		return err
	}
	err = os.Remove(filepath.Join(dir, name))
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("store %s: no %s document %q: %w", d.Path, kind, key, diffyerr.ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("store %s: delete %s/%s: %w", d.Path, kind, key, err)
	}
	if err := fsync.Dir(dir); err != nil {
		return fmt.Errorf("store %s: delete %s/%s: %w", d.Path, kind, key, err)
	}
	if len(key) > maxShortKey {
		// Drop the directory of a long key once empty; a concurrent Put
		// keeps it (Remove fails on a non-empty directory) or recreates it.
		_ = os.Remove(dir)
	}
	return nil
}

// check refuses a cancelled ctx, an empty Path, an invalid kind, and a
// store whose folders another user could change (checkFolders).
func (d *Dir) check(ctx context.Context, kind Kind) error {
	if err := checkKind(ctx, kind); err != nil {
		return err
	}
	if d == nil || d.Path == "" {
		return fmt.Errorf("persist.Dir has no Path: %w", diffyerr.ErrInvalidInput)
	}
	if err := d.checkFolders(kind); err != nil {
		return fmt.Errorf("store %s: %w", d.Path, err)
	}
	return nil
}

// locate checks its arguments and returns the directory and file name of
// the document (kind, key).
func (d *Dir) locate(ctx context.Context, kind Kind, key string) (dir, name string, err error) {
	if err := d.check(ctx, kind); err != nil {
		return "", "", err
	}
	if err := ValidKey(key); err != nil {
		return "", "", err
	}
	dir = filepath.Join(d.Path, string(kind))
	if len(key) > maxShortKey {
		dir = filepath.Join(dir, key[:longHead]+longExt)
		if err := checkFolder(dir); err != nil {
			return "", "", fmt.Errorf("store %s: %w", d.Path, err)
		}
		return dir, key[longHead:] + docExt, nil
	}
	return dir, key + docExt, nil
}

// mkdirs creates dir (Path/kind, or Path/kind/head.long) and the missing
// directories above it with DirMode, chmodding each one it creates so that
// the umask cannot loosen or tighten it.
func (d *Dir) mkdirs(dir string) error {
	if fi, err := os.Stat(dir); err == nil && fi.IsDir() {
		return nil
	}
	if _, err := os.Stat(d.Path); errors.Is(err, fs.ErrNotExist) {
		if err := os.MkdirAll(d.Path, DirMode); err != nil {
			return err
		}
		if err := os.Chmod(d.Path, DirMode); err != nil {
			return err
		}
	}
	rel, err := filepath.Rel(d.Path, dir)
	if err != nil {
		return err
	}
	cur := d.Path
	for _, part := range strings.Split(rel, string(filepath.Separator)) {
		cur = filepath.Join(cur, part)
		err := os.Mkdir(cur, DirMode)
		switch {
		case err == nil:
			if err := os.Chmod(cur, DirMode); err != nil {
				return err
			}
		case errors.Is(err, fs.ErrExist):
			// Made by an earlier or concurrent Put.
		default:
			return err
		}
	}
	return nil
}

// errNoTemp marks a temporary file that could not be created (before
// anything was written): Put may make the directory again and retry.
var errNoTemp = errors.New("cannot create the temporary file")

// writeAtomic writes the document that write writes to dir/name through
// a synced temporary file and a rename, then syncs dir.
func writeAtomic(ctx context.Context, dir, name string, write func(*os.File) error) (err error) {
	f, err := os.CreateTemp(dir, tempPrefix+"*"+tempSuffix)
	if err != nil {
		return fmt.Errorf("%w: %w", errNoTemp, err)
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(tmp)
		}
	}()
	// CreateTemp makes the file 0600 already; say so for any platform.
	if err = f.Chmod(FileMode); err != nil {
		return err
	}
	if err = write(f); err != nil {
		return err
	}
	if err = f.Sync(); err != nil {
		return err
	}
	if err = f.Close(); err != nil {
		return err
	}
	// Last point to give up without changing anything visible.
	if err = ctx.Err(); err != nil {
		return err
	}
	if err = os.Rename(tmp, filepath.Join(dir, name)); err != nil {
		return err
	}
	return fsync.Dir(dir)
}
