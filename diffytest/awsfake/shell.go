package awsfake

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"mvdan.cc/sh/v3/expand"
	"mvdan.cc/sh/v3/interp"
	"mvdan.cc/sh/v3/syntax"
)

// This file runs AWS-RunShellScript scripts with mvdan.cc/sh/v3 (a POSIX
// shell parser and interpreter in Go) against one simulated host: its file
// system (hostFS) and its tools, which the fake implements itself (tools.go)
// so that no command of the test machine ever runs. See the package doc.

// script is a parsed script (or its syntax error).
type script struct {
	file *syntax.File
	err  error
}

// parseScript parses src as sh (POSIX) would read it. Parsed files are
// never changed by the interpreter, so one is shared by every run.
func parseScript(src string) script {
	f, err := syntax.NewParser(syntax.Variant(syntax.LangPOSIX)).Parse(strings.NewReader(src), "")
	return script{f, err}
}

// parsedScripts caches the scripts given to sh -c: the same few run on
// every host.
var (
	parsedScripts sync.Map // string -> script
	parsedCount   atomic.Int64
)

func parseCached(src string) script {
	if v, ok := parsedScripts.Load(src); ok {
		return v.(script)
	}
	s := parseScript(src)
	if parsedCount.Add(1) < 4096 {
		parsedScripts.Store(src, s)
	}
	return s
}

// shellHost is what a script can see of its host besides its files.
type shellHost interface {
	// osquery returns the stdout of `osqueryi --json SQL` on the host, or
	// a stderr message and a non-zero status.
	osquery(sql string) (stdout []byte, stderr string, status int)
	// files is the host's file system.
	files() *hostFS
}

// shellEnv is what a run may reach outside the host.
type shellEnv struct {
	// http fetches for curl and wget; nil: no network.
	http *http.Client
	// start is when the script starts on the host's clock, which date
	// reads: start plus what the script slept so far. Zero: the Unix
	// epoch.
	start time.Time
}

// run is one run of a script on a host.
type run struct {
	host  shellHost
	env   shellEnv
	name  string // the script's path, for messages
	umask fs.FileMode
	// slept is how long the script's sleep and timeout commands asked to
	// wait: the script takes that much longer on the fake's clock, but
	// never waits in real time (see invocation.run).
	slept atomic.Int64
}

// runScript runs a parsed script on host and returns stdout, stderr, the
// exit status and how long it slept.
func runScript(ctx context.Context, s script, host shellHost, env shellEnv, name string) (stdout, stderr []byte, status int, slept time.Duration) {
	var out, errb bytes.Buffer
	r := &run{host: host, env: env, name: name, umask: 0o022}
	if s.err != nil {
		fmt.Fprintf(&errb, "%s: %v\n", name, syntaxMessage(s.err))
		return nil, errb.Bytes(), 2, 0
	}
	status = r.exec(ctx, s.file, nil, &out, &errb, nil)
	return out.Bytes(), errb.Bytes(), status, time.Duration(r.slept.Load())
}

// syntaxMessage is a parse error as sh prints it.
func syntaxMessage(err error) string {
	var pe syntax.ParseError
	if errors.As(err, &pe) {
		return fmt.Sprintf("line %d: syntax error: %s", pe.Pos.Line(), pe.Text)
	}
	return err.Error()
}

// hostPath is the PATH of scripts on a simulated host.
const hostPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// exec runs a parsed file in a new interpreter with the given standard
// streams and positional parameters, and returns its exit status.
func (r *run) exec(ctx context.Context, f *syntax.File, stdin io.Reader, stdout, stderr io.Writer, params []string) int {
	fsys := r.host.files()
	opts := []interp.RunnerOption{
		interp.StdIO(stdin, stdout, stderr),
		interp.Env(expand.ListEnviron("PATH="+hostPath, "HOME=/root", "USER=root", "LOGNAME=root", "SHELL=/bin/sh", "LANG=C.UTF-8")),
		interp.Dir("/"),
		interp.CallHandler(r.call),
		interp.ExecHandlers(func(interp.ExecHandlerFunc) interp.ExecHandlerFunc { return r.run }),
		interp.OpenHandler(func(ctx context.Context, p string, flag int, perm os.FileMode) (io.ReadWriteCloser, error) {
			return fsys.open(interp.HandlerCtx(ctx).Dir, p, flag, perm, r.umask)
		}),
		interp.StatHandler(func(ctx context.Context, name string, follow bool) (fs.FileInfo, error) {
			return fsys.stat(interp.HandlerCtx(ctx).Dir, name, follow)
		}),
		interp.ReadDirHandler2(func(ctx context.Context, p string) ([]fs.DirEntry, error) {
			return fsys.readDir(interp.HandlerCtx(ctx).Dir, p)
		}),
		interp.AccessHandler(func(ctx context.Context, p string, mode interp.AccessMode) error {
			_, n, err := fsys.lookup(interp.HandlerCtx(ctx).Dir, p, true)
			if err != nil {
				return err
			}
			if mode&interp.AccessExec != 0 && n.mode&0o111 == 0 {
				return &fs.PathError{Op: "access", Path: p, Err: fs.ErrPermission}
			}
			return nil
		}),
	}
	if params != nil {
		opts = append(opts, interp.Params(append([]string{"--"}, params...)...))
	}
	runner, err := interp.New(opts...)
	if err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", r.name, err)
		return 2
	}
	return exitCode(runner.Run(ctx, f))
}

// exitCode turns what the interpreter returned into an exit status.
func exitCode(err error) int {
	if err == nil {
		return 0
	}
	var es interp.ExitStatus
	if errors.As(err, &es) {
		return int(es)
	}
	return 2
}

// lookupName is the command the call handler turns `command -v`, `type`
// and `which` into, so that they look at the host's PATH rather than the
// test machine's; no script can name it (it holds a NUL).
const lookupName = "\x00awsfake-lookup"

// call is the interpreter's CallHandler: it sees every simple command
// before it runs.
func (r *run) call(ctx context.Context, args []string) ([]string, error) {
	switch args[0] {
	case "command":
		if len(args) > 2 && (args[1] == "-v" || args[1] == "-V") {
			return append([]string{lookupName}, args[2:]...), nil
		}
	case "type":
		return append([]string{lookupName}, args[1:]...), nil
	case "umask":
		if len(args) > 1 {
			n, err := strconv.ParseUint(args[1], 8, 32)
			if err != nil || n > 0o777 {
				return []string{"false"}, nil
			}
			r.umask = fs.FileMode(n)
		}
		return []string{"true"}, nil
	}
	return args, nil
}

// run is the interpreter's exec handler: it runs every command that is
// neither a builtin nor a function, from the host's PATH or a path on the
// host.
func (r *run) run(ctx context.Context, args []string) error {
	hc := interp.HandlerCtx(ctx)
	if args[0] == lookupName {
		return status(r.lookup(hc, args[1:]))
	}
	path, tool, code := r.resolve(hc, args[0])
	if code != 0 {
		return status(code)
	}
	c := &cmd{r: r, hc: hc, ctx: ctx, name: args[0], path: path, args: args[1:]}
	impl, ok := tools[tool]
	if !ok {
		c.errf("%s: cannot execute binary file: Exec format error\n", args[0])
		return status(126)
	}
	return status(impl(c))
}

// status is an exit status as the interpreter wants it.
func status(code int) error {
	if code == 0 {
		return nil
	}
	return interp.ExitStatus(uint8(code))
}

// resolve finds the command name on the host (through PATH unless it
// holds a slash) and returns its path and the tool its file runs; a
// non-zero code when it cannot run, with the message printed.
func (r *run) resolve(hc interp.HandlerContext, name string) (path, tool string, code int) {
	fsys := r.host.files()
	notFound := func() (string, string, int) {
		fmt.Fprintf(hc.Stderr, "%s: line %d: %s: command not found\n", r.name, hc.Pos.Line(), name)
		return "", "", 127
	}
	var n *vnode
	if strings.Contains(name, "/") {
		p, node, err := fsys.lookup(hc.Dir, name, true)
		if err != nil {
			fmt.Fprintf(hc.Stderr, "%s: line %d: %s: No such file or directory\n", r.name, hc.Pos.Line(), name)
			return "", "", 127
		}
		path, n = p, node
	} else {
		p, node := r.which(hc.Dir, name)
		if node == nil {
			return notFound()
		}
		path, n = p, node
	}
	if n.mode.IsDir() || n.mode&0o111 == 0 {
		fmt.Fprintf(hc.Stderr, "%s: line %d: %s: Permission denied\n", r.name, hc.Pos.Line(), name)
		return "", "", 126
	}
	first, _, _ := bytes.Cut(n.data, []byte("\n"))
	t, ok := bytes.CutPrefix(first, []byte(toolMagic))
	if !ok {
		return path, "", 0
	}
	return path, string(t), 0
}

// which finds an executable name on the host's PATH.
func (r *run) which(dir, name string) (string, *vnode) {
	fsys := r.host.files()
	for _, d := range strings.Split(hostPath, ":") {
		p, n, err := fsys.lookup(dir, d+"/"+name, true)
		if err == nil && !n.mode.IsDir() && n.mode&0o111 != 0 {
			return p, n
		}
	}
	return "", nil
}

// lookup is `command -v NAME...`: builtins and functions by name, others
// by path; status 1 when one is not found.
func (r *run) lookup(hc interp.HandlerContext, names []string) int {
	code := 0
	for _, n := range names {
		if strings.HasPrefix(n, "-") {
			continue
		}
		if interp.IsBuiltin(n) || syntax.IsKeyword(n) {
			fmt.Fprintln(hc.Stdout, n)
			continue
		}
		if strings.Contains(n, "/") {
			if _, node, err := r.host.files().lookup(hc.Dir, n, true); err == nil && node.mode&0o111 != 0 {
				fmt.Fprintln(hc.Stdout, n)
				continue
			}
			code = 1
			continue
		}
		// Functions are found by the interpreter itself before the call
		// handler renames the command; a script's own function is not
		// seen here (none of Diffy's scripts asks for one).
		if p, node := r.which(hc.Dir, n); node != nil {
			fmt.Fprintln(hc.Stdout, p)
			continue
		}
		code = 1
	}
	return code
}

// sub runs a shell script (sh -c) as a child of the command c: the same
// host, umask and clock, the command's standard streams.
func (r *run) sub(c *cmd, src string, params []string) int {
	s := parseCached(src)
	if s.err != nil {
		c.errf("%s: -c: %s\n", c.name, syntaxMessage(s.err))
		return 2
	}
	env := r.env
	env.start = env.start.Add(time.Duration(r.slept.Load())) // the child's clock goes on from here
	child := &run{host: r.host, env: env, name: c.name, umask: r.umask}
	code := child.exec(c.ctx, s.file, c.hc.Stdin, c.hc.Stdout, c.hc.Stderr, params)
	r.slept.Add(child.slept.Load())
	return code
}
