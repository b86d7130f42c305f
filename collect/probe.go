package collect

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync"
	"syscall"

	"github.com/diffy-dfir/diffy/payload"
)

// A probeFunc is a built-in probe: it answers one query of the standard
// pack from the machine under env.root, with the query's columns, every
// value a string, as osqueryi would print them. It checks ctx as it goes
// and returns ctx's error when cancelled.
type probeFunc func(ctx context.Context, env *probeEnv) ([]Row, error)

// probeFor returns the built-in probe that answers c, or nil. A probe
// answers a command whose ID is one of the standard pack's and whose Query
// is that command's standard query (spaces aside): a command of the same
// ID with another query asks for something else.
func probeFor(c payload.Command) probeFunc {
	sql, ok := standardSQL()[c.ID]
	if !ok || strings.Join(strings.Fields(c.Query), " ") != sql {
		return nil
	}
	switch c.ID {
	case payload.ListeningPorts:
		return probeListeningPorts
	case payload.Processes:
		return probeProcesses
	case payload.Crontab:
		return probeCrontab
	case payload.KernelModules:
		return probeKernelModules
	case payload.Users:
		return probeUsers
	case payload.AuthorizedKeys:
		return probeAuthorizedKeys
	}
	return nil
}

// standardSQL maps each standard command ID to its query, spaces
// normalized.
var standardSQL = sync.OnceValue(func() map[string]string {
	m := make(map[string]string)
	for _, c := range payload.StandardPack() {
		m[c.ID] = strings.Join(strings.Fields(c.Query), " ")
	}
	return m
})

// probeEnv is what a probe reads from and what it has to say.
type probeEnv struct {
	root  string   // the machine's root directory, "/" on a real run
	notes []string // things skipped, reported on the Result's stderr
}

// path returns the file of host path p (absolute, slash-separated) under
// the root.
func (e *probeEnv) path(p string) string {
	return filepath.Join(e.root, filepath.FromSlash(p))
}

// note records something the probe skipped, for the Result's stderr.
func (e *probeEnv) note(format string, args ...any) {
	if len(e.notes) < 100 {
		e.notes = append(e.notes, fmt.Sprintf(format, args...))
	}
}

// maxConfigFile is the largest configuration file (passwd, crontab,
// authorized_keys) a probe reads. Anything larger is not a file a system
// uses as such; the probe fails rather than parse part of it.
const maxConfigFile = 16 << 20

// readConfig reads the host's file p (a host path) for a probe. A file that
// does not exist or cannot be read is (nil, false, nil), as osquery skips
// it; one that is not a regular file (a FIFO, /dev/zero, /dev/null behind a
// symlink) is skipped with a note, so that a hostile host cannot hang or
// flood the probe; one over maxConfigFile is an error.
func (e *probeEnv) readConfig(p string) ([]byte, bool, error) {
	// O_NONBLOCK: opening a FIFO must not wait for a writer.
	f, err := os.OpenFile(e.path(p), os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		if !errors.Is(err, fs.ErrNotExist) && !errors.Is(err, syscall.ENOTDIR) {
			e.note("%s: %v; skipped", p, unwrapPath(err))
		}
		return nil, false, nil
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		e.note("%s: %v; skipped", p, unwrapPath(err))
		return nil, false, nil
	}
	if !st.Mode().IsRegular() {
		e.note("%s is not a regular file (%v); skipped", p, st.Mode().Type())
		return nil, false, nil
	}
	data, err := io.ReadAll(io.LimitReader(f, maxConfigFile+1))
	if err != nil {
		e.note("%s: %v; skipped", p, unwrapPath(err))
		return nil, false, nil
	}
	if len(data) > maxConfigFile {
		return nil, false, fmt.Errorf("%s is over %d bytes; not parsed", p, maxConfigFile)
	}
	return data, true, nil
}

// listFiles returns the host paths of the entries of host directory dir
// that are not directories, sorted by name; nothing when dir cannot be
// read.
func (e *probeEnv) listFiles(dir string) []string {
	ents, err := os.ReadDir(e.path(dir))
	if err != nil {
		if !errors.Is(err, fs.ErrNotExist) && !errors.Is(err, syscall.ENOTDIR) {
			e.note("%s: %v; skipped", dir, unwrapPath(err))
		}
		return nil
	}
	var out []string
	for _, ent := range ents {
		if !ent.IsDir() {
			out = append(out, path.Join(dir, ent.Name()))
		}
	}
	return out
}

// unwrapPath drops the *PathError's path, which holds the root prefix; the
// probes name the host path themselves.
func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// lines splits data into lines, without their line ends.
func lines(data []byte) []string {
	s := strings.ReplaceAll(string(data), "\r\n", "\n")
	return strings.Split(s, "\n")
}
