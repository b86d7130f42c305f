package ssmcollect

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/aws/aws-sdk-go-v2/service/ssm/types"
	"golang.org/x/sync/errgroup"
	"golang.org/x/sync/semaphore"

	"github.com/diffy-dfir/diffy/awsconfig"
	"github.com/diffy-dfir/diffy/collect"
	"github.com/diffy-dfir/diffy/collect/ssmcollect/ssmframe"
	"github.com/diffy-dfir/diffy/diffyerr"
	"github.com/diffy-dfir/diffy/internal/s3obj"
	"github.com/diffy-dfir/diffy/payload"
	"github.com/diffy-dfir/diffy/redact"
	"github.com/diffy-dfir/diffy/target"
)

// Document is the SSM document the Collector runs.
const Document = "AWS-RunShellScript"

// APIStdoutLimit is how many characters of stdout GetCommandInvocation
// returns; DetailsOutputLimit is how many ListCommandInvocations with
// Details shows of a plugin's output.
const (
	APIStdoutLimit     = 24000
	DetailsOutputLimit = 2500
)

// whyAPI is the reason given for output cut in API mode.
const whyAPI = "SSM returns only the first 24,000 characters of stdout through its API; " +
	"set an output bucket (--output-bucket) to read the whole output from S3"

// Collector runs payload commands on EC2 instances through SSM Run Command.
// It is safe for concurrent use.
type Collector struct {
	c Clients
	o options
}

var _ collect.Collector = (*Collector)(nil)

// New returns a Collector over the given clients. Send, List, Get and
// Cancel are required, and S3 is with WithOutputBucket; a missing one, or
// an option out of its range (see each With function), is an error
// matching diffyerr.ErrInvalidInput. A nil Option is skipped.
func New(c Clients, opts ...Option) (*Collector, error) {
	var o options
	for _, opt := range opts {
		if opt != nil {
			opt(&o)
		}
	}
	if err := o.check(); err != nil {
		return nil, err
	}
	o.fill()
	switch {
	case c.Send == nil || c.List == nil || c.Get == nil || c.Cancel == nil:
		return nil, fmt.Errorf("ssmcollect: the Send, List, Get and Cancel clients are required: %w", diffyerr.ErrInvalidInput)
	case o.bucket != "" && c.S3 == nil:
		return nil, fmt.Errorf("ssmcollect: an output bucket needs an S3 client: %w", diffyerr.ErrInvalidInput)
	case o.bucket == "" && o.prefix != "":
		return nil, fmt.Errorf("ssmcollect: output prefix %q without a bucket: %w", o.prefix, diffyerr.ErrInvalidInput)
	}
	if o.bucket != "" {
		p, err := s3obj.CheckLocation(o.bucket, o.prefix)
		if err != nil {
			return nil, fmt.Errorf("ssmcollect: output bucket: %w", err)
		}
		o.prefix = p
	}
	return &Collector{c: c, o: o}, nil
}

// NewFromConfig returns a Collector whose clients are made from cfg (see
// package awsconfig): one SSM client per operation, each with its own
// retryer (cfg's, or awsconfig.Retryer's adaptive mode when cfg has none),
// and an S3 client when WithOutputBucket is given.
func NewFromConfig(cfg aws.Config, opts ...Option) (*Collector, error) {
	if cfg.Retryer == nil {
		cfg.Retryer = awsconfig.Retryer(0)
	}
	var o options
	for _, opt := range opts {
		if opt != nil {
			opt(&o)
		}
	}
	c := Clients{
		Send: ssm.NewFromConfig(cfg), List: ssm.NewFromConfig(cfg), Get: ssm.NewFromConfig(cfg),
		Cancel: ssm.NewFromConfig(cfg), Describe: ssm.NewFromConfig(cfg),
	}
	if o.bucket != "" {
		c.S3 = s3.NewFromConfig(cfg, o.s3Options...)
	}
	return New(c, opts...)
}

// OutputKey returns the S3 key where SSM writes the stdout of a
// command's invocation on an instance under prefix.
func OutputKey(prefix, commandID, instanceID string) string {
	k := commandID + "/" + instanceID + "/awsrunShellScript/0.awsrunShellScript/stdout"
	if p := strings.Trim(prefix, "/"); p != "" {
		return p + "/" + k
	}
	return k
}

// Collect runs commands on instances; see the package doc for how. It
// returns the Results in the order of instances, each instance's in the
// order of commands.
func (c *Collector) Collect(ctx context.Context, instances []target.Instance, commands []payload.Command) ([]collect.Result, error) {
	ids, err := c.check(instances, commands)
	if err != nil {
		return nil, err
	}
	// Collect holds every Result until it returns: equal rows of the
	// whole run share one map.
	pool := new(collect.RowPool)
	byID := make(map[string][]collect.Result, len(ids))
	err = c.collectBatches(ctx, ids, commands, pool, func(b []collect.Result) error {
		for _, x := range b {
			byID[x.InstanceID] = append(byID[x.InstanceID], x)
		}
		return nil
	})
	out := make([]collect.Result, 0, len(ids)*len(commands))
	for _, id := range ids {
		out = append(out, byID[id]...)
	}
	return out, err
}

var _ collect.BatchCollector = (*Collector)(nil)

// CollectBatches is Collect, batch by batch (see collect.BatchCollector):
// one batch per SendCommand batch (WithBatchSize instances) as soon as
// its instances are final. Equal rows are shared within a batch only, so
// that nothing of a batch is kept once fn is done with it.
func (c *Collector) CollectBatches(ctx context.Context, instances []target.Instance, commands []payload.Command, fn func([]collect.Result) error) error {
	ids, err := c.check(instances, commands)
	if err != nil {
		return err
	}
	return c.collectBatches(ctx, ids, commands, nil, fn)
}

// check checks the arguments of a run and returns the distinct instance
// IDs, in order.
func (c *Collector) check(instances []target.Instance, commands []payload.Command) ([]string, error) {
	if err := payload.Validate(commands); err != nil {
		return nil, fmt.Errorf("ssmcollect: %w", err)
	}
	for _, cmd := range commands {
		if cmd.Shell == "" {
			return nil, fmt.Errorf("ssmcollect: command %s has no shell script, and SSM runs only shell scripts: %w", cmd.ID, diffyerr.ErrInvalidInput)
		}
	}
	var ids []string
	seen := map[string]bool{}
	for i, in := range instances {
		if in.ID == "" {
			return nil, fmt.Errorf("ssmcollect: instance %d has an empty ID: %w", i+1, diffyerr.ErrInvalidInput)
		}
		if !seen[in.ID] {
			seen[in.ID] = true
			ids = append(ids, in.ID)
		}
	}
	return ids, nil
}

// collectBatches runs the batches of ids and gives fn each one's Results
// once final; pool, when set, shares rows over the whole run, else each
// batch has its own.
func (c *Collector) collectBatches(ctx context.Context, ids []string, commands []payload.Command, pool *collect.RowPool, fn func([]collect.Result) error) error {
	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	r := &run{c: c, cmds: commands, byID: make(map[string][]collect.Result), readers: make(chan func()),
		budget: semaphore.NewWeighted(c.o.readBudget), enc: ssmframe.EncodingGzip, pool: pool, delivered: make(map[string]bool, len(ids))}
	// The readers (see run.toReader) end once every batch has.
	defer r.readerWG.Wait()
	defer close(r.readers)
	if c.o.plain {
		r.enc = ssmframe.EncodingPlain
	}
	for _, cmd := range commands {
		r.cmdIDs = append(r.cmdIDs, cmd.ID)
	}
	// One goroutine calls fn, batch after batch in the order they finish:
	// fn (a store write) is called from one goroutine at a time, and no
	// lock is held across it. A batch waits on the channel (never on a
	// mutex, which a testing/synctest bubble does not count as durably
	// blocked) until the previous batch is handed over, so that no more
	// batches are held waiting for fn than run at once.
	var ferr error // fn's error; read once done is closed
	ready := make(chan []string)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for ids := range ready {
			res := r.take(ctx, ids)
			if ferr != nil || len(res) == 0 {
				continue
			}
			if err := fn(res); err != nil {
				ferr = err
				stop()
			}
		}
	}()
	if runCtx.Err() == nil {
		g := new(errgroup.Group)
		g.SetLimit(c.o.batchConcurrency)
		for start := 0; start < len(ids); start += c.o.batchSize {
			batch := ids[start:min(start+c.o.batchSize, len(ids))]
			if runCtx.Err() != nil {
				break
			}
			g.Go(func() error { r.batch(runCtx, batch); ready <- batch; return nil })
		}
		_ = g.Wait()
	}
	// The batches never started (cancelled): every instance is accounted
	// for.
	ready <- ids
	close(ready)
	<-done
	if n := r.plainHosts.Load(); n > 0 {
		c.o.logger.Warn("ssmcollect: instances without gzip or base64 sent their output uncompressed (SSM's API cuts it sooner)", "instances", n)
	}
	if n := r.again.Load(); n > 0 {
		c.o.logger.Info("ssmcollect: commands cut by SSM's API were collected again, one per invocation", "commands", n)
	}
	if n := r.readAgain.Load(); n > 0 {
		c.o.logger.Debug("ssmcollect: outputs read again for want of read budget (WithReadBudget)", "reads", n)
	}
	if ferr != nil {
		return ferr
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("ssmcollect: run cancelled with %d of %d instances finished: %w", r.finished(), len(ids), err)
	}
	return nil
}

// take returns the Results of the instances of ids not delivered yet, and
// marks them delivered; an instance with none recorded is Cancelled (the
// run was) or, defensively, Failed.
func (r *run) take(ctx context.Context, ids []string) []collect.Result {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []collect.Result
	for _, id := range ids {
		if r.delivered[id] {
			continue
		}
		r.delivered[id] = true
		res, ok := r.byID[id]
		delete(r.byID, id)
		if !ok {
			st, msg := collect.StatusCancelled, "the run was cancelled before the command was sent"
			if ctx.Err() == nil {
				st, msg = collect.StatusFailed, "ssmcollect: no result was recorded for the instance"
			}
			res = r.all(id, st, "", msg)
		}
		out = append(out, res...)
	}
	return out
}

// run is one call of Collect.
type run struct {
	c      *Collector
	cmds   []payload.Command
	cmdIDs []string
	enc    ssmframe.Encoding
	// readers takes the output reads (and the Results built from them)
	// to the run's WithReadConcurrency reader goroutines: at most that
	// many at once, each on a goroutine whose stack has grown to what an
	// SDK call needs and keeps most of it between reads (the GC halves an
	// idle goroutine's stack at most once a cycle). A goroutine made for
	// each read grew its stack from the start at every read (S3's
	// endpoint resolution alone has a frame of kilobytes): runtime.copystack
	// was 9% of the collector's CPU in S3 mode (bench/ssm -cpuprofile).
	readers chan func()
	// started counts the readers started (toReader), readerWG waits for
	// them.
	started  atomic.Int64
	readerWG sync.WaitGroup
	budget   *semaphore.Weighted
	// pool shares the rows that hosts have in common over the whole run
	// (Collect, which holds the Results of a whole fleet); nil, each batch
	// has its own (CollectBatches).
	pool *collect.RowPool

	// detailsHit and detailsMiss count the final invocations whose
	// whole output ListCommandInvocations' Details held, and those it did
	// not (see useDetails).
	detailsHit, detailsMiss atomic.Int64
	// plainHosts counts the instances that could not compress (no gzip or
	// base64); again counts the commands collected again alone.
	plainHosts, again atomic.Int64
	// readAgain counts the reads that dropped what they had read and read
	// again, for want of read budget (see reservation).
	readAgain atomic.Int64

	mu        sync.Mutex
	byID      map[string][]collect.Result // by instance ID, set once, until delivered
	delivered map[string]bool
	probe     string // the command that polls with Details first
	nDone     int
}

// set records an instance's Results unless it already has some. Their
// errors go through the redaction of logs (redact.String): they quote AWS
// error messages, which may echo a request's credentials (a signature
// error quotes the canonical request, security token included), and they
// end up in the store and in every report.
func (r *run) set(id string, res []collect.Result) {
	for i := range res {
		if res[i].Error != "" {
			res[i].Error = redact.String(res[i].Error)
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.byID[id]; !ok && !r.delivered[id] {
		r.byID[id] = res
		for _, x := range res {
			if x.Status != collect.StatusCancelled {
				r.nDone++
				break
			}
		}
	}
}

func (r *run) finished() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.nDone
}

// all returns one Result per command of the run for an instance, all
// with the same status and error.
func (r *run) all(id string, st collect.Status, details, msg string) []collect.Result {
	return allOf(r.cmds, id, st, details, msg)
}

// allOf returns one Result per command of cmds for an instance, all with
// the same status and error.
func allOf(cmds []payload.Command, id string, st collect.Status, details, msg string) []collect.Result {
	now := time.Now().UTC()
	res := make([]collect.Result, len(cmds))
	for i, cmd := range cmds {
		res[i] = collect.Result{InstanceID: id, CommandID: cmd.ID, Status: st, StatusDetails: details,
			CollectedAt: now, ExitCode: -1, Error: fmt.Sprintf("command %s on %s: %s", cmd.ID, id, msg)}
	}
	return res
}

// batch collects from up to 50 instances: keep those SSM can reach, send
// one command for all of them, wait for it, read the outputs; then, in API
// mode, collect each command that SSM's 24,000 characters cut again, alone
// (see the package doc).
func (r *run) batch(ctx context.Context, ids []string) {
	if ctx.Err() != nil {
		return
	}
	start := time.Now()
	ids = r.precheck(ctx, ids)
	if len(ids) == 0 {
		return
	}
	var (
		mu    sync.Mutex
		held  = map[string][]collect.Result{} // instances waiting for a command collected again
		again = map[string][]string{}         // command ID -> instances whose output of it was cut
	)
	deliver := func(id string, res []collect.Result, cut []string) {
		if len(cut) == 0 {
			r.set(id, res)
			return
		}
		mu.Lock()
		defer mu.Unlock()
		held[id] = res
		for _, c := range cut {
			again[c] = append(again[c], id)
		}
	}
	pool := r.pool
	if pool == nil {
		pool = new(collect.RowPool)
	}
	r.sendAndAwait(ctx, ids, r.cmds, pool, deliver)
	r.c.o.logger.Debug("ssmcollect: batch done", "instances", len(ids), "after", time.Since(start), "cut", len(held))
	if len(again) > 0 {
		var wg sync.WaitGroup
		for _, cmd := range r.cmds {
			who := again[cmd.ID]
			if len(who) == 0 {
				continue
			}
			r.again.Add(1)
			wg.Add(1)
			go func() {
				defer wg.Done()
				r.sendAndAwait(ctx, who, []payload.Command{cmd}, pool, func(id string, res []collect.Result, _ []string) {
					mu.Lock()
					defer mu.Unlock()
					replaceCut(held[id], res[0])
				})
			}()
		}
		wg.Wait()
	}
	for id, res := range held {
		r.set(id, res)
	}
}

// replaceCut puts x, the Result of a command collected again alone, in
// place of its cut Result among res; a failure to collect it again keeps
// the cut Result, which says so.
func replaceCut(res []collect.Result, x collect.Result) {
	for i := range res {
		if res[i].CommandID != x.CommandID {
			continue
		}
		if x.Status == collect.StatusSuccess || x.Truncated || x.Status == collect.StatusFailed && x.ExitCode >= 0 {
			res[i] = x
		} else {
			res[i].Error += "; collecting it again alone failed: " + x.Error
		}
		return
	}
}

// sink receives an instance's Results of a sent command, and the IDs of
// the commands whose output SSM's API cut (in API mode, when the command
// carried more than one).
type sink func(id string, res []collect.Result, cut []string)

// sendAndAwait sends cmds to ids and waits for every instance's Results.
func (r *run) sendAndAwait(ctx context.Context, ids []string, cmds []payload.Command, pool *collect.RowPool, deliver sink) {
	var wg sync.WaitGroup
	for _, s := range r.send(ctx, ids, cmds, pool, deliver) {
		wg.Add(1)
		go func() { defer wg.Done(); r.await(ctx, s) }()
	}
	wg.Wait()
}

// toReader hands job to one of the run's readers: an idle one, else a new
// one while fewer than WithReadConcurrency run (they are started as reads
// need them: a large WithReadConcurrency costs no goroutines a run does
// not use), else the first that is free. It reports false, job not run,
// when ctx ends first.
func (r *run) toReader(ctx context.Context, job func()) bool {
	select {
	case r.readers <- job:
		return true
	default:
	}
	if r.started.Add(1) <= int64(r.c.o.readConcurrency) {
		r.readerWG.Go(func() {
			job()
			for job := range r.readers {
				job()
			}
		})
		return true
	}
	select {
	case r.readers <- job:
		return true
	case <-ctx.Done():
		return false
	}
}

// precheck asks DescribeInstanceInformation which of ids SSM manages and
// sees online, records the others as Undeliverable, and returns the rest.
// When the call fails, every instance is kept (SendCommand will tell).
func (r *run) precheck(ctx context.Context, ids []string) []string {
	if r.c.c.Describe == nil {
		return ids
	}
	ping := map[string]types.PingStatus{}
	p := ssm.NewDescribeInstanceInformationPaginator(r.c.c.Describe, &ssm.DescribeInstanceInformationInput{
		Filters:    []types.InstanceInformationStringFilter{{Key: aws.String("InstanceIds"), Values: ids}},
		MaxResults: aws.Int32(50),
	})
	pages := awsconfig.Pages{Op: "DescribeInstanceInformation", Max: maxPages(len(ids))}
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err == nil {
			err = pages.Next(page.NextToken)
		}
		if err != nil {
			r.c.o.logger.Warn("ssmcollect: DescribeInstanceInformation failed; sending to every instance", "err", err)
			return ids
		}
		for _, info := range page.InstanceInformationList {
			ping[aws.ToString(info.InstanceId)] = info.PingStatus
		}
	}
	var keep []string
	for _, id := range ids {
		st, ok := ping[id]
		switch {
		case !ok:
			r.set(id, r.all(id, collect.StatusUndeliverable, "NotManaged",
				"SSM does not manage this instance (no SSM agent registered, or the instance is gone)"))
		case st != types.PingStatusOnline:
			r.set(id, r.all(id, collect.StatusUndeliverable, "PingStatus="+string(st),
				fmt.Sprintf("the instance's SSM agent is not online (ping status %s)", st)))
		default:
			keep = append(keep, id)
		}
	}
	return keep
}

// sent is one command SSM accepted, and the instances it targets.
type sent struct {
	commandID string
	marker    string
	cmds      []payload.Command
	cmdIDs    []string
	ids       []string
	deadline  time.Time
	deliver   sink
	pool      *collect.RowPool // shares the rows of the Results
}

// all returns one Result per command of s for an instance.
func (s *sent) all(id string, st collect.Status, details, msg string) []collect.Result {
	return allOf(s.cmds, id, st, details, msg)
}

// set delivers an instance's Results, none cut.
func (s *sent) set(id string, res []collect.Result) { s.deliver(id, res, nil) }

// send sends the script of cmds to ids. An InvalidInstanceId answer (an
// instance went away since the precheck) splits the batch in halves, down
// to the single instance, which is then Undeliverable.
func (r *run) send(ctx context.Context, ids []string, cmds []payload.Command, pool *collect.RowPool, deliver sink) []sent {
	marker := ssmframe.NewMarker()
	fail := func(ids []string, st collect.Status, details, msg string) {
		for _, id := range ids {
			deliver(id, allOf(cmds, id, st, details, msg), nil)
		}
	}
	script, err := ssmframe.Script(marker, cmds, r.enc, ssmframe.WithTimeLimit(commandsLimit(r.c.o.executionTimeout)))
	if err != nil { // cannot happen: commands were validated
		fail(ids, collect.StatusFailed, "", err.Error())
		return nil
	}
	o := r.c.o
	in := &ssm.SendCommandInput{
		DocumentName:   aws.String(Document),
		InstanceIds:    ids,
		Comment:        aws.String(comment(o.incident)),
		MaxConcurrency: aws.String(o.maxConcurrency),
		MaxErrors:      aws.String(o.maxErrors),
		TimeoutSeconds: aws.Int32(int32(o.deliveryTimeout / time.Second)),
		Parameters: map[string][]string{
			"commands":         {script},
			"executionTimeout": {strconv.Itoa(int(o.executionTimeout / time.Second))},
		},
	}
	if o.bucket != "" {
		in.OutputS3BucketName = aws.String(o.bucket)
		if o.prefix != "" {
			in.OutputS3KeyPrefix = aws.String(o.prefix)
		}
	}
	out, err := r.c.c.Send.SendCommand(ctx, in)
	if err == nil {
		cmdID, problem := sentCommandID(out)
		if problem != "" {
			// The command may be running on the instances, but nothing
			// of it can be followed.
			fail(ids, collect.StatusFailed, "MalformedAnswer",
				"SSM answered SendCommand "+problem+", so the command (which may have run on the instance) cannot be followed")
			return nil
		}
		cmdIDs := make([]string, len(cmds))
		for i, c := range cmds {
			cmdIDs[i] = c.ID
		}
		return []sent{{commandID: cmdID, marker: marker, cmds: cmds, cmdIDs: cmdIDs, ids: ids, deliver: deliver, pool: pool,
			deadline: time.Now().Add(o.deliveryTimeout + o.executionTimeout + o.grace)}}
	}
	if ctx.Err() != nil {
		return nil // Collect marks them Cancelled
	}
	var bad *types.InvalidInstanceId
	if errors.As(err, &bad) {
		if len(ids) == 1 {
			fail(ids, collect.StatusUndeliverable, "InvalidInstanceId",
				"SSM refused the instance (not managed, agent down, or terminating): "+bad.ErrorMessage())
			return nil
		}
		half := len(ids) / 2
		return append(r.send(ctx, ids[:half], cmds, pool, deliver), r.send(ctx, ids[half:], cmds, pool, deliver)...)
	}
	fail(ids, collect.StatusUndeliverable, "SendCommandFailed", "SendCommand failed: "+err.Error())
	return nil
}

// sentCommandID returns the command ID of a SendCommand answer, or what
// is wrong with the answer. SSM's command IDs are 36 characters (a UUID);
// anything else is refused, as the ID is sent back in every later call
// and names the S3 output objects.
func sentCommandID(out *ssm.SendCommandOutput) (id, problem string) {
	switch {
	case out == nil || out.Command == nil:
		return "", "without a command"
	case out.Command.CommandId == nil:
		return "", "without a command ID"
	}
	id = *out.Command.CommandId
	if !validCommandID(id) {
		return "", fmt.Sprintf("with a command ID %q that is not 36 hexadecimal digits and dashes", clipText(id, 64))
	}
	return id, ""
}

// validCommandID reports whether id has the shape of an SSM command ID.
func validCommandID(id string) bool {
	if len(id) != 36 {
		return false
	}
	for i := 0; i < len(id); i++ {
		switch c := id[i]; {
		case c == '-', '0' <= c && c <= '9', 'a' <= c && c <= 'f', 'A' <= c && c <= 'F':
		default:
			return false
		}
	}
	return true
}

// comment returns the incident ID as an SSM comment: at most MaxComment
// bytes, on a rune boundary.
func comment(incident string) string {
	if len(incident) <= MaxComment {
		return incident
	}
	cut := MaxComment
	for cut > 0 && !utf8.RuneStart(incident[cut]) {
		cut--
	}
	return incident[:cut]
}

// await polls a sent command's invocations until every instance has a
// final status, reading each output as soon as its invocation is final.
// On ctx cancellation it cancels the command and records the unfinished
// instances as Cancelled; past the deadline, as TimedOut.
func (r *run) await(ctx context.Context, s sent) {
	o := r.c.o
	pending := make(map[string]bool, len(s.ids))
	for _, id := range s.ids {
		pending[id] = true
	}
	var reads sync.WaitGroup
	defer reads.Wait()
	wait := min(o.pollInterval, time.Second) // the first answer often comes fast
	var lastErr error
	for len(pending) > 0 {
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			r.cancel(s.commandID)
			for id := range pending {
				s.set(id, s.all(id, collect.StatusCancelled, "", "the run was cancelled before the command finished"))
			}
			return
		case <-t.C:
		}
		wait = o.pollInterval
		invs, err := r.list(ctx, s.commandID, len(s.ids))
		o.logger.Debug("ssmcollect: polled", "command", s.commandID, "invocations", len(invs), "pending", len(pending))
		if err != nil {
			if ctx.Err() == nil {
				lastErr = err
				o.logger.Warn("ssmcollect: ListCommandInvocations failed; polling again", "command", s.commandID, "err", err)
			}
		}
		for _, inv := range invs {
			id := aws.ToString(inv.InstanceId)
			if !pending[id] || !final(inv.Status) {
				continue
			}
			delete(pending, id)
			reads.Add(1)
			go func() {
				defer reads.Done()
				r.complete(ctx, s, inv)
			}()
		}
		if len(pending) > 0 && time.Now().After(s.deadline) {
			r.cancel(s.commandID)
			msg := "SSM reported no final status before the delivery and execution timeouts had passed"
			if lastErr != nil {
				msg += "; last error: " + lastErr.Error()
			}
			for id := range pending {
				s.set(id, s.all(id, collect.StatusTimedOut, "NoFinalStatus", msg))
			}
			return
		}
	}
}

// list returns every invocation of a command sent to n instances, with
// Details, through the SDK's paginator. Right after SendCommand the list
// may be empty (SSM is eventually consistent): that is "not yet", not an
// error. An answer that keeps paginating (the same NextToken again, or
// more pages than maxPages) is an error, with the invocations read.
func (r *run) list(ctx context.Context, commandID string, n int) ([]types.CommandInvocation, error) {
	var all []types.CommandInvocation
	p := ssm.NewListCommandInvocationsPaginator(r.c.c.List, &ssm.ListCommandInvocationsInput{
		CommandId: aws.String(commandID), Details: r.useDetails(commandID), MaxResults: aws.Int32(50),
	})
	pages := awsconfig.Pages{Op: "ListCommandInvocations", Max: maxPages(n)}
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			var notYet *types.InvalidCommandId
			if errors.As(err, &notYet) {
				return all, nil
			}
			return all, err
		}
		all = append(all, page.CommandInvocations...)
		if err := pages.Next(page.NextToken); err != nil {
			return all, err
		}
	}
	return all, nil
}

// useDetails says whether to poll a command with Details. Details show
// the first 2,500 characters of each invocation's output, which spares the
// per-instance read when the whole output fits (small payloads); they cost
// no call, but make every poll answer larger and cost SSM more work. So
// one command of the run (the probe) polls with Details first; once
// detailsSample final invocations were seen, every command polls with
// Details only if most of those outputs fitted.
//
// In S3 mode every poll asks for Details: the first line they show of each
// host's stdout carries the digest its S3 object must have (see the
// package doc, Security), which spares a GetCommandInvocation per host.
func (r *run) useDetails(commandID string) bool {
	if r.c.o.bucket != "" {
		return true
	}
	hit, miss := r.detailsHit.Load(), r.detailsMiss.Load()
	if hit+miss >= detailsSample {
		return hit*2 > miss
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.probe == "" {
		r.probe = commandID
	}
	return r.probe == commandID
}

// maxPages is how many pages a listing of n items (instances or their
// invocations) may take: one item per page, the slowest pagination an
// answer can have without being wrong, and a last empty page.
func maxPages(n int) int { return n + 1 }

// detailsSample is how many final invocations decide useDetails.
const detailsSample = 20

// cancel asks SSM to cancel a command, with a fresh short context: the
// run's own is usually the one cancelled.
func (r *run) cancel(commandID string) {
	ctx, stop := context.WithTimeout(context.Background(), 15*time.Second)
	defer stop()
	if _, err := r.c.c.Cancel.CancelCommand(ctx, &ssm.CancelCommandInput{CommandId: aws.String(commandID)}); err != nil {
		r.c.o.logger.Warn("ssmcollect: CancelCommand failed", "command", commandID, "err", err)
	}
}

// final reports whether an invocation status is final.
func final(s types.CommandInvocationStatus) bool {
	switch s {
	case types.CommandInvocationStatusSuccess, types.CommandInvocationStatusFailed,
		types.CommandInvocationStatusTimedOut, types.CommandInvocationStatusCancelled:
		return true
	}
	return false
}
