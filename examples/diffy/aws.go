package main

import (
	"context"

	"github.com/diffy-dfir/diffy/examples/internal/cli"
	"github.com/diffy-dfir/diffy/payload"
)

// awsFlags are the command line's AWS settings.
type awsFlags = cli.AWS

// osqueryFetch returns what --osquery-url and --osquery-sha256 ask (see
// cli.AWS.OsqueryFetch).
func osqueryFetch(ctx context.Context, c *config) (payload.OsqueryFetch, error) {
	return c.aws.OsqueryFetch(ctx, c.osqueryURL, c.osquerySHA256)
}
