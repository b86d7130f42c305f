package cli

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/diffy-dfir/diffy/payload"
)

// OsqueryExpiry is how long the presigned URL of --osquery-url s3://...
// is valid: a collection of thousands of instances sends its last batch
// minutes after its first, and hosts may pick a command up late.
const OsqueryExpiry = time.Hour

// OsqueryFetch returns what --osquery-url and --osquery-sha256 ask: hosts
// without osqueryi download it. An s3://bucket/key URL is presigned with
// the AWS settings (valid OsqueryExpiry), so the hosts need no
// credential; a program that runs longer presigns it for each run.
func (f AWS) OsqueryFetch(ctx context.Context, url, sha256 string) (payload.OsqueryFetch, error) {
	u := url
	if rest, ok := strings.CutPrefix(u, "s3://"); ok {
		bucket, key, _ := strings.Cut(rest, "/")
		if bucket == "" || key == "" {
			return payload.OsqueryFetch{}, Usagef("--osquery-url %q: want s3://bucket/key or an https URL", url)
		}
		cfg, err := f.Config(ctx)
		if err != nil {
			return payload.OsqueryFetch{}, err
		}
		if u, err = PresignGet(ctx, cfg, bucket, key, OsqueryExpiry); err != nil {
			return payload.OsqueryFetch{}, fmt.Errorf("--osquery-url %s: presigning: %w", url, err)
		}
	}
	fetch := payload.OsqueryFetch{URL: u, SHA256: sha256}
	if err := fetch.Validate(); err != nil {
		return payload.OsqueryFetch{}, Usagef("--osquery-url, --osquery-sha256: %v", err)
	}
	return fetch, nil
}

// PresignGet returns a URL that lets its holder GET s3://bucket/key, and
// nothing else, for expiry, signed with cfg's credentials.
func PresignGet(ctx context.Context, cfg aws.Config, bucket, key string, expiry time.Duration, optFns ...func(*s3.Options)) (string, error) {
	pc := s3.NewPresignClient(s3.NewFromConfig(cfg, optFns...), s3.WithPresignExpires(expiry))
	req, err := pc.PresignGetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil {
		return "", err
	}
	return req.URL, nil
}
