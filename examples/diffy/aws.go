package main

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/diffy-dfir/diffy/awsconfig"
	"github.com/diffy-dfir/diffy/collect"
	"github.com/diffy-dfir/diffy/collect/ssmcollect"
	"github.com/diffy-dfir/diffy/examples/internal/cli"
	"github.com/diffy-dfir/diffy/payload"
	"github.com/diffy-dfir/diffy/persist"
	"github.com/diffy-dfir/diffy/persist/s3store"
	"github.com/diffy-dfir/diffy/target"
	"github.com/diffy-dfir/diffy/target/ec2target"
)

// awsFlags are the command line's AWS settings.
type awsFlags struct {
	region, profile, roleARN, outputBucket string
	// logger receives the SDK's own lines, at debug level (-v).
	logger *slog.Logger
}

// awsConfig loads the AWS configuration of the flags: the SDK's default
// credential chain (AWS_* variables, AWS_ENDPOINT_URL_<SERVICE> included),
// --profile, --region, and --role-arn assumed through STS.
func awsConfig(ctx context.Context, f awsFlags) (aws.Config, error) {
	return awsconfig.Load(ctx, awsconfig.Options{Region: f.region, Profile: f.profile, RoleARN: f.roleARN, Logger: f.logger})
}

// awsTarget returns the EC2 target of kind asg, tag or ids.
func awsTarget(ctx context.Context, f awsFlags, kind string) (target.Target, error) {
	switch kind {
	case "asg", "tag", "ids":
	default:
		return nil, cli.Usagef("unknown --target %q (want local, asg, tag or ids)", kind)
	}
	cfg, err := awsConfig(ctx, f)
	if err != nil {
		return nil, err
	}
	return ec2target.NewFromConfig(cfg, ec2target.Kind(kind))
}

// awsCollector returns the SSM Run Command collector, reading whole outputs
// from --output-bucket (BUCKET, BUCKET/PREFIX or s3://BUCKET/PREFIX) when
// it is set.
func awsCollector(ctx context.Context, f awsFlags, incident string) (collect.Collector, error) {
	cfg, err := awsConfig(ctx, f)
	if err != nil {
		return nil, err
	}
	opts := []ssmcollect.Option{ssmcollect.WithIncident(incident)}
	if f.logger != nil {
		opts = append(opts, ssmcollect.WithLogger(f.logger))
	}
	if f.outputBucket != "" {
		bucket, prefix, _ := strings.Cut(strings.TrimPrefix(f.outputBucket, "s3://"), "/")
		if bucket == "" {
			return nil, cli.Usagef("--output-bucket %q has no bucket name", f.outputBucket)
		}
		opts = append(opts, ssmcollect.WithOutputBucket(bucket, prefix))
	}
	col, err := ssmcollect.NewFromConfig(cfg, opts...)
	if err != nil {
		return nil, fmt.Errorf("--output-bucket %q: %w", f.outputBucket, err)
	}
	return col, nil
}

// awsStore returns the S3 store of bucket and prefix.
func awsStore(ctx context.Context, f awsFlags, bucket, prefix string) (persist.Store, error) {
	cfg, err := awsConfig(ctx, f)
	if err != nil {
		return nil, err
	}
	return s3store.NewFromConfig(cfg, bucket, prefix)
}

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
		cfg, err := awsConfig(ctx, c.aws)
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
