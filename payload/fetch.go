package payload

import (
	"context"
	"encoding/hex"
	"fmt"
	"net"
	"net/url"
	"strings"

	"github.com/diffy-dfir/diffy/diffyerr"
)

// DefaultFetchDir is where OsqueryFetch keeps the osquery executable it
// downloaded, on each host.
const DefaultFetchDir = "/var/tmp/diffy-osquery"

// OsqueryFetch lets the hosts that have no osqueryi download one, with no
// credential on the host: from a URL that needs none, typically an S3
// presigned GET URL of the osquery executable (the osqueryd binary of
// osquery's official package, whose shell mode runs when it is named
// osqueryi), checked against its SHA-256 digest before every use.
//
// The script of each query runs osqueryi from the PATH when there is one.
// Otherwise it uses the copy cached under Dir, in a directory named after
// the digest that must belong to the user running it and be closed to
// everyone else (0700, not a symbolic link): a copy whose digest does not
// match is never run. The first query of a payload (Apply) downloads the
// copy when none is ready (curl, else wget, at most 5 minutes); the others
// only use it, so the URL is sent once. The copy stays cached for the next
// collections (delete Dir to remove it); nothing else is written.
//
// When the download or a check fails, the script prints why on stderr and
// exits with ExitNoOsquery, so the Result says that osqueryi is missing and
// why it could not be fetched.
//
// The URL travels in the command sent to the hosts, so it shows wherever
// the command does (SSM's command history, CloudTrail): make it short-lived
// and read-only, as a presigned URL is. It must be https; http is accepted
// only for a loopback host (tests).
type OsqueryFetch struct {
	// URL serves the osquery executable.
	URL string
	// SHA256 is the executable's SHA-256 digest, 64 hex digits.
	SHA256 string
	// Dir is the cache directory on the hosts; DefaultFetchDir when
	// empty. It must be an absolute path.
	Dir string
}

// Validate reports what is wrong with f, naming the field; the error
// matches diffyerr.ErrInvalidInput.
func (f OsqueryFetch) Validate() error {
	bad := func(format string, a ...any) error {
		return fmt.Errorf("osquery fetch: "+format+": %w", append(a, diffyerr.ErrInvalidInput)...)
	}
	u, err := url.Parse(f.URL)
	switch {
	case f.URL == "":
		return bad("no URL")
	case err != nil:
		return bad("URL: %v", err)
	case u.Host == "":
		return bad("URL %q has no host", redactQuery(f.URL))
	case u.User != nil:
		return bad("URL %q carries a user name or password; use a presigned URL", redactQuery(f.URL))
	case u.Scheme == "http" && !loopback(u.Hostname()):
		return bad("URL %q is http, not https (http is allowed only on loopback)", redactQuery(f.URL))
	case u.Scheme != "https" && u.Scheme != "http":
		return bad("URL %q: scheme %q, want https", redactQuery(f.URL), u.Scheme)
	}
	if d, err := hex.DecodeString(f.SHA256); err != nil || len(d) != 32 {
		return bad("SHA-256 digest %q is not 64 hex digits", f.SHA256)
	}
	if f.Dir != "" && (!strings.HasPrefix(f.Dir, "/") || strings.ContainsAny(f.Dir, "\x00\n")) {
		return bad("cache directory %q is not an absolute path", f.Dir)
	}
	return nil
}

func loopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// redactQuery drops a URL's user information and query (a presigned URL's
// signature) for error messages.
func redactQuery(s string) string {
	if i := strings.IndexByte(s, '?'); i >= 0 {
		s = s[:i] + "?..."
	}
	if i := strings.Index(s, "://"); i >= 0 {
		rest := s[i+3:]
		end := strings.IndexAny(rest, "/?")
		if end < 0 {
			end = len(rest)
		}
		if at := strings.LastIndexByte(rest[:end], '@'); at >= 0 {
			s = s[:i+3] + "...@" + rest[at+1:]
		}
	}
	return s
}

// Shell returns the script that runs sql with osqueryi, fetching it as f
// says when the host has none. f must be valid (Validate).
func (f OsqueryFetch) Shell(sql string) string {
	return f.head(sql, "fetching it failed: $*") + "U=" + ShellQuote(f.URL) + "\n" + fetchScript + f.run(sql)
}

// cachedShell returns the script that runs sql with osqueryi from the PATH,
// else with the copy that command fetcher fetched (whose digest it checks
// again), and otherwise fails saying so. It does not download: the URL is
// sent once, in fetcher's script.
func (f OsqueryFetch) cachedShell(sql, fetcher string) string {
	return f.head(sql, "and no checked copy was fetched ($*; the error of command "+fetcher+" says why)") +
		"ok \"$B\" || fail \"$B is missing or not the expected executable\"\n" + f.run(sql)
}

// head is the start of both scripts: osqueryi from the PATH when there is
// one; else the variables, fail with how it ends its message, ok, and the
// checks of the cache directory.
func (f OsqueryFetch) head(sql, failure string) string {
	dir := f.Dir
	if dir == "" {
		dir = DefaultFetchDir
	}
	sum := strings.ToLower(f.SHA256)
	return "if command -v osqueryi >/dev/null 2>&1; then exec osqueryi --json " + ShellQuote(sql) + "; fi\n" +
		"fail() { echo \"osqueryi not found on this host, " + failure + "\" >&2; exit 127; }\n" +
		"S=" + sum + "\n" +
		"D=" + ShellQuote(dir+"/"+sum[:16]) + "\n" +
		"B=\"$D/osqueryi\"\n" + checkScript
}

// run is the end of both scripts: the checked copy runs the query.
func (f OsqueryFetch) run(sql string) string {
	return "exec \"$B\" --json " + ShellQuote(sql) + "\n"
}

// checkScript defines ok (a regular file, not a link, of digest $S) and
// makes sure that $D is a directory of this user closed to others,
// creating it when missing.
const checkScript = `ok() { [ -f "$1" ] && [ ! -L "$1" ] && [ "$(sha256sum "$1" 2>/dev/null | cut -d' ' -f1)" = "$S" ]; }
umask 077
command -v sha256sum >/dev/null 2>&1 || fail "sha256sum is not installed, so no copy can be checked"
mkdir -p "$(dirname "$D")" 2>/dev/null
mkdir -m 700 "$D" 2>/dev/null
[ -d "$D" ] && [ ! -L "$D" ] && [ -O "$D" ] && [ "$(stat -c %a "$D" 2>/dev/null)" = 700 ] ||
  fail "$D is not a directory of this user closed to others; not using it"
`

// fetchScript downloads $U into $D when no checked copy is there, and
// installs it only if its digest is $S.
const fetchScript = `if ! ok "$B"; then
  T=$(mktemp "$D/dl.XXXXXX") || fail "cannot create a file in $D"
  if command -v curl >/dev/null 2>&1; then
    curl -fsS --max-time 300 -o "$T" "$U" 2>"$T.err" || { e=$(head -c 300 "$T.err"); rm -f "$T" "$T.err"; fail "curl: $e"; }
  elif command -v wget >/dev/null 2>&1; then
    wget -q -T 300 -O "$T" "$U" 2>"$T.err" || { e=$(head -c 300 "$T.err"); rm -f "$T" "$T.err"; fail "wget: $e"; }
  else
    rm -f "$T"; fail "neither curl nor wget is installed"
  fi
  rm -f "$T.err"
  ok "$T" || { rm -f "$T"; fail "the download's SHA-256 digest is not $S"; }
  chmod 700 "$T" && mv -f "$T" "$B" || { rm -f "$T"; fail "cannot install it in $D"; }
  ok "$B" || fail "$B changed after its check"
fi
`

// Apply returns cmds with their osquery commands (those with a Query)
// fetching osqueryi as f says: the first one's Shell becomes f.Shell of
// its query, which downloads when needed; the others' run osqueryi from
// the PATH or the copy the first fetched (checked again), without the
// URL, which is thus sent once. Commands must run in order, as
// collectors run them. Other commands are kept as they are.
func (f OsqueryFetch) Apply(cmds []Command) ([]Command, error) {
	if err := f.Validate(); err != nil {
		return nil, err
	}
	out := make([]Command, len(cmds))
	fetcher := ""
	for i, c := range cmds {
		switch {
		case c.Query == "":
		case fetcher == "":
			c.Shell, fetcher = f.Shell(c.Query), c.ID
		default:
			c.Shell = f.cachedShell(c.Query, fetcher)
		}
		out[i] = c
	}
	return out, nil
}

// fetchPayload is FetchPayload's Payload.
type fetchPayload struct {
	p Payload
	f OsqueryFetch
}

// FetchPayload returns p with its osquery commands fetching osqueryi as f
// says (OsqueryFetch.Apply).
func FetchPayload(p Payload, f OsqueryFetch) Payload { return fetchPayload{p, f} }

func (fp fetchPayload) Generate(ctx context.Context, incident string) ([]Command, error) {
	cmds, err := fp.p.Generate(ctx, incident)
	if err != nil {
		return nil, err
	}
	return fp.f.Apply(cmds)
}
