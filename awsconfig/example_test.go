package awsconfig_test

import (
	"context"
	"fmt"

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
