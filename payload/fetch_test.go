package payload_test

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/diffy-dfir/diffy/collect"
	"github.com/diffy-dfir/diffy/diffyerr"
	"github.com/diffy-dfir/diffy/payload"
)

// fakeOsqueryi is an executable standing in for osqueryi: it prints its
// arguments as one row, and touches $DIFFY_RAN so tests see it ran.
const fakeOsqueryi = "#!/bin/sh\n[ -n \"$DIFFY_RAN\" ] && touch \"$DIFFY_RAN\"\nprintf '[{\"mode\":\"%s\",\"sql\":\"%s\"}]' \"$1\" \"$2\"\n"

func digest(b string) string {
	s := sha256.Sum256([]byte(b))
	return hex.EncodeToString(s[:])
}

// fetchEnv serves body over HTTP on loopback, counting requests.
type fetchEnv struct {
	t     *testing.T
	srv   *httptest.Server
	gets  atomic.Int32
	body  atomic.Value // string
	cache string
	bin   string // a PATH directory without osqueryi
}

func newFetchEnv(t *testing.T) *fetchEnv {
	t.Helper()
	if _, err := exec.LookPath("sha256sum"); err != nil {
		t.Skip("no sha256sum on this machine")
	}
	_, curl := exec.LookPath("curl")
	_, wget := exec.LookPath("wget")
	if curl != nil && wget != nil {
		t.Skip("neither curl nor wget on this machine")
	}
	e := &fetchEnv{t: t, cache: filepath.Join(t.TempDir(), "cache")}
	e.body.Store(fakeOsqueryi)
	e.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		e.gets.Add(1)
		if r.URL.Query().Get("X-Amz-Signature") != "sig" {
			http.Error(w, "AccessDenied", http.StatusForbidden)
			return
		}
		w.Write([]byte(e.body.Load().(string)))
	}))
	t.Cleanup(e.srv.Close)
	// A PATH of this machine's tools, minus any osqueryi.
	e.bin = t.TempDir()
	for _, tool := range []string{"sh", "sha256sum", "cut", "mkdir", "dirname", "stat", "id", "mktemp", "curl", "wget", "head", "tr", "rm", "chmod", "mv", "touch", "printf"} {
		if p, err := exec.LookPath(tool); err == nil {
			if err := os.Symlink(p, filepath.Join(e.bin, tool)); err != nil {
				t.Fatal(err)
			}
		}
	}
	return e
}

func (e *fetchEnv) fetch() payload.OsqueryFetch {
	return payload.OsqueryFetch{URL: e.srv.URL + "/osqueryi?X-Amz-Signature=sig", SHA256: digest(fakeOsqueryi), Dir: e.cache}
}

// run runs a command's script as a collector would, and returns stdout,
// stderr, the exit status, and whether the downloaded executable ran.
func (e *fetchEnv) run(script string) (stdout, stderr string, code int, ran bool) {
	e.t.Helper()
	mark := filepath.Join(e.t.TempDir(), "ran")
	cmd := exec.Command(filepath.Join(e.bin, "sh"), "-c", script)
	cmd.Env = []string{"PATH=" + e.bin, "DIFFY_RAN=" + mark}
	var out, errb strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit):
		code = exit.ExitCode()
	case err != nil:
		e.t.Fatal(err)
	}
	_, serr := os.Stat(mark)
	return out.String(), errb.String(), code, serr == nil
}

// TestOsqueryFetch: a host without osqueryi downloads it once, checks it,
// and runs it for every query; the rows parse.
func TestOsqueryFetch(t *testing.T) {
	e := newFetchEnv(t)
	f := e.fetch()
	for i := range 2 {
		out, errOut, code, ran := e.run(f.Shell("SELECT 1;"))
		if code != 0 || !ran || errOut != "" {
			t.Fatalf("run %d: exit %d, ran %v, stderr %q", i, code, ran, errOut)
		}
		rows, err := collect.ParseRows([]byte(out))
		if err != nil || len(rows) != 1 || rows[0]["mode"] != "--json" || rows[0]["sql"] != "SELECT 1;" {
			t.Fatalf("run %d: output %q: %v %v", i, out, rows, err)
		}
	}
	if n := e.gets.Load(); n != 1 {
		t.Errorf("%d downloads for two queries, want 1 (the copy is cached)", n)
	}
	dir := filepath.Join(e.cache, f.SHA256[:16])
	fi, err := os.Stat(dir)
	if err != nil || fi.Mode().Perm() != 0o700 {
		t.Fatalf("cache directory: %v %v", fi, err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 || entries[0].Name() != "osqueryi" {
		t.Errorf("cache directory holds %v, want only osqueryi", entries)
	}
}

// TestOsqueryFetchRefuses: what does not match the digest never runs, and
// the script says why with exit status ExitFetchFailed.
func TestOsqueryFetchRefuses(t *testing.T) {
	t.Run("wrong digest", func(t *testing.T) {
		e := newFetchEnv(t)
		e.body.Store(fakeOsqueryi + "# tampered\n")
		_, errOut, code, ran := e.run(e.fetch().Shell("SELECT 1;"))
		if code != payload.ExitFetchFailed || ran || !strings.Contains(errOut, "digest") {
			t.Fatalf("exit %d, ran %v, stderr %q", code, ran, errOut)
		}
		entries, _ := os.ReadDir(filepath.Join(e.cache, e.fetch().SHA256[:16]))
		if len(entries) != 0 {
			t.Errorf("a bad download was left behind: %v", entries)
		}
	})
	t.Run("download refused", func(t *testing.T) {
		e := newFetchEnv(t)
		f := e.fetch()
		f.URL = e.srv.URL + "/osqueryi?X-Amz-Signature=expired"
		_, errOut, code, ran := e.run(f.Shell("SELECT 1;"))
		if code != payload.ExitFetchFailed || ran || !strings.Contains(errOut, "403") {
			t.Fatalf("exit %d, ran %v, stderr %q", code, ran, errOut)
		}
	})
	t.Run("cached copy tampered", func(t *testing.T) {
		e := newFetchEnv(t)
		f := e.fetch()
		if _, _, code, _ := e.run(f.Shell("SELECT 1;")); code != 0 {
			t.Fatal("first run failed")
		}
		bin := filepath.Join(e.cache, f.SHA256[:16], "osqueryi")
		if err := os.WriteFile(bin, []byte("#!/bin/sh\ntouch \"$DIFFY_RAN.evil\"\n"), 0o700); err != nil {
			t.Fatal(err)
		}
		out, _, code, ran := e.run(f.Shell("SELECT 2;"))
		if code != 0 || !ran || !strings.Contains(out, "SELECT 2;") || e.gets.Load() != 2 {
			t.Fatalf("exit %d, ran %v, output %q, downloads %d: want the tampered copy replaced", code, ran, out, e.gets.Load())
		}
	})
	t.Run("cache directory open to others", func(t *testing.T) {
		e := newFetchEnv(t)
		f := e.fetch()
		dir := filepath.Join(e.cache, f.SHA256[:16])
		if err := os.MkdirAll(dir, 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(dir, 0o777); err != nil {
			t.Fatal(err)
		}
		_, errOut, code, ran := e.run(f.Shell("SELECT 1;"))
		if code != payload.ExitFetchFailed || ran || !strings.Contains(errOut, dir+" is writable by other users") || e.gets.Load() != 0 {
			t.Fatalf("exit %d, ran %v, stderr %q, downloads %d", code, ran, errOut, e.gets.Load())
		}
	})
}

// TestOsqueryFetchUsesInstalled: a host with osqueryi on its PATH uses it
// and downloads nothing.
func TestOsqueryFetchUsesInstalled(t *testing.T) {
	e := newFetchEnv(t)
	if err := os.WriteFile(filepath.Join(e.bin, "osqueryi"), []byte("#!/bin/sh\necho '[{\"installed\":\"yes\"}]'\n"), 0o700); err != nil {
		t.Fatal(err)
	}
	out, _, code, _ := e.run(e.fetch().Shell("SELECT 1;"))
	if code != 0 || !strings.Contains(out, "installed") || e.gets.Load() != 0 {
		t.Fatalf("exit %d, output %q, downloads %d", code, out, e.gets.Load())
	}
}

func TestOsqueryFetchValidate(t *testing.T) {
	sum := digest("x")
	for _, c := range []struct {
		f    payload.OsqueryFetch
		want string
	}{
		{payload.OsqueryFetch{SHA256: sum}, "no URL"},
		{payload.OsqueryFetch{URL: "http://example.com/o", SHA256: sum}, "not https"},
		{payload.OsqueryFetch{URL: "ftp://example.com/o", SHA256: sum}, `scheme "ftp"`},
		{payload.OsqueryFetch{URL: "https://AKIA:secret@example.com/o", SHA256: sum}, "user name or password"},
		{payload.OsqueryFetch{URL: "https://example.com/o?X-Amz-Signature=abc", SHA256: "abc"}, "64 hex digits"},
		{payload.OsqueryFetch{URL: "https://example.com/o", SHA256: sum, Dir: "relative"}, "absolute"},
	} {
		err := c.f.Validate()
		if !errors.Is(err, diffyerr.ErrInvalidInput) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: %v, want %q", c.f, err, c.want)
		}
		if err != nil && (strings.Contains(err.Error(), "secret") || strings.Contains(err.Error(), "X-Amz-Signature=abc")) {
			t.Errorf("the error shows the URL's secret: %v", err)
		}
	}
	for _, ok := range []string{"https://bucket.s3.amazonaws.com/o?X-Amz-Signature=abc", "http://127.0.0.1:8080/o", "http://localhost/o"} {
		if err := (payload.OsqueryFetch{URL: ok, SHA256: sum}).Validate(); err != nil {
			t.Errorf("%s: %v", ok, err)
		}
	}
}

// TestFetchPayload: the osquery commands of a payload fetch osqueryi; the
// shell-only ones are kept as they are; a bad fetch is Generate's error.
func TestFetchPayload(t *testing.T) {
	ctx := t.Context()
	f := payload.OsqueryFetch{URL: "https://b.s3.amazonaws.com/osqueryi?X-Amz-Signature=s", SHA256: digest("x")}
	shellOnly := payload.Command{ID: "uptime", Shell: "uptime"}
	p := payload.FetchPayload(payload.Osquery{Extra: []payload.Command{shellOnly}}, f)
	cmds, err := p.Generate(ctx, "INC-1")
	if err != nil {
		t.Fatal(err)
	}
	if len(cmds) != len(payload.StandardPack())+1 {
		t.Fatalf("%d commands", len(cmds))
	}
	for i, c := range cmds {
		switch {
		case c.ID == "uptime":
			if c != shellOnly {
				t.Errorf("a shell-only command was changed: %+v", c)
			}
		case i == 0:
			if c.Shell != f.Shell(c.Query) || !strings.Contains(c.Shell, f.URL) {
				t.Errorf("the first osquery command, %s, does not fetch osqueryi", c.ID)
			}
		case strings.Contains(c.Shell, f.URL) || !strings.Contains(c.Shell, "sha256sum") || !strings.Contains(c.Shell, cmds[0].ID):
			t.Errorf("%s sends the URL again, or does not check the fetched copy, or does not name %s", c.ID, cmds[0].ID)
		}
	}
	f.SHA256 = "nope"
	if _, err := payload.FetchPayload(payload.Osquery{}, f).Generate(ctx, "INC-1"); !errors.Is(err, diffyerr.ErrInvalidInput) {
		t.Errorf("bad digest: %v", err)
	}
}

// TestOsqueryFetchApplied runs the scripts of an applied payload in order,
// as a collector does: the first downloads, the next use the checked copy;
// run alone before any fetch, a later one fails naming the first.
func TestOsqueryFetchApplied(t *testing.T) {
	e := newFetchEnv(t)
	f := e.fetch()
	cmds, err := f.Apply(payload.StandardPack()[:3])
	if err != nil {
		t.Fatal(err)
	}
	_, errOut, code, ran := e.run(cmds[1].Shell)
	if code != payload.ExitFetchFailed || ran || !strings.Contains(errOut, cmds[0].ID) || e.gets.Load() != 0 {
		t.Fatalf("before any fetch: exit %d, ran %v, stderr %q, downloads %d", code, ran, errOut, e.gets.Load())
	}
	for _, c := range cmds {
		out, errOut, code, ran := e.run(c.Shell)
		if code != 0 || !ran || !strings.Contains(out, "--json") {
			t.Fatalf("%s: exit %d, ran %v, output %q, stderr %q", c.ID, code, ran, out, errOut)
		}
	}
	if n := e.gets.Load(); n != 1 {
		t.Errorf("%d downloads for three commands, want 1", n)
	}
}
