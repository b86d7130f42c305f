package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/aws/aws-sdk-go-v2/service/ssm/types"

	"github.com/diffy-dfir/diffy/collect/ssmcollect"
	"github.com/diffy-dfir/diffy/collect/ssmcollect/ssmframe"
	"github.com/diffy-dfir/diffy/payload"
	"github.com/diffy-dfir/diffy/target"
)

// peerClients are the SDK clients the peer calls: the collector's kind,
// made from the same configuration.
type peerClients struct {
	ssm *ssm.Client
	s3  *s3.Client // nil in API mode
}

// peerRun is what the peer did: its wall time, the outputs it read and
// their bytes, and the invocations that did not succeed.
type peerRun struct {
	wall         time.Duration
	reads        int
	bytes        int64
	failed       int
	sends, polls int
}

// peer collects the group the way the least a client can do it with the
// same SDK and the fake: the instances of tg's targeting (DescribeInstances,
// as the collector), then batches of ssmcollect.MaxBatchSize instances,
// batches at once in flight: one SendCommand each of the same script the
// collector sends (the standard pack framed and compressed, with its time
// limit), ListCommandInvocations every poll (the first after min(poll, 1 s),
// as the collector) until every invocation is
// final (no Details), then one read of each invocation's output
// (GetCommandInvocation in API mode, S3 GetObject of its stdout object in
// S3 mode), reads at once over all batches on as many goroutines living
// for the run, the bytes discarded. No
// precheck, no decoding, no digest, no retry beyond the SDK's own: the
// calls strictly needed and nothing else, so that its wall time is the
// most the fake (and the machine, which it shares with the fake) can
// serve; the collector's wall time beside it says what the collector adds.
func peer(ctx context.Context, c peerClients, targets func(context.Context) ([]target.Instance, error), mode string, poll time.Duration, batches, reads int) (peerRun, error) {
	var pr peerRun
	enc := ssmframe.EncodingGzip
	if plain {
		enc = ssmframe.EncodingPlain
	}
	script, err := ssmframe.Script(ssmframe.NewMarker(), payload.StandardPack(), enc, ssmframe.WithTimeLimit(ssmcollect.DefaultExecutionTimeout))
	if err != nil {
		return pr, err
	}
	start := time.Now()
	insts, err := targets(ctx)
	if err != nil {
		return pr, err
	}
	var ids [][]string
	for b := range slices.Chunk(insts, ssmcollect.MaxBatchSize) {
		var one []string
		for _, in := range b {
			one = append(one, in.ID)
		}
		ids = append(ids, one)
	}
	var (
		mu    sync.Mutex
		first error
		wg    sync.WaitGroup
	)
	note := func(f func(*peerRun), err error) {
		mu.Lock()
		defer mu.Unlock()
		if f != nil {
			f(&pr)
		}
		if err != nil && first == nil {
			first = err
		}
	}
	// The reads run on reads goroutines that live for the run, as the
	// collector's (a goroutine made for each read grows its stack at every
	// SDK call).
	batchSem, readJobs := make(chan struct{}, batches), make(chan func())
	var readers sync.WaitGroup
	for range reads {
		readers.Go(func() {
			for job := range readJobs {
				job()
			}
		})
	}
	defer func() { close(readJobs); readers.Wait() }()
	for _, b := range ids {
		batchSem <- struct{}{}
		wg.Go(func() {
			defer func() { <-batchSem }()
			in := &ssm.SendCommandInput{
				DocumentName: aws.String(ssmcollect.Document), InstanceIds: b,
				MaxConcurrency: aws.String(ssmcollect.DefaultMaxConcurrency), MaxErrors: aws.String(ssmcollect.DefaultMaxErrors),
				Parameters: map[string][]string{"commands": {script},
					"executionTimeout": {strconv.Itoa(int(ssmcollect.DefaultExecutionTimeout / time.Second))}},
			}
			if mode == "s3" {
				in.OutputS3BucketName, in.OutputS3KeyPrefix = aws.String(bucket), aws.String("peer")
			}
			out, err := c.ssm.SendCommand(ctx, in)
			note(func(p *peerRun) { p.sends++ }, err)
			if err != nil {
				return
			}
			id := aws.ToString(out.Command.CommandId)
			var final []types.CommandInvocation
			wait := min(poll, time.Second) // the collector's first wait
			for len(final) < len(b) {
				select {
				case <-ctx.Done():
					note(nil, ctx.Err())
					return
				case <-time.After(wait):
				}
				wait = poll
				final = final[:0]
				p := ssm.NewListCommandInvocationsPaginator(c.ssm, &ssm.ListCommandInvocationsInput{CommandId: aws.String(id), MaxResults: aws.Int32(50)})
				for p.HasMorePages() {
					page, err := p.NextPage(ctx)
					note(func(p *peerRun) { p.polls++ }, nil)
					if err != nil {
						var notYet *types.InvalidCommandId
						if !errors.As(err, &notYet) {
							note(nil, fmt.Errorf("peer: ListCommandInvocations %s: %w", id, err))
							return
						}
						break
					}
					for _, inv := range page.CommandInvocations {
						switch inv.Status {
						case types.CommandInvocationStatusPending, types.CommandInvocationStatusInProgress, types.CommandInvocationStatusDelayed:
						default:
							final = append(final, inv)
						}
					}
				}
			}
			var rg sync.WaitGroup
			for _, inv := range final {
				if inv.Status != types.CommandInvocationStatusSuccess {
					note(func(p *peerRun) { p.failed++ }, nil)
					continue
				}
				rg.Add(1)
				readJobs <- func() {
					defer rg.Done()
					n, err := peerRead(ctx, c, mode, id, aws.ToString(inv.InstanceId))
					note(func(p *peerRun) { p.reads++; p.bytes += n }, err)
				}
			}
			rg.Wait()
		})
	}
	wg.Wait()
	pr.wall = time.Since(start)
	return pr, first
}

// peerRead reads one invocation's output and discards it, returning its
// size.
func peerRead(ctx context.Context, c peerClients, mode, commandID, instanceID string) (int64, error) {
	if mode == "s3" {
		obj, err := c.s3.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(ssmcollect.OutputKey("peer", commandID, instanceID))})
		if err != nil {
			return 0, fmt.Errorf("peer: GetObject of %s on %s: %w", commandID, instanceID, err)
		}
		defer obj.Body.Close()
		return io.Copy(io.Discard, obj.Body)
	}
	out, err := c.ssm.GetCommandInvocation(ctx, &ssm.GetCommandInvocationInput{CommandId: aws.String(commandID), InstanceId: aws.String(instanceID)})
	if err != nil {
		return 0, fmt.Errorf("peer: GetCommandInvocation of %s on %s: %w", commandID, instanceID, err)
	}
	return int64(len(aws.ToString(out.StandardOutputContent))), nil
}
