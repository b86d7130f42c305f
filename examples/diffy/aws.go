package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/diffy-dfir/diffy/examples/internal/cli"
	"github.com/diffy-dfir/diffy/payload"
)

// awsFlags are the command line's AWS settings.
type awsFlags = cli.AWS

// osqueryExpiry is how long the presigned URL of --osquery-url s3://...
// is valid: a collection of thousands of instances sends its last batch
// minutes after its first, and hosts may pick a command up late.
const osqueryExpiry = time.Hour

// osqueryFetch returns what --osquery-url and --osquery-sha256 ask: hosts
// without osqueryi download it. An s3://bucket/key URL is presigned with
// the AWS settings, so the hosts need no credential.
func osqueryFetch(ctx context.Context, c *config) (payload.OsqueryFetch, error) {
	u := c.osqueryURL
	if rest, ok := strings.CutPrefix(u, "s3://"); ok {
		bucket, key, _ := strings.Cut(rest, "/")
		if bucket == "" || key == "" {
			return payload.OsqueryFetch{}, cli.Usagef("--osquery-url %q: want s3://bucket/key or an https URL", c.osqueryURL)
		}
		cfg, err := c.aws.Config(ctx)
		if err != nil {
			return payload.OsqueryFetch{}, err
		}
		if u, err = presignGet(ctx, cfg, bucket, key, osqueryExpiry); err != nil {
			return payload.OsqueryFetch{}, fmt.Errorf("--osquery-url %s: presigning: %w", c.osqueryURL, err)
		}
	}
	f := payload.OsqueryFetch{URL: u, SHA256: c.osquerySHA256}
	if err := f.Validate(); err != nil {
		return payload.OsqueryFetch{}, cli.Usagef("--osquery-url, --osquery-sha256: %v", err)
	}
	return f, nil
}

// presignGet returns a URL that lets its holder GET s3://bucket/key, and
// nothing else, for expiry, signed with cfg's credentials.
func presignGet(ctx context.Context, cfg aws.Config, bucket, key string, expiry time.Duration, optFns ...func(*s3.Options)) (string, error) {
	pc := s3.NewPresignClient(s3.NewFromConfig(cfg, optFns...), s3.WithPresignExpires(expiry))
	req, err := pc.PresignGetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil {
		return "", err
	}
	return req.URL, nil
}
