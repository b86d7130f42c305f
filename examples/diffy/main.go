// Command diffy is the example command-line interface of Diffy: it baselines
// and analyzes groups of machines that should be alike, and analyzes
// Results saved earlier.
//
//	diffy baseline KEY [--instance ID|--all]  save KEY's baseline: one clean instance (the group's
//	                                      most typical unless --instance names one), or the whole
//	                                      group (--all: a fleet baseline)
//	diffy analyze KEY                     collect from every instance of KEY and analyze
//	diffy analyze --from DIR [KEY]        analyze saved results instead of collecting
//	diffy diff KEY [--since T|--run ID]   each host against its own earlier collection
//	diffy ls [KEY]                        the store's keys, or KEY's runs
//	diffy show KEY [--run ID]             print a stored report in any format
//	diffy rm KEY [--before T]             delete KEY's runs (before T), or all of KEY
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
			return exit(stderr, cli.Usagef("help: unknown command %q: use baseline, analyze, diff, ls, show, rm or plugins", pos[1]))
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
		return exit(stderr, cli.Usagef("no command given: use baseline, analyze, diff, ls, show, rm or plugins (see diffy -h)"))
	}
	switch pos[0] {
	case "baseline":
		err = cmdBaseline(ctx, c, pos[1:], stdout, stderr)
	case "analyze":
		err = cmdAnalyze(ctx, c, pos[1:], stdout, stderr)
	case "diff":
		err = cmdDiff(ctx, c, pos[1:], stdout, stderr)
	case "ls":
		err = cmdLs(ctx, c, pos[1:], stdout, stderr)
	case "show":
		err = cmdShow(ctx, c, pos[1:], stdout, stderr)
	case "rm":
		err = cmdRm(ctx, c, pos[1:], stdout, stderr)
	case "plugins":
		err = cmdPlugins(c, pos[1:], stdout)
	case "demo":
		err = errDemoMoved
	default:
		err = cli.Usagef("unknown command %q: use baseline, analyze, diff, ls, show, rm or plugins (see diffy -h)", pos[0])
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
  diffy diff KEY [--since T|--run ID]   collect from every instance of KEY and compare each
                                        host with its own earlier collection (default: the
                                        one before; --since: the newest at or before T)
  diffy ls [KEY]                        the store's keys (runs, sizes, times), or KEY's runs
  diffy show KEY [--run ID]             print KEY's stored report (the latest, or run ID)
  diffy rm KEY [--before T]             delete KEY's runs that began before T, or all of KEY
  diffy plugins                         list what is built in

T is an RFC 3339 time (2026-11-26T12:00:00Z), a date (2026-11-26) or an age (36h, 7d).

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
  --baseline-from FILE|DIR        analyze --from, baseline analyzer: Results from FILE (or DIR); of
                                  several instances, a fleet baseline
  --run ID                        show, diff: the stored run (diffy ls KEY lists them)
  --since T                       diff: compare with the newest collection at or before T
  --to ID                         diff: compare with stored run ID instead of collecting
  --before T                      rm: delete only the runs that began before T
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
  --baseline-from FILE|DIR        with --from, baseline analyzer: Results from FILE (or DIR); of
                                  several instances, a fleet baseline
  --region R, --profile P, --role-arn ARN    AWS settings (AWS targets, collector, store)
  --output-bucket B               collector ssm: read whole outputs from this S3 bucket
  --osquery-url URL --osquery-sha256 HEX     collector ssm: osquery for hosts without one
  -v                              progress details on stderr; the table lists every
                                  cluster's traits and folds long rows
`,
	"diff": `Usage: diffy diff KEY [--since T | --run ID] [flags]
       diffy diff KEY --to ID [--since T | --run ID] [flags]

Collects from every instance of KEY (as analyze does, storing the collection) and compares
each host with its own Results in an earlier collection of KEY: rows added and removed since,
volatile columns (pids, start times, ...) dropped. The earlier collection is the one before
(default), the newest that began at or before T (--since), or run ID (--run; diffy ls KEY
lists them). Hosts new since then are listed without findings, hosts gone as skipped. The
report (kind added|removed) goes to stdout (or -o FILE) and into the store under KEY. The
first diff of a key has nothing to compare with: it stores the collection for the next one.
With --to ID (or latest), compares that stored collection instead of collecting.

T is an RFC 3339 time (2026-11-26T12:00:00Z), a date (2026-11-26, UTC) or an age (36h, 7d).

Flags:
  --since T                       compare with the newest collection at or before T
  --run ID                        compare with the collection of run ID
  --to ID                         compare stored run ID (not a new collection)
  --format table|json|html|csv    report format (default table)
  -o FILE                         write the report to FILE (atomically)
  --target local|asg|tag|ids      what KEY names (default local)
  --collector local|ssm           how commands run (default local)
  --store DIR|s3://bucket/prefix  where collections and reports are kept
  --incident ID                   incident ID; the ID of an interrupted run resumes it
  --batch-size N                  instances collected (and saved) at a time (default 500)
  --region R, --profile P, --role-arn ARN    AWS settings (AWS targets, collector, store)
  --output-bucket B               collector ssm: read whole outputs from this S3 bucket
  --osquery-url URL --osquery-sha256 HEX     collector ssm: osquery for hosts without one
  -v                              progress details on stderr
`,
	"ls": `Usage: diffy ls [KEY] [--format table|json] [--store ...]

Without KEY, lists the keys with documents in the store: how many baselines, collections and
reports of each are kept, their size and the time of the newest. With KEY, lists its runs:
run ID, kind, the time the run began, size; the newest of each kind is marked latest. A
store written before history was kept shows one run per kind, marked as such.

Flags:
  --format table|json             a table (default) or JSON
  --store DIR|s3://bucket/prefix  the store
  --region R, --profile P, --role-arn ARN    AWS settings (an S3 store)
`,
	"show": `Usage: diffy show KEY [--run ID] [--format table|json|html|csv] [-o FILE]

Prints KEY's stored report: the latest, or the one of run ID (diffy ls KEY lists them), in
any format, as analyze prints it.

Flags:
  --run ID                        the run (default: latest)
  --format table|json|html|csv    report format (default table)
  -o FILE                         write the report to FILE (atomically)
  --store DIR|s3://bucket/prefix  the store
  --region R, --profile P, --role-arn ARN    AWS settings (an S3 store)
`,
	"rm": `Usage: diffy rm KEY [--before T]

Deletes KEY's runs that began before T, of every kind (baselines, collections, reports);
the newest run left of each kind becomes its latest. Without --before, deletes everything
stored of KEY, the parts of interrupted collections too. Runs older than the retention
(the newest 30 of each kind) are deleted as new ones are stored.

T is an RFC 3339 time (2026-11-26T12:00:00Z), a date (2026-11-26, UTC) or an age (36h, 7d).

Flags:
  --before T                      only the runs that began before T
  --store DIR|s3://bucket/prefix  the store
  --region R, --profile P, --role-arn ARN    AWS settings (an S3 store)
`,
	"plugins": `Usage: diffy plugins

Lists the built-in targets, payload, collectors, stores, analyzers and formats. Takes no
argument and no flag.
`,
	"help": `Usage: diffy help [COMMAND]

Prints the usage of diffy, or of COMMAND (baseline, analyze, diff, ls, show, rm, plugins).
`,
}
