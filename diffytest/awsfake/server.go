package awsfake

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/diffy-dfir/diffy/awsconfig"
)

// Defaults of the options (Option).
const (
	// DefaultRegion is the region of the fake's instances and Config.
	DefaultRegion = "us-east-1"
	// DefaultAccount is the account that owns the fake's instances.
	DefaultAccount = "123456789012"
	// DefaultRunTime is how long one command invocation runs.
	DefaultRunTime = 20 * time.Millisecond
	// DefaultBigOutputBytes is what FaultBigOutput pads output to.
	DefaultBigOutputBytes = 64 << 10
)

// The static credentials of Config. The access key ID has the shape of a
// real one (AKIA and 16 characters) so that tests looking for credentials
// in commands sent to hosts can find it.
const (
	AccessKeyID     = "AKIAAWSFAKEEXAMPLE00"
	SecretAccessKey = "awsfake/SecretAccessKey/wJalrXUtnFEMIK7MDENG"
)

// Server is the fake: an SSM, an EC2 and an S3 endpoint on loopback,
// sharing one simulated fleet. All its methods are safe for concurrent use.
type Server struct {
	opts options

	ssmSrv, ec2Srv, s3Srv *httptest.Server
	mem                   map[string]*memListener // by "host:80", on the in-memory network

	// view is the fleet: replaced whole by Launch, so that a reader's
	// snapshot (s.fleet()) never changes under it.
	view   atomic.Pointer[fleetView]
	launch sync.Mutex // serializes Launch

	counters     sync.Map // op -> *opCounter
	buckets      sync.Map // op -> *bucket
	serviceCalls map[string]*atomic.Int64
	reqSeq       atomic.Int64

	ssm ssmState
	s3  *s3State
	// hostHTTP is the HTTP client of the hosts' curl and wget.
	hostHTTP *http.Client
}

// New starts the three endpoints with the options given (applied in
// order, the defaults filled in afterwards where a setting is still unset:
// see Option). Close stops them. It returns an error when an instance has
// no ID or two share one, or when an option is out of its range.
func New(opts ...Option) (*Server, error) {
	o, err := newOptions(opts)
	if err != nil {
		return nil, err
	}
	s := &Server{
		opts:         o,
		serviceCalls: map[string]*atomic.Int64{"ssm": {}, "ec2": {}, "s3": {}},
		hostHTTP:     &http.Client{Timeout: scriptTimeout},
	}
	v, err := s.grow(&fleetView{byID: map[string]*instance{}}, o.instances)
	if err != nil {
		return nil, err
	}
	s.view.Store(v)
	s.ssm.init()
	s3s, err := newS3State(s)
	if err != nil {
		return nil, err
	}
	s.s3 = s3s
	var ssmL, ec2L, s3L *memListener
	s.ssmSrv, ssmL = startServer(http.HandlerFunc(s.serveSSM), o.inMemory, "ssm.awsfake.test")
	s.ec2Srv, ec2L = startServer(http.HandlerFunc(s.serveEC2), o.inMemory, "ec2.awsfake.test")
	s.s3Srv, s3L = startServer(http.HandlerFunc(s.serveS3), o.inMemory, "s3.awsfake.test")
	if o.inMemory {
		s.mem = map[string]*memListener{}
		for _, l := range []*memListener{ssmL, ec2L, s3L} {
			s.mem[l.addr.String()] = l
		}
	}
	return s, nil
}

// Close stops the endpoints and their pending work.
func (s *Server) Close() {
	s.ssmSrv.Close()
	s.ec2Srv.Close()
	s.s3Srv.Close()
	s.ssm.stop()
}

// SSMURL, EC2URL and S3URL are the endpoints' base URLs.
func (s *Server) SSMURL() string { return s.ssmSrv.URL }

// EC2URL is the EC2 endpoint's base URL.
func (s *Server) EC2URL() string { return s.ec2Srv.URL }

// S3URL is the S3 endpoint's base URL (path-style addressing).
func (s *Server) S3URL() string { return s.s3Srv.URL }

// Region is the fake's region.
func (s *Server) Region() string { return s.opts.region }

// Account is the account that owns the fake's instances.
func (s *Server) Account() string { return s.opts.account }

// Config returns an aws.Config for the real SDK clients: region, static
// credentials (AccessKeyID), each service's BaseEndpoint (through a
// configuration source, so ssm.NewFromConfig(cfg) and
// ec2.NewFromConfig(cfg) need no option), and Diffy's retry policy
// (awsconfig.Retryer: the adaptive mode, one slow-down per congestion
// event, no retry quota) with 10 attempts, and an HTTP client that reaches
// the in-memory network when WithInMemory is set. S3 clients also need
// path-style addressing: pass S3Options to s3.NewFromConfig.
func (s *Server) Config() aws.Config {
	return aws.Config{
		Region:        s.opts.region,
		Credentials:   credentials.NewStaticCredentialsProvider(AccessKeyID, SecretAccessKey, ""),
		Retryer:       awsconfig.Retryer(10),
		ConfigSources: []any{endpointSource{s}},
		HTTPClient:    s.httpClient(),
	}
}

// S3Options sets path-style addressing (and the endpoint) on an S3
// client: s3.NewFromConfig(srv.Config(), srv.S3Options).
func (s *Server) S3Options(o *s3.Options) {
	o.UsePathStyle = true
	o.BaseEndpoint = aws.String(s.s3Srv.URL)
}

// endpointSource gives each service its endpoint, as the shared config's
// services section would.
type endpointSource struct{ s *Server }

// GetServiceBaseEndpoint implements the SDK's service endpoint source.
func (e endpointSource) GetServiceBaseEndpoint(_ context.Context, sdkID string) (string, bool, error) {
	switch sdkID {
	case "SSM":
		return e.s.ssmSrv.URL, true, nil
	case "EC2":
		return e.s.ec2Srv.URL, true, nil
	case "S3":
		return e.s.s3Srv.URL, true, nil
	}
	return "", false, nil
}

// Calls returns the count of calls per operation ("ssm:SendCommand",
// "ec2:DescribeInstances", "s3:GetObject", ...) so far.
func (s *Server) Calls() map[string]CallCount {
	out := map[string]CallCount{}
	s.counters.Range(func(k, v any) bool {
		out[k.(string)] = v.(*opCounter).snapshot()
		return true
	})
	return out
}

// Selected returns the IDs of the instances fault f applies to, sorted.
func (s *Server) Selected(f Fault) []string {
	var ids []string
	for _, in := range s.fleet().instances {
		if in.has(f) {
			ids = append(ids, in.Instance.Instance.ID)
		}
	}
	return ids
}

// Terminate terminates the instance id now: EC2 reports it terminated, SSM
// no longer manages it, and its running invocations end Terminated. It
// reports false for an unknown ID.
func (s *Server) Terminate(id string) bool {
	in, ok := s.fleet().byID[id]
	if ok {
		in.terminate(s.now())
	}
	return ok
}

// LoseAgent makes SSM stop managing the instance id now, while EC2 still
// reports it running (its agent went away): SendCommand naming it fails
// with InvalidInstanceId, and its invocations not yet started end
// Failed/Undeliverable. It reports false for an unknown ID.
func (s *Server) LoseAgent(id string) bool {
	in, ok := s.fleet().byID[id]
	if ok {
		in.loseAgent(s.now())
	}
	return ok
}

// now is the fake's clock.
func (s *Server) now() time.Time { return time.Now() }

// requestID returns a new request ID.
func (s *Server) requestID() string {
	n := s.reqSeq.Add(1)
	return fmt.Sprintf("%08x-fa4e-4000-8000-%012x", uint32(n>>16), n)
}
