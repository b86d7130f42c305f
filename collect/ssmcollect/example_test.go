package ssmcollect_test

import (
	"context"
	"fmt"

	"github.com/diffy-dfir/diffy/collect"
	"github.com/diffy-dfir/diffy/collect/ssmcollect"
	"github.com/diffy-dfir/diffy/diffytest/awsfake"
	"github.com/diffy-dfir/diffy/diffytest/fleet"
	"github.com/diffy-dfir/diffy/payload"
)

// Collecting the standard pack from a simulated fleet of 30 instances
// through SSM, with the real SDK clients against awsfake. With an output
// bucket every output is read whole from S3. With a real account, use
// awsconfig.Load instead of the fake's configuration.
func Example() {
	f := fleet.Generate(fleet.Config{Seed: 1, Hosts: 30, GroupName: "web"})
	srv, err := awsfake.New(awsfake.WithInstances(awsfake.FleetInstances(f)...))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer srv.Close()
	ctx := context.Background()

	col, err := ssmcollect.NewFromConfig(srv.Config(),
		ssmcollect.WithIncident("INC-1234"),
		ssmcollect.WithOutputBucket("diffy-output", "ssm"),
		ssmcollect.WithS3Options(srv.S3Options), // path-style addressing for the fake
	)
	if err != nil {
		fmt.Println(err)
		return
	}
	if err := srv.CreateBucket("diffy-output"); err != nil {
		fmt.Println(err)
		return
	}
	results, err := col.Collect(ctx, f.Instances(), payload.StandardPack())
	if err != nil {
		fmt.Println(err)
		return
	}
	ok := 0
	for _, r := range results {
		if r.Status == collect.StatusSuccess {
			ok++
		}
	}
	fmt.Printf("%d results, %d successful\n", len(results), ok)
	// Output:
	// 180 results, 180 successful
}
