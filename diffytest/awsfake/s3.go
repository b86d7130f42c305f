package awsfake

import (
	"bytes"
	"fmt"
	"net/http"
	"strings"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
)

// s3State is the S3 side of the fake: gofakes3 on its in-memory backend.
type s3State struct {
	backend *s3mem.Backend
	handler http.Handler
}

func newS3State(s *Server) (*s3State, error) {
	b := s3mem.New()
	f := gofakes3.New(b, gofakes3.WithoutVersioning(), gofakes3.WithLogger(gofakes3.DiscardLog()))
	return &s3State{backend: b, handler: f.Server()}, nil
}

// CreateBucket creates an S3 bucket (as s3's CreateBucket would); it is
// not an error when the bucket exists.
func (s *Server) CreateBucket(name string) error {
	ok, err := s.s3.backend.BucketExists(name)
	if err != nil || ok {
		return err
	}
	if err := s.s3.backend.CreateBucket(name); err != nil {
		return fmt.Errorf("awsfake: create bucket %q: %w", name, err)
	}
	return nil
}

// writeOutput writes a finished invocation's stdout and (when not empty)
// stderr to its command's output bucket, as the SSM agent uploads them. A
// missing bucket, like FaultMissingS3Output, means no object: the agent
// cannot upload, and the command's status does not change.
func (s *Server) writeOutput(inv *invocation, stdout, stderr []byte) {
	bucket := inv.cmd.in.OutputS3BucketName
	if bucket == "" || inv.in.has(FaultMissingS3Output) {
		return
	}
	if ok, err := s.s3.backend.BucketExists(bucket); err != nil || !ok {
		return
	}
	put := func(stream string, data []byte) {
		_, _ = s.s3.backend.PutObject(bucket, inv.outputKey(stream), map[string]string{"Content-Type": "text/plain"},
			bytes.NewReader(data), int64(len(data)), nil)
	}
	put("stdout", stdout)
	if len(stderr) > 0 {
		put("stderr", stderr)
	}
}

// s3Op names an S3 request's operation for counters and throttles.
func s3Op(r *http.Request) string {
	path := strings.Trim(r.URL.Path, "/")
	object := strings.Contains(path, "/")
	q := r.URL.Query()
	switch {
	case path == "":
		return "s3:ListBuckets"
	case r.Method == http.MethodGet && object:
		return "s3:GetObject"
	case r.Method == http.MethodHead && object:
		return "s3:HeadObject"
	case r.Method == http.MethodPut && object:
		return "s3:PutObject"
	case r.Method == http.MethodDelete && object:
		return "s3:DeleteObject"
	case r.Method == http.MethodPost && q.Has("delete"):
		return "s3:DeleteObjects"
	case r.Method == http.MethodGet && q.Get("list-type") == "2":
		return "s3:ListObjectsV2"
	case r.Method == http.MethodGet:
		return "s3:ListObjects"
	case r.Method == http.MethodPut:
		return "s3:CreateBucket"
	case r.Method == http.MethodHead:
		return "s3:HeadBucket"
	case r.Method == http.MethodDelete:
		return "s3:DeleteBucket"
	}
	return "s3:" + r.Method
}

func (s *Server) serveS3(w http.ResponseWriter, r *http.Request) {
	op := s3Op(r)
	if s.applyFaults(w, r, "s3", op,
		func(w http.ResponseWriter) {
			s.writeS3Error(w, http.StatusServiceUnavailable, "SlowDown", "Please reduce your request rate.")
		},
		func(w http.ResponseWriter) {
			s.writeS3Error(w, http.StatusInternalServerError, "InternalError", "awsfake: injected server error")
		}) == answered {
		return
	}
	s.s3.handler.ServeHTTP(w, r)
}

func (s *Server) writeS3Error(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/xml")
	w.WriteHeader(status)
	fmt.Fprintf(w, `<?xml version="1.0" encoding="UTF-8"?>`+"\n"+`<Error><Code>%s</Code><Message>%s</Message><RequestId>%s</RequestId></Error>`,
		code, msg, s.requestID())
}
