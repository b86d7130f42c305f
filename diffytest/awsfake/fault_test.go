package awsfake_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/aws/smithy-go"

	"github.com/diffy-dfir/diffy/diffytest/awsfake"
)

// Throttled calls are retried by the SDK's adaptive retryer until they
// pass; the counters show both.
// It runs on the wall clock, not in a synctest bubble: the SDK's adaptive
// rate limiter can spin on a wait that rounds to 0 ns, which only wall
// time ends. So what it checks does not depend on how fast the calls are:
// the client without retries is throttled by a bucket that refills once in
// 1,000 s.
func TestThrottlingRetriedByAdaptiveRetryer(t *testing.T) {
	insts := testInstances(10, "g")
	srv := newServer(t, awsfake.WithInstances(insts...), awsfake.WithCallFaults(awsfake.CallFaults{
		Throttle: map[string]awsfake.Rate{"ec2:DescribeInstances": {PerSecond: 4, Burst: 2}},
	}))
	client := ec2.NewFromConfig(srv.Config())
	var wg sync.WaitGroup
	var tries attempts
	errs := make(chan error, 4)
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out, err := client.DescribeInstances(context.Background(), &ec2.DescribeInstancesInput{})
			if err == nil {
				tries.add(t, out.ResultMetadata)
				if len(out.Reservations) != 10 {
					err = errors.New("wrong number of reservations")
				}
			}
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	c := srv.Calls()["ec2:DescribeInstances"]
	checkRetried(t, "EC2 throttled", c, 4, c.Throttled, &tries)

	// SSM answers ThrottlingException, which the SDK also retries.
	srv2 := newServer(t, awsfake.WithInstances(insts...), awsfake.WithCallFaults(awsfake.CallFaults{ThrottleAll: awsfake.Rate{PerSecond: 4, Burst: 2}}))
	sc := ssm.NewFromConfig(srv2.Config())
	var wg2 sync.WaitGroup
	var tries2 attempts
	for range 3 {
		wg2.Add(1)
		go func() {
			defer wg2.Done()
			out, err := sc.DescribeInstanceInformation(context.Background(), &ssm.DescribeInstanceInformationInput{})
			if err != nil {
				t.Error(err)
				return
			}
			tries2.add(t, out.ResultMetadata)
		}()
	}
	wg2.Wait()
	c = srv2.Calls()["ssm:DescribeInstanceInformation"]
	checkRetried(t, "SSM throttled", c, 3, c.Throttled, &tries2)

	// Without retries the client sees the throttling error itself: the
	// second call of a bucket of one that refills in 1,000 s.
	srv3 := newServer(t, awsfake.WithInstances(insts...), awsfake.WithCallFaults(awsfake.CallFaults{
		Throttle: map[string]awsfake.Rate{"ec2:DescribeInstances": {PerSecond: 0.001, Burst: 1}},
	}))
	noRetry := ec2.NewFromConfig(srv3.Config(), func(o *ec2.Options) { o.Retryer = aws.NopRetryer{} })
	if _, err := noRetry.DescribeInstances(context.Background(), &ec2.DescribeInstancesInput{}); err != nil {
		t.Fatalf("first call of a full bucket: %v", err)
	}
	_, err := noRetry.DescribeInstances(context.Background(), &ec2.DescribeInstancesInput{})
	var apiErr smithy.APIError
	if !errors.As(err, &apiErr) || apiErr.ErrorCode() != "RequestLimitExceeded" {
		t.Fatalf("second call of an empty bucket: got %v, want RequestLimitExceeded", err)
	}
}

func TestServerErrorBurstRetried(t *testing.T) {
	insts := testInstances(3, "g")
	srv := newServer(t, awsfake.WithInstances(insts...), awsfake.WithCallFaults(awsfake.CallFaults{ServerErrorEvery: 5, ServerErrorBurst: 3}))
	client := ssm.NewFromConfig(srv.Config())
	var tries attempts
	for range 4 {
		out, err := client.DescribeInstanceInformation(context.Background(), &ssm.DescribeInstanceInformationInput{})
		if err != nil {
			t.Fatal(err)
		}
		tries.add(t, out.ResultMetadata)
	}
	// 3 of every 5 calls fail: calls 0-2 and 5-7 of the 10 that 4 calls
	// take (a retry of the SDK's own shifts the pattern by one call).
	c := srv.Calls()["ssm:DescribeInstanceInformation"]
	checkRetried(t, "server errors", c, 4, c.ServerErrors, &tries)
	if c.ServerErrors < 6 {
		t.Errorf("counts %+v, want at least 6 server errors", c)
	}
	ec := ec2.NewFromConfig(srv.Config(), func(o *ec2.Options) { o.Retryer = aws.NopRetryer{} })
	_, err := ec.DescribeInstances(context.Background(), &ec2.DescribeInstancesInput{})
	var re *awshttp.ResponseError
	if !errors.As(err, &re) || re.HTTPStatusCode() != 500 {
		t.Fatalf("first EC2 call without retries: %v, want HTTP 500", err)
	}
}

func TestConnectionResetRetried(t *testing.T) {
	insts := testInstances(3, "g")
	srv := newServer(t, awsfake.WithInstances(insts...), awsfake.WithCallFaults(awsfake.CallFaults{ResetEvery: 2}))
	client := ec2.NewFromConfig(srv.Config())
	var tries attempts
	for range 3 {
		out, err := client.DescribeInstances(context.Background(), &ec2.DescribeInstancesInput{})
		if err != nil || len(out.Reservations) != 3 {
			t.Fatalf("%v %v", err, out)
		}
		tries.add(t, out.ResultMetadata)
	}
	c := srv.Calls()["ec2:DescribeInstances"]
	checkRetried(t, "EC2 resets", c, 3, c.Resets, &tries)
	// SSM resets before reading the request body; the SDK retries too.
	sc := ssm.NewFromConfig(srv.Config())
	var tries2 attempts
	for range 3 {
		out, err := sc.DescribeInstanceInformation(context.Background(), &ssm.DescribeInstanceInformationInput{})
		if err != nil {
			t.Fatal(err)
		}
		tries2.add(t, out.ResultMetadata)
	}
	c = srv.Calls()["ssm:DescribeInstanceInformation"]
	checkRetried(t, "SSM resets", c, 3, c.Resets, &tries2)
	noRetry := ec2.NewFromConfig(srv.Config(), func(o *ec2.Options) { o.Retryer = aws.NopRetryer{} })
	var sawReset bool
	for range 2 {
		if _, err := noRetry.DescribeInstances(context.Background(), &ec2.DescribeInstancesInput{}); err != nil {
			sawReset = true
		}
	}
	if !sawReset {
		t.Fatal("no call failed without retries")
	}
}

func TestSlowAnswersTimeOutAndRetry(t *testing.T) {
	insts := testInstances(3, "g")
	srv := newServer(t, awsfake.WithInstances(insts...), awsfake.WithCallFaults(awsfake.CallFaults{SlowEvery: 2, SlowDelay: time.Minute}))
	client := ec2.NewFromConfig(srv.Config(), func(o *ec2.Options) {
		o.HTTPClient = awshttp.NewBuildableClient().WithTimeout(300 * time.Millisecond)
	})
	var tries attempts
	for range 3 {
		out, err := client.DescribeInstances(context.Background(), &ec2.DescribeInstancesInput{})
		if err != nil {
			t.Fatal(err)
		}
		tries.add(t, out.ResultMetadata)
	}
	c := srv.Calls()["ec2:DescribeInstances"]
	checkRetried(t, "slow answers", c, 3, c.Slow, &tries)
	// A caller's deadline ends a slow call.
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	slow := ec2.NewFromConfig(srv.Config(), func(o *ec2.Options) { o.Retryer = aws.NopRetryer{} })
	var err error
	for range 2 {
		if _, err = slow.DescribeInstances(ctx, &ec2.DescribeInstancesInput{}); err != nil {
			break
		}
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("slow call under a deadline: %v", err)
	}
}
