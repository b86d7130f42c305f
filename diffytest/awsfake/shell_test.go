package awsfake

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/diffy-dfir/diffy/collect"
	"github.com/diffy-dfir/diffy/payload"
)

// fakeShellHost answers osqueryi with one row per standard query, on a
// file system of its own.
type fakeShellHost struct{ fs *hostFS }

func newFakeHost(osq bool, without ...string) fakeShellHost {
	if !osq {
		without = append(without, "osqueryi")
	}
	return fakeShellHost{newHostFS(without, time.Now)}
}

func (h fakeShellHost) files() *hostFS { return h.fs }

func (h fakeShellHost) osquery(sql string) ([]byte, string, int) {
	id, ok := standardQueryID(sql)
	if !ok {
		return nil, "Error: unknown query\n", 1
	}
	return OsqueryJSON([]collect.Row{{"id": id}}), "", 0
}

func runOn(t testing.TB, h fakeShellHost, src string, env shellEnv) (stdout, stderr string, status int, slept time.Duration) {
	t.Helper()
	o, e, st, sl := runScript(context.Background(), parseScript(src), h, env, "_script.sh")
	return string(o), string(e), st, sl
}

func TestShell(t *testing.T) {
	pack := payload.StandardPack()
	zipped := func(s string) string {
		var b bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&b, fakeGzipLevel)
		zw.Write([]byte(s))
		zw.Close()
		return base64.StdEncoding.EncodeToString(b.Bytes())
	}
	cases := []struct {
		name, script   string
		osq            bool
		without        []string
		stdout, errSub string
		status         int
		stdoutContains string
	}{
		{name: "echo", script: "echo hello   world\necho -n a; echo b", osq: true, stdout: "hello world\nab\n"},
		{name: "quotes", script: `echo 'a  b' "c \"d\" $?" \$x`, osq: true, stdout: "a  b c \"d\" 0 $x\n"},
		{name: "printf", script: `printf '%s=%d\n' a 1 b 2; printf 'x\ty\n'`, osq: true, stdout: "a=1\nb=2\nx\ty\n"},
		{name: "variables", script: "M=mark\nfalse\nrc=$?\necho \"$M ${M} $rc\"", osq: true, stdout: "mark mark 1\n"},
		{name: "and-or", script: "true && echo yes || echo no\nfalse && echo yes || echo no", osq: true, stdout: "yes\nno\n"},
		{name: "unknown command", script: "nosuch --flag\necho after $?", osq: true, stdout: "after 127\n", errSub: "line 1: nosuch: command not found"},
		{name: "exit status", script: "echo a\nexit 3\necho never", osq: true, stdout: "a\n", status: 3},
		{name: "subshell exit", script: "( echo in; exit 4 )\necho out $?", osq: true, stdout: "in\nout 4\n"},
		{name: "group redirect", script: "{ echo err; echo err2; } >&2\necho out", osq: true, stdout: "out\n", errSub: "err\nerr2\n"},
		{name: "dev null", script: "echo gone >/dev/null\necho gone2 2>&1 >/dev/null\necho kept", osq: true, stdout: "kept\n"},
		{name: "set -e", script: "set -e\necho a\nfalse\necho never", osq: true, stdout: "a\n", status: 1},
		{name: "osquery standard", script: pack[0].Shell, osq: true, stdout: string(OsqueryJSON([]collect.Row{{"id": pack[0].ID}}))},
		{name: "osquery reformatted", script: "osqueryi --json \"" + strings.ToUpper(strings.ReplaceAll(pack[3].Query, " ", "\n  ")) + "\"", osq: true,
			stdout: string(OsqueryJSON([]collect.Row{{"id": pack[3].ID}}))},
		{name: "osquery missing", script: pack[1].Shell, osq: false, status: payload.ExitNoOsquery, errSub: "osqueryi not found on this host"},
		{name: "osquery missing direct", script: "osqueryi --json 'select 1'", osq: false, status: 127, errSub: "osqueryi: command not found"},
		{name: "osquery unknown sql", script: "osqueryi --json 'select * from nothing'", osq: true, status: 1, errSub: "unknown query"},
		{name: "sh -c", script: "sh -c " + payload.ShellQuote(pack[2].Shell) + "\necho rc=$?", osq: true, stdoutContains: `"id":"crontab"`},
		{name: "pipe", script: "printf 'hello' | gzip -c | base64 -w0", osq: true, stdout: zipped("hello")},
		{name: "pipe back", script: "echo " + zipped("round trip") + " | base64 -d | gzip -dc", osq: true, stdout: "round trip"},
		{name: "command substitution", script: `d=$(printf abc | sha256sum); echo "${d%% *}"`, osq: true, stdout: "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad\n"},
		{name: "missing tool", script: "command -v gzip || echo none; printf x | gzip -c", osq: true, without: []string{"gzip"}, stdout: "none\n", status: 127, errSub: "gzip: command not found"},
		{name: "command -v finds tools", script: "command -v base64 sha256sum", osq: true, stdout: "/usr/bin/base64\n/usr/bin/sha256sum\n"},
		{name: "unterminated quote", script: "echo 'abc", osq: true, status: 2, errSub: "syntax error"},
		{name: "files", script: "umask 077\nd=$(mktemp -d)\necho hi >\"$d/f\"\ncat \"$d/f\"\nstat -c %a \"$d\" \"$d/f\"\n[ -O \"$d\" ] && [ -d \"$d\" ] && [ ! -L \"$d\" ] && echo mine", osq: true, stdout: "hi\n700\n600\nmine\n"},
		{name: "tmp is world-writable", script: "stat -c %a /tmp /var/tmp; [ -k /tmp ] && echo sticky", osq: true, stdout: "1777\n1777\nsticky\n"},
		{name: "if", script: "if command -v osqueryi >/dev/null; then echo has; else echo no; fi", osq: true, stdout: "has\n"},
		{name: "if else", script: "if command -v osqueryi >/dev/null; then echo has; else echo no; fi", osq: false, stdout: "no\n"},
		{name: "elif and status", script: "if false; then echo a\nelif true; then echo b; false\nelse echo c\nfi\necho $?", osq: true, stdout: "b\n1\n"},
		{name: "negation", script: "! false && echo yes; ! true || echo no", osq: true, stdout: "yes\nno\n"},
		{name: "functions and loops", script: "f() { echo \"f $1\"; }\nfor x in a b; do f \"$x\"; done", osq: true, stdout: "f a\nf b\n"},
		{name: "fi outside if", script: "echo a\nfi", osq: true, status: 2, errSub: "syntax error"},
		{name: "comments and continuation", script: "# header\necho a \\\n  b # trailing", osq: true, stdout: "a b\n"},
		{name: "no test machine binary", script: "/bin/ls / >/dev/null; go version", osq: true, status: 127, errSub: "go: command not found"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			stdout, stderr, status, _ := runOn(t, newFakeHost(c.osq, c.without...), c.script, shellEnv{})
			if status != c.status {
				t.Errorf("status %d, want %d (stderr %q)", status, c.status, stderr)
			}
			if c.stdoutContains != "" {
				if !strings.Contains(stdout, c.stdoutContains) {
					t.Errorf("stdout %q does not contain %q", stdout, c.stdoutContains)
				}
			} else if stdout != c.stdout {
				t.Errorf("stdout %q, want %q", stdout, c.stdout)
			}
			if c.errSub != "" && !strings.Contains(stderr, c.errSub) {
				t.Errorf("stderr %q does not contain %q", stderr, c.errSub)
			}
			if c.errSub == "" && len(stderr) > 0 {
				t.Errorf("unexpected stderr %q", stderr)
			}
		})
	}
}

// TestShellSleep: sleep and timeout never wait; they add to the script's
// time on the fake's clock.
func TestShellSleep(t *testing.T) {
	h := newFakeHost(true)
	_, _, st, slept := runOn(t, h, "sleep 2; sh -c 'sleep 1.5'; sleep 1m", shellEnv{})
	if st != 0 || slept != 63500*time.Millisecond {
		t.Fatalf("status %d, slept %v; want 0, 1m3.5s", st, slept)
	}
	_, _, st, slept = runOn(t, h, "timeout 5 sleep 3600", shellEnv{})
	if st != 124 || slept != 5*time.Second {
		t.Fatalf("timeout: status %d, slept %v; want 124, 5s", st, slept)
	}
	// Options come before the duration; the command's own after it.
	out, _, st, slept := runOn(t, h, "timeout -k 5 -s TERM --preserve-status 3 sh -c 'sleep 2; echo done'", shellEnv{})
	if st != 0 || slept != 2*time.Second || out != "done\n" {
		t.Fatalf("timeout with options: status %d, slept %v, stdout %q; want 0, 2s, done", st, slept, out)
	}
	if _, e, st, _ := runOn(t, h, "timeout -x 3 true", shellEnv{}); st != 125 || !strings.Contains(e, "invalid option") {
		t.Fatalf("timeout -x: status %d, stderr %q; want 125, invalid option", st, e)
	}
}

// TestShellDate: date reads the host's clock, the script's start plus
// what it slept so far, in sh -c children too.
func TestShellDate(t *testing.T) {
	h := newFakeHost(true)
	start := time.Unix(1700000000, 0)
	out, _, st, _ := runOn(t, h, "date +%s; sleep 90; date +%s; sh -c 'sleep 10; date +x%s%%'", shellEnv{start: start})
	if want := "1700000000\n1700000090\nx1700000100%\n"; st != 0 || out != want {
		t.Fatalf("status %d, stdout %q; want 0, %q", st, out, want)
	}
	if _, e, st, _ := runOn(t, h, "date +%Y", shellEnv{}); st == 0 || !strings.Contains(e, "awsfake's date knows only") {
		t.Fatalf("date +%%Y: status %d, stderr %q; want a failure that says so", st, e)
	}
}

// TestShellFetch: the scripts of payload.OsqueryFetch run on a host without
// osqueryi: the first downloads the executable from a loopback URL, checks
// its digest and runs it; the next uses the cached copy without the
// network; a host whose cache folder a local user made is refused.
func TestShellFetch(t *testing.T) {
	var gets atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gets.Add(1)
		w.Write(OsqueryExecutable)
	}))
	defer srv.Close()
	sum := sha256.Sum256(OsqueryExecutable)
	f := payload.OsqueryFetch{URL: srv.URL + "/osqueryi?X-Amz-Signature=x", SHA256: hex.EncodeToString(sum[:])}
	cmds, err := f.Apply(payload.StandardPack()[:2])
	if err != nil {
		t.Fatal(err)
	}
	env := shellEnv{http: srv.Client()}
	h := newFakeHost(false)
	for i, c := range cmds {
		stdout, stderr, st, _ := runOn(t, h, c.Shell, env)
		if st != 0 || !strings.Contains(stdout, `"id":"`+c.ID+`"`) {
			t.Fatalf("command %d: status %d, stdout %q, stderr %q", i, st, stdout, stderr)
		}
	}
	if gets.Load() != 1 {
		t.Fatalf("%d downloads, want 1", gets.Load())
	}
	// A host without curl uses wget; one without either says so.
	h2 := newFakeHost(false, "curl")
	if stdout, stderr, st, _ := runOn(t, h2, cmds[0].Shell, env); st != 0 {
		t.Fatalf("wget: status %d, %q %q", st, stdout, stderr)
	}
	h3 := newFakeHost(false, "curl", "wget")
	if _, stderr, st, _ := runOn(t, h3, cmds[0].Shell, env); st != payload.ExitFetchFailed || !strings.Contains(stderr, "neither curl nor wget") {
		t.Fatalf("no downloader: status %d, stderr %q", st, stderr)
	}
	// A local user who made the digest-named cache folder first: refused,
	// nothing run.
	h4 := newFakeHost(false)
	h4.fs.create("/", payload.DefaultFetchDir, &vnode{mode: fs.ModeDir | 0o755})
	h4.fs.create("/", payload.DefaultFetchDir+"/"+f.SHA256[:16], &vnode{mode: fs.ModeDir | 0o700, uid: 1000})
	if _, stderr, st, _ := runOn(t, h4, cmds[0].Shell, env); st != payload.ExitFetchFailed || !strings.Contains(stderr, "not using it") {
		t.Fatalf("hostile cache folder: status %d, stderr %q", st, stderr)
	}
}

func TestNormalizeSQLMatchesEveryStandardQuery(t *testing.T) {
	for _, c := range payload.StandardPack() {
		variants := []string{c.Query, strings.TrimSuffix(c.Query, ";"), "  " + strings.ToLower(c.Query) + "  ",
			strings.ReplaceAll(c.Query, ", ", ",\n\t")}
		for _, v := range variants {
			id, ok := standardQueryID(v)
			if !ok || id != c.ID {
				t.Errorf("%q matched %q, %v; want %s", v, id, ok, c.ID)
			}
		}
	}
	if id, ok := standardQueryID("SELECT * FROM processes;"); ok {
		t.Errorf("a different query matched %s", id)
	}
}

func TestTruncation(t *testing.T) {
	long := []byte(strings.Repeat("x", StdoutLimit+10))
	got := truncateContent(long, StdoutLimit, StdoutTruncatedMarker)
	if len(got) != StdoutLimit || !strings.HasSuffix(got, StdoutTruncatedMarker) {
		t.Fatalf("cut to %d bytes, suffix %q", len(got), got[len(got)-30:])
	}
	if got := truncateContent([]byte("short"), StdoutLimit, StdoutTruncatedMarker); got != "short" {
		t.Fatalf("short output changed: %q", got)
	}
	// A multi-byte rune at the cut is not split.
	s := []byte(strings.Repeat("é", StdoutLimit))
	if got := truncateContent(s, StdoutLimit, StdoutTruncatedMarker); !strings.HasSuffix(got, StdoutTruncatedMarker) || len(got) > StdoutLimit ||
		!strings.HasPrefix(got, "é") || strings.ContainsRune(got, '\uFFFD') {
		t.Fatalf("rune boundary: len %d", len(got))
	}
	// The plugin Output as the agent cuts it.
	out := pluginOutput([]byte(strings.Repeat("o", 5000)), []byte("err"), PluginOutputLimit)
	if len(out) != PluginOutputLimit || !strings.Contains(out, StdoutTruncatedMarker+pluginErrorTitle+"err") {
		t.Fatalf("plugin output len %d: %q", len(out), out[len(out)-60:])
	}
	out = pluginOutput([]byte("ok"), []byte("e"), PluginOutputLimit)
	if out != "ok"+pluginErrorTitle+"e" {
		t.Fatalf("short plugin output %q", out)
	}
}

func TestPadJSONKeepsRows(t *testing.T) {
	rows := []collect.Row{{"a": "1"}, {"b": "2"}}
	padded := padJSON(OsqueryJSON(rows), 30000, "i-1")
	if len(padded) != 30000 {
		t.Fatalf("padded to %d", len(padded))
	}
	got, err := collect.ParseRows(padded)
	if err != nil || len(got) != 2 || got[1]["b"] != "2" {
		t.Fatalf("padded output parses to %v, %v", got, err)
	}
}

func TestGlob(t *testing.T) {
	for _, c := range []struct {
		p, s string
		want bool
	}{{"web-*", "web-asg", true}, {"*asg", "web-asg", true}, {"w?b*", "web", true}, {"web", "web-asg", false}, {"*", "", true}, {"a*b*c", "aXXbYYc", true}, {"a*b*c", "aXXbYY", false}} {
		if got := glob(c.p, c.s); got != c.want {
			t.Errorf("glob(%q, %q) = %v", c.p, c.s, got)
		}
	}
}

func FuzzShell(f *testing.F) {
	f.Add(payload.StandardPack()[0].Shell)
	f.Add("M=x\nprintf '\\n%s BEGIN %s\\n' \"$M\" a >&2\nsh -c 'exit 3'\nrc=$?; echo $rc")
	f.Add("{ ( echo a; } )")
	f.Add("echo ${")
	f.Add("if ! command -v osqueryi; then exit 127; elif true; then echo; else :; fi >&2")
	f.Fuzz(func(t *testing.T, script string) {
		s := parseScript(script)
		_, _, status, _ := runScript(context.Background(), s, newFakeHost(true), shellEnv{}, "_script.sh")
		if status < 0 || status > 255 {
			t.Fatalf("status %d", status)
		}
		if s.err != nil && status != 2 {
			t.Fatalf("syntax error %v gave status %d", s.err, status)
		}
	})
}

// OsqueryJSON prints rows that collect.ParseRows reads back unchanged,
// whatever the strings hold.
func FuzzOsqueryJSON(f *testing.F) {
	f.Add("name", "sshd", "cmd", "/usr/sbin/sshd -D \"quoted\"\n\t\x00\x1b[31m")
	f.Add("k", "\xff\xfe invalid", "<html>", "\u2028\u2029 é ✓")
	f.Fuzz(func(t *testing.T, k1, v1, k2, v2 string) {
		rows := []collect.Row{{k1: v1}, {k2: v2, k1: v2}, {}}
		got, err := collect.ParseRows(OsqueryJSON(rows))
		if err != nil {
			t.Fatalf("%q: %v", OsqueryJSON(rows), err)
		}
		if len(got) != len(rows) {
			t.Fatalf("%d rows, want %d", len(got), len(rows))
		}
		for i, row := range rows {
			for k, v := range row {
				if got[i][validUTF8(k)] != validUTF8(v) {
					t.Fatalf("row %d %q: %q, want %q", i, k, got[i][k], v)
				}
			}
		}
	})
}

// validUTF8 replaces each byte of s that is not valid UTF-8 with U+FFFD, as
// encoding/json does.
func validUTF8(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n == 1 {
			b.WriteString("\uFFFD")
		} else {
			b.WriteString(s[i : i+n])
		}
		i += n
	}
	return b.String()
}

// The padding of FaultBigOutput does not compress away: the hosts' gzip
// keeps a quarter to a third of it (2 bits of 8, and the format's
// overhead), which the collector's tests of outputs too big even
// compressed rely on.
func TestPadJSONDoesNotCompressAway(t *testing.T) {
	padded := padJSON(OsqueryJSON(nil), 256<<10, "i-1")
	var b bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&b, fakeGzipLevel)
	zw.Write(padded)
	zw.Close()
	if r := float64(b.Len()) / float64(len(padded)); r < 0.25 || r > 0.4 {
		t.Fatalf("256 KiB of padding gzips to %d bytes (%.2f), want a quarter to a third", b.Len(), r)
	}
}
