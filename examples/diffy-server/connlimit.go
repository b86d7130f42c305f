package main

import (
	"container/list"
	"context"
	"fmt"
	"log/slog"
	"math"
	"net"
	"net/http"
	"runtime/debug"
	"sync"
	"time"
)

// Connections are capped, and the cap is spent on the clients with the
// token first.
//
// Every open connection costs a file descriptor and about 12 KiB (its
// goroutine and net/http's buffers) whether or not it ever sends the
// token, and a connection that has sent part of a request cannot be told
// from the owner's before its headers are read: a local user (or anyone
// who can reach the port) holding connections half open would otherwise
// use up the process's file limit, after which the server accepts no one
// (Accept fails with EMFILE), the owner included. So:
//
//   - at most maxConns connections are open at once (connCap: the file
//     limit less a reserve for what the jobs and the store open; and
//     memCap: a quarter of the memory the process may use);
//   - a connection that has not completed its first request's headers
//     within firstRequestTimeout of being accepted is closed (the later
//     requests of a connection have net/http's ReadHeaderTimeout, from
//     their first byte);
//   - a request without the token is answered on a connection that is
//     closed after the answer (no keep-alive for a refused client);
//   - when a connection arrives at the cap, the oldest connection that
//     has not carried the token is closed to make room; when every
//     connection has carried it, the oldest of them that is idle between
//     requests (its client redials); when none is, the newcomer is closed.
//
// So a client with the token gets in while the others hold the cap, as
// long as it sends its request before maxConns newer connections arrive
// (at 10,000 connections a second and a cap of 19,800, two seconds; its
// headers take a round trip).
type connLimiter struct {
	net.Listener
	max          int
	firstRequest time.Duration
	// afterFunc runs f after d unless the returned stop is called first
	// (time.AfterFunc's; tests give their own).
	afterFunc func(d time.Duration, f func()) (stop func() bool)
	log       *slog.Logger

	mu      sync.Mutex
	fresh   list.List // *limitedConn that have not carried the token, oldest first
	trusted list.List // *limitedConn that have
	open    int
	stats   connStats
}

// connStats counts what a connLimiter did.
type connStats struct {
	// Peak is the most connections open at once.
	Peak int
	// Evicted counts the connections closed to make room (without the
	// token, then idle ones with it); Refused the newcomers closed
	// because every connection was serving the token; Late those closed
	// without a first request in firstRequestTimeout.
	Evicted, Refused, Late int
}

// firstRequestTimeout is how long a new connection has to complete its
// first request's headers (with TLS, the handshake too): a handshake and
// a request take 2 to 3 round trips, so 3 s is 10 round trips of an
// intercontinental 300 ms; a client that has not sent a request by then
// is not going to (net/http's ReadHeaderTimeout, 10 s, applies from then
// on, to each request from its first byte).
const firstRequestTimeout = 3 * time.Second

// The descriptors the file limit must keep for other things than the
// connections served (connCap):
//
//   - connReserveBase: standard input, output and error, the listener,
//     the runtime's poller, the token file and log, and the store
//     documents of the requests being served (a persist.Dir read holds a
//     file and its folder: 24 at once, for 48): 64;
//   - connReservePerJob: what one running job opens at once: the SSM
//     collector's calls in flight (ssmcollect.DefaultBatchConcurrency 16
//     batches and DefaultReadConcurrency 24 output reads: 40
//     connections), the store's write of a document (the document, its
//     temporary file and its folder: 3) and collect.Local's commands
//     (GOMAXPROCS at once, 3 pipes each), rounded up to 64.
const (
	connReserveBase   = 64
	connReservePerJob = 64
)

// connCap is the default cap on open connections for a process whose
// file limit is nofile and that runs jobs jobs at once: nofile less
// connReserveBase and connReservePerJob per job. A limit too low for that
// reserve to leave half of it gives half of it, and the caller warns; a
// limit that cannot be read (ok false) gives defaultMaxConns.
func connCap(nofile uint64, ok bool, jobs int) (n int, low bool) {
	if !ok {
		return defaultMaxConns, false
	}
	reserve := uint64(connReserveBase + connReservePerJob*jobs)
	half := nofile / 2
	if nofile < reserve || nofile-reserve < half {
		return max(1, int(min(half, 1<<30))), true
	}
	return int(min(nofile-reserve, 1<<30)), false
}

// defaultMaxConns is the cap where the file limit cannot be read (not a
// Unix system): 1,024 connections.
const defaultMaxConns = 1024

// A held connection costs up to connMemory: bench/connflood's peak RSS
// was 268-277 MiB for 15,000 connections held and dialled again at once
// (18 KiB each, the memory of those closed counted until the GC frees
// it). The connections may take at most 1/connMemoryShare of the memory
// the process may use: the rest is the jobs' (an analysis of 100,000
// hosts peaks at 767 MiB). The share is a policy, not derived from a
// measure of the jobs: --max-conns overrides it.
const (
	connMemory      = 18 << 10
	connMemoryShare = 4
)

// memCap is the most connections for a process that may use mem bytes
// (ok false: unknown, no bound).
func memCap(mem uint64, ok bool) int {
	if !ok {
		return 1 << 30
	}
	return int(min(max(1, mem/connMemoryShare/connMemory), 1<<30))
}

// memoryLimit returns the memory this process may use: the least of the
// machine's, its cgroup's limit (systemMemory) and GOMEMLIMIT, and
// whether any is known.
func memoryLimit() (uint64, bool) {
	mem, ok := systemMemory()
	if gl := debug.SetMemoryLimit(-1); gl > 0 && gl < math.MaxInt64 && (!ok || uint64(gl) < mem) {
		mem, ok = uint64(gl), true
	}
	return mem, ok
}

// limitedConn is a connection the limiter counts.
type limitedConn struct {
	net.Conn
	l *connLimiter

	// Guarded by l.mu.
	elem              *list.Element
	trusted, gone     bool
	requested, active bool // a request's headers arrived; one is being served
	stop              func() bool
}

// newConnLimiter caps the connections of ln at max (see connLimiter).
func newConnLimiter(ln net.Listener, max int, log *slog.Logger) *connLimiter {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &connLimiter{Listener: ln, max: max, firstRequest: firstRequestTimeout, log: log,
		afterFunc: func(d time.Duration, f func()) func() bool { return time.AfterFunc(d, f).Stop }}
}

// Accept returns the next connection, making room for it at the cap.
func (l *connLimiter) Accept() (net.Conn, error) {
	for {
		nc, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		c := &limitedConn{Conn: nc, l: l}
		l.mu.Lock()
		var victim *limitedConn
		if l.open >= l.max {
			if victim = l.victimLocked(); victim == nil {
				l.stats.Refused++
				n := l.stats.Refused
				l.mu.Unlock()
				nc.Close()
				l.warn(n, "refused")
				continue
			}
			l.forgetLocked(victim)
			l.stats.Evicted++
		}
		c.elem = l.fresh.PushBack(c)
		l.open++
		l.stats.Peak = max(l.stats.Peak, l.open)
		c.stop = l.afterFunc(l.firstRequest, c.firstRequestDue)
		n := l.stats.Evicted
		l.mu.Unlock()
		if victim != nil {
			victim.Conn.Close()
			l.warn(n, "evicted")
		}
		return c, nil
	}
}

// warn logs the n-th eviction or refusal when n is a power of ten: a
// flood is seen in the log, in a few lines.
func (l *connLimiter) warn(n int, what string) {
	for p := 1; p <= n; p *= 10 {
		if p == n {
			l.log.Warn(fmt.Sprintf("connections at the cap (--max-conns %d): %d %s so far", l.max, n, what),
				"why", "connections without the bearer token are closed, oldest first, to make room")
			return
		}
	}
}

// victimLocked is the connection to close for a newcomer: the oldest that
// has not carried the token, else the oldest idle one that has, else nil.
func (l *connLimiter) victimLocked() *limitedConn {
	if e := l.fresh.Front(); e != nil {
		return e.Value.(*limitedConn)
	}
	for e := l.trusted.Front(); e != nil; e = e.Next() {
		if c := e.Value.(*limitedConn); !c.active {
			return c
		}
	}
	return nil
}

// forgetLocked stops counting c.
func (l *connLimiter) forgetLocked(c *limitedConn) {
	if c.gone {
		return
	}
	c.gone = true
	if c.trusted {
		l.trusted.Remove(c.elem)
	} else {
		l.fresh.Remove(c.elem)
	}
	l.open--
	if c.stop != nil {
		c.stop()
	}
}

// Close closes the connection and stops counting it.
func (c *limitedConn) Close() error {
	c.l.mu.Lock()
	c.l.forgetLocked(c)
	c.l.mu.Unlock()
	return c.Conn.Close()
}

// firstRequestDue closes c if no request's headers arrived on it.
func (c *limitedConn) firstRequestDue() {
	c.l.mu.Lock()
	late := !c.gone && !c.requested
	if late {
		c.l.stats.Late++
	}
	c.l.mu.Unlock()
	if late {
		c.Close()
	}
}

// hook makes hs tell the limiter the state of its connections, and put
// each connection in its requests' contexts (see trust).
func (l *connLimiter) hook(hs *http.Server) {
	hs.ConnState = l.connState
	hs.ConnContext = func(ctx context.Context, nc net.Conn) context.Context {
		if c := limitedOf(nc); c != nil {
			return context.WithValue(ctx, connKey{}, c)
		}
		return ctx
	}
}

// connKey is the context key of a request's *limitedConn.
type connKey struct{}

// limitedOf returns the *limitedConn under nc (a *tls.Conn's included),
// or nil.
func limitedOf(nc net.Conn) *limitedConn {
	for {
		switch c := nc.(type) {
		case *limitedConn:
			return c
		case interface{ NetConn() net.Conn }:
			nc = c.NetConn()
		default:
			return nil
		}
	}
}

// connState follows net/http's state of each connection.
func (l *connLimiter) connState(nc net.Conn, st http.ConnState) {
	c := limitedOf(nc)
	if c == nil {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	switch st {
	case http.StateActive:
		if !c.requested && c.stop != nil {
			c.stop()
		}
		c.requested, c.active = true, true
	case http.StateIdle:
		c.active = false
	}
}

// trust marks the connection of ctx as one that carried the token: it is
// closed for a newcomer only when idle and no connection without the
// token is left to close.
func trust(ctx context.Context) {
	c, ok := ctx.Value(connKey{}).(*limitedConn)
	if !ok {
		return
	}
	l := c.l
	l.mu.Lock()
	defer l.mu.Unlock()
	if c.gone || c.trusted {
		return
	}
	l.fresh.Remove(c.elem)
	c.trusted = true
	c.elem = l.trusted.PushBack(c)
}

// counts returns how many connections are open and the limiter's counts.
func (l *connLimiter) counts() (int, connStats) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.open, l.stats
}
