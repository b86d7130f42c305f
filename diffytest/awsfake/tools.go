package awsfake

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"net/url"
	"os"
	"path"
	"strconv"
	"strings"
	"syscall"
	"time"

	"mvdan.cc/sh/v3/interp"
)

// This file holds the tools of the simulated hosts: the commands of a
// Linux base image that Diffy's scripts use (and a few more), with the
// options they use, working on the host's file system. An option a tool
// does not know fails the way coreutils does (status 1 or 2, a message).

// cmd is one command being run.
type cmd struct {
	r    *run
	hc   interp.HandlerContext
	ctx  context.Context
	name string // as called
	path string // where it was found
	args []string
}

func (c *cmd) fs() *hostFS { return c.r.host.files() }

func (c *cmd) errf(format string, a ...any) { fmt.Fprintf(c.hc.Stderr, format, a...) }

// fail prints "NAME: message" on stderr and returns code.
func (c *cmd) fail(code int, format string, a ...any) int {
	c.errf("%s: %s\n", path.Base(c.name), fmt.Sprintf(format, a...))
	return code
}

func (c *cmd) stdin() io.Reader {
	if c.hc.Stdin == nil {
		return strings.NewReader("")
	}
	return c.hc.Stdin
}

// input opens a file operand ("-" is stdin).
func (c *cmd) input(name string) (io.Reader, error) {
	if name == "-" {
		return c.stdin(), nil
	}
	data, err := c.fs().readAll(c.hc.Dir, name)
	if err != nil {
		return nil, err
	}
	return bytes.NewReader(data), nil
}

// errText is an error as coreutils words it.
func errText(err error) string {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		err = pe.Err
	}
	switch {
	case errors.Is(err, syscall.ENOENT):
		return "No such file or directory"
	case errors.Is(err, syscall.EEXIST):
		return "File exists"
	case errors.Is(err, syscall.ENOTDIR):
		return "Not a directory"
	case errors.Is(err, syscall.EISDIR):
		return "Is a directory"
	case errors.Is(err, syscall.ENOTEMPTY):
		return "Directory not empty"
	case errors.Is(err, syscall.ELOOP):
		return "Too many levels of symbolic links"
	}
	return err.Error()
}

// flags splits args into single-letter flags (clustered, "-abc"), flags
// with a value (those in withValue, "-n 5" or "-n5"), long options
// ("--name" or "--name=value"; those in withValue take the next argument
// too) and operands, stopping at "--". An unknown flag is an error.
func flags(args []string, known, withValue string, long ...string) (map[string]string, []string, error) {
	set := map[string]string{}
	var ops []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--":
			return set, append(ops, args[i+1:]...), nil
		case strings.HasPrefix(a, "--"):
			name, val, hasVal := strings.Cut(a[2:], "=")
			ok := false
			for _, l := range long {
				if strings.TrimSuffix(l, "=") == name {
					ok = true
					if strings.HasSuffix(l, "=") && !hasVal {
						if i+1 >= len(args) {
							return nil, nil, fmt.Errorf("option '--%s' requires an argument", name)
						}
						i++
						val = args[i]
					}
				}
			}
			if !ok {
				return nil, nil, fmt.Errorf("unrecognized option '%s'", a)
			}
			set["--"+name] = val
		case len(a) > 1 && a[0] == '-':
			for j := 1; j < len(a); j++ {
				f := string(a[j])
				switch {
				case strings.Contains(withValue, f):
					v := a[j+1:]
					if v == "" {
						if i+1 >= len(args) {
							return nil, nil, fmt.Errorf("option requires an argument -- '%s'", f)
						}
						i++
						v = args[i]
					}
					set[f] = v
					j = len(a)
				case strings.Contains(known, f):
					set[f] = ""
				default:
					return nil, nil, fmt.Errorf("invalid option -- '%s'", f)
				}
			}
		default:
			ops = append(ops, a)
		}
	}
	return set, ops, nil
}

// tools maps a tool's name to its implementation, which returns the exit
// status.
var tools map[string]func(*cmd) int

func init() {
	tools = map[string]func(*cmd) int{
		"sh": toolSh, "bash": toolSh, "dash": toolSh,
		"osqueryi": toolOsqueryi, "sleep": toolSleep, "timeout": toolTimeout, "date": toolDate,
		"gzip": toolGzip, "gunzip": toolGzip, "base64": toolBase64, "sha256sum": toolSha256sum,
		"curl": toolCurl, "wget": toolWget,
		"cat": toolCat, "head": toolHead, "tail": toolTail, "cut": toolCut, "tr": toolTr, "wc": toolWc,
		"dirname": toolDirname, "basename": toolBasename,
		"mkdir": toolMkdir, "rmdir": toolRmdir, "mktemp": toolMktemp, "rm": toolRm, "mv": toolMv, "cp": toolCp,
		"ln": toolLn, "touch": toolTouch, "chmod": toolChmod, "chown": toolChown, "stat": toolStat,
		"id": toolID, "uname": toolUname, "tee": toolTee, "ls": toolLs, "readlink": toolReadlink, "env": toolEnv,
		"printf": toolBuiltin, "echo": toolBuiltin, "test": toolBuiltin, "[": toolBuiltin,
		"true": func(*cmd) int { return 0 }, "false": func(*cmd) int { return 1 },
	}
}

// toolSh is sh -c SCRIPT [NAME [ARG...]].
func toolSh(c *cmd) int {
	args := c.args
	for len(args) > 0 && args[0] != "-c" && strings.HasPrefix(args[0], "-") {
		args = args[1:] // -e, -u and the like change nothing the fake checks
	}
	if len(args) < 2 || args[0] != "-c" {
		return c.fail(2, "awsfake runs only `%s -c SCRIPT`", path.Base(c.name))
	}
	var params []string
	if len(args) > 3 {
		params = args[3:]
	}
	return c.r.sub(c, args[1], params)
}

// toolBuiltin runs echo, printf, test and [ from /usr/bin as the shell's
// builtins.
func toolBuiltin(c *cmd) int {
	return c.r.sub(c, `"$@"`, append([]string{path.Base(c.name)}, c.args...))
}

// toolOsqueryi is `osqueryi [FLAGS] --json SQL`.
func toolOsqueryi(c *cmd) int {
	var sql string
	json := false
	for _, a := range c.args {
		switch {
		case a == "--json":
			json = true
		case strings.HasPrefix(a, "-"):
			// other flags do not change the simulated output
		case sql == "":
			sql = a
		default:
			c.errf("osqueryi: awsfake takes one SQL argument\n")
			return 1
		}
	}
	if sql == "" {
		c.errf("osqueryi: awsfake simulates only `osqueryi --json SQL`, not an interactive shell\n")
		return 1
	}
	if !json {
		c.errf("osqueryi: awsfake simulates only --json output\n")
		return 1
	}
	out, errText, status := c.r.host.osquery(sql)
	_, _ = c.hc.Stdout.Write(out)
	if errText != "" {
		c.errf("%s", errText)
	}
	return status
}

// parseDuration reads sleep's and timeout's NUMBER[smhd].
func parseDuration(s string) (time.Duration, bool) {
	unit := time.Second
	switch {
	case strings.HasSuffix(s, "s"):
		s = s[:len(s)-1]
	case strings.HasSuffix(s, "m"):
		s, unit = s[:len(s)-1], time.Minute
	case strings.HasSuffix(s, "h"):
		s, unit = s[:len(s)-1], time.Hour
	case strings.HasSuffix(s, "d"):
		s, unit = s[:len(s)-1], 24*time.Hour
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f < 0 {
		return 0, false
	}
	return time.Duration(f * float64(unit)), true
}

// toolSleep is sleep N: the script takes N longer on the fake's clock
// (invocation.run), with no wait in real time.
func toolSleep(c *cmd) int {
	if len(c.args) == 0 {
		return c.fail(1, "missing operand")
	}
	var total time.Duration
	for _, a := range c.args {
		d, ok := parseDuration(a)
		if !ok {
			return c.fail(1, "invalid time interval '%s'", a)
		}
		total += d
	}
	c.r.slept.Add(int64(total))
	return 0
}

// toolTimeout is timeout [-k DURATION] [-s SIGNAL] DURATION COMMAND...:
// the command runs; when it slept longer than DURATION, the script's time
// stops at DURATION (the command was stopped there: SIGTERM ends every
// command of the fake) and timeout exits 124.
func toolTimeout(c *cmd) int {
	// Options come before the duration (timeout stops at its first
	// operand: the command's own flags follow).
	args := c.args
	for len(args) > 0 && strings.HasPrefix(args[0], "-") && args[0] != "-" {
		a := args[0]
		args = args[1:]
		switch {
		case a == "--":
		case a == "-k" || a == "-s":
			if len(args) == 0 {
				return c.fail(125, "option requires an argument -- '%s'", a[1:])
			}
			args = args[1:]
		case strings.HasPrefix(a, "-k") || strings.HasPrefix(a, "-s") || a == "-v",
			strings.HasPrefix(a, "--kill-after=") || strings.HasPrefix(a, "--signal="),
			a == "--preserve-status" || a == "--foreground" || a == "--verbose":
		default:
			return c.fail(125, "invalid option -- '%s'", strings.TrimLeft(a, "-"))
		}
		if a == "--" {
			break
		}
	}
	if len(args) < 2 {
		return c.fail(125, "missing operand")
	}
	limit, ok := parseDuration(args[0])
	if !ok {
		return c.fail(125, "invalid time interval '%s'", args[0])
	}
	before := c.r.slept.Load()
	// The command is run as the shell runs a program (timeout execs it: no
	// shell in between), on this run's clock.
	code := 0
	var es interp.ExitStatus
	if err := c.r.run(c.ctx, args[1:]); errors.As(err, &es) {
		code = int(es)
	} else if err != nil {
		return c.fail(125, "%v", err)
	}
	if used := time.Duration(c.r.slept.Load() - before); limit > 0 && used > limit {
		c.r.slept.Store(before + int64(limit))
		return 124
	}
	return code
}

// toolDate is date [+FORMAT] with the formats %s (seconds since the
// epoch) and %%: the host's clock is the script's start (shellEnv.start)
// plus what it slept so far.
func toolDate(c *cmd) int {
	now := c.r.env.start.Add(time.Duration(c.r.slept.Load()))
	switch {
	case len(c.args) == 0:
		fmt.Fprintln(c.hc.Stdout, now.UTC().Format("Mon Jan _2 15:04:05 UTC 2006"))
		return 0
	case len(c.args) == 1 && strings.HasPrefix(c.args[0], "+"):
		var b strings.Builder
		f := c.args[0][1:]
		for i := 0; i < len(f); i++ {
			if f[i] != '%' {
				b.WriteByte(f[i])
				continue
			}
			if i+1 >= len(f) {
				b.WriteByte('%')
				continue
			}
			i++
			switch f[i] {
			case 's':
				b.WriteString(strconv.FormatInt(now.Unix(), 10))
			case '%':
				b.WriteByte('%')
			default:
				return c.fail(1, "awsfake's date knows only the formats %%s and %%%%, not %%%c", f[i])
			}
		}
		fmt.Fprintln(c.hc.Stdout, b.String())
		return 0
	}
	return c.fail(1, "awsfake's date only prints the time (date [+FORMAT])")
}

// fakeGzipLevel is the level of the hosts' gzip when the script gives
// none: gzip's default is 6, but Go's level 6 takes 15 times longer than
// level 1 on output that compresses badly, and the fake compresses for a
// whole fleet on one machine. On the standard pack's output of a
// simulated host (24 KB), level 1 gives 5.6 KB where level 6 and GNU gzip
// give 4.7 KB: the fake's outputs are about 20% larger than real hosts'
// (pessimistic for what fits in SSM's 24,000 characters).
const fakeGzipLevel = gzip.BestSpeed

// toolGzip is gzip [-c] [-d] [-1..-9] [-n] [-f] [FILE]: only to stdout (a
// file operand is read, never replaced).
func toolGzip(c *cmd) int {
	set, ops, err := flags(c.args, "cdfnqk123456789", "", "stdout", "decompress", "force", "no-name", "quiet")
	if err != nil {
		return c.fail(1, "%v", err)
	}
	_, d := set["d"]
	_, dl := set["--decompress"]
	decompress := d || dl || path.Base(c.name) == "gunzip"
	_, toStdout := set["c"]
	_, toStdoutL := set["--stdout"]
	if len(ops) > 0 && !toStdout && !toStdoutL {
		return c.fail(1, "awsfake's gzip writes only to stdout (-c)")
	}
	if len(ops) == 0 {
		ops = []string{"-"}
	}
	for _, op := range ops {
		in, err := c.input(op)
		if err != nil {
			return c.fail(1, "%s: %s", op, errText(err))
		}
		if decompress {
			zr, err := gzip.NewReader(in)
			if err == nil {
				_, err = io.Copy(c.hc.Stdout, zr)
			}
			if err != nil {
				return c.fail(1, "%s: not in gzip format or corrupt: %v", op, err)
			}
			continue
		}
		level := fakeGzipLevel
		for k := range set {
			if len(k) == 1 && k[0] >= '1' && k[0] <= '9' {
				level = int(k[0] - '0')
			}
		}
		zw, _ := gzip.NewWriterLevel(c.hc.Stdout, level)
		if _, err := io.Copy(zw, in); err != nil {
			return c.fail(1, "%v", err)
		}
		if err := zw.Close(); err != nil {
			return c.fail(1, "%v", err)
		}
	}
	return 0
}

// toolBase64 is base64 [-d] [-w COLS] [FILE], as coreutils prints it
// (76 columns by default, 0 for none).
func toolBase64(c *cmd) int {
	set, ops, err := flags(c.args, "di", "w", "decode", "ignore-garbage", "wrap=")
	if err != nil {
		return c.fail(1, "%v", err)
	}
	name := "-"
	if len(ops) > 0 {
		name = ops[0]
	}
	in, err := c.input(name)
	if err != nil {
		return c.fail(1, "%s: %s", name, errText(err))
	}
	_, d := set["d"]
	_, dl := set["--decode"]
	if d || dl {
		data, err := io.ReadAll(in)
		if err != nil {
			return c.fail(1, "%v", err)
		}
		clean := bytes.Map(func(r rune) rune {
			if r == '\n' || r == '\r' {
				return -1
			}
			return r
		}, data)
		out, err := base64.StdEncoding.DecodeString(string(clean))
		_, _ = c.hc.Stdout.Write(out)
		if err != nil {
			return c.fail(1, "invalid input")
		}
		return 0
	}
	wrap := 76
	w, ok := set["w"]
	if !ok {
		w, ok = set["--wrap"]
	}
	if ok {
		n, err := strconv.Atoi(w)
		if err != nil || n < 0 {
			return c.fail(1, "invalid wrap size: '%s'", w)
		}
		wrap = n
	}
	data, err := io.ReadAll(in)
	if err != nil {
		return c.fail(1, "%v", err)
	}
	enc := base64.StdEncoding.EncodeToString(data)
	bw := bufio.NewWriter(c.hc.Stdout)
	for wrap > 0 && len(enc) > wrap {
		bw.WriteString(enc[:wrap])
		bw.WriteByte('\n')
		enc = enc[wrap:]
	}
	if enc != "" {
		bw.WriteString(enc)
		if wrap > 0 {
			bw.WriteByte('\n')
		}
	}
	if err := bw.Flush(); err != nil {
		return 1
	}
	return 0
}

// toolSha256sum is sha256sum [FILE...] ("-" or none: stdin).
func toolSha256sum(c *cmd) int {
	_, ops, err := flags(c.args, "bt", "", "binary", "text")
	if err != nil {
		return c.fail(1, "%v", err)
	}
	if len(ops) == 0 {
		ops = []string{"-"}
	}
	code := 0
	for _, op := range ops {
		in, err := c.input(op)
		if err != nil {
			code = c.fail(1, "%s: %s", op, errText(err))
			continue
		}
		h := sha256.New()
		if _, err := io.Copy(h, in); err != nil {
			code = c.fail(1, "%s: %v", op, err)
			continue
		}
		fmt.Fprintf(c.hc.Stdout, "%s  %s\n", hex.EncodeToString(h.Sum(nil)), op)
	}
	return code
}

// fetch GETs a URL for curl and wget: loopback hosts only (the fake never
// reaches out), within timeout.
func (c *cmd) fetch(rawURL string, timeout time.Duration) ([]byte, error) {
	if c.r.env.http == nil {
		return nil, errors.New("no network")
	}
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, err
	}
	host := u.Hostname()
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return nil, fmt.Errorf("could not resolve host: %s (awsfake's hosts reach only loopback)", host)
	}
	ctx := c.ctx
	if timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
	if err != nil {
		return nil, err
	}
	resp, err := c.r.env.http.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxDownload+1))
	if err != nil {
		return nil, err
	}
	if len(body) > maxDownload {
		return nil, fmt.Errorf("the download is over awsfake's %d bytes", maxDownload)
	}
	if resp.StatusCode >= 400 {
		return nil, fmt.Errorf("the requested URL returned error: %d", resp.StatusCode)
	}
	return body, nil
}

// maxDownload bounds what curl and wget fetch on a simulated host.
const maxDownload = 64 << 20

func seconds(s string) time.Duration {
	d, _ := parseDuration(s)
	return d
}

// toolCurl is curl [-f] [-s] [-S] [-L] [--max-time N] [-o FILE] URL.
func toolCurl(c *cmd) int {
	set, ops, err := flags(c.args, "fsSLk", "om", "fail", "silent", "show-error", "location", "max-time=", "output=", "connect-timeout=")
	if err != nil {
		return c.fail(2, "%v", err)
	}
	if len(ops) != 1 {
		return c.fail(2, "awsfake's curl takes one URL")
	}
	t := seconds(set["--max-time"])
	if v, ok := set["m"]; ok {
		t = seconds(v)
	}
	body, err := c.fetch(ops[0], t)
	if err != nil {
		c.errf("curl: (22) %v\n", err)
		return 22
	}
	out, ok := set["o"]
	if !ok {
		out, ok = set["--output"]
	}
	if !ok || out == "-" {
		_, _ = c.hc.Stdout.Write(body)
		return 0
	}
	if err := c.fs().writeAll(c.hc.Dir, out, body, 0o666, c.r.umask); err != nil {
		c.errf("curl: (23) Failure writing output to destination: %s\n", errText(err))
		return 23
	}
	return 0
}

// toolWget is wget [-q] [-T N] [-O FILE] URL.
func toolWget(c *cmd) int {
	set, ops, err := flags(c.args, "q", "TO", "quiet", "timeout=", "output-document=")
	if err != nil {
		return c.fail(2, "%v", err)
	}
	if len(ops) != 1 {
		return c.fail(2, "awsfake's wget takes one URL")
	}
	t := seconds(set["T"])
	body, err := c.fetch(ops[0], t)
	if err != nil {
		c.errf("wget: %v\n", err)
		return 8
	}
	out, ok := set["O"]
	if !ok {
		out = path.Base(ops[0])
	}
	if out == "-" {
		_, _ = c.hc.Stdout.Write(body)
		return 0
	}
	if err := c.fs().writeAll(c.hc.Dir, out, body, 0o666, c.r.umask); err != nil {
		return c.fail(3, "%s: %s", out, errText(err))
	}
	return 0
}

func toolCat(c *cmd) int {
	_, ops, err := flags(c.args, "u", "")
	if err != nil {
		return c.fail(1, "%v", err)
	}
	if len(ops) == 0 {
		ops = []string{"-"}
	}
	code := 0
	for _, op := range ops {
		in, err := c.input(op)
		if err != nil {
			code = c.fail(1, "%s: %s", op, errText(err))
			continue
		}
		_, _ = io.Copy(c.hc.Stdout, in)
	}
	return code
}

// toolHead is head [-c N | -n N] [FILE].
func toolHead(c *cmd) int { return headTail(c, true) }

// toolTail is tail [-c N | -n N] [FILE].
func toolTail(c *cmd) int { return headTail(c, false) }

func headTail(c *cmd, head bool) int {
	set, ops, err := flags(c.args, "q", "cn", "bytes=", "lines=")
	if err != nil {
		return c.fail(1, "%v", err)
	}
	name := "-"
	if len(ops) > 0 {
		name = ops[0]
	}
	in, err := c.input(name)
	if err != nil {
		return c.fail(1, "cannot open '%s' for reading: %s", name, errText(err))
	}
	data, _ := io.ReadAll(in)
	n, byBytes := 10, false
	if v, ok := set["c"]; ok {
		byBytes = true
		n, err = strconv.Atoi(v)
	} else if v, ok := set["n"]; ok {
		n, err = strconv.Atoi(v)
	}
	if err != nil || n < 0 {
		return c.fail(1, "invalid number")
	}
	switch {
	case byBytes && head:
		data = data[:min(n, len(data))]
	case byBytes:
		data = data[len(data)-min(n, len(data)):]
	default:
		lines := bytes.SplitAfter(data, []byte("\n"))
		if len(lines) > 0 && len(lines[len(lines)-1]) == 0 {
			lines = lines[:len(lines)-1]
		}
		if head {
			lines = lines[:min(n, len(lines))]
		} else {
			lines = lines[len(lines)-min(n, len(lines)):]
		}
		data = bytes.Join(lines, nil)
	}
	_, _ = c.hc.Stdout.Write(data)
	return 0
}

// toolCut is cut -d DELIM -f N[,M...] [FILE].
func toolCut(c *cmd) int {
	set, ops, err := flags(c.args, "s", "df")
	if err != nil {
		return c.fail(1, "%v", err)
	}
	delim := "\t"
	if d, ok := set["d"]; ok {
		if len(d) != 1 {
			return c.fail(1, "the delimiter must be a single character")
		}
		delim = d
	}
	var fields []int
	for _, f := range strings.Split(set["f"], ",") {
		n, err := strconv.Atoi(f)
		if err != nil || n < 1 {
			return c.fail(1, "invalid field list '%s'", set["f"])
		}
		fields = append(fields, n)
	}
	name := "-"
	if len(ops) > 0 {
		name = ops[0]
	}
	in, err := c.input(name)
	if err != nil {
		return c.fail(1, "%s: %s", name, errText(err))
	}
	sc := bufio.NewScanner(in)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		parts := strings.Split(sc.Text(), delim)
		if len(parts) == 1 {
			fmt.Fprintln(c.hc.Stdout, parts[0])
			continue
		}
		var keep []string
		for _, f := range fields {
			if f <= len(parts) {
				keep = append(keep, parts[f-1])
			}
		}
		fmt.Fprintln(c.hc.Stdout, strings.Join(keep, delim))
	}
	return 0
}

// toolTr is tr [-d] SET1 [SET2] with literal sets of single characters.
func toolTr(c *cmd) int {
	set, ops, err := flags(c.args, "d", "")
	if err != nil {
		return c.fail(1, "%v", err)
	}
	data, _ := io.ReadAll(c.stdin())
	_, del := set["d"]
	switch {
	case del && len(ops) == 1:
		data = bytes.Map(func(r rune) rune {
			if strings.ContainsRune(trSet(ops[0]), r) {
				return -1
			}
			return r
		}, data)
	case !del && len(ops) == 2:
		from, to := []rune(trSet(ops[0])), []rune(trSet(ops[1]))
		data = bytes.Map(func(r rune) rune {
			for i, f := range from {
				if f == r && len(to) > 0 {
					return to[min(i, len(to)-1)]
				}
			}
			return r
		}, data)
	default:
		return c.fail(1, "missing operand")
	}
	_, _ = c.hc.Stdout.Write(data)
	return 0
}

func trSet(s string) string {
	return strings.NewReplacer(`\n`, "\n", `\t`, "\t", `\r`, "\r", `\\`, `\`).Replace(s)
}

// toolWc is wc [-c|-l|-w] [FILE].
func toolWc(c *cmd) int {
	set, ops, err := flags(c.args, "clw", "")
	if err != nil {
		return c.fail(1, "%v", err)
	}
	name := "-"
	if len(ops) > 0 {
		name = ops[0]
	}
	in, err := c.input(name)
	if err != nil {
		return c.fail(1, "%s: %s", name, errText(err))
	}
	data, _ := io.ReadAll(in)
	counts := map[string]int{"l": bytes.Count(data, []byte("\n")), "w": len(bytes.Fields(data)), "c": len(data)}
	var out []string
	for _, k := range []string{"l", "w", "c"} {
		if _, ok := set[k]; ok || len(set) == 0 {
			out = append(out, strconv.Itoa(counts[k]))
		}
	}
	if len(ops) > 0 {
		out = append(out, name)
	}
	fmt.Fprintln(c.hc.Stdout, strings.Join(out, " "))
	return 0
}

func toolDirname(c *cmd) int {
	if len(c.args) == 0 {
		return c.fail(1, "missing operand")
	}
	for _, a := range c.args {
		d := path.Dir(strings.TrimRight(a, "/"))
		if strings.TrimRight(a, "/") == "" {
			d = "/"
		}
		fmt.Fprintln(c.hc.Stdout, d)
	}
	return 0
}

func toolBasename(c *cmd) int {
	if len(c.args) == 0 {
		return c.fail(1, "missing operand")
	}
	b := path.Base(c.args[0])
	if len(c.args) > 1 {
		b = strings.TrimSuffix(b, c.args[1])
	}
	fmt.Fprintln(c.hc.Stdout, b)
	return 0
}

// parseMode reads an octal mode (chmod and mkdir -m take only those here).
func parseMode(s string) (fs.FileMode, bool) {
	n, err := strconv.ParseUint(s, 8, 32)
	if err != nil || n > 0o7777 {
		return 0, false
	}
	m := fs.FileMode(n & 0o777)
	if n&0o1000 != 0 {
		m |= fs.ModeSticky
	}
	return m, true
}

// toolMkdir is mkdir [-p] [-m MODE] DIR...
func toolMkdir(c *cmd) int {
	set, ops, err := flags(c.args, "pv", "m", "parents")
	if err != nil {
		return c.fail(1, "%v", err)
	}
	if len(ops) == 0 {
		return c.fail(1, "missing operand")
	}
	perm := 0o777 &^ c.r.umask
	if m, ok := set["m"]; ok {
		if perm, ok = parseMode(m); !ok {
			return c.fail(1, "invalid mode '%s'", m)
		}
	}
	_, parents := set["p"]
	_, parentsL := set["--parents"]
	parents = parents || parentsL
	code := 0
	for _, op := range ops {
		if !parents {
			if _, err := c.fs().create(c.hc.Dir, op, &vnode{mode: fs.ModeDir | perm, uid: rootUID}); err != nil {
				code = c.fail(1, "cannot create directory '%s': %s", op, errText(err))
			}
			continue
		}
		p := abs(c.hc.Dir, op)
		parts := strings.Split(strings.TrimPrefix(p, "/"), "/")
		for i := range parts {
			sub := "/" + strings.Join(parts[:i+1], "/")
			mode := fs.ModeDir | (0o777 &^ c.r.umask) | 0o300
			if i == len(parts)-1 {
				mode = fs.ModeDir | perm
			}
			_, err := c.fs().create("/", sub, &vnode{mode: mode, uid: rootUID})
			if errors.Is(err, syscall.EEXIST) {
				if _, n, err := c.fs().lookup("/", sub, true); err == nil && n.mode.IsDir() {
					continue
				}
			}
			if err != nil {
				code = c.fail(1, "cannot create directory '%s': %s", sub, errText(err))
				break
			}
		}
	}
	return code
}

func toolRmdir(c *cmd) int {
	code := 0
	for _, op := range c.args {
		_, n, err := c.fs().lookup(c.hc.Dir, op, false)
		if err == nil && !n.mode.IsDir() {
			err = syscall.ENOTDIR
		}
		if err == nil {
			err = c.fs().remove(c.hc.Dir, op, false)
		}
		if err != nil {
			code = c.fail(1, "failed to remove '%s': %s", op, errText(err))
		}
	}
	return code
}

// toolMktemp is mktemp [-d] [-p DIR] [TEMPLATE]: a new file (0600) or
// directory (0700) of root's, named from TEMPLATE's trailing X's.
func toolMktemp(c *cmd) int {
	set, ops, err := flags(c.args, "dqu", "pt", "directory", "tmpdir=")
	if err != nil {
		return c.fail(1, "%v", err)
	}
	tmpl := "tmp.XXXXXXXXXX"
	if len(ops) > 0 {
		tmpl = ops[0]
	}
	dir, hasDir := set["p"]
	if !hasDir && !strings.Contains(tmpl, "/") {
		dir, hasDir = "/tmp", true
	}
	if hasDir {
		tmpl = dir + "/" + tmpl
	}
	x := len(tmpl) - len(strings.TrimRight(tmpl, "X"))
	if x < 3 {
		return c.fail(1, "too few X's in template '%s'", tmpl)
	}
	_, isDir := set["d"]
	_, isDirL := set["--directory"]
	for try := 0; try < 100; try++ {
		name := tmpl[:len(tmpl)-x] + randomName(x)
		n := &vnode{mode: 0o600, uid: rootUID}
		if isDir || isDirL {
			n.mode = fs.ModeDir | 0o700
		}
		p, err := c.fs().create(c.hc.Dir, name, n)
		if errors.Is(err, syscall.EEXIST) {
			continue
		}
		if err != nil {
			return c.fail(1, "failed to create %s via template '%s': %s", map[bool]string{true: "directory", false: "file"}[isDir || isDirL], tmpl, errText(err))
		}
		fmt.Fprintln(c.hc.Stdout, p)
		return 0
	}
	return c.fail(1, "failed to create file via template '%s': File exists", tmpl)
}

func randomName(n int) string {
	const letters = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	b := make([]byte, n)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = letters[int(b[i])%len(letters)]
	}
	return string(b)
}

// toolRm is rm [-f] [-r] FILE...
func toolRm(c *cmd) int {
	set, ops, err := flags(c.args, "frRv", "", "force", "recursive")
	if err != nil {
		return c.fail(1, "%v", err)
	}
	_, force := set["f"]
	_, r1 := set["r"]
	_, r2 := set["R"]
	code := 0
	for _, op := range ops {
		_, n, err := c.fs().lookup(c.hc.Dir, op, false)
		if err == nil && n.mode.IsDir() && !r1 && !r2 {
			code = c.fail(1, "cannot remove '%s': Is a directory", op)
			continue
		}
		if err == nil {
			err = c.fs().remove(c.hc.Dir, op, true)
		}
		if err != nil && !(force && errors.Is(err, syscall.ENOENT)) {
			code = c.fail(1, "cannot remove '%s': %s", op, errText(err))
		}
	}
	return code
}

// toolMv is mv [-f] FROM TO.
func toolMv(c *cmd) int {
	_, ops, err := flags(c.args, "fTv", "", "force")
	if err != nil {
		return c.fail(1, "%v", err)
	}
	if len(ops) != 2 {
		return c.fail(1, "awsfake's mv takes two operands")
	}
	if err := c.fs().rename(c.hc.Dir, ops[0], ops[1]); err != nil {
		return c.fail(1, "cannot move '%s' to '%s': %s", ops[0], ops[1], errText(err))
	}
	return 0
}

// toolCp is cp FROM TO (files only).
func toolCp(c *cmd) int {
	_, ops, err := flags(c.args, "fp", "")
	if err != nil {
		return c.fail(1, "%v", err)
	}
	if len(ops) != 2 {
		return c.fail(1, "awsfake's cp takes two operands")
	}
	_, src, err := c.fs().lookup(c.hc.Dir, ops[0], true)
	if err == nil && src.mode.IsDir() {
		err = syscall.EISDIR
	}
	if err != nil {
		return c.fail(1, "cannot stat '%s': %s", ops[0], errText(err))
	}
	to := ops[1]
	if _, n, err := c.fs().lookup(c.hc.Dir, to, true); err == nil && n.mode.IsDir() {
		to = to + "/" + path.Base(ops[0])
	}
	if err := c.fs().writeAll(c.hc.Dir, to, src.data, src.mode.Perm(), c.r.umask); err != nil {
		return c.fail(1, "cannot create regular file '%s': %s", to, errText(err))
	}
	return 0
}

// toolLn is ln -s TARGET NAME (symbolic links only).
func toolLn(c *cmd) int {
	set, ops, err := flags(c.args, "sfn", "")
	if err != nil {
		return c.fail(1, "%v", err)
	}
	if _, ok := set["s"]; !ok || len(ops) != 2 {
		return c.fail(1, "awsfake's ln makes only symbolic links: ln -s TARGET NAME")
	}
	if _, ok := set["f"]; ok {
		_ = c.fs().remove(c.hc.Dir, ops[1], false)
	}
	if _, err := c.fs().create(c.hc.Dir, ops[1], &vnode{mode: fs.ModeSymlink | 0o777, link: ops[0], uid: rootUID}); err != nil {
		return c.fail(1, "failed to create symbolic link '%s': %s", ops[1], errText(err))
	}
	return 0
}

func toolTouch(c *cmd) int {
	code := 0
	for _, op := range c.args {
		if strings.HasPrefix(op, "-") {
			continue
		}
		w, err := c.fs().open(c.hc.Dir, op, os.O_WRONLY|os.O_CREATE, 0o666, c.r.umask)
		if err != nil {
			code = c.fail(1, "cannot touch '%s': %s", op, errText(err))
			continue
		}
		_ = w.Close()
	}
	return code
}

// toolChmod is chmod OCTAL FILE...
func toolChmod(c *cmd) int {
	if len(c.args) < 2 {
		return c.fail(1, "missing operand")
	}
	m, ok := parseMode(c.args[0])
	if !ok {
		return c.fail(1, "invalid mode: '%s' (awsfake's chmod takes octal modes)", c.args[0])
	}
	code := 0
	for _, op := range c.args[1:] {
		if err := c.fs().setNode(c.hc.Dir, op, func(n *vnode) { n.mode = n.mode&fs.ModeType | m }); err != nil {
			code = c.fail(1, "cannot access '%s': %s", op, errText(err))
		}
	}
	return code
}

// toolChown is chown UID FILE... (numeric, or root).
func toolChown(c *cmd) int {
	if len(c.args) < 2 {
		return c.fail(1, "missing operand")
	}
	owner, _, _ := strings.Cut(c.args[0], ":")
	uid := uint64(rootUID)
	if owner != "root" {
		var err error
		if uid, err = strconv.ParseUint(owner, 10, 32); err != nil {
			return c.fail(1, "invalid user: '%s'", c.args[0])
		}
	}
	code := 0
	for _, op := range c.args[1:] {
		if err := c.fs().setNode(c.hc.Dir, op, func(n *vnode) { n.uid = uint32(uid) }); err != nil {
			code = c.fail(1, "cannot access '%s': %s", op, errText(err))
		}
	}
	return code
}

// userName is a host uid's name.
func userName(uid uint32) string {
	if uid == rootUID {
		return "root"
	}
	return "u" + strconv.Itoa(int(uid))
}

// unixMode is st_mode: the file type bits and the permissions.
func unixMode(m fs.FileMode) uint32 {
	u := uint32(m.Perm())
	switch {
	case m&fs.ModeSymlink != 0:
		u |= syscall.S_IFLNK
	case m.IsDir():
		u |= syscall.S_IFDIR
	case m&fs.ModeCharDevice != 0:
		u |= syscall.S_IFCHR
	default:
		u |= syscall.S_IFREG
	}
	if m&fs.ModeSticky != 0 {
		u |= syscall.S_ISVTX
	}
	if m&fs.ModeSetuid != 0 {
		u |= syscall.S_ISUID
	}
	if m&fs.ModeSetgid != 0 {
		u |= syscall.S_ISGID
	}
	return u
}

// toolStat is stat [-L] -c FORMAT FILE... with %a %f %u %U %s %F %n.
func toolStat(c *cmd) int {
	set, ops, err := flags(c.args, "L", "c", "format=", "dereference")
	if err != nil {
		return c.fail(1, "%v", err)
	}
	format, ok := set["c"]
	if !ok {
		format, ok = set["--format"]
	}
	if !ok {
		return c.fail(1, "awsfake's stat needs -c FORMAT")
	}
	_, follow := set["L"]
	code := 0
	for _, op := range ops {
		_, n, err := c.fs().lookup(c.hc.Dir, op, follow)
		if err != nil {
			code = c.fail(1, "cannot statx '%s': %s", op, errText(err))
			continue
		}
		var b strings.Builder
		for i := 0; i < len(format); i++ {
			if format[i] != '%' || i+1 == len(format) {
				b.WriteByte(format[i])
				continue
			}
			i++
			switch format[i] {
			case 'a':
				perm := uint32(n.mode.Perm())
				if n.mode&fs.ModeSticky != 0 {
					perm |= 0o1000
				}
				b.WriteString(strconv.FormatUint(uint64(perm), 8))
			case 'u':
				b.WriteString(strconv.Itoa(int(n.uid)))
			case 'f':
				b.WriteString(strconv.FormatUint(uint64(unixMode(n.mode)), 16))
			case 'U':
				b.WriteString(userName(n.uid))
			case 's':
				b.WriteString(strconv.Itoa(len(n.data)))
			case 'n':
				b.WriteString(op)
			case 'F':
				switch {
				case n.mode.IsDir():
					b.WriteString("directory")
				case n.mode&fs.ModeSymlink != 0:
					b.WriteString("symbolic link")
				default:
					b.WriteString("regular file")
				}
			case '%':
				b.WriteByte('%')
			default:
				b.WriteByte('?')
			}
		}
		fmt.Fprintln(c.hc.Stdout, b.String())
	}
	return code
}

func toolID(c *cmd) int {
	switch {
	case len(c.args) == 1 && c.args[0] == "-u":
		fmt.Fprintln(c.hc.Stdout, rootUID)
	case len(c.args) == 1 && c.args[0] == "-un":
		fmt.Fprintln(c.hc.Stdout, "root")
	case len(c.args) == 0:
		fmt.Fprintln(c.hc.Stdout, "uid=0(root) gid=0(root) groups=0(root)")
	default:
		return c.fail(1, "awsfake's id takes -u, -un or nothing")
	}
	return 0
}

func toolUname(c *cmd) int {
	switch {
	case len(c.args) == 0 || c.args[0] == "-s":
		fmt.Fprintln(c.hc.Stdout, "Linux")
	case c.args[0] == "-m":
		fmt.Fprintln(c.hc.Stdout, "x86_64")
	default:
		fmt.Fprintln(c.hc.Stdout, "Linux awsfake 6.1.0-awsfake #1 SMP x86_64 GNU/Linux")
	}
	return 0
}

// toolTee is tee [-a] FILE...
func toolTee(c *cmd) int {
	set, ops, err := flags(c.args, "a", "")
	if err != nil {
		return c.fail(1, "%v", err)
	}
	flag := os.O_WRONLY | os.O_CREATE | os.O_TRUNC
	if _, ok := set["a"]; ok {
		flag = os.O_WRONLY | os.O_CREATE | os.O_APPEND
	}
	ws := []io.Writer{c.hc.Stdout}
	for _, op := range ops {
		w, err := c.fs().open(c.hc.Dir, op, flag, 0o666, c.r.umask)
		if err != nil {
			return c.fail(1, "%s: %s", op, errText(err))
		}
		defer w.Close()
		ws = append(ws, w)
	}
	_, _ = io.Copy(io.MultiWriter(ws...), c.stdin())
	return 0
}

// toolLs is ls [-l] [-d] [-a] PATH...: names, or "MODE 1 USER USER SIZE
// DATE NAME" lines.
func toolLs(c *cmd) int {
	set, ops, err := flags(c.args, "ldaA1", "")
	if err != nil {
		return c.fail(2, "%v", err)
	}
	if len(ops) == 0 {
		ops = []string{"."}
	}
	_, long := set["l"]
	_, dirOnly := set["d"]
	code := 0
	line := func(name string, n *vnode) {
		if !long {
			fmt.Fprintln(c.hc.Stdout, name)
			return
		}
		fmt.Fprintf(c.hc.Stdout, "%s 1 %s %s %d %s %s\n", fileInfo{name, n}.Mode(), userName(n.uid), userName(n.uid), len(n.data), n.mtime.Format("Jan _2 15:04"), name)
	}
	for _, op := range ops {
		_, n, err := c.fs().lookup(c.hc.Dir, op, !long)
		if err != nil {
			code = c.fail(2, "cannot access '%s': %s", op, errText(err))
			continue
		}
		if !n.mode.IsDir() || dirOnly {
			line(op, n)
			continue
		}
		ents, err := c.fs().readDir(c.hc.Dir, op)
		if err != nil {
			code = c.fail(2, "cannot open directory '%s': %s", op, errText(err))
			continue
		}
		for _, e := range ents {
			if fi, err := e.Info(); err == nil {
				line(e.Name(), fi.(fileInfo).n)
			}
		}
	}
	return code
}

func toolReadlink(c *cmd) int {
	set, ops, err := flags(c.args, "fen", "")
	if err != nil || len(ops) != 1 {
		return c.fail(1, "awsfake's readlink takes [-f] and one operand")
	}
	if _, canon := set["f"]; canon {
		p, _, err := c.fs().lookup(c.hc.Dir, ops[0], true)
		if err != nil {
			return 1
		}
		fmt.Fprintln(c.hc.Stdout, p)
		return 0
	}
	_, n, err := c.fs().lookup(c.hc.Dir, ops[0], false)
	if err != nil || n.mode&fs.ModeSymlink == 0 {
		return 1
	}
	fmt.Fprintln(c.hc.Stdout, n.link)
	return 0
}

// toolEnv is env [NAME=VALUE...] COMMAND...
func toolEnv(c *cmd) int {
	args := c.args
	for len(args) > 0 && strings.Contains(args[0], "=") {
		args = args[1:]
	}
	if len(args) == 0 {
		return c.fail(1, "awsfake's env only runs a command")
	}
	return c.r.sub(c, `"$@"`, args)
}
