// Command diffy-demo demonstrates Diffy on a simulated fleet, with no AWS
// account and no network: fake EC2, SSM and S3 endpoints on loopback
// (diffytest/awsfake) serve an Auto Scaling group, a few of whose instances
// are compromised; the real AWS SDK clients target the group, collect the
// osquery pack through SSM Run Command (output through S3), take a fleet
// baseline of the group as it was a week before the compromise (every
// instance), collect it again now, analyze, print the report, and compare
// what was found with the planted truth.
//
//	go run ./examples/diffy-demo [--hosts N] [--seed N] [--analyzer baseline|cluster|both] [--format table|json|html|csv] [-o FILE]
//
// It is a program of its own so that examples/diffy, the tool run during
// an incident, links no fake server. The exit status is 0 when the demo
// ran, 1 on an error and 2 on a usage error, with a one-line reason on
// stderr.
package main

import (
	"context"
	"io"
	"os"

	"github.com/diffy-dfir/diffy/examples/internal/cli"
)

func main() {
	ctx, stop := cli.NotifyContext()
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run is the whole program: it runs the demo with the flags in args,
// writes to stdout and stderr, and returns the exit status.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) (code int) {
	defer func() {
		if v := recover(); v != nil {
			code = cli.Exit(stderr, "diffy-demo", cli.InternalError("diffy-demo", v))
		}
	}()
	return cli.Exit(stderr, "diffy-demo", runDemo(ctx, args, stdout, stderr))
}

const usageText = `diffy-demo runs Diffy on a simulated fleet behind fake AWS endpoints on loopback.

Usage:
  go run ./examples/diffy-demo [flags]

Flags:
  --hosts N                        instances in the demo Auto Scaling group, 20 to 20000 (default 200)
  --seed N                         seed of the simulated fleet (default 2)
  --analyzer baseline|cluster|both the analyzers to run; the first one's report is printed (default both)
  --format table|json|html|csv     the report's format (default table); with json, html or csv the
                                   summary goes to stderr, so that stdout holds the report alone
  -o FILE                          write the report to FILE (checked before anything runs)
  --version                        print the version and exit
  --osquery-url s3://BUCKET/KEY    hosts without osqueryi download it from this object of the fake S3,
                                   presigned, checked against its SHA-256 (payload.OsqueryFetch)
  --no-osquery F                   fraction of the hosts without osqueryi (default 0.2 with --osquery-url, else 0)

Exit status: 0 when the demo ran, 1 on error, 2 on a usage error.
`
