package awsconfig

import (
	"errors"
	"net"
	"net/url"
	"os"
	"syscall"
	"testing"
	"time"
)

// timeoutErr is a net.Error that timed out.
type timeoutErr struct{}

func (timeoutErr) Error() string   { return "i/o timeout" }
func (timeoutErr) Timeout() bool   { return true }
func (timeoutErr) Temporary() bool { return true }

// TestNoAnswerKinds: each way an endpoint can stay silent is named, and an
// answer (or a connection reset under a request, which the SDK retries as
// usual) is not silence.
func TestNoAnswerKinds(t *testing.T) {
	d := Options{}.deadlines()
	send := func(err error) error {
		return &url.Error{Op: "Post", URL: "https://ec2.us-east-1.amazonaws.com/", Err: err}
	}
	for _, c := range []struct {
		err  error
		what string
	}{
		{send(&net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}), "connection refused"},
		{send(&net.OpError{Op: "dial", Net: "tcp", Err: timeoutErr{}}), "no connection within 10s (ConnectTimeout)"},
		{send(&net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", syscall.ENETUNREACH)}), "no connection (connect: network is unreachable)"},
		{send(&net.DNSError{Err: "no such host", Name: "ec2.example", IsNotFound: true}), "its name does not resolve (no such host)"},
		{send(&wrapped{"net/http: timeout awaiting response headers"}), "no first byte within 20s (FirstByteTimeout)"},
		{send(&wrapped{"context deadline exceeded (Client.Timeout exceeded while awaiting headers)"}), "the attempt did not finish within 2m0s (AttemptTimeout)"},
		{send(&net.OpError{Op: "read", Net: "tcp", Err: os.NewSyscallError("read", syscall.ECONNRESET)}), ""},
		{errors.New("api error ThrottlingException: Rate exceeded"), ""},
	} {
		endpoint, what := d.noAnswer(c.err)
		if what != c.what || what != "" && endpoint != "https://ec2.us-east-1.amazonaws.com" {
			t.Errorf("%v: %q %q, want %q", c.err, endpoint, what, c.what)
		}
	}
	if d.connect != DefaultConnectTimeout || d.firstByte != DefaultFirstByteTimeout || d.attempt != DefaultAttemptTimeout ||
		d.call != DefaultCallTimeout || d.maxNoAnswer != DefaultMaxNoAnswerAttempts {
		t.Errorf("defaults %+v", d)
	}
	if d := (Options{ConnectTimeout: time.Second}).deadlines(); d.connect != time.Second {
		t.Errorf("ConnectTimeout not taken: %+v", d)
	}
}

// wrapped is a timeout error with a given text, as net/http makes them.
type wrapped struct{ s string }

func (w *wrapped) Error() string   { return w.s }
func (w *wrapped) Timeout() bool   { return true }
func (w *wrapped) Temporary() bool { return true }
