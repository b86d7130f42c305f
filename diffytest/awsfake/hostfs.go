package awsfake

import (
	"errors"
	"io"
	"io/fs"
	"os"
	"path"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"
)

// This file holds the file system of a simulated host: what the scripts
// the fake runs see and change. Every host shares one read-only image (the
// directories of a Linux base image and its tools in /usr/bin) and keeps
// its own changes in an overlay, made on the first write, so that 10,000
// hosts that write nothing cost nothing.

// Tools are the commands installed in /usr/bin of every simulated host (the
// shell's builtins aside), which the fake runs itself; Instance.Without
// removes some, Instance.NoOsquery removes osqueryi.
var Tools = []string{"sh", "bash", "dash", "osqueryi", "sleep", "gzip", "gunzip", "base64", "sha256sum",
	"curl", "wget", "cat", "head", "tail", "cut", "tr", "wc", "dirname", "basename", "mkdir", "rmdir",
	"mktemp", "rm", "mv", "cp", "ln", "touch", "chmod", "chown", "stat", "id", "uname", "tee", "ls",
	"readlink", "env", "printf", "echo", "test", "[", "true", "false", "timeout", "date"}

// toolMagic starts the content of every tool's file in the image: running
// a file whose content starts so runs the tool named after it.
const toolMagic = "#!awsfake-tool "

// OsqueryExecutable is the content of the osquery executable a simulated
// host can download (payload.OsqueryFetch): a file of this content, run,
// is osqueryi (and answers as the host's osqueryi would).
var OsqueryExecutable = []byte(toolMagic + "osqueryi\n# awsfake's stand-in for the osqueryd executable, run as osqueryi\n")

// rootUID is the uid of root on the simulated hosts, the user scripts run
// as.
const rootUID = 0

// vnode is a file, directory or symbolic link.
type vnode struct {
	mode  fs.FileMode // type bits and permissions
	uid   uint32
	data  []byte // file content; never changed in place once shared
	link  string // symbolic link target
	mtime time.Time
}

// image is the read-only base every host's file system starts from.
var image = func() map[string]*vnode {
	epoch := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	m := map[string]*vnode{}
	dir := func(p string, perm fs.FileMode) { m[p] = &vnode{mode: fs.ModeDir | perm, mtime: epoch} }
	for _, d := range []string{"/", "/usr", "/usr/bin", "/usr/sbin", "/usr/local", "/usr/local/bin", "/etc", "/var", "/var/lib", "/var/cache", "/dev", "/proc", "/opt", "/home"} {
		dir(d, 0o755)
	}
	dir("/root", 0o700)
	for _, d := range []string{"/tmp", "/var/tmp", "/dev/shm"} {
		dir(d, fs.ModeSticky|0o777)
	}
	m["/bin"] = &vnode{mode: fs.ModeSymlink | 0o777, link: "usr/bin", mtime: epoch}
	m["/sbin"] = &vnode{mode: fs.ModeSymlink | 0o777, link: "usr/sbin", mtime: epoch}
	m["/dev/null"] = &vnode{mode: fs.ModeDevice | fs.ModeCharDevice | 0o666, mtime: epoch}
	for _, t := range Tools {
		m["/usr/bin/"+t] = &vnode{mode: 0o755, data: []byte(toolMagic + t + "\n"), mtime: epoch}
	}
	return m
}()

// hostFS is one host's file system: the image, less the tools the host
// lacks, plus its overlay. It is safe for concurrent use.
type hostFS struct {
	mu      sync.Mutex
	without map[string]bool   // /usr/bin tools not installed
	over    map[string]*vnode // changes; a nil value is a removed path
	now     func() time.Time
}

func newHostFS(without []string, now func() time.Time) *hostFS {
	f := &hostFS{now: now}
	if len(without) > 0 {
		f.without = make(map[string]bool, len(without))
		for _, t := range without {
			f.without[t] = true
		}
	}
	return f
}

// get returns the node at the clean absolute path p, not following a
// final symbolic link. Callers hold mu.
func (f *hostFS) get(p string) *vnode {
	if n, ok := f.over[p]; ok {
		return n
	}
	if f.without != nil && strings.HasPrefix(p, "/usr/bin/") && f.without[p[len("/usr/bin/"):]] {
		return nil
	}
	return image[p]
}

// put sets the node at p (nil removes it). Callers hold mu.
func (f *hostFS) put(p string, n *vnode) {
	if f.over == nil {
		f.over = map[string]*vnode{}
	}
	f.over[p] = n
}

// abs makes name absolute against dir and cleans it.
func abs(dir, name string) string {
	if !strings.HasPrefix(name, "/") {
		name = dir + "/" + name
	}
	return path.Clean(name)
}

// resolve walks the clean absolute path p through symbolic links (the final
// one too when follow is set) and returns the path reached and its node
// (nil when missing). It fails with ENOTDIR or ELOOP. Callers hold mu.
func (f *hostFS) resolve(p string, follow bool) (string, *vnode, error) {
	for hops := 0; ; hops++ {
		if hops > 40 {
			return p, nil, syscall.ELOOP
		}
		parts := strings.Split(strings.TrimPrefix(p, "/"), "/")
		cur := "/"
		restart := false
		for i, part := range parts {
			if part == "" {
				continue
			}
			next := path.Join(cur, part)
			n := f.get(next)
			last := i == len(parts)-1
			if n == nil {
				if !last {
					return next, nil, syscall.ENOENT
				}
				return next, nil, nil
			}
			if n.mode&fs.ModeSymlink != 0 && (!last || follow) {
				target := n.link
				if !strings.HasPrefix(target, "/") {
					target = path.Join(cur, target)
				}
				p = path.Clean(target + "/" + strings.Join(parts[i+1:], "/"))
				restart = true
				break
			}
			if !last && !n.mode.IsDir() {
				return next, nil, syscall.ENOTDIR
			}
			cur = next
		}
		if !restart {
			return cur, f.get(cur), nil
		}
	}
}

// lookup returns the node at name (relative to dir), following symbolic
// links when follow is set.
func (f *hostFS) lookup(dir, name string, follow bool) (string, *vnode, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	p, n, err := f.resolve(abs(dir, name), follow)
	if err == nil && n == nil {
		err = syscall.ENOENT
	}
	return p, n, err
}

// fileInfo is a node as fs.FileInfo; Sys is a *syscall.Stat_t whose Uid
// the shell's -O test compares with the current user's.
type fileInfo struct {
	name string
	n    *vnode
}

func (fi fileInfo) Name() string       { return fi.name }
func (fi fileInfo) Size() int64        { return int64(len(fi.n.data)) }
func (fi fileInfo) Mode() fs.FileMode  { return fi.n.mode }
func (fi fileInfo) ModTime() time.Time { return fi.n.mtime }
func (fi fileInfo) IsDir() bool        { return fi.n.mode.IsDir() }
func (fi fileInfo) Sys() any {
	return &syscall.Stat_t{Uid: realUID(fi.n.uid), Gid: realUID(fi.n.uid), Size: int64(len(fi.n.data))}
}

// realUID maps a host's uid to what the shell's -O test compares with the
// user running the tests: root (the scripts' user) is that user, every
// other uid someone else.
func realUID(uid uint32) uint32 {
	me := uint32(os.Getuid())
	switch {
	case uid == rootUID:
		return me
	case uid == me:
		return uid + 1
	}
	return uid
}

// stat is the shell's StatHandler.
func (f *hostFS) stat(dir, name string, follow bool) (fs.FileInfo, error) {
	p, n, err := f.lookup(dir, name, follow)
	if err != nil {
		return nil, &fs.PathError{Op: "stat", Path: name, Err: err}
	}
	return fileInfo{path.Base(p), n}, nil
}

// readDir lists a directory, sorted by name.
func (f *hostFS) readDir(dir, name string) ([]fs.DirEntry, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	p, n, err := f.resolve(abs(dir, name), true)
	if err == nil && n == nil {
		err = syscall.ENOENT
	} else if err == nil && !n.mode.IsDir() {
		err = syscall.ENOTDIR
	}
	if err != nil {
		return nil, &fs.PathError{Op: "readdir", Path: name, Err: err}
	}
	prefix := strings.TrimSuffix(p, "/") + "/"
	seen := map[string]bool{}
	var out []fs.DirEntry
	add := func(q string) {
		rest, ok := strings.CutPrefix(q, prefix)
		if !ok || rest == "" || strings.Contains(rest, "/") || seen[rest] {
			return
		}
		seen[rest] = true
		if c := f.get(q); c != nil {
			out = append(out, fs.FileInfoToDirEntry(fileInfo{rest, c}))
		}
	}
	for q := range f.over {
		add(q)
	}
	for q := range image {
		add(q)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name() < out[j].Name() })
	return out, nil
}

// create makes a node at name (relative to dir) unless something is there
// (EEXIST), in an existing directory, and returns its path.
func (f *hostFS) create(dir, name string, n *vnode) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	p, old, err := f.resolve(abs(dir, name), false)
	if err != nil {
		return p, err
	}
	if old != nil {
		return p, syscall.EEXIST
	}
	if parent := f.get(path.Dir(p)); parent == nil || !parent.mode.IsDir() {
		return p, syscall.ENOENT
	}
	n.mtime = f.now()
	f.put(p, n)
	return p, nil
}

// remove removes the node at name (not following a final link); a
// directory must be empty unless recursive.
func (f *hostFS) remove(dir, name string, recursive bool) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	p, n, err := f.resolve(abs(dir, name), false)
	if err == nil && n == nil {
		err = syscall.ENOENT
	}
	if err != nil {
		return err
	}
	if p == "/" {
		return syscall.EBUSY
	}
	if n.mode.IsDir() {
		kids := f.children(p)
		if len(kids) > 0 && !recursive {
			return syscall.ENOTEMPTY
		}
		for _, k := range kids {
			f.put(k, nil)
		}
	}
	f.put(p, nil)
	return nil
}

// children returns every path under directory p. Callers hold mu.
func (f *hostFS) children(p string) []string {
	prefix := strings.TrimSuffix(p, "/") + "/"
	var out []string
	seen := map[string]bool{}
	for q := range f.over {
		if strings.HasPrefix(q, prefix) && f.get(q) != nil && !seen[q] {
			seen[q] = true
			out = append(out, q)
		}
	}
	for q := range image {
		if strings.HasPrefix(q, prefix) && f.get(q) != nil && !seen[q] {
			seen[q] = true
			out = append(out, q)
		}
	}
	return out
}

// rename moves the node at from to to (replacing a file there, following
// a final link of neither), with its children.
func (f *hostFS) rename(dir, from, to string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	pf, n, err := f.resolve(abs(dir, from), false)
	if err == nil && n == nil {
		err = syscall.ENOENT
	}
	if err != nil {
		return err
	}
	pt, old, err := f.resolve(abs(dir, to), false)
	if err != nil {
		return err
	}
	if old != nil && old.mode.IsDir() {
		pt = path.Join(pt, path.Base(pf))
		if o := f.get(pt); o != nil && o.mode.IsDir() {
			return syscall.EISDIR
		}
	}
	if parent := f.get(path.Dir(pt)); parent == nil || !parent.mode.IsDir() {
		return syscall.ENOENT
	}
	if pf == pt {
		return nil
	}
	if n.mode.IsDir() && strings.HasPrefix(pt, pf+"/") {
		return syscall.EINVAL
	}
	for _, k := range f.children(pf) {
		f.put(pt+k[len(pf):], f.get(k))
		f.put(k, nil)
	}
	f.put(pt, n)
	f.put(pf, nil)
	return nil
}

// setNode changes the node at name (following links) with fn, on a copy.
func (f *hostFS) setNode(dir, name string, fn func(n *vnode)) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	p, n, err := f.resolve(abs(dir, name), true)
	if err == nil && n == nil {
		err = syscall.ENOENT
	}
	if err != nil {
		return err
	}
	c := *n
	fn(&c)
	f.put(p, &c)
	return nil
}

// errIsDir is what opening a directory for writing fails with.
var errIsDir = syscall.EISDIR

// open is the shell's OpenHandler: files of the host, /dev/null, no
// other device.
func (f *hostFS) open(dir, name string, flag int, perm fs.FileMode, umask fs.FileMode) (io.ReadWriteCloser, error) {
	perr := func(err error) error { return &fs.PathError{Op: "open", Path: name, Err: err} }
	f.mu.Lock()
	defer f.mu.Unlock()
	p, n, err := f.resolve(abs(dir, name), true)
	if err != nil {
		return nil, perr(err)
	}
	write := flag&(os.O_WRONLY|os.O_RDWR) != 0
	switch {
	case n != nil && n.mode&fs.ModeDevice != 0:
		return devNull{}, nil
	case n != nil && flag&os.O_CREATE != 0 && flag&os.O_EXCL != 0:
		return nil, perr(syscall.EEXIST)
	case n == nil && flag&os.O_CREATE == 0:
		return nil, perr(syscall.ENOENT)
	case n != nil && n.mode.IsDir() && write:
		return nil, perr(errIsDir)
	case n == nil:
		if parent := f.get(path.Dir(p)); parent == nil || !parent.mode.IsDir() {
			return nil, perr(syscall.ENOENT)
		}
		n = &vnode{mode: perm &^ umask & fs.ModePerm, uid: rootUID, mtime: f.now()}
		f.put(p, n)
	}
	if !write {
		return &readFile{data: n.data}, nil
	}
	c := *n
	if flag&os.O_TRUNC != 0 {
		c.data = nil
	} else {
		c.data = append([]byte(nil), n.data...)
	}
	c.mtime = f.now()
	f.put(p, &c)
	return &writeFile{fs: f, path: p, node: &c}, nil
}

// readFile reads a snapshot of a file.
type readFile struct {
	data []byte
	off  int
}

func (r *readFile) Read(b []byte) (int, error) {
	if r.off >= len(r.data) {
		return 0, io.EOF
	}
	n := copy(b, r.data[r.off:])
	r.off += n
	return n, nil
}
func (r *readFile) Write([]byte) (int, error) { return 0, syscall.EBADF }
func (r *readFile) Close() error              { return nil }

// writeFile appends to a file of the host.
type writeFile struct {
	fs   *hostFS
	path string
	node *vnode
}

func (w *writeFile) Read([]byte) (int, error) { return 0, syscall.EBADF }
func (w *writeFile) Write(b []byte) (int, error) {
	w.fs.mu.Lock()
	defer w.fs.mu.Unlock()
	if w.fs.over[w.path] != w.node {
		// Removed or replaced since opened: the data goes nowhere, as
		// with an unlinked file.
		return len(b), nil
	}
	w.node.data = append(w.node.data, b...)
	return len(b), nil
}
func (w *writeFile) Close() error { return nil }

// devNull is /dev/null.
type devNull struct{}

func (devNull) Read([]byte) (int, error)    { return 0, io.EOF }
func (devNull) Write(b []byte) (int, error) { return len(b), nil }
func (devNull) Close() error                { return nil }

// readAll reads a whole file (following links).
func (f *hostFS) readAll(dir, name string) ([]byte, error) {
	_, n, err := f.lookup(dir, name, true)
	if err != nil {
		return nil, err
	}
	if n.mode.IsDir() {
		return nil, errIsDir
	}
	if n.mode&fs.ModeDevice != 0 {
		return nil, nil
	}
	return n.data, nil
}

// writeAll replaces (or creates) a file with data.
func (f *hostFS) writeAll(dir, name string, data []byte, perm, umask fs.FileMode) error {
	w, err := f.open(dir, name, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, perm, umask)
	if err != nil {
		return err
	}
	_, err = w.Write(data)
	return errors.Join(err, w.Close())
}
