package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/diffy-dfir/diffy/diffytest/awsfake"
	"github.com/diffy-dfir/diffy/examples/internal/cli"
)

// TestPresignOsquery: the URL handed to the hosts for --osquery-url
// s3://... is a presigned GET of that object, valid one hour, without the
// secret key, and it serves the object to a client with no credential.
func TestPresignOsquery(t *testing.T) {
	srv, err := awsfake.New()
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	ctx := context.Background()
	if err := srv.CreateBucket("ir-tools"); err != nil {
		t.Fatal(err)
	}
	cfg := srv.Config()
	body := []byte("#!/bin/sh\necho '[]'\n")
	if _, err := s3.NewFromConfig(cfg, srv.S3Options).PutObject(ctx, &s3.PutObjectInput{
		Bucket: aws.String("ir-tools"), Key: aws.String("osquery/osqueryi"), Body: bytes.NewReader(body)}); err != nil {
		t.Fatal(err)
	}
	u, err := cli.PresignGet(ctx, cfg, "ir-tools", "osquery/osqueryi", cli.OsqueryExpiry, srv.S3Options)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"/ir-tools/osquery/osqueryi?", "X-Amz-Signature=", "X-Amz-Expires=3600"} {
		if !strings.Contains(u, want) {
			t.Errorf("presigned URL %s lacks %q", u, want)
		}
	}
	if strings.Contains(u, awsfake.SecretAccessKey) {
		t.Fatal("the presigned URL holds the secret key")
	}
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !bytes.Equal(got, body) {
		t.Fatalf("GET of the presigned URL: %s %q", resp.Status, got)
	}
}

// TestOsqueryFlags: the two flags go together, apply to the SSM collector
// only, and a bad URL or digest is a usage error naming the flag.
func TestOsqueryFlags(t *testing.T) {
	sum := strings.Repeat("ab", 32)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"analyze", "web", "--collector", "ssm", "--osquery-url", "https://x.example/o"}, "go together"},
		{[]string{"analyze", "local", "--osquery-url", "https://x.example/o", "--osquery-sha256", sum}, "applies to --collector ssm"},
		{[]string{"analyze", "--from", "dir", "--collector", "ssm", "--osquery-url", "https://x.example/o", "--osquery-sha256", sum}, "does not apply"},
		{[]string{"analyze", "web", "--target", "asg", "--collector", "ssm", "--osquery-url", "http://x.example/o", "--osquery-sha256", sum, "--region", "us-east-1"}, "not https"},
		{[]string{"analyze", "web", "--target", "asg", "--collector", "ssm", "--osquery-url", "s3://bucket-only", "--osquery-sha256", sum, "--region", "us-east-1"}, "s3://bucket/key"},
		{[]string{"analyze", "web", "--target", "asg", "--collector", "ssm", "--osquery-url", "https://x.example/o", "--osquery-sha256", "beef", "--region", "us-east-1"}, "64 hex digits"},
	} {
		t.Setenv("AWS_CONFIG_FILE", t.TempDir()+"/none")
		t.Setenv("AWS_SHARED_CREDENTIALS_FILE", t.TempDir()+"/none")
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		var stdout, stderr bytes.Buffer
		code := run(ctx, append(tc.args, "--store", t.TempDir()), &stdout, &stderr)
		cancel()
		if code != 2 || !strings.Contains(stderr.String(), tc.want) {
			t.Errorf("%v: exit %d, stderr %q; want 2 and %q", tc.args, code, stderr.String(), tc.want)
		}
	}
}
