// Command ssm is the benchmark driver of SSM collection at fleet scale: it
// collects the standard osquery pack from a simulated Auto Scaling group
// (10,000 instances by default) through collect/ssmcollect, with the real
// AWS SDK clients against diffytest/awsfake at a given latency and rate
// limit per operation, in S3 output mode and in API output mode, and
// reports wall time, peak RSS, the API calls per operation, and the floor:
// the calls strictly needed divided by the allowed rate.
//
//	go run ./bench/ssm                      # both modes, 10,000 instances
//	go run ./bench/ssm -hosts 1000 -mode s3
//	go run ./bench/ssm -hosts 100000 -mode s3 -distinct -analyze  # streamed into the cluster analyzer
//
// # The floor
//
// The calls strictly needed to collect n instances with one framed
// invocation per batch are: ceil(n/50) SendCommand (SSM's limit of 50
// instances per command), ceil(n/50) ListCommandInvocations (one status
// page per command, at the least), ceil(n/1000) DescribeInstances and n
// output reads (GetCommandInvocation in API mode, S3 GetObject of the
// stdout object in S3 mode). The fake throttles each operation on its own
// at AWS's documented rates (awsfake.AWSRates): S3 GetObject at 5,500/s
// (per prefix), EC2 DescribeInstances at 20/s after a burst of 100, and
// each SSM operation at -rate (100/s, an assumption: AWS publishes no rate
// for them). Operations proceed in parallel, so the floor is the largest
// of needed(op)/rate(op); and since S3 serves reads 55 times faster than
// SSM, in S3 mode the fake's own work bounds the run first: it runs each
// host's script once (measured before the run: CPU seconds per host,
// spread over the machine's cores). The floor adds one call's latency and
// one invocation's run time. The DescribeInstanceInformation precheck,
// repeated polls and the commands collected again alone (API mode) are
// not counted as needed; they are reported.
//
// Each mode runs in a child process of its own (the driver re-executes
// itself), and the fake (fleet, endpoints, in-memory S3) in a process of
// its own beside it, so that the collector's peak RSS is its own: it
// holds every Result of the run, as Collect returns them. The fake's peak
// RSS is reported apart.
//
// # The peer
//
// Beside the floor, each mode's row gives the wall time of the peer (see
// peer): the least client of the same SDK, making only the calls needed.
// The collector and the peer run one after the other (-order: the
// collector first by default, or the peer first), each against a fake of
// its own started afresh for it (the fleet built again), so that neither
// runs against a fake that holds the other's outputs, and the peer in a
// process of its own, so that the collector's peak RSS and CPU are its
// own whatever the order. Building the fleet twice costs a second fake's
// start-up per mode, outside the timed runs.
package main

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"os"
	"os/exec"
	"runtime"
	"runtime/metrics"
	"runtime/pprof"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/ssm"

	"github.com/diffy-dfir/diffy/analyze"
	"github.com/diffy-dfir/diffy/awsconfig"
	benchsample "github.com/diffy-dfir/diffy/bench/internal/sample"
	"github.com/diffy-dfir/diffy/collect"
	"github.com/diffy-dfir/diffy/collect/ssmcollect"
	"github.com/diffy-dfir/diffy/collect/ssmcollect/ssmframe"
	"github.com/diffy-dfir/diffy/diffytest/awsfake"
	"github.com/diffy-dfir/diffy/diffytest/fleet"
	"github.com/diffy-dfir/diffy/payload"
	"github.com/diffy-dfir/diffy/target"
	"github.com/diffy-dfir/diffy/target/ec2target"
)

func main() {
	hosts := flag.Int("hosts", 10000, "instances in the group")
	mode := flag.String("mode", "both", "s3, api or both")
	latency := flag.Duration("latency", 20*time.Millisecond, "latency added to every call")
	rate := flag.Float64("rate", awsfake.DefaultSSMRate, "requests per second allowed per SSM operation (S3 and EC2 follow AWS's documented rates: awsfake.AWSRates)")
	poll := flag.Duration("poll", ssmcollect.DefaultPollInterval, "poll interval")
	batches := flag.Int("batches", ssmcollect.DefaultBatchConcurrency, "batches in flight")
	reads := flag.Int("reads", ssmcollect.DefaultReadConcurrency, "output reads at once")
	flag.StringVar(&retryMode, "retry", "adaptive", "the SDK retryer: adaptive (awsconfig.Retryer) or standard")
	serve := flag.Bool("serve", false, "internal: serve the fake fleet for a parent process")
	peerOf := flag.String("peerof", "", "internal: run the peer against the fake at these endpoints (JSON) and print what it did")
	order := flag.String("order", "collector,peer", "the order of the two clients' runs, each against a fake of its own: collector,peer or peer,collector")
	verbose := flag.Bool("v", false, "log the collector's progress on stderr")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile of one mode to this file")
	flag.BoolVar(&distinct, "distinct", false, "make every host's processes, listening ports and kernel modules rows its own (the worst case for sharing rows)")
	memprofile := flag.String("memprofile", "", "write a heap profile of one mode, after the collection, to this file")
	flag.StringVar(&midProfile, "midprofile", "", "write an in-use heap profile of one mode to this file once -midat of the batches are delivered")
	flag.Float64Var(&midAt, "midat", 0.9, "the fraction of the batches delivered at which -midprofile is written")
	flag.StringVar(&peakProfile, "peakprofile", "", "write an in-use heap profile of one mode to this file each time the live heap passes its peak by 5% (the last one is near the peak; it collects the garbage every 50 ms: slower, for profiles only)")
	streamOnly := flag.Bool("streamonly", false, "no SSM, no fake: feed the same fleet's Results to the cluster analyzer's stream in batches of 50 hosts, in this process (what the analysis alone holds)")
	flag.BoolVar(&plain, "plain", false, "no compression on the hosts (ssmcollect.WithCompression(false))")
	flag.BoolVar(&peerToo, "peer", true, "time the peer too, in the same run (in the order -order gives), in a process of its own against a fake of its own: a minimal client of the same SDK making only the calls needed (see peer)")
	flag.BoolVar(&analyzeToo, "analyze", false, "collect batch by batch (collect.CollectBatches) into the cluster analyzer's stream, dropping each batch, as diffy.Analyze does")
	flag.Parse()
	if *serve {
		if err := serveFake(*hosts, *latency, *rate); err != nil {
			fail(err)
		}
		return
	}
	if *mode == "both" && !*streamOnly {
		fmt.Printf("| mode | instances | wall | floor | wall/floor | peer | wall/peer | CPU collector + fake | CPU / cores | collector peak RSS | fake peak RSS | results OK | truncated | calls per operation (throttled) [strictly needed] |\n")
		fmt.Printf("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n")
		for _, m := range []string{"s3", "api"} {
			exe, err := os.Executable()
			if err != nil {
				fail(err)
			}
			cmd := exec.Command(exe, "-mode", m, fmt.Sprint("-hosts=", *hosts), fmt.Sprint("-latency=", *latency),
				fmt.Sprint("-rate=", *rate), fmt.Sprint("-poll=", *poll), fmt.Sprint("-batches=", *batches), fmt.Sprint("-reads=", *reads), "-retry="+retryMode, "-order="+*order, fmt.Sprint("-distinct=", distinct),
				fmt.Sprint("-plain=", plain), fmt.Sprint("-analyze=", analyzeToo), fmt.Sprint("-peer=", peerToo))
			cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
			if err := cmd.Run(); err != nil {
				fail(fmt.Errorf("mode %s: %w", m, err))
			}
		}
		return
	}
	logger := slog.New(slog.DiscardHandler)
	if *verbose {
		logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	if *cpuprofile != "" {
		pf, err := os.Create(*cpuprofile)
		if err != nil {
			fail(err)
		}
		if err := pprof.StartCPUProfile(pf); err != nil {
			fail(err)
		}
		defer pprof.StopCPUProfile()
	}
	retryer = awsconfig.Retryer(0)
	if retryMode == "standard" {
		retryer = func() aws.Retryer {
			return retry.NewStandard(func(o *retry.StandardOptions) {
				o.MaxAttempts, o.RateLimiter = awsconfig.DefaultMaxAttempts, ratelimit.None
			})
		}
	}
	heapProfile = *memprofile
	batchConc, readConc = *batches, *reads
	if *peerOf != "" {
		if err := peerChild(*peerOf, *mode, *poll); err != nil {
			fail(err)
		}
		return
	}
	switch *order {
	case "collector,peer", "peer,collector":
		runOrder = strings.Split(*order, ",")
	default:
		fail(fmt.Errorf("-order %q: want collector,peer or peer,collector", *order))
	}
	if peakProfile != "" && !*streamOnly {
		stop := watchPeak(peakProfile)
		defer stop()
	}
	if *streamOnly {
		if err := streamAlone(*hosts); err != nil {
			fail(err)
		}
		return
	}
	if err := bench(*mode, *hosts, *latency, *rate, *poll, logger,
		ssmcollect.WithBatchConcurrency(*batches), ssmcollect.WithReadConcurrency(*reads)); err != nil {
		fail(err)
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "bench/ssm:", err)
	os.Exit(1)
}

// collected is what one collector run gave: its wall time (targeting
// included), the Results and how many succeeded and were truncated, and
// the CPU seconds the process spent in it.
type collected struct {
	wall                 time.Duration
	ok, total, truncated int
	cpu                  float64
}

// sdkConfig is the SDK configuration of the clients against the fake at
// ep, with the run's retryer.
func sdkConfig(ep endpoints) aws.Config {
	return aws.Config{
		Region:      ep.Region,
		Credentials: credentials.NewStaticCredentialsProvider(awsfake.AccessKeyID, awsfake.SecretAccessKey, ""),
		Retryer:     retryer,
	}
}

func ssmClient(cfg aws.Config, ep endpoints) *ssm.Client {
	return ssm.NewFromConfig(cfg, func(o *ssm.Options) { o.BaseEndpoint = aws.String(ep.SSM) })
}

func s3Client(cfg aws.Config, ep endpoints) *s3.Client {
	return s3.NewFromConfig(cfg, func(o *s3.Options) { o.BaseEndpoint, o.UsePathStyle = aws.String(ep.S3), true })
}

// targeter is the group's targeting (ec2target, DescribeInstances) at ep.
func targeter(cfg aws.Config, ep endpoints) (func(context.Context) ([]target.Instance, error), error) {
	tg, err := ec2target.New(ec2.NewFromConfig(cfg, func(o *ec2.Options) { o.BaseEndpoint = aws.String(ep.EC2) }), ec2target.KindASG)
	if err != nil {
		return nil, err
	}
	return func(ctx context.Context) ([]target.Instance, error) { return tg.Targets(ctx, group) }, nil
}

// needed is the calls strictly needed per operation to collect hosts in
// mode (see the package doc, The floor).
func needed(mode string, hosts int) map[string]int {
	read := "ssm:GetCommandInvocation"
	if mode == "s3" {
		read = "s3:GetObject"
	}
	batches := (hosts + ssmcollect.MaxBatchSize - 1) / ssmcollect.MaxBatchSize
	return map[string]int{"ssm:SendCommand": batches, "ssm:ListCommandInvocations": batches, read: hosts,
		"ec2:DescribeInstances": (hosts + 999) / 1000}
}

// collectAll runs the collector in mode against the fake at ep: the
// group's targeting, then Collect (or, with -analyze, CollectBatches into
// the cluster analyzer's stream, each batch dropped, as diffy.Analyze does).
func collectAll(ctx context.Context, mode string, ep endpoints, hosts int, poll time.Duration, logger *slog.Logger, extra ...ssmcollect.Option) (collected, error) {
	var c collected
	cfg := sdkConfig(ep)
	opts := append([]ssmcollect.Option{ssmcollect.WithIncident("BENCH"), ssmcollect.WithPollInterval(poll), ssmcollect.WithLogger(logger),
		ssmcollect.WithCompression(!plain)}, extra...)
	clients := ssmcollect.Clients{Send: ssmClient(cfg, ep), List: ssmClient(cfg, ep), Get: ssmClient(cfg, ep), Cancel: ssmClient(cfg, ep), Describe: ssmClient(cfg, ep)}
	switch mode {
	case "s3":
		clients.S3 = s3Client(cfg, ep)
		opts = append(opts, ssmcollect.WithOutputBucket(bucket, "ssm"))
	case "api":
	default:
		return c, fmt.Errorf("unknown mode %q", mode)
	}
	targets, err := targeter(cfg, ep)
	if err != nil {
		return c, err
	}
	col, err := ssmcollect.New(clients, opts...)
	if err != nil {
		return c, err
	}
	runtime.GC()
	var ru0, ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru0)
	start := time.Now()
	insts, err := targets(ctx)
	if err != nil {
		return c, err
	}
	batches := (hosts + ssmcollect.MaxBatchSize - 1) / ssmcollect.MaxBatchSize
	batchesDone, midDone := 0, midProfile == ""
	count := func(rs []collect.Result) {
		batchesDone++
		if !midDone && float64(batchesDone) >= midAt*float64(batches) {
			midDone = true
			if err := writeHeapAt(midProfile, fmt.Sprintf("after %d batches of %d (%d Results)", batchesDone, batches, c.total+len(rs))); err != nil {
				fmt.Fprintln(os.Stderr, "bench/ssm: -midprofile:", err)
			}
		}
		for _, r := range rs {
			c.total++
			if r.Status == collect.StatusSuccess {
				c.ok++
			}
			if r.Truncated {
				c.truncated++
			}
		}
	}
	if analyzeToo {
		stream, err := analyze.Clustering{}.NewStream(group, nil)
		if err != nil {
			return c, err
		}
		if err := col.CollectBatches(ctx, insts, payload.StandardPack(), func(b []collect.Result) error {
			count(b)
			return stream.Add(ctx, b)
		}); err != nil {
			return c, err
		}
		rep, err := stream.Report(ctx, nil)
		if err != nil {
			return c, err
		}
		fmt.Fprintf(os.Stderr, "bench/ssm: analyzed %d hosts, %d outliers\n", len(rep.Hosts), len(rep.Outliers()))
	} else {
		res, err := col.Collect(ctx, insts, payload.StandardPack())
		if err != nil {
			return c, err
		}
		count(res)
		if heapProfile != "" {
			// What Collect returned, live in the profile.
			defer runtime.KeepAlive(res)
		}
	}
	c.wall = time.Since(start)
	if heapProfile != "" {
		if err := writeHeap(heapProfile); err != nil {
			return c, err
		}
	}
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	c.cpu = cpuSeconds(ru) - cpuSeconds(ru0)
	return c, nil
}

// bench runs one mode: the collector and the peer (-peer), in the order
// -order gives, each against a fake of its own started afresh for it (so
// that neither runs against a fake that holds the other's outputs), the
// peer in a process of its own (so that the collector's peak RSS and CPU,
// from getrusage of this process, are its own whatever the order); then
// prints the mode's row.
func bench(mode string, hosts int, latency time.Duration, rate float64, poll time.Duration, logger *slog.Logger, extra ...ssmcollect.Option) error {
	ctx := context.Background()
	var (
		c                collected
		calls            map[string]awsfake.CallCount
		fakeCPU          float64
		fakeRSS          int64
		floor            time.Duration
		peerCol          = "| - | -"
		pr               peerResult
		colDone, peerRan bool
	)
	need := needed(mode, hosts)
	for _, who := range runOrder {
		switch who {
		case "collector":
			fake, err := startFake(hosts, latency, rate)
			if err != nil {
				return err
			}
			c, err = collectAll(ctx, mode, fake.endpoints, hosts, poll, logger, extra...)
			if err != nil {
				fake.stop()
				return err
			}
			if calls, fakeCPU, fakeRSS, err = fake.finish(); err != nil {
				return err
			}
			floor = floorOf(mode, hosts, latency, rate, fake.ScriptSeconds)
			colDone = true
		case "peer":
			if !peerToo {
				continue
			}
			var err error
			if pr, err = runPeer(mode, hosts, latency, rate, poll); err != nil {
				return err
			}
			peerRan = true
		}
	}
	if !colDone {
		return fmt.Errorf("-order %s runs no collector", strings.Join(runOrder, ","))
	}
	if peerRan {
		var pcalls []string
		for _, op := range slices.Sorted(maps.Keys(pr.Calls)) {
			if op != "s3:CreateBucket" {
				pcalls = append(pcalls, fmt.Sprintf("%s %d", op, pr.Calls[op].Calls))
			}
		}
		fmt.Fprintf(os.Stderr, "bench/ssm: %s: the peer read %d outputs (%d MB), %d not successful, in %.1f s; CPU peer + fake %.1f + %.1f s; peer peak RSS %d MiB; calls: %s\n",
			mode, pr.Reads, pr.Bytes>>20, pr.Failed, pr.Wall.Seconds(), pr.CPU, pr.FakeCPU, pr.RSS>>10, strings.Join(pcalls, ", "))
		peerCol = fmt.Sprintf("| %.1f s | %.2fx", pr.Wall.Seconds(), c.wall.Seconds()/pr.Wall.Seconds())
	}
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	var ops []string
	for op := range calls {
		if op != "s3:CreateBucket" {
			ops = append(ops, op)
		}
	}
	slices.Sort(ops)
	var parts []string
	for _, op := range ops {
		n := calls[op]
		p := fmt.Sprintf("%s %d", strings.SplitN(op, ":", 2)[1], n.Calls)
		if n.Throttled > 0 {
			p += fmt.Sprintf(" (%d)", n.Throttled)
		}
		if k, ok := need[op]; ok {
			p += fmt.Sprintf(" [needed %d]", k)
		}
		parts = append(parts, p)
	}
	name := mode
	if plain {
		name += " plain"
	}
	if analyzeToo {
		name += " +analyze"
	}
	if peerRan {
		name += " (" + strings.Join(runOrder, " then ") + ")"
	}
	// The CPU both processes spent during the run, over the machine's
	// cores: what the run takes at least on this machine when nothing else
	// runs (the fake's script runs are in it, as the floor's fake work).
	fmt.Printf("| %s | %d | %.1f s | %.1f s | %.2fx %s | %.1f + %.1f s | %.1f s | %d MiB | %d MiB | %d of %d | %d | %s |\n", name, hosts, c.wall.Seconds(), floor.Seconds(),
		c.wall.Seconds()/floor.Seconds(), peerCol, c.cpu, fakeCPU, (c.cpu+fakeCPU)/float64(runtime.NumCPU()), ru.Maxrss/1024, fakeRSS/1024, c.ok, c.total, c.truncated, strings.Join(parts, ", "))
	return nil
}

// floorOf is the floor of a run in mode (see the package doc): each
// operation's needed calls at its own rate (they proceed in parallel), or
// the fake's own work (scriptSeconds of CPU a host over the machine's
// cores), whichever is longest, plus one call's latency and one
// invocation's run time. It says on stderr what bounds it.
func floorOf(mode string, hosts int, latency time.Duration, rate, scriptSeconds float64) time.Duration {
	rates := awsfake.AWSRates(rate)
	var floor time.Duration
	for op, n := range needed(mode, hosts) {
		r := rates[op]
		t := float64(n) / r.PerSecond
		if r.Burst > 0 {
			t = max(0, float64(n-r.Burst)/r.PerSecond)
		}
		floor = max(floor, time.Duration(t*float64(time.Second)))
	}
	fakeWork := time.Duration(float64(hosts) * scriptSeconds / float64(runtime.NumCPU()) * float64(time.Second))
	read := "ssm:GetCommandInvocation"
	if mode == "s3" {
		read = "s3:GetObject"
	}
	fmt.Fprintf(os.Stderr, "bench/ssm: %s: the fake runs one host's script in %.2f ms of CPU: %d hosts on %d cores take it %.1f s; %s at %.0f/s take %.1f s\n",
		mode, scriptSeconds*1000, hosts, runtime.NumCPU(), fakeWork.Seconds(), read, rates[read].PerSecond, float64(hosts)/rates[read].PerSecond)
	return max(floor, fakeWork) + latency + awsfake.DefaultRunTime
}

// peerResult is what a peer run in its own process reports (peerChild),
// with what its fake counted (runPeer).
type peerResult struct {
	Wall          time.Duration
	Reads, Failed int
	Bytes         int64
	CPU           float64 // the peer's process
	RSS           int64   // the peer's process' peak, KiB
	FakeCPU       float64
	Calls         map[string]awsfake.CallCount
}

// runPeer runs the peer in mode in a process of its own against a fake
// started for it, and returns what it did with its fake's calls and CPU.
func runPeer(mode string, hosts int, latency time.Duration, rate float64, poll time.Duration) (peerResult, error) {
	var pr peerResult
	fake, err := startFake(hosts, latency, rate)
	if err != nil {
		return pr, err
	}
	defer fake.stop()
	exe, err := os.Executable()
	if err != nil {
		return pr, err
	}
	ep, err := json.Marshal(fake.endpoints)
	if err != nil {
		return pr, err
	}
	cmd := exec.Command(exe, "-peerof", string(ep), "-mode", mode, fmt.Sprint("-poll=", poll), fmt.Sprint("-batches=", batchConc),
		fmt.Sprint("-reads=", readConc), "-retry="+retryMode, fmt.Sprint("-plain=", plain))
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		return pr, fmt.Errorf("the peer's process: %w", err)
	}
	if err := json.Unmarshal(out, &pr); err != nil {
		return pr, fmt.Errorf("the peer's process: %w", err)
	}
	if pr.Calls, pr.FakeCPU, _, err = fake.finish(); err != nil {
		return pr, err
	}
	return pr, nil
}

// peerAt runs the peer in mode against the fake at ep, with -batches and
// -reads.
func peerAt(ctx context.Context, ep endpoints, mode string, poll time.Duration) (peerRun, error) {
	cfg := sdkConfig(ep)
	pc := peerClients{ssm: ssmClient(cfg, ep)}
	if mode == "s3" {
		pc.s3 = s3Client(cfg, ep)
	}
	targets, err := targeter(cfg, ep)
	if err != nil {
		return peerRun{}, err
	}
	return peer(ctx, pc, targets, mode, poll, batchConc, readConc)
}

// peerChild runs in the peer's process: the peer in mode against the fake
// at ep (JSON of endpoints), its peerResult printed as JSON.
func peerChild(ep, mode string, poll time.Duration) error {
	var e endpoints
	if err := json.Unmarshal([]byte(ep), &e); err != nil {
		return fmt.Errorf("-peerof: %w", err)
	}
	var ru0, ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru0)
	r, err := peerAt(context.Background(), e, mode, poll)
	if err != nil {
		return err
	}
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return json.NewEncoder(os.Stdout).Encode(peerResult{Wall: r.wall, Reads: r.reads, Failed: r.failed, Bytes: r.bytes,
		CPU: cpuSeconds(ru) - cpuSeconds(ru0), RSS: peakRSS(ru)})
}

// retryer makes the SDK clients' retryers (-retry, retryMode).
var (
	retryer   func() aws.Retryer
	retryMode string
)

// runOrder is the order of the collector's and the peer's runs (-order).
var runOrder = []string{"collector", "peer"}

// distinct says to make most rows of each host its own (-distinct).
var distinct bool

// plain turns compression on the hosts off (-plain); analyzeToo streams
// the Results into the cluster analyzer (-analyze); peerToo times the
// peer after the collector (-peer).
var plain, analyzeToo, peerToo bool

// batchConc and readConc are -batches and -reads, which the peer uses
// too.
var batchConc, readConc int

// makeDistinct gives each host of f its own processes, listening ports
// and kernel modules rows, as on real hosts booted apart: process start
// times, listening pids and module addresses (KASLR) differ from host to
// host. The simulated fleet draws them from a few variants per role, so
// most rows repeat across hosts, which collect.RowPool shares; this is
// the worst case for that sharing. Users, crontabs and authorized keys
// stay common, as they are on hosts of one image.
func makeDistinct(f *fleet.Fleet, offset int) {
	change := map[string]string{payload.Processes: "start_time", payload.ListeningPorts: "pid", payload.KernelModules: "address"}
	for i := range f.Hosts {
		h := &f.Hosts[i]
		for cmd, col := range change {
			rows := make([]collect.Row, len(h.Rows[cmd]))
			for j, row := range h.Rows[cmd] {
				c := maps.Clone(row)
				if col == "address" {
					c[col] = fmt.Sprintf("0xffffffffc%07x", (offset+i)*4096+j)
				} else {
					c[col] = fmt.Sprint(c[col], offset+i)
				}
				rows[j] = c
			}
			h.Rows[cmd] = rows
		}
	}
}

// chunkHosts is how many hosts leanFleet generates at once.
const chunkHosts = 10000

// leanFleet generates the group of n hosts (diffytest/fleet scenario
// "xlarge", -distinct applied) in chunks of chunkHosts, the chunk k with
// the scenario's Seed+k (so up to 10,000 hosts the fleet is the scenario's
// own), and keeps of each host its outputs, rendered once and gzipped
// (leanHost): about 5 KB a host where its rows take about 50 KB, so that
// the fake of 100,000 hosts holds 0.5 GB of them, not 5 GB. It returns the
// instances and their IDs, in order.
func leanFleet(n int) ([]awsfake.Instance, []string, error) {
	insts := make([]awsfake.Instance, 0, n)
	ids := make([]string, 0, n)
	seen := make(map[string]bool, n)
	zw, err := gzip.NewWriterLevel(io.Discard, gzip.BestSpeed)
	if err != nil {
		return nil, nil, err
	}
	err = fleetChunks(n, func(f *fleet.Fleet, _ int) error {
		for i := range f.Hosts {
			h := &f.Hosts[i]
			if seen[h.Instance.ID] {
				return fmt.Errorf("two hosts of the generated fleet have the ID %s", h.Instance.ID)
			}
			seen[h.Instance.ID] = true
			lh, err := newLeanHost(h, zw)
			if err != nil {
				return err
			}
			insts = append(insts, awsfake.Instance{Instance: h.Instance, Host: lh})
			ids = append(ids, h.Instance.ID)
		}
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	return insts, ids, nil
}

// fleetChunks generates the group of n hosts in chunks of chunkHosts
// (diffytest/fleet scenario "xlarge", the chunk k with the scenario's
// Seed+k, -distinct applied) and gives fn each chunk and the index of its
// first host, one after the other, so that one chunk's rows are held at
// a time; it stops at fn's first error.
func fleetChunks(n int, fn func(f *fleet.Fleet, first int) error) error {
	for first := 0; first < n; first += chunkHosts {
		cfg := fleet.Scenario("xlarge")
		cfg.Hosts, cfg.GroupName, cfg.Seed = min(chunkHosts, n-first), group, cfg.Seed+int64(first/chunkHosts)
		f := fleet.Generate(cfg)
		if distinct {
			makeDistinct(f, first)
		}
		if err := fn(f, first); err != nil {
			return err
		}
	}
	return nil
}

// leanHost is an awsfake.Host whose outputs (awsfake.OsqueryJSON of its
// rows, as awsfake.FleetInstances prints them) were rendered once and
// gzipped.
type leanHost map[string][]byte

// newLeanHost renders and gzips h's outputs with zw, reset for each (a
// gzip.Writer costs about 1.2 MB to make: one a host's output was 7 MB
// allocated a host, most of leanFleet's time spent clearing and collecting
// them).
func newLeanHost(h *fleet.Host, zw *gzip.Writer) (leanHost, error) {
	lh := make(leanHost, len(h.Rows))
	var b bytes.Buffer
	for cmd, rows := range h.Rows {
		b.Reset()
		zw.Reset(&b)
		if _, err := zw.Write(awsfake.OsqueryJSON(rows)); err != nil {
			return nil, err
		}
		if err := zw.Close(); err != nil {
			return nil, err
		}
		lh[cmd] = bytes.Clone(b.Bytes())
	}
	return lh, nil
}

// Output implements awsfake.Host.
func (h leanHost) Output(commandID string) ([]byte, bool) {
	gz, ok := h[commandID]
	if !ok {
		return nil, false
	}
	zr, _ := gunzippers.Get().(*gzip.Reader)
	var err error
	if zr == nil {
		zr, err = gzip.NewReader(bytes.NewReader(gz))
	} else {
		err = zr.Reset(bytes.NewReader(gz))
	}
	if err != nil {
		return nil, false
	}
	defer gunzippers.Put(zr)
	out, err := io.ReadAll(zr)
	if err != nil {
		return nil, false
	}
	return out, true
}

// gunzippers keeps the gzip.Readers of Output (about 45 KB each to make,
// six a host a collection).
var gunzippers sync.Pool

// heapProfile is where to write a heap profile after the collection
// (-memprofile).
var heapProfile string

// midProfile is where to write an in-use heap profile during the run
// (-midprofile), once midAt of the batches are delivered (-midat).
var (
	midProfile string
	midAt      float64
)

// peakProfile is where watchPeak writes its profiles (-peakprofile).
var peakProfile string

// peakWatch is watchPeak's state: the path it writes to and the peak,
// which restart sets anew.
type peakWatch struct {
	mu         sync.Mutex
	path       string
	peak, high uint64 // the peak, and what was last profiled
}

// restart makes w profile from now on to path, from a peak of 0, and
// says on stderr the peak of what it watched before.
func (w *peakWatch) restart(path string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	where := ""
	if w.path != "" {
		where = ", profiled in " + w.path
	}
	fmt.Fprintf(os.Stderr, "bench/ssm: peak live heap (at a GC) %d MiB%s\n", w.peak>>20, where)
	w.path, w.peak, w.high = path, 0, 0
}

// peaks is the running watchPeak, nil when there is none.
var peaks *peakWatch

// watchPeak reads the live heap (as of the last GC) every 50 ms, and with
// a path it collects the garbage first (runtime.GC: the profile is then
// of what is live at that moment, not two cycles old) and, each time the
// live heap passes the highest profiled by 5%, writes an in-use heap
// profile to path (see peakWatch.restart); it returns a function that
// stops it and says the peak on stderr. With a path it slows the run: for
// profiles, not for figures.
func watchPeak(path string) func() {
	sample := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	peaks = &peakWatch{path: path}
	w := peaks
	stop := benchsample.Every(50*time.Millisecond, func() {
		w.mu.Lock()
		defer w.mu.Unlock()
		if w.path != "" {
			runtime.GC()
		}
		metrics.Read(sample)
		live := sample[0].Value.Uint64()
		w.peak = max(w.peak, live)
		if w.path != "" && live > w.high+w.high/20 {
			w.high = live
			_ = benchsample.WriteProfile(w.path, "heap")
		}
	})
	return func() {
		stop()
		w.restart("")
	}
}

// streamAlone feeds the group of n hosts (leanFleet's fleet, -distinct
// applied) to the cluster analyzer's stream in batches of 50 hosts, a
// chunk of the fleet at a time, and reports the live heap before the
// Report and its peak during the Report: what the analysis holds without
// a collector (its peer in memory; the peak RSS is the fleet's
// generation's). -peakprofile profiles the Report only.
func streamAlone(n int) error {
	// Profiles (-peakprofile) only of the Report: while the fleet is fed
	// its generation holds most of the heap.
	stop := watchPeak("")
	defer stop()
	ctx := context.Background()
	stream, err := analyze.Clustering{}.NewStream(group, nil)
	if err != nil {
		return err
	}
	done := 0
	start := time.Now()
	err = fleetChunks(n, func(f *fleet.Fleet, _ int) error {
		for i := 0; i < len(f.Hosts); i += 50 {
			var b []collect.Result
			for j := i; j < min(i+50, len(f.Hosts)); j++ {
				b = append(b, f.Hosts[j].Results(time.Now())...)
			}
			if err := stream.Add(ctx, b); err != nil {
				return err
			}
			done += 50
			if midProfile != "" && float64(done) >= midAt*float64(n) {
				if err := writeHeapAt(midProfile, fmt.Sprintf("after %d hosts of %d", done, n)); err != nil {
					return err
				}
				midProfile = ""
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	fed := time.Since(start)
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	report := ""
	if peakProfile != "" {
		report = peakProfile + ".report"
	}
	peaks.restart(report)
	rep, err := stream.Report(ctx, nil)
	if err != nil {
		return err
	}
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	fmt.Printf("stream alone: %d hosts, %d outliers; fed in %.1f s, live heap before Report %d MiB, Report %.1f s, peak RSS %d MiB\n",
		len(rep.Hosts), len(rep.Outliers()), fed.Seconds(), ms.HeapAlloc>>20, time.Since(start).Seconds()-fed.Seconds(), ru.Maxrss>>10)
	return nil
}

// writeHeap writes a heap profile of what is live (after a collection) to
// path, and the live heap's size on stderr.
func writeHeap(path string) error { return writeHeapAt(path, "after the collection") }

// writeHeapAt writes a heap profile of what is live now to path, and on
// stderr the live heap's size, the heap the runtime holds and the peak
// RSS so far, saying when (at).
func writeHeapAt(path, at string) error {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	sys := ms.HeapSys - ms.HeapReleased
	runtime.GC()
	runtime.ReadMemStats(&ms)
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	fmt.Fprintf(os.Stderr, "bench/ssm: %s: live heap %d MiB in %d objects; heap held before the GC %d MiB; peak RSS so far %d MiB\n",
		at, ms.HeapAlloc>>20, ms.HeapObjects, sys>>20, ru.Maxrss>>10)
	return benchsample.WriteProfile(path, "heap")
}

const (
	group  = "bench-asg"
	bucket = "bench-output"
)

// endpoints is what the fake's process tells its parent: where it serves,
// and the CPU seconds it spends running one host's script (scriptCost).
type endpoints struct {
	SSM, EC2, S3, Region string
	ScriptSeconds        float64
}

// scriptCost measures the CPU time the fake spends running the standard
// pack's script of the collector on one host (as it does once per
// invocation), over up to 200 hosts of f: the most the fake can serve on
// this machine, which bounds the run from below with AWS's rates.
func scriptCost(srv *awsfake.Server, ids []string) (float64, error) {
	enc := ssmframe.EncodingGzip
	if plain {
		enc = ssmframe.EncodingPlain
	}
	// With a time limit, as the collector sends it (the limit's value does
	// not change what the script costs).
	script, err := ssmframe.Script(ssmframe.NewMarker(), payload.StandardPack(), enc, ssmframe.WithTimeLimit(ssmcollect.DefaultExecutionTimeout))
	if err != nil {
		return 0, err
	}
	n := min(len(ids), 200)
	var before, after syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &before)
	for _, id := range ids[:n] {
		if _, stderr, code, ok := srv.Run(id, script); !ok || code != 0 {
			return 0, fmt.Errorf("the pack's script on %s: status %d: %s", id, code, stderr)
		}
	}
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &after)
	return (cpuSeconds(after) - cpuSeconds(before)) / float64(n), nil
}

// serveFake runs in the child process: the fleet and awsfake, its
// endpoints printed as one JSON line; then "calls" on stdin prints the
// call counts as a JSON line and the CPU seconds it spent since it was
// ready as another, and end of input stops it.
func serveFake(hosts int, latency time.Duration, rate float64) error {
	srv, ids, err := newFake(hosts, latency, rate)
	if err != nil {
		return err
	}
	defer srv.Close()
	per, err := scriptCost(srv, ids)
	if err != nil {
		return err
	}
	enc := json.NewEncoder(os.Stdout)
	ep := endpointsOf(srv)
	ep.ScriptSeconds = per
	if err := enc.Encode(ep); err != nil {
		return err
	}
	var ready syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ready)
	sc := bufio.NewScanner(os.Stdin)
	for sc.Scan() {
		if sc.Text() == "calls" {
			var now syscall.Rusage
			_ = syscall.Getrusage(syscall.RUSAGE_SELF, &now)
			if err := enc.Encode(srv.Calls()); err != nil {
				return err
			}
			if err := enc.Encode(cpuSeconds(now) - cpuSeconds(ready)); err != nil {
				return err
			}
		}
	}
	return nil
}

// newFake starts the fake of the group of hosts (leanFleet), each call
// taking latency and throttled at AWS's rates (SSM's at rate), with the
// output bucket made; it returns the instances' IDs in order.
func newFake(hosts int, latency time.Duration, rate float64) (*awsfake.Server, []string, error) {
	insts, ids, err := leanFleet(hosts)
	if err != nil {
		return nil, nil, err
	}
	srv, err := awsfake.New(awsfake.WithInstances(insts...), awsfake.WithCallFaults(awsfake.CallFaults{Latency: latency, Throttle: awsfake.AWSRates(rate)}))
	if err != nil {
		return nil, nil, err
	}
	if err := srv.CreateBucket(bucket); err != nil {
		srv.Close()
		return nil, nil, err
	}
	return srv, ids, nil
}

// endpointsOf is where srv serves.
func endpointsOf(srv *awsfake.Server) endpoints {
	return endpoints{SSM: srv.SSMURL(), EC2: srv.EC2URL(), S3: srv.S3URL(), Region: srv.Region()}
}

// fakeProc is the fake's child process, seen from the parent.
type fakeProc struct {
	endpoints
	cmd *exec.Cmd
	in  io.WriteCloser
	out *json.Decoder
}

// startFake starts the fake in a child process, so that the collector's
// peak RSS is its own.
func startFake(hosts int, latency time.Duration, rate float64) (*fakeProc, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(exe, "-serve", fmt.Sprint("-hosts=", hosts), fmt.Sprint("-latency=", latency), fmt.Sprint("-rate=", rate),
		fmt.Sprint("-distinct=", distinct), fmt.Sprint("-plain=", plain))
	cmd.Stderr = os.Stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	p := &fakeProc{cmd: cmd, in: in, out: json.NewDecoder(out)}
	if err := p.out.Decode(&p.endpoints); err != nil {
		p.stop()
		return nil, fmt.Errorf("the fake's process: %w", err)
	}
	return p, nil
}

// finish asks the fake for its call counts and the CPU seconds it spent
// since it was ready, stops it, and returns them with its peak RSS in KiB.
func (p *fakeProc) finish() (map[string]awsfake.CallCount, float64, int64, error) {
	calls, cpu, err := p.snapshot()
	if err != nil {
		return nil, 0, 0, err
	}
	p.stop()
	var rss int64
	if ru, ok := p.cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		rss = ru.Maxrss
	}
	return calls, cpu, rss, nil
}

// snapshot asks the fake for its call counts and the CPU seconds it spent
// since it was ready.
func (p *fakeProc) snapshot() (map[string]awsfake.CallCount, float64, error) {
	var calls map[string]awsfake.CallCount
	var cpu float64
	if _, err := io.WriteString(p.in, "calls\n"); err != nil {
		return nil, 0, err
	}
	if err := p.out.Decode(&calls); err != nil {
		return nil, 0, err
	}
	if err := p.out.Decode(&cpu); err != nil {
		return nil, 0, err
	}
	return calls, cpu, nil
}

// peakRSS is this process's peak RSS in KiB: /proc/self/status's VmHWM,
// else ru's Maxrss. A child that os/exec started (vfork, then execve)
// inherits in Maxrss its parent's peak at the execve, so the peer run
// after the collector would report the collector's; VmHWM is of the
// process's own memory only.
func peakRSS(ru syscall.Rusage) int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return ru.Maxrss
	}
	for line := range strings.Lines(string(b)) {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			var kb int64
			if _, err := fmt.Sscanf(strings.TrimSpace(v), "%d kB", &kb); err == nil {
				return kb
			}
		}
	}
	return ru.Maxrss
}

// cpuSeconds is the user and system CPU time of a rusage.
func cpuSeconds(ru syscall.Rusage) float64 {
	return float64(ru.Utime.Sec+ru.Stime.Sec) + float64(ru.Utime.Usec+ru.Stime.Usec)/1e6
}

func (p *fakeProc) stop() {
	if p.in != nil {
		p.in.Close()
		p.in = nil
		_ = p.cmd.Wait()
	}
}
