// Command diffy is the example command-line interface of Diffy: it baselines
// and analyzes groups of machines that should be alike, and analyzes
// Results saved earlier.
//
//	diffy baseline KEY [--instance ID|--all]  save KEY's baseline: one clean instance (the group's
//	                                      most typical unless --instance names one), or the whole
//	                                      group (--all: a fleet baseline)
//	diffy analyze KEY                     collect from every instance of KEY and analyze
//	diffy analyze --from DIR [KEY]        analyze saved results instead of collecting
//	diffy plugins                         list what is built in
//
// The key "local" (or "localhost") with the default flags runs on this
// machine, with no AWS. Flags may come before or after the arguments; run
// `diffy -h` for them. The exit status is 0 when the command ran (outliers
// found or not), 1 on an error and 2 on a usage error, with a one-line
// reason on stderr.
//
// The demonstration on a simulated fleet is its own program,
// examples/diffy-demo, so that this one, the tool run during an incident,
// links no fake AWS server.
package main

import (
	"context"
	"fmt"
	"io"
	"os"

	"github.com/diffy-dfir/diffy/examples/internal/cli"
)

func main() {
	// The first Ctrl-C (or SIGTERM) cancels the run, which then stores what
	// it collected and says how to resume; a second one ends the program.
	ctx, stop := cli.NotifyContext()
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run is the whole program: it runs the command in args, writes to stdout
// and stderr, and returns the exit status.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) (code int) {
	defer func() {
		if v := recover(); v != nil {
			code = exit(stderr, cli.InternalError("diffy", v))
		}
	}()
	if len(args) > 0 && args[0] == "demo" {
		return exit(stderr, errDemoMoved)
	}
	c, pos, err := parseArgs(args)
	if err != nil {
		return exit(stderr, err)
	}
	if c.version {
		fmt.Fprintln(stdout, cli.Version("diffy"))
		return 0
	}
	if len(pos) > 0 && pos[0] == "help" {
		// diffy help [COMMAND]
		if len(pos) > 2 {
			return exit(stderr, cli.Usagef("help takes at most one COMMAND, got %d", len(pos)-1))
		}
		if len(pos) == 1 {
			fmt.Fprint(stdout, usageText)
			return 0
		}
		u, ok := commandUsage[pos[1]]
		if !ok {
			return exit(stderr, cli.Usagef("help: unknown command %q: use baseline, analyze or plugins", pos[1]))
		}
		fmt.Fprint(stdout, u)
		return 0
	}
	if c.help {
		// diffy -h, diffy COMMAND --help
		u := usageText
		if len(pos) > 0 {
			if cu, ok := commandUsage[pos[0]]; ok {
				u = cu
			}
		}
		fmt.Fprint(stdout, u)
		return 0
	}
	if len(pos) == 0 {
		return exit(stderr, cli.Usagef("no command given: use baseline, analyze or plugins (see diffy -h)"))
	}
	switch pos[0] {
	case "baseline":
		err = cmdBaseline(ctx, c, pos[1:], stdout, stderr)
	case "analyze":
		err = cmdAnalyze(ctx, c, pos[1:], stdout, stderr)
	case "plugins":
		err = cmdPlugins(c, pos[1:], stdout)
	case "demo":
		err = errDemoMoved
	default:
		err = cli.Usagef("unknown command %q: use baseline, analyze or plugins (see diffy -h)", pos[0])
	}
	return exit(stderr, err)
}

// exit prints err as one line "diffy: MESSAGE" on stderr and returns the
// exit status: 0 for no error, 2 for a usage error, 1 otherwise.
func exit(stderr io.Writer, err error) int { return cli.Exit(stderr, "diffy", err) }

// errDemoMoved answers `diffy demo`: the demo links fake AWS servers, which
// the tool run during an incident does not carry.
var errDemoMoved = cli.Usagef("the demo is its own program, so that this one carries no fake AWS servers: go run ./examples/diffy-demo")

const usageText = `diffy finds the machines of a group that differ from the others.

Usage:
  diffy baseline KEY [--instance ID|--all]
                                        save KEY's baseline: one clean instance (the group's most
                                        typical, the medoid of its cluster analysis, unless
                                        --instance names one), or the whole group (--all: a fleet
                                        baseline, compared as a whole)
  diffy analyze KEY                     collect from every instance of KEY and analyze
  diffy analyze --from DIR [KEY]        analyze saved results instead of collecting: DIR holds
                                        JSON files of Result arrays (any number per file);
                                        KEY defaults to DIR's name
  diffy plugins                         list what is built in

KEY is "local" (this machine) with the default --target, an Auto Scaling group name
(--target asg), a tag Name=Value (--target tag) or instance IDs i-1,i-2 (--target ids).

Flags (before or after the arguments):
  --target local|asg|tag|ids      what KEY names (default local)
  --collector local|ssm           how commands run (default local)
  --store DIR|s3://bucket/prefix  where baselines, collections and reports are kept
                                  (default ` + "$XDG_DATA_HOME/diffy, else ~/.local/share/diffy" + `)
  --analyzer baseline|cluster     how outliers are found (default baseline)
  --format table|json|html|csv    report format (default table)
  -o FILE                         write the report to FILE (atomically) instead of stdout
  --incident ID                   incident ID; the ID of an interrupted run resumes it
  --instance ID                   baseline: the clean instance to baseline from
  --all                           baseline: every instance (a fleet baseline)
  --from DIR                      analyze: saved Result files instead of collecting
  --baseline-from FILE|DIR        analyze --from: baseline Results from FILE (or DIR); of
                                  several instances, a fleet baseline
  --batch-size N                  instances collected (and saved) at a time (default 500)
  --region R, --profile P, --role-arn ARN, --output-bucket B    AWS settings
  --osquery-url URL|s3://bucket/key --osquery-sha256 HEX
                                  collector ssm: hosts without osqueryi download this osquery
                                  executable (an s3:// object is handed out as a presigned URL,
                                  valid 1 hour) and run it only if its SHA-256 digest is HEX
  -v                              log progress details on stderr; the table lists every
                                  cluster's traits and folds long rows instead of cutting them
  --version                       print the version (module version, VCS revision) and exit

Flags that do not apply to the command, the target or the collector are an error.
Run diffy help COMMAND (or diffy COMMAND --help) for one command's usage.

Exit status: 0 when the command ran (outliers or not), 1 on error, 2 on a usage error.
`

// commandUsage is each command's usage, for diffy help COMMAND and
// diffy COMMAND --help.
var commandUsage = map[string]string{
	"baseline": `Usage: diffy baseline KEY [--instance ID|--all] [flags]

Collects the standard osquery pack and saves the Results as KEY's baseline, for the baseline
analyzer. With --instance, from that instance alone. Without, the group is collected and
analyzed (the cluster analyzer) and its most typical instance is kept: of the hosts of its
largest cluster that the analysis does not flag, the most central on its map (the medoid);
a host the analysis flags is never chosen unless --instance names it. With --all, every
instance's Results are kept: a fleet baseline, to which later collections are compared as
a whole (its roles, splayed schedules and versions are no findings; what appeared since is).

Flags:
  --target local|asg|tag|ids      what KEY names (default local)
  --collector local|ssm           how commands run (default local)
  --store DIR|s3://bucket/prefix  where the baseline is kept
  --instance ID                   the clean instance to baseline from
  --all                           every instance: a fleet baseline
  --incident ID                   incident ID, named in the commands sent
  --batch-size N                  instances collected at a time
  --region R, --profile P, --role-arn ARN    AWS settings (AWS targets, collector, store)
  --output-bucket B               collector ssm: read whole outputs from this S3 bucket
  --osquery-url URL --osquery-sha256 HEX     collector ssm: osquery for hosts without one
  -v                              log progress details on stderr
`,
	"analyze": `Usage: diffy analyze KEY [flags]
       diffy analyze --from DIR [KEY] [flags]

Collects from every instance of KEY (or reads the Result files of DIR) and analyzes the
Results; the report goes to stdout (or -o FILE) and into the store under KEY.

Flags:
  --analyzer baseline|cluster     how outliers are found (default baseline)
  --format table|json|html|csv    report format (default table); table: 100 columns (or the
                                  terminal's width), outliers first; json: every finding;
                                  html: one self-contained page; csv: one row per finding
  -o FILE                         write the report to FILE (atomically); checked before
                                  anything is collected
  --target local|asg|tag|ids      what KEY names (default local)
  --collector local|ssm           how commands run (default local)
  --store DIR|s3://bucket/prefix  where baselines, collections and reports are kept
  --incident ID                   incident ID; the ID of an interrupted run resumes it
  --batch-size N                  instances collected (and saved) at a time (default 500)
  --from DIR                      saved Result files instead of collecting
  --baseline-from FILE|DIR        with --from: baseline Results from FILE (or DIR); of
                                  several instances, a fleet baseline
  --region R, --profile P, --role-arn ARN    AWS settings (AWS targets, collector, store)
  --output-bucket B               collector ssm: read whole outputs from this S3 bucket
  --osquery-url URL --osquery-sha256 HEX     collector ssm: osquery for hosts without one
  -v                              progress details on stderr; the table lists every
                                  cluster's traits and folds long rows
`,
	"plugins": `Usage: diffy plugins

Lists the built-in targets, payload, collectors, stores, analyzers and formats. Takes no
argument and no flag.
`,
	"help": `Usage: diffy help [COMMAND]

Prints the usage of diffy, or of COMMAND (baseline, analyze, plugins).
`,
}
