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
func TestThrottlingRetriedByAdaptiveRetryer(t *testing.T) {
	insts := testInstances(10, "g")
	srv := newServer(t, awsfake.Options{Instances: insts, CallFaults: awsfake.CallFaults{
		Throttle: map[string]awsfake.Rate{"ec2:DescribeInstances": {PerSecond: 4, Burst: 2}},
	}})
	client := ec2.NewFromConfig(srv.Config())
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out, err := client.DescribeInstances(context.Background(), &ec2.DescribeInstancesInput{})
			if err == nil && len(out.Reservations) != 10 {
				err = errors.New("wrong number of reservations")
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
	if c.Throttled == 0 || c.Calls != 4+c.Throttled {
		t.Fatalf("counts %+v: want some throttled, and every throttled call retried once more", c)
	}

	// SSM answers ThrottlingException, which the SDK also retries.
	srv2 := newServer(t, awsfake.Options{Instances: insts, CallFaults: awsfake.CallFaults{ThrottleAll: awsfake.Rate{PerSecond: 4, Burst: 2}}})
	sc := ssm.NewFromConfig(srv2.Config())
	var wg2 sync.WaitGroup
	for range 3 {
		wg2.Add(1)
		go func() {
			defer wg2.Done()
			if _, err := sc.DescribeInstanceInformation(context.Background(), &ssm.DescribeInstanceInformationInput{}); err != nil {
				t.Error(err)
			}
		}()
	}
	wg2.Wait()
	if c := srv2.Calls()["ssm:DescribeInstanceInformation"]; c.Throttled == 0 || c.Calls != 3+c.Throttled {
		t.Fatalf("SSM counts %+v", c)
	}

	// Without retries the client sees the throttling error itself.
	noRetry := ec2.NewFromConfig(srv.Config(), func(o *ec2.Options) { o.Retryer = aws.NopRetryer{} })
	var sawThrottle bool
	for range 10 {
		_, err := noRetry.DescribeInstances(context.Background(), &ec2.DescribeInstancesInput{})
		var apiErr smithy.APIError
		if errors.As(err, &apiErr) && apiErr.ErrorCode() == "RequestLimitExceeded" {
			sawThrottle = true
			break
		}
	}
	if !sawThrottle {
		t.Fatalf("10 quick calls at 4/s burst 2 were never throttled")
	}
}

func TestServerErrorBurstRetried(t *testing.T) {
	insts := testInstances(3, "g")
	srv := newServer(t, awsfake.Options{Instances: insts, CallFaults: awsfake.CallFaults{ServerErrorEvery: 5, ServerErrorBurst: 3}})
	client := ssm.NewFromConfig(srv.Config())
	for range 4 {
		if _, err := client.DescribeInstanceInformation(context.Background(), &ssm.DescribeInstanceInformationInput{}); err != nil {
			t.Fatal(err)
		}
	}
	c := srv.Calls()["ssm:DescribeInstanceInformation"]
	if c.ServerErrors != 6 || c.Calls != 10 {
		t.Fatalf("counts %+v, want 6 server errors in 10 calls", c)
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
	srv := newServer(t, awsfake.Options{Instances: insts, CallFaults: awsfake.CallFaults{ResetEvery: 2}})
	client := ec2.NewFromConfig(srv.Config())
	for range 3 {
		out, err := client.DescribeInstances(context.Background(), &ec2.DescribeInstancesInput{})
		if err != nil || len(out.Reservations) != 3 {
			t.Fatalf("%v %v", err, out)
		}
	}
	c := srv.Calls()["ec2:DescribeInstances"]
	if c.Resets == 0 || c.Calls != 3+c.Resets {
		t.Fatalf("counts %+v", c)
	}
	// SSM resets before reading the request body; the SDK retries too.
	sc := ssm.NewFromConfig(srv.Config())
	for range 3 {
		if _, err := sc.DescribeInstanceInformation(context.Background(), &ssm.DescribeInstanceInformationInput{}); err != nil {
			t.Fatal(err)
		}
	}
	if c := srv.Calls()["ssm:DescribeInstanceInformation"]; c.Resets == 0 || c.Calls != 3+c.Resets {
		t.Fatalf("SSM counts %+v", c)
	}
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
	srv := newServer(t, awsfake.Options{Instances: insts, CallFaults: awsfake.CallFaults{SlowEvery: 2, SlowDelay: time.Minute}})
	client := ec2.NewFromConfig(srv.Config(), func(o *ec2.Options) {
		o.HTTPClient = awshttp.NewBuildableClient().WithTimeout(300 * time.Millisecond)
	})
	for range 3 {
		if _, err := client.DescribeInstances(context.Background(), &ec2.DescribeInstancesInput{}); err != nil {
			t.Fatal(err)
		}
	}
	if c := srv.Calls()["ec2:DescribeInstances"]; c.Slow == 0 || c.Calls != 3+c.Slow {
		t.Fatalf("counts %+v", c)
	}
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
