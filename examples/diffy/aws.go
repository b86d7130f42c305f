package main

import (
	"context"
	"errors"

	"github.com/diffy-dfir/diffy/collect"
	"github.com/diffy-dfir/diffy/persist"
	"github.com/diffy-dfir/diffy/target"
)

// awsFlags are the command line's AWS settings.
type awsFlags struct{ region, profile, roleARN, outputBucket string }

// errNoAWS is returned until the AWS plugins are wired in.
var errNoAWS = errors.New("AWS plugins are not built in yet")

// awsTarget returns the EC2 target of kind asg, tag or ids.
func awsTarget(ctx context.Context, f awsFlags, kind string) (target.Target, error) {
	return nil, errNoAWS
}

// awsCollector returns the SSM Run Command collector.
func awsCollector(ctx context.Context, f awsFlags, incident string) (collect.Collector, error) {
	return nil, errNoAWS
}

// awsStore returns the S3 store of bucket and prefix.
func awsStore(ctx context.Context, f awsFlags, bucket, prefix string) (persist.Store, error) {
	return nil, errNoAWS
}
