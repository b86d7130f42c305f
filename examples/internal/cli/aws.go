package cli

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/diffy-dfir/diffy/awsconfig"
	"github.com/diffy-dfir/diffy/collect"
	"github.com/diffy-dfir/diffy/collect/ssmcollect"
	"github.com/diffy-dfir/diffy/persist"
	"github.com/diffy-dfir/diffy/persist/s3store"
	"github.com/diffy-dfir/diffy/target"
	"github.com/diffy-dfir/diffy/target/ec2target"
)

// AWS holds the AWS flags the programs share (--region, --profile,
// --role-arn, --output-bucket) and builds the AWS plugins from them.
type AWS struct {
	Region, Profile, RoleARN, OutputBucket string
	// Logger receives the SDK's own lines, at debug level (-v).
	Logger *slog.Logger
}

// Register defines the shared AWS flags on fs, setting f's fields.
func (f *AWS) Register(fs *flag.FlagSet) {
	fs.StringVar(&f.Region, "region", "", "AWS region")
	fs.StringVar(&f.Profile, "profile", "", "AWS profile")
	fs.StringVar(&f.RoleARN, "role-arn", "", "AWS role to assume")
	fs.StringVar(&f.OutputBucket, "output-bucket", "", "S3 bucket for SSM output")
}

// Config loads the AWS configuration of the flags: the SDK's default
// credential chain (AWS_* variables, AWS_ENDPOINT_URL_<SERVICE> included),
// --profile, --region, and --role-arn assumed through STS.
func (f AWS) Config(ctx context.Context) (aws.Config, error) {
	return awsconfig.Load(ctx, awsconfig.Options{Region: f.Region, Profile: f.Profile, RoleARN: f.RoleARN, Logger: f.Logger})
}

// Target returns the EC2 target of kind asg, tag or ids; another kind is a
// usage error.
func (f AWS) Target(ctx context.Context, kind string) (target.Target, error) {
	switch kind {
	case "asg", "tag", "ids":
	default:
		return nil, Usagef("unknown --target %q (want local, asg, tag or ids)", kind)
	}
	cfg, err := f.Config(ctx)
	if err != nil {
		return nil, err
	}
	return ec2target.NewFromConfig(cfg, ec2target.Kind(kind))
}

// Collector returns the SSM Run Command collector, reading whole outputs
// from --output-bucket (BUCKET, BUCKET/PREFIX or s3://BUCKET/PREFIX) when
// it is set; incident is sent as every command's comment.
func (f AWS) Collector(ctx context.Context, incident string) (collect.Collector, error) {
	cfg, err := f.Config(ctx)
	if err != nil {
		return nil, err
	}
	opts := []ssmcollect.Option{ssmcollect.WithIncident(incident)}
	if f.Logger != nil {
		opts = append(opts, ssmcollect.WithLogger(f.Logger))
	}
	if f.OutputBucket != "" {
		bucket, prefix, _ := strings.Cut(strings.TrimPrefix(f.OutputBucket, "s3://"), "/")
		if bucket == "" {
			return nil, Usagef("--output-bucket %q has no bucket name", f.OutputBucket)
		}
		opts = append(opts, ssmcollect.WithOutputBucket(bucket, prefix))
	}
	col, err := ssmcollect.NewFromConfig(cfg, opts...)
	if err != nil {
		return nil, fmt.Errorf("--output-bucket %q: %w", f.OutputBucket, err)
	}
	return col, nil
}

// Store returns the store of --store: a directory (persist.DefaultDir()
// when empty), or s3://bucket/prefix read with the flags' AWS settings.
func (f AWS) Store(ctx context.Context, store string) (persist.Store, error) {
	if rest, ok := strings.CutPrefix(store, "s3://"); ok {
		bucket, prefix, _ := strings.Cut(rest, "/")
		if bucket == "" {
			return nil, Usagef("--store %q: no bucket name after s3://", store)
		}
		cfg, err := f.Config(ctx)
		if err != nil {
			return nil, fmt.Errorf("--store %s: %w", store, err)
		}
		st, err := s3store.NewFromConfig(cfg, bucket, strings.Trim(prefix, "/"))
		if err != nil {
			return nil, fmt.Errorf("--store %s: %w", store, err)
		}
		return st, nil
	}
	if store == "" {
		store = persist.DefaultDir()
	}
	return persist.NewDir(store), nil
}

// SameBucket returns the bucket that --store s3://... and --output-bucket
// both name, or "": the instances that may write their output there could
// overwrite the store's documents too.
func (f AWS) SameBucket(store string) string {
	rest, ok := strings.CutPrefix(store, "s3://")
	if !ok || f.OutputBucket == "" {
		return ""
	}
	st, _, _ := strings.Cut(rest, "/")
	out, _, _ := strings.Cut(strings.TrimPrefix(f.OutputBucket, "s3://"), "/")
	if st != "" && st == out {
		return st
	}
	return ""
}
