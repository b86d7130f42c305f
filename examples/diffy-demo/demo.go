package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/diffy-dfir/diffy"
	"github.com/diffy-dfir/diffy/analyze"
	"github.com/diffy-dfir/diffy/collect/ssmcollect"
	"github.com/diffy-dfir/diffy/diffytest/awsfake"
	"github.com/diffy-dfir/diffy/diffytest/fleet"
	"github.com/diffy-dfir/diffy/examples/internal/cli"
	"github.com/diffy-dfir/diffy/payload"
	"github.com/diffy-dfir/diffy/persist/s3store"
	"github.com/diffy-dfir/diffy/render"
	"github.com/diffy-dfir/diffy/target/ec2target"
)

// demoGroup is the Auto Scaling group of the demo fleet.
const demoGroup = "demo-web-asg"

// runDemo runs the demo with the flags in args: an in-process fake AWS (awsfake) serving
// a simulated fleet of one Auto Scaling group, a few of whose instances are
// compromised; the real SDK clients collect from it through the real path
// (EC2 targeting, SSM Run Command, S3 output and store); a fleet baseline
// of the group a week before the compromise, a collection now, the
// analysis, the report, and the planted truth beside what was found.
func runDemo(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("diffy-demo", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	hosts := fs.Int("hosts", 200, "instances in the demo group")
	seed := fs.Int64("seed", 2, "seed of the simulated fleet")
	analyzer := fs.String("analyzer", "both", "baseline, cluster, or both (the cluster report is printed)")
	format := fs.String("format", "table", "table, json, html or csv")
	output := fs.String("o", "", "write the report to this file")
	version := fs.Bool("version", false, "print the version")
	osqueryURL := fs.String("osquery-url", "", "s3://bucket/key: hosts without osqueryi download it from this object, presigned")
	noOsquery := fs.Float64("no-osquery", -1, "fraction of the hosts without osqueryi (default 0.2 with --osquery-url, else 0)")
	if err := fs.Parse(args); errors.Is(err, flag.ErrHelp) {
		fmt.Fprint(stdout, usageText)
		return nil
	} else if err != nil {
		return cli.Usagef("%v (flags: --hosts N, --seed N, --analyzer baseline|cluster|both, --format table|json|html|csv, -o FILE, --osquery-url s3://bucket/key, --no-osquery F)", err)
	}
	if *version {
		fmt.Fprintln(stdout, cli.Version("diffy-demo"))
		return nil
	}
	if fs.NArg() > 0 {
		return cli.Usagef("the demo takes no argument, got %q", fs.Arg(0))
	}
	if *hosts < 20 || *hosts > 20000 {
		return cli.Usagef("--hosts %d is not between 20 and 20000", *hosts)
	}
	write, err := cli.NewWriter(*format, render.WithVersion(cli.Version("diffy-demo")))
	if err != nil {
		return err
	}
	if *output != "" {
		if err := cli.CheckOutput(*output); err != nil {
			return err
		}
	}
	// The summary goes where the report does not: stdout holds a JSON,
	// HTML or CSV report alone.
	info := stdout
	if *format != "table" && *output == "" {
		info = stderr
	}
	if *noOsquery < 0 {
		*noOsquery = 0
		if *osqueryURL != "" {
			*noOsquery = 0.2
		}
	}
	if *noOsquery > 1 {
		return cli.Usagef("--no-osquery %g is not a fraction from 0 to 1", *noOsquery)
	}
	var fetchBucket, fetchKey string
	if *osqueryURL != "" {
		rest, ok := strings.CutPrefix(*osqueryURL, "s3://")
		fetchBucket, fetchKey, _ = strings.Cut(rest, "/")
		if !ok || fetchBucket == "" || fetchKey == "" {
			return cli.Usagef("--osquery-url %q: want s3://bucket/key (an object of the demo's fake S3)", *osqueryURL)
		}
	}
	names := []string{*analyzer}
	if *analyzer == "both" {
		names = []string{"cluster", "baseline"}
	}
	var analyzers []analyze.Analyzer
	for _, n := range names {
		an, err := cli.NewAnalyzer(n)
		if err != nil {
			return err
		}
		analyzers = append(analyzers, an)
	}

	cfg := fleet.Scenario("medium")
	cfg.Seed, cfg.Hosts, cfg.GroupName = *seed, *hosts, demoGroup
	f := fleet.Generate(cfg)
	// Each instance answers as it did a week ago (phase 0: before the
	// compromise, when the fleet baseline was taken) or as it does now.
	var phase atomic.Int32
	insts := awsfake.FleetInstances(f)
	for i := range insts {
		insts[i].Host = awsfake.Phased{Phase: &phase, Phases: []awsfake.Host{awsfake.Rows(f.Hosts[i].RowsBefore()), insts[i].Host}}
	}
	srv, err := awsfake.New(awsfake.WithInstances(insts...), awsfake.WithFaults(awsfake.Faults{Seed: *seed, NoOsquery: *noOsquery}))
	if err != nil {
		return fmt.Errorf("demo: starting the fake AWS endpoints: %w", err)
	}
	defer srv.Close()
	const bucket = "diffy-demo"
	if err := srv.CreateBucket(bucket); err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	awsCfg := srv.Config()
	fmt.Fprintf(stderr, "demo: fake AWS on loopback (EC2 %s, SSM %s, S3 %s); %d instances in Auto Scaling group %s\n",
		srv.EC2URL(), srv.SSMURL(), srv.S3URL(), len(f.Hosts), demoGroup)

	tg, err := ec2target.NewFromConfig(awsCfg, ec2target.KindASG)
	if err != nil {
		return err
	}
	col, err := ssmcollect.NewFromConfig(awsCfg, ssmcollect.WithIncident("DEMO-1"),
		ssmcollect.WithOutputBucket(bucket, "ssm-output"), ssmcollect.WithS3Options(srv.S3Options))
	if err != nil {
		return err
	}
	store, err := s3store.NewFromConfig(awsCfg, bucket, "store", srv.S3Options)
	if err != nil {
		return err
	}
	var truth []string
	for _, h := range f.Hosts {
		if h.Compromised {
			truth = append(truth, h.Instance.ID)
		}
	}
	slices.Sort(truth)
	base := []diffy.Option{diffy.WithTarget(tg), diffy.WithCollector(col), diffy.WithStore(store),
		diffy.WithIncident("DEMO-1"), diffy.WithLogger(cli.NewLogger(stderr, slog.LevelWarn))}
	without := srv.Selected(awsfake.FaultNoOsquery)
	if *osqueryURL != "" {
		fetch, err := demoFetch(ctx, srv, fetchBucket, fetchKey)
		if err != nil {
			return fmt.Errorf("demo: --osquery-url: %w", err)
		}
		base = append(base, diffy.WithPayload(payload.FetchPayload(payload.Osquery{}, fetch)))
		fmt.Fprintf(stderr, "demo: %d instances have no osqueryi; they download it from %s (presigned for an hour, checked against its SHA-256 %s...)\n",
			len(without), *osqueryURL, fetch.SHA256[:16])
	} else if len(without) > 0 {
		fmt.Fprintf(stderr, "demo: %d instances have no osqueryi (give --osquery-url s3://bucket/key to let them download it)\n", len(without))
	}
	d, err := diffy.New(base...)
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "demo: a week ago, before the compromise: fleet baseline of %s (every instance, as `diffy baseline %s --all` takes it)\n", demoGroup, demoGroup)
	baseline, err := d.BaselineFleet(ctx, demoGroup)
	if err != nil {
		return fmt.Errorf("demo: baseline: %w", err)
	}
	phase.Store(1)
	fmt.Fprintf(stderr, "demo: now: collecting the standard osquery pack from every instance through SSM Run Command\n")
	results, err := d.Collect(ctx, demoGroup)
	if err != nil {
		return fmt.Errorf("demo: collect: %w", err)
	}
	var summary []string
	for i, an := range analyzers {
		da, err := diffy.New(append(base, diffy.WithAnalyzer(an))...)
		if err != nil {
			return err
		}
		rep, err := da.AnalyzeResults(ctx, demoGroup, results, baseline, nil)
		if err != nil {
			return fmt.Errorf("demo: analyze (%s): %w", names[i], err)
		}
		describe(rep, f)
		if i == 0 {
			if err := cli.WriteReport(*output, rep, write, stdout); err != nil {
				return err
			}
		}
		var found []string
		for _, h := range rep.Outliers() {
			found = append(found, h.InstanceID)
		}
		slices.Sort(found)
		hit, missed, extra := compare(truth, found)
		line := fmt.Sprintf("%s analyzer: compromised instances found: %d of %d planted (%s)", rep.Analyzer, len(hit), len(truth), strings.Join(hit, ", "))
		if len(missed) > 0 {
			line += fmt.Sprintf("; missed: %s", strings.Join(missed, ", "))
		}
		if len(extra) > 0 {
			line += fmt.Sprintf("; %d clean instances flagged too", len(extra))
		}
		summary = append(summary, line)
	}
	calls := srv.Calls()
	fmt.Fprintln(info)
	for _, l := range summary {
		fmt.Fprintln(info, l)
	}
	if len(without) > 0 {
		lacking := map[string]bool{}
		for _, id := range without {
			lacking[id] = true
		}
		ok := map[string]int{}
		for _, r := range results {
			if lacking[r.InstanceID] && r.OK() {
				ok[r.InstanceID]++
			}
		}
		whole := 0
		for _, n := range ok {
			if n == len(payload.StandardPack()) {
				whole++
			}
		}
		fmt.Fprintf(info, "instances without osqueryi: %d; collected in full: %d\n", len(without), whole)
	}
	fmt.Fprintf(info, "AWS calls: %d DescribeInstances, %d SendCommand, %d ListCommandInvocations, %d S3 GetObject\n",
		calls["ec2:DescribeInstances"].Calls, calls["ssm:SendCommand"].Calls, calls["ssm:ListCommandInvocations"].Calls, calls["s3:GetObject"].Calls)
	return nil
}

// describe gives the report's hosts what EC2 says of their instances
// (name, private address, tags), as diffy.Diffy.Analyze does: the demo
// analyzes Results it collected once with two analyzers, through
// AnalyzeResults, which knows no instance.
func describe(rep *analyze.Report, f *fleet.Fleet) {
	byID := make(map[string]int, len(f.Hosts))
	for i := range f.Hosts {
		byID[f.Hosts[i].Instance.ID] = i
	}
	for i := range rep.Hosts {
		if j, ok := byID[rep.Hosts[i].InstanceID]; ok {
			in := f.Hosts[j].Instance
			rep.Hosts[i].Name, rep.Hosts[i].PrivateIP, rep.Hosts[i].Tags = in.Name, in.PrivateIP, maps.Clone(in.Tags)
		}
	}
}

// demoFetch puts the fake's osquery executable at bucket/key of the fake
// S3 and returns the fetch of it: presigned for an hour, as the CLI does
// with --osquery-url s3://..., with its SHA-256.
func demoFetch(ctx context.Context, srv *awsfake.Server, bucket, key string) (payload.OsqueryFetch, error) {
	if err := srv.CreateBucket(bucket); err != nil {
		return payload.OsqueryFetch{}, err
	}
	c := s3.NewFromConfig(srv.Config(), srv.S3Options)
	if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), Body: bytes.NewReader(awsfake.OsqueryExecutable)}); err != nil {
		return payload.OsqueryFetch{}, err
	}
	req, err := s3.NewPresignClient(c, s3.WithPresignExpires(time.Hour)).PresignGetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil {
		return payload.OsqueryFetch{}, err
	}
	sum := sha256.Sum256(awsfake.OsqueryExecutable)
	f := payload.OsqueryFetch{URL: req.URL, SHA256: hex.EncodeToString(sum[:])}
	return f, f.Validate()
}

// compare splits the planted truth and the found outliers (both sorted)
// into found, missed and flagged-but-clean.
func compare(truth, found []string) (hit, missed, extra []string) {
	for _, id := range truth {
		if _, ok := slices.BinarySearch(found, id); ok {
			hit = append(hit, id)
		} else {
			missed = append(missed, id)
		}
	}
	for _, id := range found {
		if _, ok := slices.BinarySearch(truth, id); !ok {
			extra = append(extra, id)
		}
	}
	return hit, missed, extra
}
