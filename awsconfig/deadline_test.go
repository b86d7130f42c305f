package awsconfig_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ec2"

	"github.com/diffy-dfir/diffy/awsconfig"
)

// silent is an endpoint that accepts connections and never answers.
type silent struct {
	l        net.Listener
	accepted atomic.Int32
	mu       sync.Mutex
	conns    []net.Conn
}

func newSilent(t *testing.T) *silent {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &silent{l: l}
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			s.accepted.Add(1)
			s.mu.Lock()
			s.conns = append(s.conns, c) // held open, never answered
			s.mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		l.Close()
		s.mu.Lock()
		defer s.mu.Unlock()
		for _, c := range s.conns {
			c.Close()
		}
	})
	return s
}

// refused returns the address of a loopback port nobody listens on.
func refused(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

func ec2Client(t *testing.T, o awsconfig.Options) *ec2.Client {
	t.Helper()
	o.Region = "us-east-1"
	o.Credentials = credentials.NewStaticCredentialsProvider("AKIAAWSFAKEEXAMPLE00", "secret", "")
	cfg, err := awsconfig.Load(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	return ec2.NewFromConfig(cfg)
}

// noAnswer checks that err is a NoAnswerError naming endpoint and what,
// after attempts attempts, and returns it.
func noAnswer(t *testing.T, err error, endpoint, what string, attempts int) *awsconfig.NoAnswerError {
	t.Helper()
	var na *awsconfig.NoAnswerError
	if !errors.As(err, &na) {
		t.Fatalf("err = %v, want a NoAnswerError", err)
	}
	if na.Endpoint != endpoint || !strings.Contains(na.What, what) || attempts > 0 && na.Attempts != attempts {
		t.Fatalf("NoAnswerError{%q, %q, %d}, want endpoint %q, %q, %d attempts", na.Endpoint, na.What, na.Attempts, endpoint, what, attempts)
	}
	if msg := err.Error(); strings.Contains(msg, "\n") || !strings.Contains(msg, endpoint) || !strings.Contains(msg, what) {
		t.Fatalf("error %q: want one line naming %s and what timed out", msg, endpoint)
	}
	return na
}

// TestSilentEndpoint: an endpoint that accepts and never answers fails
// each attempt at FirstByteTimeout; after MaxNoAnswerAttempts attempts
// the call gives up with an error that names the endpoint and the
// deadline, and has made exactly that many connections.
func TestSilentEndpoint(t *testing.T) {
	s := newSilent(t)
	c := ec2Client(t, awsconfig.Options{Endpoint: "http://" + s.l.Addr().String(), FirstByteTimeout: 100 * time.Millisecond})
	_, err := c.DescribeInstances(context.Background(), &ec2.DescribeInstancesInput{})
	noAnswer(t, err, "http://"+s.l.Addr().String(), "no first byte within 100ms (FirstByteTimeout)", awsconfig.DefaultMaxNoAnswerAttempts)
	if n := s.accepted.Load(); n != awsconfig.DefaultMaxNoAnswerAttempts {
		t.Errorf("%d connections, want %d (one per attempt)", n, awsconfig.DefaultMaxNoAnswerAttempts)
	}
	t.Log(err)
}

// TestRefusedEndpoint: a refused connection is retried, then given up
// after MaxNoAnswerAttempts attempts, the error naming the endpoint.
func TestRefusedEndpoint(t *testing.T) {
	addr := refused(t)
	c := ec2Client(t, awsconfig.Options{Endpoint: "http://" + addr, MaxNoAnswerAttempts: 2})
	_, err := c.DescribeInstances(context.Background(), &ec2.DescribeInstancesInput{})
	noAnswer(t, err, "http://"+addr, "connection refused", 2)
	t.Log(err)
}

// TestCallTimeout: an endpoint that answers, but only with throttles,
// keeps a call retrying until CallTimeout ends it; the error says so.
func TestCallTimeout(t *testing.T) {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		w.Header().Set("Content-Type", "text/xml")
		w.WriteHeader(http.StatusServiceUnavailable)
		w.Write([]byte(`<Response><Errors><Error><Code>RequestLimitExceeded</Code><Message>Request limit exceeded.</Message></Error></Errors></Response>`))
	}))
	defer srv.Close()
	c := ec2Client(t, awsconfig.Options{Endpoint: srv.URL, CallTimeout: 300 * time.Millisecond})
	_, err := c.DescribeInstances(context.Background(), &ec2.DescribeInstancesInput{})
	na := noAnswer(t, err, srv.URL, "no final answer within 300ms (CallTimeout)", 0)
	if na.Attempts < 1 || int(calls.Load()) != na.Attempts {
		t.Errorf("%d attempts, %d calls answered", na.Attempts, calls.Load())
	}
	t.Log(err)
}

// TestCallerDeadlineKept: a caller's deadline earlier than CallTimeout is
// the call's; its error is the context's, not CallTimeout's.
func TestCallerDeadlineKept(t *testing.T) {
	s := newSilent(t)
	c := ec2Client(t, awsconfig.Options{Endpoint: "http://" + s.l.Addr().String()})
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	_, err := c.DescribeInstances(ctx, &ec2.DescribeInstancesInput{})
	var na *awsconfig.NoAnswerError
	if !errors.Is(err, context.DeadlineExceeded) || errors.As(err, &na) {
		t.Fatalf("err = %v, want the caller's deadline", err)
	}
}
