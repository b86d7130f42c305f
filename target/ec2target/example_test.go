package ec2target_test

import (
	"context"
	"fmt"

	"github.com/diffy-dfir/diffy/diffytest/awsfake"
	"github.com/diffy-dfir/diffy/target"
	"github.com/diffy-dfir/diffy/target/ec2target"
)

// The running instances of an Auto Scaling group, and a tag filter parsed.
// Against AWS, make the configuration with awsconfig.Load.
func Example() {
	srv, err := awsfake.New(awsfake.WithInstances([]awsfake.Instance{
		{Instance: target.Instance{ID: "i-0b", Tags: map[string]string{"aws:autoscaling:groupName": "web", "Name": "web-b"}}},
		{Instance: target.Instance{ID: "i-0a", Tags: map[string]string{"aws:autoscaling:groupName": "web", "Name": "web-a"}}},
	}...))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer srv.Close()
	asg, err := ec2target.NewFromConfig(srv.Config(), ec2target.KindASG)
	if err != nil {
		fmt.Println(err)
		return
	}
	insts, err := asg.Targets(context.Background(), "web")
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, in := range insts {
		fmt.Println(in.ID, in.Name, in.Region, in.Account)
	}
	filters, _ := ec2target.ParseTagFilter("env=prod,env=staging,team")
	fmt.Printf("%+v\n", filters)
	// Output:
	// i-0a web-a us-east-1 123456789012
	// i-0b web-b us-east-1 123456789012
	// [{Key:env Values:[prod staging]} {Key:team Values:[]}]
}
