package main

import (
	"container/list"
	"net"
	"net/http"
	"net/netip"
	"sync"
	"time"
)

// Failed logins are limited per client address with a token bucket: an
// address may fail loginBurst times in a row, then once per loginRefill;
// while its bucket is empty every request from it without the token is
// answered 429. Guessing a 256-bit token is hopeless anyway; the limit
// bounds the work and the log lines a flood of wrong tokens costs, and
// makes a misconfigured client visible (429 with Retry-After) instead of a
// loop of 401s. A request with the token is always served: an address is
// not a client (every local user connects from 127.0.0.1, every client
// behind a proxy from the proxy), and refusing the token would let anyone
// sharing the address lock its owner out with one wrong request per
// loginRefill.
//
// loginBurst allows a client that retries with a stale token a few times
// (a restart, an edited file) to get through once the right one is given
// without waiting; loginRefill makes 10 guesses a minute the sustained
// rate of one address.
const (
	loginBurst  = 10
	loginRefill = 6 * time.Second
)

// maxLoginClients bounds the addresses the limiter remembers: about 150
// bytes each, so at most ~600 KiB. When full, the buckets that failed
// longest ago are dropped while they have refilled (as good as
// forgotten), and then, if it is still full, the one that failed longest
// ago: the buckets are kept in the order of their last failure, so that
// making room costs the same whatever the number remembered (a scan of
// all of them cost 0.3-0.5 ms a wrong token once full, under the mutex
// every refused request takes: BenchmarkLoginLimitFull).
const maxLoginClients = 4096

// loginLimit is the failed-login limiter of a Server. It is safe for
// concurrent use.
type loginLimit struct {
	now func() time.Time

	mu      sync.Mutex
	clients map[netip.Prefix]*list.Element // of *bucket, in order
	order   list.List                      // *bucket, oldest failure first
}

// bucket is one address's failures: tokens left (each failure takes one)
// as of at, refilled one per loginRefill since.
type bucket struct {
	client netip.Prefix
	tokens float64
	at     time.Time
}

func newLoginLimit(now func() time.Time) *loginLimit {
	if now == nil {
		now = time.Now
	}
	return &loginLimit{now: now, clients: map[netip.Prefix]*list.Element{}}
}

// clientOf is the address a request is limited by: its IPv4 address, or
// the /64 of its IPv6 one (one host is given a whole /64); every loopback
// address (127.0.0.0/8, ::1) is one client, loopbackClient: any local
// user may send from any of the 16 million addresses of 127.0.0.0/8 and
// would otherwise have a bucket for each. A proxy in
// front (--insecure-plaintext behind TLS) puts every client behind its
// own address; headers such as X-Forwarded-For are not trusted, as any
// client can send them. The clients of a Unix socket have no address and
// share one bucket (the zero Prefix), rightly: the socket is 0600 in a
// folder of this user's (listenUnix), so they are all this user, or root.
func clientOf(r *http.Request) netip.Prefix {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return netip.Prefix{}
	}
	a = a.Unmap()
	if a.IsLoopback() {
		return loopbackClient
	}
	bits := 32
	if a.Is6() {
		bits = 64
	}
	p, _ := a.Prefix(bits)
	return p
}

// loopbackClient is the one client of every loopback address.
var loopbackClient = netip.MustParsePrefix("127.0.0.0/8")

// clientName names client in messages.
func clientName(client netip.Prefix) string {
	if !client.IsValid() {
		return "the Unix socket"
	}
	if client == loopbackClient {
		return "this machine (loopback)"
	}
	return client.String()
}

// level returns b's tokens at now.
func (b *bucket) level(now time.Time) float64 {
	return min(loginBurst, b.tokens+float64(now.Sub(b.at))/float64(loginRefill))
}

// blocked reports whether client has no failure left, and if so how long
// until it has one.
func (l *loginLimit) blocked(client netip.Prefix) (time.Duration, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	e, ok := l.clients[client]
	if !ok {
		return 0, false
	}
	lv := e.Value.(*bucket).level(l.now())
	if lv >= 1 {
		return 0, false
	}
	return time.Duration((1 - lv) * float64(loginRefill)), true
}

// failed takes a token from client's bucket.
func (l *loginLimit) failed(client netip.Prefix) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	e, ok := l.clients[client]
	if ok {
		l.order.MoveToBack(e)
	} else {
		if len(l.clients) >= maxLoginClients {
			l.evictLocked(now)
		}
		e = l.order.PushBack(&bucket{client: client, tokens: loginBurst})
		l.clients[client] = e
	}
	b := e.Value.(*bucket)
	b.tokens, b.at = max(0, b.level(now)-1), now
}

// evictLocked makes room for one client: from the one that failed
// longest ago, the refilled buckets go, and then, if there is still no
// room, the one that failed longest ago.
func (l *loginLimit) evictLocked(now time.Time) {
	for e := l.order.Front(); e != nil && e.Value.(*bucket).level(now) >= loginBurst; e = l.order.Front() {
		l.dropLocked(e)
	}
	if len(l.clients) >= maxLoginClients {
		l.dropLocked(l.order.Front())
	}
}

// dropLocked forgets the bucket of e.
func (l *loginLimit) dropLocked(e *list.Element) {
	delete(l.clients, e.Value.(*bucket).client)
	l.order.Remove(e)
}

// size is how many addresses the limiter remembers.
func (l *loginLimit) size() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.clients)
}
