package awsfake_test

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/aws-sdk-go-v2/service/ssm"

	"github.com/diffy-dfir/diffy/collect"
	"github.com/diffy-dfir/diffy/diffytest/awsfake"
	"github.com/diffy-dfir/diffy/payload"
	"github.com/diffy-dfir/diffy/target"
)

// A fleet of two instances in one Auto Scaling group, found with the real
// EC2 client and queried with the real SSM client: the standard pack's
// users query runs on each host and prints that host's rows.
func Example() {
	users := payload.StandardPack()[4] // users
	var insts []awsfake.Instance
	for i, extra := range []string{"", "backdoor"} {
		rows := []collect.Row{{"uid": "0", "username": "root"}}
		if extra != "" {
			rows = append(rows, collect.Row{"uid": "0", "username": extra})
		}
		insts = append(insts, awsfake.Instance{
			Instance: target.Instance{ID: fmt.Sprintf("i-0%016d", i+1), Tags: map[string]string{"aws:autoscaling:groupName": "web"}},
			Host:     awsfake.Rows{users.ID: rows},
		})
	}
	srv, err := awsfake.New(awsfake.WithInstances(insts...))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer srv.Close()
	ctx := context.Background()
	cfg := srv.Config()

	// Targeting: the members of the group, through the SDK's paginator.
	var ids []string
	p := ec2.NewDescribeInstancesPaginator(ec2.NewFromConfig(cfg), &ec2.DescribeInstancesInput{
		Filters: []ec2types.Filter{
			{Name: aws.String("tag:aws:autoscaling:groupName"), Values: []string{"web"}},
			{Name: aws.String("instance-state-name"), Values: []string{"running"}},
		}})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			fmt.Println(err)
			return
		}
		for _, r := range page.Reservations {
			for _, in := range r.Instances {
				ids = append(ids, aws.ToString(in.InstanceId))
			}
		}
	}

	// Collection: Run Command, then each invocation through the waiter.
	client := ssm.NewFromConfig(cfg)
	sent, err := client.SendCommand(ctx, &ssm.SendCommandInput{
		DocumentName: aws.String("AWS-RunShellScript"),
		InstanceIds:  ids,
		Parameters:   map[string][]string{"commands": strings.Split(users.Shell, "\n")},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	waiter := ssm.NewCommandExecutedWaiter(client, func(o *ssm.CommandExecutedWaiterOptions) {
		o.MinDelay, o.MaxDelay = 10*time.Millisecond, 100*time.Millisecond
	})
	for _, id := range ids {
		out, err := waiter.WaitForOutput(ctx, &ssm.GetCommandInvocationInput{CommandId: sent.Command.CommandId, InstanceId: aws.String(id)}, time.Minute)
		if err != nil {
			fmt.Println(err)
			return
		}
		rows, err := collect.ParseRows([]byte(aws.ToString(out.StandardOutputContent)))
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Println(id, out.Status, len(rows), "users")
	}
	fmt.Println("SendCommand calls:", srv.Calls()["ssm:SendCommand"].Operations)
	// Output:
	// i-00000000000000001 Success 1 users
	// i-00000000000000002 Success 2 users
	// SendCommand calls: 1
}

// Faults pick instances by fraction, the same ones for the same seed; the
// server says which.
func ExampleServer_Selected() {
	insts := make([]awsfake.Instance, 200)
	for i := range insts {
		insts[i] = awsfake.Instance{Instance: target.Instance{ID: fmt.Sprintf("i-%017d", i)}}
	}
	opts := []awsfake.Option{awsfake.WithInstances(insts...), awsfake.WithFaults(awsfake.Faults{Seed: 42, Undeliverable: 0.02, BigOutput: 0.01})}
	a, err := awsfake.New(opts...)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer a.Close()
	b, err := awsfake.New(opts...)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer b.Close()
	same := fmt.Sprint(a.Selected(awsfake.FaultUndeliverable)) == fmt.Sprint(b.Selected(awsfake.FaultUndeliverable))
	fmt.Println("undeliverable:", len(a.Selected(awsfake.FaultUndeliverable)) > 0, "same for the same seed:", same)
	fmt.Println("failing:", len(a.Selected(awsfake.FaultFailing)))
	// Output:
	// undeliverable: true same for the same seed: true
	// failing: 0
}
