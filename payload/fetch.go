package payload

import (
	"context"
	"encoding/hex"
	"fmt"
	"net"
	"net/url"
	"path"
	"strconv"
	"strings"

	"github.com/diffy-dfir/diffy/diffyerr"
)

// DefaultFetchDir is where OsqueryFetch keeps the osquery executable it
// downloaded, on each host: under /var/cache, which only root may change,
// so that no other user can make or change the folder (in a folder every
// user may write to, such as /var/tmp, a local user could create it first
// and swap what runs as root).
const DefaultFetchDir = "/var/cache/diffy-osquery"

// ExitFetchFailed is the exit status of an OsqueryFetch script on a host
// without osqueryi when the copy it provides cannot be used: the download
// failed, its digest did not match, or a folder on the way to the cache is
// not safe to run from. The last line of stderr says which.
const ExitFetchFailed = 125

// OsqueryFetch lets the hosts that have no osqueryi download one, with no
// credential on the host: from a URL that needs none, typically an S3
// presigned GET URL of the osquery executable (the osqueryd binary of
// osquery's official package, whose shell mode runs when it is named
// osqueryi), checked against its SHA-256 digest before every use.
//
// The script of each query runs osqueryi from the PATH when there is one.
// Otherwise it uses the copy cached under Dir, in a directory named after
// the digest: a copy whose digest does not match is never run. The first
// query of a payload (Apply) downloads the copy when none is ready (curl,
// else wget, at most 5 minutes); the others only use it, so the URL is
// sent once. The copy stays cached for the next collections (delete Dir to
// remove it); nothing else is written.
//
// The script runs as root on hosts where other users may be hostile, so
// nothing between checking the copy and running it may be changed by
// anyone else: before using the cache, it checks every folder from / down
// to the digest's directory, one by one from the top (making the missing
// ones, 0700): each must be a directory, not a symbolic link, owned by
// root or the user running the script, and not writable by other users
// unless it has the sticky bit (as /tmp has, where others cannot rename
// what is not theirs). The digest's directory and the copy must be the
// user's own and closed to others. A folder that fails is never used, and
// the Result says which folder and why (a folder of Dir's name made first
// by another user, say).
//
// When the download or a check fails, the script prints why on stderr and
// exits with ExitFetchFailed; collectors put that line in the Result's
// error.
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
	case strings.ContainsAny(f.URL, "\x00\n\r"):
		return bad("URL %q holds a NUL or a line break", redactQuery(f.URL))
	}
	if d, err := hex.DecodeString(f.SHA256); err != nil || len(d) != 32 {
		return bad("SHA-256 digest %q is not 64 hex digits", f.SHA256)
	}
	if f.Dir != "" && (!strings.HasPrefix(f.Dir, "/") || path.Clean(f.Dir) != f.Dir || strings.ContainsAny(f.Dir, "\x00\n\r")) {
		return bad("cache directory %q is not a clean absolute path (no '.', '..', '//', trailing '/' or line break)", f.Dir)
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
	return f.head(sql, "and fetching it failed: $*") + "U=" + ShellQuote(f.URL) + "\n" + fetchScript + f.run(sql)
}

// cachedShell returns the script that runs sql with osqueryi from the PATH,
// else with the copy that command fetcher fetched (whose digest it checks
// again), and otherwise fails saying so. It does not download: the URL is
// sent once, in fetcher's script.
func (f OsqueryFetch) cachedShell(sql, fetcher string) string {
	return f.head(sql, "and its fetched copy cannot be used: $* (command "+fetcher+" fetches it; its error says more)") +
		"ok \"$B\" || fail \"$B is missing or not the expected executable\"\n" + f.run(sql)
}

// head is the start of both scripts: osqueryi from the PATH when there is
// one; else the variables, fail with how it ends its message, safe and
// ok, and the checks of every folder down to the cache directory.
func (f OsqueryFetch) head(sql, failure string) string {
	dir := f.Dir
	if dir == "" {
		dir = DefaultFetchDir
	}
	sum := strings.ToLower(f.SHA256)
	d := path.Join(dir, sum[:16])
	var walk strings.Builder
	walk.WriteString("for p in")
	for p := range ancestors(d) {
		walk.WriteString(" " + ShellQuote(p))
	}
	walk.WriteString("; do\n  [ -d \"$p\" ] || [ -L \"$p\" ] || mkdir -m 700 -- \"$p\" 2>/dev/null\n" +
		"  safe \"$p\" dir || fail \"$why\"\ndone\n")
	return "if command -v osqueryi >/dev/null 2>&1; then exec osqueryi --json " + ShellQuote(sql) + "; fi\n" +
		"fail() { echo \"osqueryi is not installed on this host, " + failure + "\" >&2; exit " + strconv.Itoa(ExitFetchFailed) + "; }\n" +
		"S=" + sum + "\n" +
		"D=" + ShellQuote(d) + "\n" +
		"B=\"$D/osqueryi\"\n" + checkScript + walk.String() +
		"safe \"$D\" dir mine || fail \"$why\"\n"
}

// ancestors yields the folders from / down to the clean absolute path d,
// d included.
func ancestors(d string) func(yield func(string) bool) {
	return func(yield func(string) bool) {
		if !yield("/") {
			return
		}
		for i := 1; i <= len(d); i++ {
			if (i == len(d) || d[i] == '/') && !yield(d[:i]) {
				return
			}
		}
	}
}

// run is the end of both scripts: the checked copy runs the query.
func (f OsqueryFetch) run(sql string) string {
	return "exec \"$B\" --json " + ShellQuote(sql) + "\n"
}

// checkScript defines safe and ok. "safe PATH dir|file [mine]" checks,
// without following a link, that PATH is a directory (or a regular file),
// owned by root or this user ($ME; only this user with mine), and not
// writable by other users (a directory may be if it has the sticky bit;
// with mine, not open to others at all); when it is not, why says so.
// "ok PATH" is safe PATH file mine, with the SHA-256 digest $S. The modes
// are stat's raw hexadecimal %f: type bits 0170000 (61440; a directory
// is 040000, 16384; a regular file 0100000, 32768), others' and group's
// write bits 022 (18), their every bit 077 (63), sticky 01000 (512).
const checkScript = `umask 077
command -v sha256sum >/dev/null 2>&1 || fail "sha256sum is not installed, so no copy can be checked"
ME=$(id -u 2>/dev/null) || fail "cannot tell which user runs this (id -u failed)"
safe() {
  st=$(LC_ALL=C stat -c '%u %f' -- "$1" 2>/dev/null) || { why="$1 is missing and could not be made (as user $ME)"; return 1; }
  u=${st%% *}; f=${st#* }
  case "$u:$f" in *[!0-9a-f:]*|:*|*:) why="$1: unexpected stat output"; return 1;; esac
  m=$((0x$f))
  t=16384; [ "$2" = dir ] || t=32768
  if [ $((m & 61440)) -ne $t ]; then why="$1 is not a $2 (a symbolic link, or another kind of file); not using it"; return 1; fi
  if [ "$u" != "$ME" ] && { [ -n "$3" ] || [ "$u" != 0 ]; }; then
    why="$1 belongs to user $u, not to root or this user ($ME): another user may have made it to change what runs from it; not using it (remove it, or choose a cache directory that only root can change)"; return 1
  fi
  if [ -n "$3" ] && [ $((m & 63)) -ne 0 ]; then why="$1 is open to other users (mode $(printf %o $((m & 4095)))); not using it"; return 1; fi
  if [ $((m & 18)) -ne 0 ] && { [ "$2" = file ] || [ $((m & 512)) -eq 0 ]; }; then
    why="$1 is writable by other users (mode $(printf %o $((m & 4095)))), who could change what runs from it; not using it"; return 1
  fi
}
ok() { safe "$1" file mine && [ "$(sha256sum -- "$1" 2>/dev/null | cut -d' ' -f1)" = "$S" ]; }
`

// fetchScript downloads $U into $D when no checked copy is there, and
// installs it only if its digest is $S.
const fetchScript = `if ! ok "$B"; then
  T=$(mktemp "$D/dl.XXXXXX") || fail "cannot create a file in $D"
  if command -v curl >/dev/null 2>&1; then
    curl -fsS --max-time 300 -o "$T" "$U" 2>"$T.err" || { e=$(head -c 300 "$T.err" | tr '\r\n' '  '); rm -f "$T" "$T.err"; fail "curl: $e"; }
  elif command -v wget >/dev/null 2>&1; then
    wget -q -T 300 -O "$T" "$U" 2>"$T.err" || { e=$(head -c 300 "$T.err" | tr '\r\n' '  '); rm -f "$T" "$T.err"; fail "wget: $e"; }
  else
    rm -f "$T"; fail "neither curl nor wget is installed"
  fi
  rm -f "$T.err"
  chmod 700 "$T" && ok "$T" || { rm -f "$T"; fail "the download's SHA-256 digest is not $S"; }
  mv -f -- "$T" "$B" || { rm -f "$T"; fail "cannot install it in $D"; }
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
