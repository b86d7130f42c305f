package main

import (
	"context"
	"fmt"
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

// awsFlags are the command line's AWS settings.
type awsFlags struct{ region, profile, roleARN, outputBucket string }

// awsConfig loads the AWS configuration of the flags: the SDK's default
// credential chain (AWS_* variables, AWS_ENDPOINT_URL_<SERVICE> included),
// --profile, --region, and --role-arn assumed through STS.
func awsConfig(ctx context.Context, f awsFlags) (aws.Config, error) {
	return awsconfig.Load(ctx, awsconfig.Options{Region: f.region, Profile: f.profile, RoleARN: f.roleARN})
}

// awsTarget returns the EC2 target of kind asg, tag or ids.
func awsTarget(ctx context.Context, f awsFlags, kind string) (target.Target, error) {
	switch kind {
	case "asg", "tag", "ids":
	default:
		return nil, usagef("unknown --target %q (want local, asg, tag or ids)", kind)
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
	if f.outputBucket != "" {
		bucket, prefix, _ := strings.Cut(strings.TrimPrefix(f.outputBucket, "s3://"), "/")
		if bucket == "" {
			return nil, usagef("--output-bucket %q has no bucket name", f.outputBucket)
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
