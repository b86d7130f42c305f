// Command diffy-server is an HTTP JSON API over one Diffy: baselines,
// collections, analyses and diffs run as jobs (queued, a few at a time,
// their records kept in the store), followed by polling or server-sent
// events, cancelled keeping what they collected, and resumed after a
// restart; the store's keys, runs and reports are read as JSON, HTML or
// CSV. With --watch-inventory it baselines the Auto Scaling groups that
// appear, and analyzes a known group against its baseline when a new
// instance joins it.
//
//	diffy-server [--listen 127.0.0.1:8470|unix:PATH] [--token-file FILE] [--tls-cert F --tls-key F]
//	             [--target asg --collector ssm --store DIR|s3://B/P ...] [--jobs N]
//	             [--watch-inventory [--watch-interval 5m]] [--resume]
//
// It can start commands on a whole fleet, so it is locked by default: it
// listens on 127.0.0.1 only (another address needs TLS, or
// --insecure-plaintext), and every request needs "Authorization: Bearer
// TOKEN", the token of --token-file (made at first start, mode 0600) or of
// the DIFFY_SERVER_TOKEN variable. A wrong or missing token is answered
// 401 and nothing runs. A loopback port is open to every user of the
// machine, who can listen on it while the server is not (and so receive
// the token of the clients that connect): --listen unix:PATH serves on a
// Unix socket only this user can reach instead.
//
// SIGTERM (or Ctrl-C) stops it gracefully: it stops accepting, lets the
// running collections reach a batch boundary (at most --shutdown-grace;
// then they are cancelled, keeping what they collected), stores them as
// interrupted and exits; `diffy-server --resume` goes on with them. The
// API is described by GET /v1/openapi.json (docs/diffy-server-openapi.json).
package main

import (
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/diffy-dfir/diffy"
	"github.com/diffy-dfir/diffy/collect"
	"github.com/diffy-dfir/diffy/examples/internal/cli"
	"github.com/diffy-dfir/diffy/inventory/ec2inventory"
	"github.com/diffy-dfir/diffy/payload"
	"github.com/diffy-dfir/diffy/persist"
	"github.com/diffy-dfir/diffy/target"
)

// DefaultListen is the address the server listens on by default: this
// machine only.
const DefaultListen = "127.0.0.1:8470"

// TokenEnv is the variable that gives the token instead of --token-file.
const TokenEnv = "DIFFY_SERVER_TOKEN"

// defaultShutdownGrace is how long a shutdown waits for the running
// collections to reach a batch boundary.
const defaultShutdownGrace = 5 * time.Minute

// config holds the command line.
type config struct {
	listen, tokenFile, tlsCert, tlsKey        string
	target, collector, store, analyzer        string
	osqueryURL, osquerySHA256                 string
	aws                                       cli.AWS
	batchSize, jobs, maxQueued, retentionRuns int
	maxStreams, jobRetention, maxConns        int
	watchInterval, shutdownGrace, jobMaxAge   time.Duration
	watch, resume, insecurePlaintext, verbose bool
	help, version                             bool
	set                                       map[string]bool
}

func main() {
	ctx, stop := cli.NotifyContext()
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr, nil)
	stop()
	os.Exit(code)
}

// parseArgs parses the command line; errors are usage errors.
func parseArgs(args []string) (*config, error) {
	c := &config{}
	fs := flag.NewFlagSet("diffy-server", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&c.listen, "listen", DefaultListen, "address to listen on")
	fs.StringVar(&c.tokenFile, "token-file", "", "bearer token file")
	fs.StringVar(&c.tlsCert, "tls-cert", "", "TLS certificate (PEM)")
	fs.StringVar(&c.tlsKey, "tls-key", "", "TLS key (PEM)")
	fs.StringVar(&c.target, "target", "local", "local|asg|tag|ids")
	fs.StringVar(&c.collector, "collector", "local", "local|ssm")
	fs.StringVar(&c.store, "store", "", "DIR|s3://bucket/prefix")
	fs.StringVar(&c.analyzer, "analyzer", "baseline", "baseline|cluster")
	c.aws.Register(fs)
	fs.StringVar(&c.osqueryURL, "osquery-url", "", "osquery executable for hosts without one")
	fs.StringVar(&c.osquerySHA256, "osquery-sha256", "", "its SHA-256 digest")
	fs.IntVar(&c.batchSize, "batch-size", 0, "instances per batch")
	fs.IntVar(&c.jobs, "jobs", DefaultJobs, "jobs run at once")
	fs.IntVar(&c.maxQueued, "max-queued", DefaultMaxQueued, "jobs that may wait")
	fs.IntVar(&c.retentionRuns, "retention", diffy.DefaultRetention.Runs, "runs kept per key and kind (0: all)")
	fs.IntVar(&c.maxStreams, "max-streams", DefaultMaxStreams, "event streams open at once")
	fs.IntVar(&c.maxConns, "max-conns", 0, "connections open at once (default: the file limit less a reserve)")
	fs.IntVar(&c.jobRetention, "job-retention", DefaultJobRetention.Count, "finished job records kept (0: no limit)")
	fs.DurationVar(&c.jobMaxAge, "job-max-age", DefaultJobRetention.MaxAge, "finished job records older than this are dropped (0: no limit)")
	fs.DurationVar(&c.watchInterval, "watch-interval", 5*time.Minute, "inventory poll interval")
	fs.DurationVar(&c.shutdownGrace, "shutdown-grace", defaultShutdownGrace, "wait for a batch boundary at most this long")
	fs.BoolVar(&c.watch, "watch-inventory", false, "baseline new Auto Scaling groups")
	fs.BoolVar(&c.resume, "resume", false, "resume interrupted jobs at start")
	fs.BoolVar(&c.insecurePlaintext, "insecure-plaintext", false, "allow a non-loopback address without TLS")
	fs.BoolVar(&c.verbose, "v", false, "verbose")
	fs.BoolVar(&c.version, "version", false, "print the version")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			c.help = true
			return c, nil
		}
		return nil, cli.Usagef("%v (see diffy-server -h)", err)
	}
	if fs.NArg() > 0 {
		return nil, cli.Usagef("diffy-server takes no arguments, got %q (see diffy-server -h)", fs.Args())
	}
	c.set = map[string]bool{}
	fs.Visit(func(f *flag.Flag) { c.set[f.Name] = true })
	return c, check(c)
}

// check applies the CLI's rules to the flags.
func check(c *config) error {
	for _, f := range []struct {
		flag, value string
		known       []string
	}{
		{"target", c.target, []string{"local", "asg", "tag", "ids"}},
		{"collector", c.collector, []string{"local", "ssm"}},
		{"analyzer", c.analyzer, []string{"baseline", "cluster"}},
	} {
		if !slices.Contains(f.known, f.value) {
			return cli.Usagef("unknown --%s %q: use %s", f.flag, f.value, strings.Join(f.known, ", "))
		}
	}
	switch {
	case c.set["batch-size"] && c.batchSize < 1:
		return cli.Usagef("--batch-size %d: must be at least 1", c.batchSize)
	case c.jobs < 1:
		return cli.Usagef("--jobs %d: must be at least 1", c.jobs)
	case c.maxQueued < 1:
		return cli.Usagef("--max-queued %d: must be at least 1", c.maxQueued)
	case c.retentionRuns < 0:
		return cli.Usagef("--retention %d: must not be negative", c.retentionRuns)
	case c.maxStreams < 1:
		return cli.Usagef("--max-streams %d: must be at least 1", c.maxStreams)
	case c.set["max-conns"] && c.maxConns < 1:
		return cli.Usagef("--max-conns %d: must be at least 1", c.maxConns)
	case c.jobRetention < 0:
		return cli.Usagef("--job-retention %d: must not be negative", c.jobRetention)
	case c.jobMaxAge < 0:
		return cli.Usagef("--job-max-age %v: must not be negative", c.jobMaxAge)
	case c.watchInterval < time.Second:
		return cli.Usagef("--watch-interval %v: must be at least 1s", c.watchInterval)
	case c.shutdownGrace < 0:
		return cli.Usagef("--shutdown-grace %v: must not be negative", c.shutdownGrace)
	case (c.tlsCert == "") != (c.tlsKey == ""):
		return cli.Usagef("--tls-cert and --tls-key go together")
	case c.collector == "ssm" && c.target == "local":
		return cli.Usagef("--collector ssm runs commands on EC2 instances: give an EC2 target (--target asg, tag or ids), not --target local")
	case (c.osqueryURL == "") != (c.osquerySHA256 == ""):
		return cli.Usagef("--osquery-url and --osquery-sha256 go together: the executable is run only if its digest matches")
	case c.osqueryURL != "" && c.collector != "ssm":
		return cli.Usagef("--osquery-url applies to --collector ssm (the local collector runs osqueryi if installed, else its own probes)")
	case c.aws.OutputBucket != "" && c.collector != "ssm":
		return cli.Usagef("--output-bucket applies to --collector ssm")
	case c.watch && c.target != "asg":
		return cli.Usagef("--watch-inventory baselines Auto Scaling groups as they appear: it needs --target asg")
	case storeUnderOutput(c.store, c.aws.OutputBucket):
		return cli.Usagef("--store %s lies under --output-bucket %s, which every instance may write to (SSM writes each one's output there): a host could plant job records that the server runs at start, and baselines it compares the group with; give the store another bucket, or a prefix outside the output's", c.store, c.aws.OutputBucket)
	}
	if path, ok := unixSocket(c.listen); ok {
		if path == "" {
			return cli.Usagef("--listen unix: names no socket (want unix:PATH, such as unix:$XDG_RUNTIME_DIR/diffy-server.sock)")
		}
		return nil
	}
	host, _, err := net.SplitHostPort(c.listen)
	if err != nil {
		return cli.Usagef("--listen %q: %v (want HOST:PORT, such as %s, or unix:PATH)", c.listen, err, DefaultListen)
	}
	if host == "localhost" {
		// net.Listen binds one of the name's addresses: the other (::1
		// or 127.0.0.1) stays free for any local user to listen on and
		// take the token of clients that reach it by the name.
		return cli.Usagef("--listen %s: localhost names two addresses (127.0.0.1 and ::1) and the server would listen on one, leaving the other to any user of this machine: give the address (127.0.0.1 or [::1]), or unix:PATH", c.listen)
	}
	if !loopback(host) && c.tlsCert == "" && !c.insecurePlaintext {
		return cli.Usagef("--listen %s is reachable from other machines: give --tls-cert and --tls-key (the bearer token must not cross a network in clear), or --insecure-plaintext behind a TLS proxy", c.listen)
	}
	return nil
}

// storeUnderOutput reports whether the store s3://B/P lies under the SSM
// output location B/Q (--output-bucket): the instances' grant,
// s3:PutObject on B/Q/* (or all of B for no Q), covers the store's
// documents when P is Q or below it. The CLI only warns (build does too,
// for a store beside the output in one bucket): the server, unlike it,
// runs the jobs it finds queued in the store without anyone asking.
func storeUnderOutput(store, output string) bool {
	rest, ok := strings.CutPrefix(store, "s3://")
	if !ok || output == "" {
		return false
	}
	sb, sp, _ := strings.Cut(rest, "/")
	ob, op, _ := strings.Cut(strings.TrimPrefix(output, "s3://"), "/")
	sp, op = strings.Trim(sp, "/"), strings.Trim(op, "/")
	return sb != "" && sb == ob && (op == "" || sp == op || strings.HasPrefix(sp, op+"/"))
}

// loopback reports whether host is an address of this machine only.
func loopback(host string) bool {
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// run is the whole program. ready, when not nil, gets the address the
// server listens on once it serves (for tests).
func run(ctx context.Context, args []string, stdout, stderr io.Writer, ready func(addr string)) (code int) {
	defer func() {
		if v := recover(); v != nil {
			code = cli.Exit(stderr, "diffy-server", cli.InternalError("diffy-server", v))
		}
	}()
	c, err := parseArgs(args)
	if err != nil {
		return cli.Exit(stderr, "diffy-server", err)
	}
	if c.help {
		fmt.Fprint(stdout, usageText)
		return 0
	}
	if c.version {
		fmt.Fprintln(stdout, cli.Version("diffy-server"))
		return 0
	}
	return cli.Exit(stderr, "diffy-server", serve(ctx, c, stderr, ready))
}

// serve builds the server of c and serves until ctx ends.
func serve(ctx context.Context, c *config, stderr io.Writer, ready func(string)) error {
	level := slog.LevelInfo
	if c.verbose {
		level = slog.LevelDebug
	}
	logger := cli.NewLogger(stderr, level)
	c.aws.Logger = logger
	d, st, err := build(ctx, c, logger)
	if err != nil {
		return err
	}
	token, err := serverToken(c, stderr)
	if err != nil {
		return err
	}
	ln, err := listen(c)
	if err != nil {
		return fmt.Errorf("--listen %s: %w", c.listen, err)
	}
	maxConns, err := maxConnsOf(c, logger)
	if err != nil {
		ln.Close()
		return err
	}
	// Under TLS, so that the handshake of a connection is within its
	// first request's deadline and the cap counts it.
	lim := newConnLimiter(ln, maxConns, logger)
	ln = lim
	scheme := "http"
	if c.tlsCert != "" {
		cert, err := tls.LoadX509KeyPair(c.tlsCert, c.tlsKey)
		if err != nil {
			ln.Close()
			return fmt.Errorf("--tls-cert %s, --tls-key %s: %w", c.tlsCert, c.tlsKey, err)
		}
		ln = tls.NewListener(ln, &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12})
		scheme = "https"
	}
	var jobOpts func(context.Context) ([]diffy.Option, error)
	if c.osqueryURL != "" {
		// Checked now (a usage error at start), presigned again for
		// each job.
		if _, err := c.aws.OsqueryFetch(ctx, c.osqueryURL, c.osquerySHA256); err != nil {
			ln.Close()
			return err
		}
		jobOpts = func(ctx context.Context) ([]diffy.Option, error) {
			f, err := c.aws.OsqueryFetch(ctx, c.osqueryURL, c.osquerySHA256)
			if err != nil {
				return nil, err
			}
			return []diffy.Option{diffy.WithPayload(payload.FetchPayload(payload.Osquery{}, f))}, nil
		}
	}
	srv, err := NewServer(ctx, Config{Diffy: d, Store: st, Token: token, Jobs: c.jobs, MaxQueued: c.maxQueued, JobOptions: jobOpts,
		MaxStreams: c.maxStreams, JobRetention: &JobRetention{Count: c.jobRetention, MaxAge: c.jobMaxAge}, Logger: logger})
	if err != nil {
		ln.Close()
		return err
	}
	hs := newHTTPServer(srv.Handler(), logger)
	lim.hook(hs)
	served := make(chan error, 1)
	go func() { served <- hs.Serve(ln) }()
	srv.Start()
	if c.resume {
		if ids := srv.ResumeInterrupted(); len(ids) > 0 {
			logger.Info("resumed interrupted jobs", "jobs", strings.Join(ids, ","))
		}
	}
	watchCtx, stopWatch := context.WithCancel(ctx)
	defer stopWatch()
	if c.watch {
		go srv.Watch(watchCtx, c.watchInterval)
	}
	url := scheme + "://" + ln.Addr().String() + "/v1/"
	if path, ok := unixSocket(c.listen); ok {
		url = scheme + "://localhost/v1/ on the socket " + path
	}
	logger.Info("serving", "url", url, "store", storeName(c), "jobs", c.jobs, "max_conns", maxConns)
	if ready != nil {
		ready(ln.Addr().String())
	}
	select {
	case err := <-served:
		return fmt.Errorf("serving: %w", err)
	case <-ctx.Done():
	}
	logger.Info("shutting down: waiting for running collections to reach a batch boundary", "grace", c.shutdownGrace)
	stopWatch()
	grace, cancel := context.WithTimeout(context.Background(), c.shutdownGrace)
	defer cancel()
	httpDone := make(chan error, 1)
	go func() { httpDone <- hs.Shutdown(grace) }()
	jerr := srv.Shutdown(grace)
	if err := <-httpDone; err != nil {
		hs.Close()
	}
	if jerr != nil {
		logger.Warn("shutdown", "err", jerr)
	}
	logger.Info("stopped")
	return nil
}

// maxConnsOf is the cap on open connections: --max-conns, or the least of
// connCap of the file limit and memCap of the memory limit. A --max-conns
// over what the file limit leaves for connections is refused: the server
// would stop accepting anyone (EMFILE) before it reached the cap.
func maxConnsOf(c *config, logger *slog.Logger) (int, error) {
	nofile, ok := fileLimit()
	n, low := connCap(nofile, ok, c.jobs)
	if c.set["max-conns"] {
		if ok && !low && c.maxConns > n {
			return 0, cli.Usagef("--max-conns %d: the file limit (%d) leaves room for %d connections beside what %d jobs and the store open; give at most %d, or raise the limit (ulimit -n)", c.maxConns, nofile, n, c.jobs, n)
		}
		return c.maxConns, nil
	}
	if low {
		logger.Warn(fmt.Sprintf("the file limit %d is low for %d jobs: connections capped at %d, half of it; raise it (ulimit -n) or give --max-conns", nofile, c.jobs, n))
	}
	return min(n, memCap(memoryLimit())), nil
}

// newHTTPServer returns the http.Server of h: every phase of a request
// has a deadline (the event streams set their own per write).
func newHTTPServer(h http.Handler, logger *slog.Logger) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      2 * time.Minute,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    16 << 10,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
}

// build returns the Diffy of the flags and its store.
func build(ctx context.Context, c *config, logger *slog.Logger) (*diffy.Diffy, persist.Store, error) {
	st, err := c.aws.Store(ctx, c.store)
	if err != nil {
		return nil, nil, err
	}
	an, err := cli.NewAnalyzer(c.analyzer)
	if err != nil {
		return nil, nil, err
	}
	var tg target.Target = target.Local{}
	if c.target != "local" {
		if tg, err = c.aws.Target(ctx, c.target); err != nil {
			return nil, nil, fmt.Errorf("--target %s: %w", c.target, err)
		}
	}
	var col collect.Collector = collect.Local{}
	if c.collector == "ssm" {
		if b := c.aws.SameBucket(c.store); b != "" {
			logger.Warn("--store and --output-bucket name the same bucket: the instances that may write their output there may overwrite the store's baselines too", "bucket", b)
		}
		// The collector's comment on every command names the server;
		// each job's own incident names its parts in the store.
		if col, err = c.aws.Collector(ctx, "diffy-server"); err != nil {
			return nil, nil, fmt.Errorf("--collector ssm: %w", err)
		}
	}
	opts := []diffy.Option{
		diffy.WithStore(st), diffy.WithTarget(tg), diffy.WithCollector(col), diffy.WithAnalyzer(an),
		diffy.WithLogger(logger), diffy.WithRetention(diffy.Retention{Runs: c.retentionRuns}),
	}
	if c.set["batch-size"] {
		opts = append(opts, diffy.WithBatchSize(c.batchSize))
	}
	if c.watch {
		cfg, err := c.aws.Config(ctx)
		if err != nil {
			return nil, nil, fmt.Errorf("--watch-inventory: %w", err)
		}
		inv, err := ec2inventory.NewFromConfig(cfg)
		if err != nil {
			return nil, nil, fmt.Errorf("--watch-inventory: %w", err)
		}
		opts = append(opts, diffy.WithInventory(inv))
	}
	d, err := diffy.New(opts...)
	return d, st, err
}

// serverToken returns the token: DIFFY_SERVER_TOKEN's, or the one of
// --token-file (made at first start).
func serverToken(c *config, stderr io.Writer) (string, error) {
	if tok, ok := os.LookupEnv(TokenEnv); ok {
		if c.set["token-file"] {
			return "", cli.Usagef("%s and --token-file both give the token: use one", TokenEnv)
		}
		// The commands the server runs (collect.Local's) inherit its
		// environment: they need not know the token.
		os.Unsetenv(TokenEnv)
		return tok, checkToken(tok, TokenEnv)
	}
	path := c.tokenFile
	if path == "" {
		dir, err := os.UserConfigDir()
		if err != nil {
			return "", fmt.Errorf("no --token-file and no user config folder for one: %w", err)
		}
		path = filepath.Join(dir, "diffy", "server-token")
	}
	tok, created, err := loadToken(path)
	if err != nil {
		return "", err
	}
	if created {
		fmt.Fprintf(stderr, "diffy-server: a new bearer token is in %s (mode 0600); send it as \"Authorization: Bearer $(cat %s)\"\n", path, path)
	}
	return tok, nil
}

// storeName says where the store is, for messages.
func storeName(c *config) string {
	if c.store == "" {
		return persist.DefaultDir()
	}
	return c.store
}

const usageText = `diffy-server serves Diffy's jobs, keys, runs and reports over HTTP.

Usage:
  diffy-server [flags]

Security (locked by default):
  --listen HOST:PORT      address (default 127.0.0.1:8470; another host needs TLS)
  --listen unix:PATH      a Unix socket (0600) instead: only this user can reach it;
                          a loopback port can be taken by any local user while
                          the server is not on it, and get the clients' token
  --token-file FILE       bearer token file, made 0600 at first start
                          (default $XDG_CONFIG_HOME/diffy/server-token);
                          or set DIFFY_SERVER_TOKEN
  --tls-cert F --tls-key F  serve HTTPS
  --insecure-plaintext    allow a non-loopback --listen without TLS (behind a TLS proxy)

What the jobs run on (as in diffy):
  --target local|asg|tag|ids  --collector local|ssm  --store DIR|s3://bucket/prefix
  --analyzer baseline|cluster  --region R  --profile P  --role-arn ARN
  --output-bucket B  --batch-size N  --retention N (runs kept per key and kind, 0: all)
  --osquery-url URL --osquery-sha256 HEX  osquery for hosts without one (s3:// is
                          presigned for each job, valid 1h)

Jobs:
  --jobs N                jobs run at once (default 2); --max-queued N (default 1000)
  --resume                resume the jobs a stop interrupted
  --job-retention N       finished job records kept (default 1000; 0: no limit)
  --job-max-age D         finished job records older than D dropped (default 720h; 0: no limit)
  --max-streams N         event streams open at once (default 256; 503 beyond)
  --max-conns N           connections open at once (default: the file limit less
                          64 and 64 per job, and at most a quarter of the memory
                          at 18 KiB each); at the cap the oldest connection
                          that has not sent the token is closed to make room
  --shutdown-grace D      on SIGTERM, wait this long for a batch boundary (default 5m)
  --watch-inventory       queue a baseline of every new Auto Scaling group, and an
                          analysis of a known one when a new instance joins it
                          (--target asg)
  --watch-interval D      how often the inventory is read (default 5m)
  -v                      debug log;  --version

API: GET /v1/openapi.json (docs/diffy-server-openapi.json); examples in README.md.
`
