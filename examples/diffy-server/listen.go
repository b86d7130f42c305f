package main

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// unixPrefix starts a --listen that names a Unix socket.
const unixPrefix = "unix:"

// A loopback TCP port is open to every user of the machine: while the
// server is not listening (before it starts, during a restart), or on the
// address of the other family, any local user may listen there instead
// and receive the bearer token of every client that connects. A Unix
// socket is a file: in a folder only this user can change, made 0600,
// only this user (and root) can connect to it, and no one else can take
// its place.

// unixSocket returns the socket path of a --listen of unixPrefix, and
// whether it is one.
func unixSocket(listen string) (string, bool) {
	return strings.CutPrefix(listen, unixPrefix)
}

// listen listens on c.listen: a TCP address, or a Unix socket.
func listen(c *config) (net.Listener, error) {
	path, ok := unixSocket(c.listen)
	if !ok {
		return net.Listen("tcp", c.listen)
	}
	return listenUnix(path)
}

// socketDialTimeout bounds the probe of a socket file found in the way.
const socketDialTimeout = time.Second

// listenUnix listens on a Unix socket at path, in a folder of this user's
// that others cannot write to (who could replace the socket); the socket
// is made 0600. A socket of this user's left at path by a server that
// died is removed; one that answers is in use, and anything else at path
// is refused.
func listenUnix(path string) (net.Listener, error) {
	dir := filepath.Dir(path)
	if err := checkTokenDir(dir); err != nil {
		return nil, fmt.Errorf("socket %s: %w", path, err)
	}
	if fi, err := os.Lstat(path); err == nil {
		if fi.Mode().Type() != fs.ModeSocket {
			return nil, fmt.Errorf("socket %s: there is a %v there, not a socket; remove it or choose another path", path, fi.Mode().Type())
		}
		if err := ownedByMe(fi); err != nil {
			return nil, fmt.Errorf("socket %s: %w", path, err)
		}
		if conn, err := net.DialTimeout("unix", path, socketDialTimeout); err == nil {
			conn.Close()
			return nil, fmt.Errorf("socket %s is in use: another server listens on it", path)
		}
		if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("socket %s: removing the socket a stopped server left: %w", path, err)
		}
	}
	ln, err := net.Listen("unix", path)
	if err != nil {
		return nil, err
	}
	if err := os.Chmod(path, 0o600); err != nil {
		ln.Close()
		return nil, fmt.Errorf("socket %s: %w", path, err)
	}
	return ln, nil
}
