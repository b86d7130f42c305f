package main

import (
	"bytes"
	"context"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// startAt runs the program with args until the test ends, and returns the
// address it serves on.
func startAt(t *testing.T, args ...string) (addr string, stop func() (int, string)) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan string, 1)
	code := make(chan int, 1)
	var stderr bytes.Buffer
	sw := &syncWriter{w: &stderr}
	go func() { code <- run(ctx, args, io.Discard, sw, func(a string) { ready <- a }) }()
	select {
	case addr = <-ready:
	case c := <-code:
		cancel()
		t.Fatalf("%v: exit %d: %s", args, c, stderr.String())
	}
	done := false
	stop = func() (int, string) {
		if done {
			return 0, ""
		}
		done = true
		cancel()
		c := <-code
		sw.mu.Lock()
		defer sw.mu.Unlock()
		return c, stderr.String()
	}
	t.Cleanup(func() { stop() })
	return addr, stop
}

// unixClient returns an HTTP client that connects to the socket path.
func unixClient(path string) *http.Client {
	return &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "unix", path)
	}}}
}

// tokenRequired checks that a GET of url through client is answered 401
// without the token and 200 with it.
func tokenRequired(t *testing.T, client *http.Client, url string) {
	t.Helper()
	for _, c := range []struct {
		auth string
		want int
	}{{"", 401}, {"Bearer " + testToken, 200}} {
		req, _ := http.NewRequest("GET", url, nil)
		if c.auth != "" {
			req.Header.Set("Authorization", c.auth)
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != c.want {
			t.Errorf("GET %s with Authorization %q: %d, want %d", url, c.auth, resp.StatusCode, c.want)
		}
	}
}

// TestListenUnixSocket: a loopback port is open to every local user, who
// can listen on it while the server does not (before it starts, while it
// restarts) and so receive the token of every client that connects, or
// listen on the other address of "localhost". --listen unix:PATH serves on
// a socket made 0600 (only this user and root can connect; no one else
// can take its place in a folder only this user can change), the token
// still required; a socket left by a server that died is replaced, one in
// use, a file that is not a socket, a folder others may write, or a
// --listen of localhost are refused. The commands the server runs do not
// inherit DIFFY_SERVER_TOKEN. Before, --listen took only HOST:PORT, and
// localhost:PORT listened on one of its two addresses.
func TestListenUnixSocket(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("owner and mode checks are Unix's")
	}
	t.Setenv(TokenEnv, testToken)
	dir := t.TempDir()
	os.Chmod(dir, 0o700)
	sock := filepath.Join(dir, "s.sock")
	store := filepath.Join(dir, "store")

	// A socket a dead server left (not removed on close).
	old, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	old.(*net.UnixListener).SetUnlinkOnClose(false)
	old.Close()

	addr, stop := startAt(t, "--listen", "unix:"+sock, "--store", store)
	if addr != sock {
		t.Errorf("serves on %q, want %q", addr, sock)
	}
	if _, ok := os.LookupEnv(TokenEnv); ok {
		t.Errorf("%s is still in the server's environment: every command it runs inherits the token", TokenEnv)
	}
	fi, err := os.Lstat(sock)
	if err != nil || fi.Mode().Type() != fs.ModeSocket || fi.Mode().Perm() != 0o600 {
		t.Errorf("socket %v %v, want a socket of mode 0600", fi.Mode(), err)
	}
	tokenRequired(t, unixClient(sock), "http://localhost/v1/jobs")
	unixLoginLimit(t, unixClient(sock), "http://localhost/v1/jobs")

	t.Setenv(TokenEnv, testToken)
	var stderr bytes.Buffer
	if code := run(context.Background(), []string{"--listen", "unix:" + sock, "--store", store}, io.Discard, &stderr, nil); code != 1 || !strings.Contains(stderr.String(), "in use") {
		t.Errorf("a second server on the socket: exit %d, %q; want 1 saying it is in use", code, stderr.String())
	}
	if code, out := stop(); code != 0 {
		t.Errorf("exit %d: %s", code, out)
	}
	if _, err := os.Lstat(sock); err == nil {
		t.Error("the socket is left after the server stopped")
	}

	file := filepath.Join(dir, "file")
	os.WriteFile(file, []byte("x"), 0o600)
	shared := filepath.Join(dir, "shared")
	os.Mkdir(shared, 0o777)
	os.Chmod(shared, 0o777)
	for _, c := range []struct {
		listen      string
		code        int
		says, names string
	}{
		{"unix:" + file, 1, "not a socket", file},
		{"unix:" + filepath.Join(shared, "s.sock"), 1, "others may write", shared},
		{"unix:", 2, "names no socket", "unix:"},
		{"localhost:0", 2, "two addresses", "localhost:0"},
	} {
		t.Setenv(TokenEnv, testToken)
		var stderr bytes.Buffer
		code := run(context.Background(), []string{"--listen", c.listen, "--store", store}, io.Discard, &stderr, nil)
		if code != c.code || !strings.Contains(stderr.String(), c.says) || !strings.Contains(stderr.String(), c.names) {
			t.Errorf("--listen %s: exit %d, %q; want %d saying %q and naming %s", c.listen, code, stderr.String(), c.code, c.says, c.names)
		}
	}
	if b, _ := os.ReadFile(file); string(b) != "x" {
		t.Error("the file in the socket's place was changed")
	}
}

// unixLoginLimit: the clients of the Unix socket share one failed-login
// bucket (they are all this user): after loginBurst wrong tokens a wrong
// one is answered 429 naming the socket (before: "from invalid Prefix"),
// and the token is still served.
func unixLoginLimit(t *testing.T, client *http.Client, url string) {
	t.Helper()
	get := func(auth string) (int, string) {
		req, _ := http.NewRequest("GET", url, nil)
		req.Header.Set("Authorization", auth)
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	for range loginBurst {
		get("Bearer guess")
	}
	if code, body := get("Bearer guess"); code != http.StatusTooManyRequests || !strings.Contains(body, "from the Unix socket") {
		t.Errorf("a wrong token on the socket after %d: %d %s; want 429 naming the Unix socket", loginBurst, code, body)
	}
	if code, body := get("Bearer " + testToken); code != http.StatusOK {
		t.Errorf("the token on the socket after the wrong ones: %d %s, want 200", code, body)
	}
}
