package awsfake_test

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"
	"github.com/aws/smithy-go"

	"github.com/diffy-dfir/diffy/diffytest/awsfake"
)

func TestDescribeInstancesPaginatorWithFilters(t *testing.T) {
	insts := append(testInstances(1000, "web-asg"), testInstances(0, "")...)
	other := testInstances(1010, "other-asg")[1000:] // distinct IDs, another group
	srv := newServer(t, awsfake.WithInstances(append(insts, other...)...))
	client := ec2.NewFromConfig(srv.Config())
	ctx := context.Background()

	in := &ec2.DescribeInstancesInput{
		Filters: []ec2types.Filter{
			{Name: aws.String("tag:aws:autoscaling:groupName"), Values: []string{"web-asg"}},
			{Name: aws.String("instance-state-name"), Values: []string{"running"}},
		},
		MaxResults: aws.Int32(100),
	}
	p := ec2.NewDescribeInstancesPaginator(client, in)
	seen := map[string]bool{}
	pages := 0
	var tries attempts
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		tries.add(t, out.ResultMetadata)
		for _, r := range out.Reservations {
			if aws.ToString(r.OwnerId) != awsfake.DefaultAccount {
				t.Errorf("reservation owner %q, want %q", aws.ToString(r.OwnerId), awsfake.DefaultAccount)
			}
			for _, i := range r.Instances {
				id := aws.ToString(i.InstanceId)
				if seen[id] {
					t.Errorf("instance %s listed twice", id)
				}
				seen[id] = true
				if i.State == nil || i.State.Name != ec2types.InstanceStateNameRunning {
					t.Errorf("%s: state %v, want running", id, i.State)
				}
				if aws.ToString(i.PrivateIpAddress) == "" || aws.ToString(i.ImageId) != "ami-0123456789abcdef0" {
					t.Errorf("%s: ip %q image %q", id, aws.ToString(i.PrivateIpAddress), aws.ToString(i.ImageId))
				}
				if i.LaunchTime == nil || !i.LaunchTime.Equal(time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)) {
					t.Errorf("%s: launch time %v", id, i.LaunchTime)
				}
				if i.Placement == nil || aws.ToString(i.Placement.AvailabilityZone) != "us-east-1a" {
					t.Errorf("%s: placement %v", id, i.Placement)
				}
				group := ""
				for _, tag := range i.Tags {
					if aws.ToString(tag.Key) == "aws:autoscaling:groupName" {
						group = aws.ToString(tag.Value)
					}
				}
				if group != "web-asg" {
					t.Errorf("%s: group tag %q", id, group)
				}
			}
		}
	}
	if len(seen) != 1000 || pages != 10 {
		t.Fatalf("got %d instances in %d pages, want 1000 in 10", len(seen), pages)
	}
	// One call per page; its attempts (the SDK may retry one on its own
	// under load) are not calls.
	if c := srv.Calls()["ec2:DescribeInstances"]; c.Operations != int64(pages) || c.Calls < c.Operations || c.Calls > int64(tries.n) {
		t.Errorf("the fake counted %+v for %d pages in %d attempts (retried: %q)", c, pages, tries.n, tries.retried)
	}

	// tag:KEY with a wildcard and tag-key.
	out, err := client.DescribeInstances(ctx, &ec2.DescribeInstancesInput{Filters: []ec2types.Filter{
		{Name: aws.String("tag:role"), Values: []string{"a*"}},
		{Name: aws.String("tag-key"), Values: []string{"aws:autoscaling:groupName"}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	if n := len(out.Reservations); n != 505 {
		t.Errorf("role=a* matched %d instances, want 505", n)
	}
	if out.NextToken != nil {
		t.Errorf("a call without MaxResults returned a NextToken")
	}

	// InstanceId.N, and an unknown ID.
	ids := []string{aws.ToString(out.Reservations[0].Instances[0].InstanceId), aws.ToString(out.Reservations[1].Instances[0].InstanceId)}
	out, err = client.DescribeInstances(ctx, &ec2.DescribeInstancesInput{InstanceIds: ids})
	if err != nil || len(out.Reservations) != 2 {
		t.Fatalf("by IDs: %v, %d reservations", err, len(out.Reservations))
	}
	_, err = client.DescribeInstances(ctx, &ec2.DescribeInstancesInput{InstanceIds: []string{"i-does-not-exist"}})
	var apiErr smithy.APIError
	if !errors.As(err, &apiErr) || apiErr.ErrorCode() != "InvalidInstanceID.NotFound" {
		t.Fatalf("unknown ID: got %v, want InvalidInstanceID.NotFound", err)
	}

	// MaxResults out of range, and with InstanceId.N.
	_, err = client.DescribeInstances(ctx, &ec2.DescribeInstancesInput{MaxResults: aws.Int32(2)})
	if !errors.As(err, &apiErr) || apiErr.ErrorCode() != "InvalidParameterValue" {
		t.Fatalf("MaxResults 2: %v", err)
	}
	_, err = client.DescribeInstances(ctx, &ec2.DescribeInstancesInput{MaxResults: aws.Int32(5), InstanceIds: ids})
	if !errors.As(err, &apiErr) || apiErr.ErrorCode() != "InvalidParameterCombination" {
		t.Fatalf("MaxResults with IDs: %v", err)
	}
	_, err = client.DescribeInstances(ctx, &ec2.DescribeInstancesInput{Filters: []ec2types.Filter{{Name: aws.String("vpc-id"), Values: []string{"v"}}}})
	if !errors.As(err, &apiErr) || apiErr.ErrorCode() != "InvalidParameterValue" || !strings.Contains(apiErr.ErrorMessage(), "vpc-id") {
		t.Fatalf("unsupported filter: %v", err)
	}

	// A group that does not exist matches nothing.
	out, err = client.DescribeInstances(ctx, &ec2.DescribeInstancesInput{Filters: []ec2types.Filter{
		{Name: aws.String("tag:aws:autoscaling:groupName"), Values: []string{"nope"}}}})
	if err != nil || len(out.Reservations) != 0 {
		t.Fatalf("unknown group: %v, %d reservations", err, len(out.Reservations))
	}
}

func TestDescribeInstancesTerminatedAndVanishing(t *testing.T) {
	srv := newServer(t, awsfake.WithInstances(testInstances(40, "g")...), awsfake.WithFaults(awsfake.Faults{Seed: 3, Vanishing: 0.25}))
	client := ec2.NewFromConfig(srv.Config())
	ctx := context.Background()
	vanish := srv.Selected(awsfake.FaultVanishing)
	if len(vanish) == 0 || len(vanish) == 40 {
		t.Fatalf("25%% vanishing picked %d of 40", len(vanish))
	}
	running := func() int {
		out, err := client.DescribeInstances(ctx, &ec2.DescribeInstancesInput{Filters: []ec2types.Filter{
			{Name: aws.String("instance-state-name"), Values: []string{"running"}}}})
		if err != nil {
			t.Fatal(err)
		}
		return len(out.Reservations)
	}
	if n := running(); n != 40 {
		t.Fatalf("first listing: %d running, want 40", n)
	}
	if n := running(); n != 40-len(vanish) {
		t.Fatalf("second listing: %d running, want %d (vanishing ones gone)", n, 40-len(vanish))
	}
	srv.Terminate(testInstances(1, "g")[0].Instance.ID)
	out, err := client.DescribeInstances(ctx, &ec2.DescribeInstancesInput{InstanceIds: []string{testInstances(1, "g")[0].Instance.ID}})
	if err != nil {
		t.Fatal(err)
	}
	if st := out.Reservations[0].Instances[0].State.Name; st != ec2types.InstanceStateNameTerminated {
		t.Fatalf("terminated instance is %s", st)
	}
}

// lostAnswers is an HTTP client that drops the answer to the first
// attempt of every call after the server has handled it, as a connection
// closed under the response does: the SDK retries.
type lostAnswers struct {
	mu   sync.Mutex
	seen map[string]bool // amz-sdk-invocation-id
}

func (l *lostAnswers) Do(req *http.Request) (*http.Response, error) {
	resp, err := http.DefaultClient.Do(req)
	id := req.Header.Get("Amz-Sdk-Invocation-Id")
	l.mu.Lock()
	first := !l.seen[id]
	l.seen[id] = true
	l.mu.Unlock()
	if err == nil && first {
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return nil, &net.OpError{Op: "read", Net: "tcp", Err: syscall.ECONNRESET}
	}
	return resp, err
}

// TestVanishingSeenByRetry: a vanishing instance listed by an attempt
// whose answer was lost is listed again by the retry: the caller has not
// seen it yet. (Before, the retry listed one instance fewer.)
func TestVanishingSeenByRetry(t *testing.T) {
	srv := newServer(t, awsfake.WithInstances(testInstances(40, "g")...), awsfake.WithFaults(awsfake.Faults{Seed: 3, Vanishing: 0.25}))
	client := ec2.NewFromConfig(srv.Config(), func(o *ec2.Options) { o.HTTPClient = &lostAnswers{seen: map[string]bool{}} })
	out, err := client.DescribeInstances(context.Background(), &ec2.DescribeInstancesInput{Filters: []ec2types.Filter{
		{Name: aws.String("instance-state-name"), Values: []string{"running"}}}})
	if err != nil {
		t.Fatal(err)
	}
	if c := srv.Calls()["ec2:DescribeInstances"]; c.Calls != 2 || c.Operations != 1 {
		t.Fatalf("counts %+v, want one call in two attempts", c)
	}
	if n := len(out.Reservations); n != 40 {
		t.Errorf("the retry lists %d running, want 40: the vanishing ones went away before the caller saw them", n)
	}
}

// Instances whose SSM agent goes away after targeting stay running in EC2
// but can no longer be sent commands.
func TestAgentLostAfterDescribe(t *testing.T) {
	insts := testInstances(20, "g")
	srv := newServer(t, awsfake.WithInstances(insts...), awsfake.WithFaults(awsfake.Faults{Seed: 9, AgentLost: 0.3}))
	lost := srv.Selected(awsfake.FaultAgentLost)
	if len(lost) == 0 || len(lost) == 20 {
		t.Fatalf("30%% agent-lost picked %d of 20", len(lost))
	}
	cfg := srv.Config()
	ctx := context.Background()
	ec := ec2.NewFromConfig(cfg)
	sc := ssm.NewFromConfig(cfg)
	// Before targeting, SSM manages every instance.
	if _, err := sc.SendCommand(ctx, &ssm.SendCommandInput{DocumentName: aws.String("AWS-RunShellScript"), InstanceIds: lost[:1],
		Parameters: map[string][]string{"commands": {"echo hi"}}}); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		out, err := ec.DescribeInstances(ctx, &ec2.DescribeInstancesInput{Filters: []ec2types.Filter{
			{Name: aws.String("instance-state-name"), Values: []string{"running"}}}})
		if err != nil || len(out.Reservations) != 20 {
			t.Fatalf("EC2 lists %d running (%v), want 20", len(out.Reservations), err)
		}
	}
	_, err := sc.SendCommand(ctx, &ssm.SendCommandInput{DocumentName: aws.String("AWS-RunShellScript"), InstanceIds: lost[:1],
		Parameters: map[string][]string{"commands": {"echo hi"}}})
	var invalid *ssmtypes.InvalidInstanceId
	if !errors.As(err, &invalid) {
		t.Fatalf("SendCommand after the agent went away: %v", err)
	}
	info, err := sc.DescribeInstanceInformation(ctx, &ssm.DescribeInstanceInformationInput{})
	if err != nil || len(info.InstanceInformationList) != 20-len(lost) {
		t.Fatalf("SSM manages %d (%v), want %d", len(info.InstanceInformationList), err, 20-len(lost))
	}
}
