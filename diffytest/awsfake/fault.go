package awsfake

import (
	"io"
	"math"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Rate is a token bucket: PerSecond tokens are added each second up to
// Burst; each call takes one, and a call that finds none is throttled. The
// zero Rate throttles nothing.
type Rate struct {
	// PerSecond is the sustained rate of calls allowed.
	PerSecond float64
	// Burst is the bucket's size; when 0, max(1, PerSecond) rounded up.
	Burst int
}

func (r Rate) enabled() bool { return r.PerSecond > 0 }

// bucket is a token bucket; its zero value is unusable (see newBucket).
type bucket struct {
	mu     sync.Mutex
	rate   float64
	burst  float64
	tokens float64
	last   time.Time
}

func newBucket(r Rate, now time.Time) *bucket {
	burst := float64(r.Burst)
	if burst <= 0 {
		burst = math.Max(1, math.Ceil(r.PerSecond))
	}
	return &bucket{rate: r.PerSecond, burst: burst, tokens: burst, last: now}
}

// take reports whether a token was available at now, taking it.
func (b *bucket) take(now time.Time) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if el := now.Sub(b.last); el > 0 {
		b.tokens = math.Min(b.burst, b.tokens+el.Seconds()*b.rate)
		b.last = now
	}
	if b.tokens >= 1 {
		b.tokens--
		return true
	}
	return false
}

// MinLatency is the least time the fake takes to answer a call. Besides
// standing for the network, it keeps a known race of the SDK on loopback
// (aws-sdk-go-v2 issues 1825 and 2737: the SDK closes the request body as
// soon as the response starts, and Go's transport may then close the
// connection under the response) from turning answers into retried
// "use of closed network connection" errors.
const MinLatency = time.Millisecond

// CallFaults are the faults and limits applied to API calls, before the
// fake looks at what a call asks.
type CallFaults struct {
	// Latency is added to every call (throttled and failed ones too); at
	// least MinLatency.
	Latency time.Duration
	// Throttle limits operations by name ("ssm:SendCommand",
	// "ec2:DescribeInstances", "s3:GetObject"), each with its own bucket.
	// A throttled SSM call answers HTTP 400 ThrottlingException, an EC2
	// call HTTP 503 RequestLimitExceeded, an S3 call HTTP 503 SlowDown:
	// the codes the SDK's retryers treat as throttling.
	Throttle map[string]Rate
	// ThrottleAll limits every SSM and EC2 operation without an entry in
	// Throttle, each operation with its own bucket of this Rate.
	ThrottleAll Rate
	// ServerErrorEvery and ServerErrorBurst: of every ServerErrorEvery
	// calls to a service, the first ServerErrorBurst answer HTTP 500
	// (InternalServerError / InternalError). 0 turns it off.
	ServerErrorEvery, ServerErrorBurst int
	// ResetEvery: every ResetEvery-th call to a service has its
	// connection reset (TCP RST) without an answer. 0 turns it off.
	ResetEvery int
	// SlowEvery and SlowDelay: every SlowEvery-th call to a service waits
	// SlowDelay before it is handled (a client that gives up first sees no
	// answer, and the call has no effect). 0 turns it off.
	SlowEvery int
	SlowDelay time.Duration
	// Services the counted faults (ServerError*, Reset*, Slow*) apply to:
	// any of "ssm", "ec2", "s3". Empty: all three.
	Services []string
	// Malformed answers every call of the operations it names
	// ("ssm:SendCommand") with HTTP 200 and the body given, in the
	// service's content type, instead of doing what the call asks: a
	// malformed or unexpected answer, such as `{}` to a SendCommand (no
	// Command in it). It applies after Latency, before the other faults.
	// Each MalformedCall ("{{CALL}}") in a body is replaced by the
	// number of the call (1, 2, ...; every attempt counts), so that each
	// answer can differ: an endpoint that invents a new NextToken on
	// every page.
	Malformed map[string]string
}

// MalformedCall, in a CallFaults.Malformed body, stands for the number of
// the call answered with it.
const MalformedCall = "{{CALL}}"

func (c CallFaults) appliesTo(service string) bool {
	if len(c.Services) == 0 {
		return true
	}
	for _, s := range c.Services {
		if s == service {
			return true
		}
	}
	return false
}

// CallCount counts the calls of one operation.
type CallCount struct {
	// Calls is every call received, whatever its outcome: every HTTP
	// attempt, retries included.
	Calls int64
	// Operations counts the calls a client made, each counted once
	// however many attempts it took: the SDK sends the same
	// amz-sdk-invocation-id header with every attempt of one call (a
	// request without it counts as one). Tests that mean "how many
	// calls" count these, as the SDK may retry an attempt on its own (a
	// connection closed under load).
	Operations int64
	// Throttled, ServerErrors, Resets and Slow count the calls answered
	// by each fault.
	Throttled, ServerErrors, Resets, Slow int64
	// Errors counts the calls answered with an API error by the operation
	// itself (InvocationDoesNotExist, InvalidInstanceId, ...).
	Errors int64
	// Malformed counts the calls answered with CallFaults.Malformed.
	Malformed int64
}

// opCounter is the live counterpart of CallCount.
type opCounter struct {
	calls, operations, throttled, serverErrors, resets, slow, errors, malformed atomic.Int64
	invocations                                                                 sync.Map // amz-sdk-invocation-id -> time.Time of its first attempt
}

// count counts a call of r, received at now.
func (c *opCounter) count(r *http.Request, now time.Time) {
	c.calls.Add(1)
	id := r.Header.Get("Amz-Sdk-Invocation-Id")
	if id == "" {
		c.operations.Add(1)
	} else if _, seen := c.invocations.LoadOrStore(id, now); !seen {
		c.operations.Add(1)
	}
}

// firstAttempt returns when the first attempt of r's call of op arrived
// (now for a call without an invocation ID): a retried read sees the
// fleet as its first attempt did, so that what the first attempt changed
// (a vanishing instance, terminated once listed) does not hide from the
// retry an instance the caller never received.
func (s *Server) firstAttempt(op string, r *http.Request) time.Time {
	if v, ok := s.counter(op).invocations.Load(r.Header.Get("Amz-Sdk-Invocation-Id")); ok {
		return v.(time.Time)
	}
	return s.now()
}

func (c *opCounter) snapshot() CallCount {
	return CallCount{Calls: c.calls.Load(), Operations: c.operations.Load(), Throttled: c.throttled.Load(), ServerErrors: c.serverErrors.Load(),
		Resets: c.resets.Load(), Slow: c.slow.Load(), Errors: c.errors.Load(), Malformed: c.malformed.Load()}
}

// faultOutcome is what the fault layer decided for one call.
type faultOutcome int

const (
	passOn faultOutcome = iota
	answered
)

// applyFaults runs the call-level faults for one call of op ("ssm:X") on
// service; it reports answered when it has written the answer (or reset
// the connection) itself. throttleAnswer and serverErrorAnswer write the
// service's error shapes.
func (s *Server) applyFaults(w http.ResponseWriter, r *http.Request, service, op string,
	throttleAnswer, serverErrorAnswer func(http.ResponseWriter)) faultOutcome {
	cnt := s.counter(op)
	cnt.count(r, s.now())
	n := s.serviceCalls[service].Add(1) - 1
	f := s.opts.callFaults
	if !sleepCtx(r, max(f.Latency, MinLatency)) {
		return answered
	}
	if body, ok := f.Malformed[op]; ok {
		n := cnt.malformed.Add(1)
		body = strings.ReplaceAll(body, MalformedCall, strconv.FormatInt(n, 10))
		w.Header().Set("Content-Type", contentTypes[service])
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		_, _ = io.WriteString(w, body)
		return answered
	}
	counted := f.appliesTo(service)
	if counted && f.ResetEvery > 0 && n%int64(f.ResetEvery) == int64(f.ResetEvery)-1 {
		cnt.resets.Add(1)
		resetConn(w)
		return answered
	}
	if b := s.bucketFor(op, service); b != nil && !b.take(s.now()) {
		cnt.throttled.Add(1)
		throttleAnswer(w)
		return answered
	}
	if counted && f.ServerErrorEvery > 0 && f.ServerErrorBurst > 0 && n%int64(f.ServerErrorEvery) < int64(f.ServerErrorBurst) {
		cnt.serverErrors.Add(1)
		serverErrorAnswer(w)
		return answered
	}
	if counted && f.SlowEvery > 0 && n%int64(f.SlowEvery) == int64(f.SlowEvery)-1 {
		cnt.slow.Add(1)
		if !sleepCtx(r, f.SlowDelay) {
			return answered
		}
	}
	return passOn
}

// sleepCtx waits d unless the request's context ends first; it reports
// whether the full wait elapsed.
func sleepCtx(r *http.Request, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-r.Context().Done():
		return false
	}
}

// contentTypes are the services' answer content types.
var contentTypes = map[string]string{"ssm": "application/x-amz-json-1.1", "ec2": "text/xml;charset=UTF-8", "s3": "application/xml"}

// resetConn hijacks the connection and closes it with a TCP RST.
func resetConn(w http.ResponseWriter) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		// HTTP/2 or a recorder: the closest is an abrupt panic-free abort.
		panic(http.ErrAbortHandler)
	}
	conn, _, err := hj.Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	if tc, ok := conn.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	_ = conn.Close()
}

// bucketFor returns the token bucket of op, or nil when op is not
// throttled.
func (s *Server) bucketFor(op, service string) *bucket {
	if v, ok := s.buckets.Load(op); ok {
		return v.(*bucket)
	}
	r, ok := s.opts.callFaults.Throttle[op]
	if !ok {
		if service == "s3" {
			return nil
		}
		r = s.opts.callFaults.ThrottleAll
	}
	if !r.enabled() {
		return nil
	}
	v, _ := s.buckets.LoadOrStore(op, newBucket(r, s.now()))
	return v.(*bucket)
}

// counter returns the counter of op.
func (s *Server) counter(op string) *opCounter {
	if v, ok := s.counters.Load(op); ok {
		return v.(*opCounter)
	}
	v, _ := s.counters.LoadOrStore(op, &opCounter{})
	return v.(*opCounter)
}

// The rate limits of AWS that AWSRates follows.
const (
	// S3GetRate and S3PutRate are S3's documented request rates per
	// partitioned prefix: 5,500 GET/HEAD and 3,500 PUT/COPY/POST/DELETE
	// requests per second. The fake applies them per operation, as if
	// every key were under one prefix (SSM's output keys are under one
	// OutputS3KeyPrefix): the worst case.
	S3GetRate = 5500
	S3PutRate = 3500
	// EC2DescribeRate and EC2DescribeBurst are the EC2 API's token bucket
	// for non-mutating actions (Describe*): 100 tokens, refilled at 20 a
	// second (Amazon EC2 API request throttling).
	EC2DescribeRate  = 20
	EC2DescribeBurst = 100
	// DefaultSSMRate is the rate per SSM operation AWSRates assumes: AWS
	// publishes none for SendCommand, ListCommandInvocations,
	// GetCommandInvocation, CancelCommand or DescribeInstanceInformation
	// (their throttling is account-wide and adjusted by AWS), so 100
	// requests a second per operation is an assumption, and AWSRates
	// takes the figure to use.
	DefaultSSMRate = 100
)

// AWSRates returns the throttles of CallFaults that follow AWS's documented
// rates: S3 GetObject and PutObject at S3GetRate and S3PutRate, EC2
// DescribeInstances at EC2DescribeRate with a burst of EC2DescribeBurst,
// and each SSM operation at ssmRate requests a second (DefaultSSMRate when
// not positive), burst one second's worth.
func AWSRates(ssmRate float64) map[string]Rate {
	if ssmRate <= 0 {
		ssmRate = DefaultSSMRate
	}
	ssm := Rate{PerSecond: ssmRate}
	return map[string]Rate{
		"s3:GetObject":                    {PerSecond: S3GetRate},
		"s3:PutObject":                    {PerSecond: S3PutRate},
		"ec2:DescribeInstances":           {PerSecond: EC2DescribeRate, Burst: EC2DescribeBurst},
		"ssm:SendCommand":                 ssm,
		"ssm:ListCommandInvocations":      ssm,
		"ssm:GetCommandInvocation":        ssm,
		"ssm:CancelCommand":               ssm,
		"ssm:DescribeInstanceInformation": ssm,
		"ssm:ListCommands":                ssm,
	}
}
