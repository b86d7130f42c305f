package main

import (
	"errors"
	"flag"
	"io"
	"maps"
	"slices"
	"strings"

	"github.com/diffy-dfir/diffy/examples/internal/cli"
)

// config holds the command line's flags.
type config struct {
	target, collector, store, analyzer, format, output string
	incident, instance, from, baselineFrom             string
	before, run, since, to                             string
	osqueryURL, osquerySHA256                          string
	aws                                                awsFlags
	batchSize                                          int
	verbose, help, version, all                        bool
	set                                                map[string]bool // flags given
}

// parseArgs parses flags and positional arguments in any order (Go's flag
// package stops at the first positional argument; parseArgs goes on after
// it). "--" ends the flags. Errors are usage errors.
func parseArgs(args []string) (*config, []string, error) {
	c := &config{}
	fs := flag.NewFlagSet("diffy", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&c.target, "target", "local", "local|asg|tag|ids")
	fs.StringVar(&c.collector, "collector", "local", "local|ssm")
	fs.StringVar(&c.store, "store", "", "DIR|s3://bucket/prefix")
	fs.StringVar(&c.analyzer, "analyzer", "baseline", "baseline|cluster")
	fs.StringVar(&c.format, "format", "table", "table|json|html|csv")
	fs.StringVar(&c.output, "o", "", "report file")
	fs.StringVar(&c.incident, "incident", "", "incident ID")
	fs.StringVar(&c.instance, "instance", "", "baseline instance ID")
	fs.StringVar(&c.from, "from", "", "directory of saved Result files")
	fs.StringVar(&c.baselineFrom, "baseline-from", "", "file or directory of baseline Results")
	fs.BoolVar(&c.all, "all", false, "baseline every instance")
	fs.StringVar(&c.before, "before", "", "rm: runs before this time")
	fs.StringVar(&c.run, "run", "", "show, diff: the run ID")
	fs.StringVar(&c.since, "since", "", "diff: the collection at or before this time")
	fs.StringVar(&c.to, "to", "", "diff: compare with this stored run instead of collecting")
	c.aws.Register(fs)
	fs.StringVar(&c.osqueryURL, "osquery-url", "", "osquery executable for hosts without one")
	fs.StringVar(&c.osquerySHA256, "osquery-sha256", "", "its SHA-256 digest")
	fs.IntVar(&c.batchSize, "batch-size", 0, "instances per batch")
	fs.BoolVar(&c.verbose, "v", false, "verbose")
	fs.BoolVar(&c.version, "version", false, "print the version")
	var pos []string
	for {
		err := fs.Parse(args)
		if errors.Is(err, flag.ErrHelp) {
			c.help = true
			return c, pos, nil
		}
		if err != nil {
			return nil, nil, cli.Usagef("%v (see diffy -h)", err)
		}
		rest := fs.Args()
		consumed := args[:len(args)-len(rest)]
		if len(consumed) > 0 && consumed[len(consumed)-1] == "--" {
			pos = append(pos, rest...)
			break
		}
		if len(rest) == 0 {
			break
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
	c.set = map[string]bool{}
	fs.Visit(func(f *flag.Flag) { c.set[f.Name] = true })
	return c, pos, check(c)
}

// check refuses unknown plugin and format names, as usage errors.
func check(c *config) error {
	for _, f := range []struct {
		flag, value string
		known       []string
	}{
		{"target", c.target, []string{"local", "asg", "tag", "ids"}},
		{"collector", c.collector, []string{"local", "ssm"}},
		{"analyzer", c.analyzer, names(analyzers)},
		{"format", c.format, names(formats)},
	} {
		if !slices.Contains(f.known, f.value) {
			return cli.Usagef("unknown --%s %q: use %s", f.flag, f.value, strings.Join(f.known, ", "))
		}
	}
	if c.set["batch-size"] && c.batchSize < 1 {
		return cli.Usagef("--batch-size %d: must be at least 1", c.batchSize)
	}
	if (c.osqueryURL == "") != (c.osquerySHA256 == "") {
		return cli.Usagef("--osquery-url and --osquery-sha256 go together: the executable is run only if its digest matches")
	}
	if c.osqueryURL != "" && c.collector != "ssm" {
		return cli.Usagef("--osquery-url applies to --collector ssm (the local collector runs osqueryi if installed, else its own probes)")
	}
	// Flags that do not apply to the target, collector or store chosen.
	if c.collector == "ssm" && c.target == "local" && c.from == "" {
		return cli.Usagef("--collector ssm runs commands on EC2 instances: give an EC2 target (--target asg, tag or ids), not --target local")
	}
	if c.aws.OutputBucket != "" && c.collector != "ssm" {
		return cli.Usagef("--output-bucket applies to --collector ssm (where SSM writes whole outputs); this run collects with --collector %s", c.collector)
	}
	usesAWS := c.target != "local" || c.collector == "ssm" || strings.HasPrefix(c.store, "s3://") || strings.HasPrefix(c.osqueryURL, "s3://")
	if !usesAWS {
		for _, n := range []string{"region", "profile", "role-arn"} {
			if c.set[n] {
				return cli.Usagef("--%s applies to AWS (--target asg|tag|ids, --collector ssm, --store s3://...), and this run uses none", n)
			}
		}
	}
	return nil
}

// allow refuses every flag given that is not in names (nor -v): it does not
// apply to cmd.
func (c *config) allow(cmd string, names ...string) error {
	for _, n := range slices.Sorted(maps.Keys(c.set)) {
		if n != "v" && !slices.Contains(names, n) {
			return cli.Usagef("--%s does not apply to %s (see diffy help %s)", n, cmd, strings.Fields(cmd)[0])
		}
	}
	return nil
}

// storeFlags are the flags of commands that only read or change the store.
var storeFlags = []string{"store", "region", "profile", "role-arn"}

// only refuses the flags in names when given: they do not apply to cmd.
func (c *config) only(cmd string, names ...string) error {
	for _, n := range names {
		if c.set[n] {
			return cli.Usagef("--%s does not apply to %s (see diffy -h)", n, cmd)
		}
	}
	return nil
}

// plugin is a built-in name and what it does, for `diffy plugins`.
type plugin struct{ name, what string }

func names(ps []plugin) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = p.name
	}
	return out
}
