package ssmcollect_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"

	"github.com/diffy-dfir/diffy/collect"
	"github.com/diffy-dfir/diffy/collect/ssmcollect"
	"github.com/diffy-dfir/diffy/diffytest/awsfake"
	"github.com/diffy-dfir/diffy/payload"
	"github.com/diffy-dfir/diffy/redact"
)

// runawayCalls is how many calls of one operation a test lets a run make
// before it calls the run a runaway and cancels it: far more than any of
// these runs needs (a few per batch), so a run that stops by itself never
// meets it, and one that loops over a malformed answer does.
const runawayCalls = 500

// TestMalformedAnswers: SSM answers HTTP 200 with a body that is not what
// the operation returns (awsfake's Malformed knob, read by the real SDK
// client). The process does not crash or loop, and every instance ends
// with a failed Result that says which answer was wrong.
func TestMalformedAnswers(t *testing.T) {
	for _, c := range []struct {
		name, op, body string
		bucket         string
		want           func(r collect.Result) error
	}{
		{name: "SendCommand without Command", op: "ssm:SendCommand", body: `{}`,
			want: failedWith(collect.StatusFailed, "SendCommand without a command")},
		{name: "SendCommand without CommandId", op: "ssm:SendCommand", body: `{"Command":{"Status":"Pending"}}`,
			want: failedWith(collect.StatusFailed, "SendCommand without a command ID")},
		{name: "SendCommand with a path for a CommandId", op: "ssm:SendCommand",
			body: `{"Command":{"CommandId":"../0123456789abcdef0/awsrunShellScript"}}`, bucket: "out",
			want: failedWith(collect.StatusFailed, "not 36 hexadecimal digits")},
		{name: "SendCommand not JSON", op: "ssm:SendCommand", body: `{"Command":`,
			want: failedWith(collect.StatusUndeliverable, "SendCommand failed")},
		{name: "GetCommandInvocation without output", op: "ssm:GetCommandInvocation", body: `{}`,
			want: successOr(failedWith(collect.StatusFailed, "GetCommandInvocation answered without its output"))},
		{name: "GetCommandInvocation of another instance", op: "ssm:GetCommandInvocation",
			body: `{"InstanceId":"i-0ffffffffffffffff","StandardOutputContent":"[]"}`,
			want: successOr(failedWith(collect.StatusFailed, "for another invocation"))},
		// The precheck's answer is malformed: as when it fails, the
		// command is sent to every instance, which SSM then answers.
		{name: "DescribeInstanceInformation paginating forever", op: "ssm:DescribeInstanceInformation",
			body: `{"InstanceInformationList":[{"PingStatus":"Online"}],"NextToken":"again"}`,
			want: wholeOrCut(true)},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t, 60, awsfake.WithCallFaults(awsfake.CallFaults{Malformed: map[string]string{c.op: c.body}}))
			col := e.collector(t, c.bucket)
			insts := e.fleet.Instances()
			ctx := cancelOnRunaway(t, e.srv, c.op)
			res, err := col.Collect(ctx, insts, payload.StandardPack())
			if err != nil {
				t.Fatalf("Collect: %v (calls%s)", err, calls(e.srv))
			}
			e.check(t, insts, res, c.want)
			if n := e.srv.Calls()[c.op].Malformed; n == 0 {
				t.Errorf("no %s was answered malformed: the case tests nothing", c.op)
			}
		})
	}
}

// TestListInventingPageTokens: a ListCommandInvocations client whose every
// answer carries a new NextToken (which the SDK's duplicate-token check
// cannot catch) is stopped at ssmcollect's page bound; the invocations of
// the pages read are kept, so the run completes.
func TestListInventingPageTokens(t *testing.T) {
	e := newEnv(t, 60)
	real := ssm.NewFromConfig(e.cfg)
	var n atomic.Int64
	list := listFunc(func(ctx context.Context, in *ssm.ListCommandInvocationsInput, fns ...func(*ssm.Options)) (*ssm.ListCommandInvocationsOutput, error) {
		if in.NextToken != nil { // a page past the first: the same again
			in = &ssm.ListCommandInvocationsInput{CommandId: in.CommandId, Details: in.Details, MaxResults: in.MaxResults}
		}
		out, err := real.ListCommandInvocations(ctx, in, fns...)
		if err == nil {
			out.NextToken = aws.String(fmt.Sprint("token-", n.Add(1)))
		}
		return out, err
	})
	col, err := ssmcollect.New(ssmcollect.Clients{Send: real, List: list, Get: real, Cancel: real, Describe: real},
		ssmcollect.WithPollInterval(50*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	stop := make(chan struct{})
	defer close(stop)
	go func() { // a runaway: stop it, so that the test fails instead of hanging
		for n.Load() < runawayCalls*10 {
			select {
			case <-stop:
				return
			default:
			}
			pause()
		}
		cancel()
	}()
	insts := e.fleet.Instances()
	res, err := col.Collect(ctx, insts, payload.StandardPack())
	if err != nil {
		t.Fatalf("Collect: %v after %d ListCommandInvocations calls", err, n.Load())
	}
	e.check(t, insts, res, wholeOrCut(true))
}

type listFunc func(context.Context, *ssm.ListCommandInvocationsInput, ...func(*ssm.Options)) (*ssm.ListCommandInvocationsOutput, error)

func (f listFunc) ListCommandInvocations(ctx context.Context, in *ssm.ListCommandInvocationsInput, fns ...func(*ssm.Options)) (*ssm.ListCommandInvocationsOutput, error) {
	return f(ctx, in, fns...)
}

// cancelOnRunaway returns a context cancelled once op was called
// runawayCalls times.
func cancelOnRunaway(t *testing.T, srv *awsfake.Server, op string) context.Context {
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	t.Cleanup(func() { close(done); cancel() })
	go func() {
		for srv.Calls()[op].Calls < runawayCalls {
			select {
			case <-done:
				return
			default:
			}
			pause()
		}
		cancel()
	}()
	return ctx
}

// failedWith wants status st and an error containing text.
func failedWith(st collect.Status, text string) func(r collect.Result) error {
	return func(r collect.Result) error {
		if r.Status != st || !strings.Contains(r.Error, text) {
			return fmt.Errorf("want %s with an error containing %q", st, text)
		}
		return nil
	}
}

// successOr accepts a Success (an output read whole from
// ListCommandInvocations' Details, which needs no other call) or what
// other accepts.
func successOr(other func(r collect.Result) error) func(r collect.Result) error {
	return func(r collect.Result) error {
		if r.Status == collect.StatusSuccess {
			return nil
		}
		return other(r)
	}
}

// pause is the wait between two looks of a watcher goroutine.
func pause() { time.Sleep(time.Millisecond) }

// TestAWSErrorTextRedacted: an AWS error quoting the request's canonical
// string (as a signature error does, security token included) is stored
// in Result.Error redacted as logs are, its message otherwise kept.
func TestAWSErrorTextRedacted(t *testing.T) {
	const token = "IQoJb3JpZ2luX2VjEJr//////////wEaCXVzLWVhc3QtMSJHMEUCIQDexampleTknValue1234567890abcdef=="
	msg := "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method.\n\n" +
		"The Canonical String for this request should have been\n'POST\n/\n\ncontent-type:application/x-amz-json-1.1\nhost:ssm.us-east-1.amazonaws.com\n" +
		"x-amz-date:20261126T120000Z\nx-amz-security-token:" + token + "\nx-amz-target:AmazonSSM.SendCommand\n'"
	refuse := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		w.WriteHeader(http.StatusBadRequest)
		json.NewEncoder(w).Encode(map[string]string{"__type": "InvalidSignatureException", "message": msg})
	}))
	defer refuse.Close()
	e := newEnv(t, 3)
	real := ssm.NewFromConfig(e.cfg)
	send := ssm.NewFromConfig(e.cfg, func(o *ssm.Options) { o.BaseEndpoint = aws.String(refuse.URL) })
	col, err := ssmcollect.New(ssmcollect.Clients{Send: send, List: real, Get: real, Cancel: real})
	if err != nil {
		t.Fatal(err)
	}
	insts := e.fleet.Instances()
	res, err := col.Collect(t.Context(), insts, payload.StandardPack())
	if err != nil {
		t.Fatal(err)
	}
	e.check(t, insts, res, func(r collect.Result) error {
		switch {
		case strings.Contains(r.Error, token[:20]):
			return fmt.Errorf("the security token is in the error")
		case !strings.Contains(r.Error, "InvalidSignatureException: The request signature we calculated does not match"),
			!strings.Contains(r.Error, "x-amz-security-token:"+redact.Redacted):
			return fmt.Errorf("the error lost its message")
		}
		return nil
	})
}

// TestFetchFailureSaysWhy: an osquery command whose fetched copy of
// osqueryi cannot be used (payload.ExitFetchFailed) has a Result that says
// what failed, from the script's last line of stderr, not that osqueryi
// is not installed.
func TestFetchFailureSaysWhy(t *testing.T) {
	const why = "osqueryi is not installed on this host, and fetching it failed: /var/tmp/diffy-osquery belongs to user 1000, not to root or this user (0)"
	e := newEnv(t, 2)
	col := e.collector(t, "")
	cmd := payload.Command{ID: "processes", Query: "SELECT 1;",
		Shell: fmt.Sprintf("echo 'checking' >&2; echo '%s' >&2; exit %d", why, payload.ExitFetchFailed)}
	res, err := col.Collect(t.Context(), e.fleet.Instances(), []payload.Command{cmd})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range res {
		want := fmt.Sprintf("command processes on %s (exit status %d): %s", r.InstanceID, payload.ExitFetchFailed, why)
		if r.Status != collect.StatusFailed || r.Error != want {
			t.Errorf("%s: %s %q, want Failed with %q", r.InstanceID, r.Status, r.Error, want)
		}
	}
}
