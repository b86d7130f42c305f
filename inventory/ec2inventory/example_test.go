package ec2inventory_test

import (
	"context"
	"fmt"
	"time"

	"github.com/diffy-dfir/diffy/diffytest/awsfake"
	"github.com/diffy-dfir/diffy/inventory/ec2inventory"
	"github.com/diffy-dfir/diffy/target"
)

// The Auto Scaling groups with an instance launched in the last day, to
// baseline them from their newest instance.
func Example() {
	now := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	grp := func(id, group string, age time.Duration) awsfake.Instance {
		return awsfake.Instance{Instance: target.Instance{ID: id, LaunchTime: now.Add(-age),
			Tags: map[string]string{"aws:autoscaling:groupName": group}}}
	}
	srv, err := awsfake.New(awsfake.WithInstances([]awsfake.Instance{
		grp("i-01", "api", 30*24*time.Hour), grp("i-02", "web", 2*time.Hour), grp("i-03", "web", 3*time.Hour),
	}...))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer srv.Close()
	inv, _ := ec2inventory.NewFromConfig(srv.Config(), ec2inventory.WithSince(now.Add(-24*time.Hour)))
	entries, err := inv.Entries(context.Background())
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, e := range entries {
		fmt.Println(e.Key, e.Instance, e.Labels["instances"])
	}
	// Output:
	// web i-02 2
}
