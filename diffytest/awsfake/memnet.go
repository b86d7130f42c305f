package awsfake

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"syscall"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
)

// The in-memory network (WithInMemory): each endpoint is an
// httptest.Server on a memListener instead of a loopback socket, and the
// HTTP client of Config dials it through net.Pipe. Requests are real
// HTTP/1.1 over a real http.Transport and http.Server; only the socket is
// gone. A goroutine waiting on a pipe is durably blocked in the sense of
// testing/synctest, where one waiting on a socket is not, so a fake on the
// in-memory network can run inside a synctest bubble and every wait of a
// run (poll intervals, the SDK's retry back-off, RunTime, injected
// latency) passes on the bubble's clock.

// memListener is a net.Listener whose connections come from dial.
type memListener struct {
	addr   memAddr
	conns  chan net.Conn
	closed chan struct{}
	once   sync.Once
}

func newMemListener(host string) *memListener {
	return &memListener{addr: memAddr(host + ":80"), conns: make(chan net.Conn), closed: make(chan struct{})}
}

// Accept waits for the next dial.
func (l *memListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.closed:
		return nil, net.ErrClosed
	}
}

// Close stops Accept; later dials are refused.
func (l *memListener) Close() error {
	l.once.Do(func() { close(l.closed) })
	return nil
}

// Addr is the listener's "host:80".
func (l *memListener) Addr() net.Addr { return l.addr }

// dial connects a new pipe to the listener.
func (l *memListener) dial(ctx context.Context) (net.Conn, error) {
	client, server := newMemPipe()
	select {
	case l.conns <- server:
		return client, nil
	case <-l.closed:
	case <-ctx.Done():
	}
	client.Close()
	server.Close()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return nil, &net.OpError{Op: "dial", Net: "tcp", Addr: l.addr, Err: syscall.ECONNREFUSED}
}

// memAddr is the address of an in-memory endpoint.
type memAddr string

// Network is "tcp", which the endpoint stands for.
func (a memAddr) Network() string { return "tcp" }

// String is "host:80".
func (a memAddr) String() string { return string(a) }

// memConn is one end of a pipe. SetLinger(0), as resetConn calls it
// before closing, makes the close a reset: the peer's reads fail with
// ECONNRESET, as on a socket, instead of ending with io.EOF.
type memConn struct {
	net.Conn
	pair *memPair
	side int // 0 or 1; the peer is 1-side
}

// memPair is what the two ends of a pipe share.
type memPair struct {
	mu    sync.Mutex
	reset [2]bool // reset[i]: end i closes as a reset
}

func newMemPipe() (client, server *memConn) {
	a, b := net.Pipe()
	p := &memPair{}
	return &memConn{Conn: a, pair: p, side: 0}, &memConn{Conn: b, pair: p, side: 1}
}

// SetLinger makes a later Close a reset when sec is 0.
func (c *memConn) SetLinger(sec int) error {
	c.pair.mu.Lock()
	c.pair.reset[c.side] = sec == 0
	c.pair.mu.Unlock()
	return nil
}

// Read reads from the pipe, failing as a socket does: the end of a peer
// that reset is ECONNRESET, and a read after this end was closed is
// net.ErrClosed ("use of closed network connection").
func (c *memConn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	switch {
	case err == io.EOF:
		c.pair.mu.Lock()
		reset := c.pair.reset[1-c.side]
		c.pair.mu.Unlock()
		if reset {
			err = &net.OpError{Op: "read", Net: "tcp", Addr: c.RemoteAddr(), Err: syscall.ECONNRESET}
		}
	case errors.Is(err, io.ErrClosedPipe):
		err = &net.OpError{Op: "read", Net: "tcp", Addr: c.RemoteAddr(), Err: net.ErrClosed}
	}
	return n, err
}

// Write writes to the pipe; a write after either end was closed fails as
// on a socket whose peer is gone (EPIPE) or which this end closed.
func (c *memConn) Write(b []byte) (int, error) {
	n, err := c.Conn.Write(b)
	if errors.Is(err, io.ErrClosedPipe) {
		err = &net.OpError{Op: "write", Net: "tcp", Addr: c.RemoteAddr(), Err: syscall.EPIPE}
	}
	return n, err
}

// startServer starts an httptest.Server for h: on loopback, or on the
// in-memory network as host when inMemory.
func startServer(h http.Handler, inMemory bool, host string) (*httptest.Server, *memListener) {
	if !inMemory {
		return httptest.NewServer(h), nil
	}
	l := newMemListener(host)
	srv := httptest.NewUnstartedServer(h)
	srv.Listener = l
	srv.Start()
	return srv, l
}

// httpClient returns the HTTP client of Config: the SDK's default one,
// whose transport dials the in-memory endpoints when the fake is on the
// in-memory network.
func (s *Server) httpClient() aws.HTTPClient {
	c := awshttp.NewBuildableClient()
	if len(s.mem) == 0 {
		return c
	}
	return c.WithTransportOptions(func(tr *http.Transport) {
		tr.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
			l, ok := s.mem[addr]
			if !ok {
				return nil, &net.OpError{Op: "dial", Net: network, Err: syscall.ECONNREFUSED}
			}
			return l.dial(ctx)
		}
	})
}
