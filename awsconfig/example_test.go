package awsconfig_test

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/diffy-dfir/diffy/awsconfig"
	"github.com/diffy-dfir/diffy/target/ec2target"
)

// Loading the configuration for another account's role, then a Target of
// its Auto Scaling groups. Credentials are looked up at the first call.
func Example() {
	cfg, err := awsconfig.Load(context.Background(), awsconfig.Options{
		Region:  "eu-west-1",
		RoleARN: "arn:aws:iam::210987654321:role/IncidentResponse",
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	asg, err := ec2target.NewFromConfig(cfg, ec2target.KindASG)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(cfg.Region, asg.Kind())
	// Output: eu-west-1 asg
}

// A listing stops when an answer repeats its NextToken, which would keep
// the SDK's paginator going forever.
func ExamplePages() {
	answers := []*string{aws.String("page-2"), aws.String("page-2")} // the same token twice
	pages := awsconfig.Pages{Op: "DescribeInstances"}
	for _, next := range answers {
		if err := pages.Next(next); err != nil {
			fmt.Println(err)
			break
		}
	}
	// Output: DescribeInstances answered the same NextToken on two pages in a row ("page-2"): malformed answer
}
