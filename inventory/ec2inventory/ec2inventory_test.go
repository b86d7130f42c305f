package ec2inventory_test

import (
	"context"
	"testing"
	"time"

	"github.com/diffy-dfir/diffy/diffytest"
	"github.com/diffy-dfir/diffy/diffytest/awsfake"
	"github.com/diffy-dfir/diffy/inventory"
	"github.com/diffy-dfir/diffy/inventory/ec2inventory"
	"github.com/diffy-dfir/diffy/target"
)

var t0 = time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)

func newServer(t *testing.T) *awsfake.Server {
	t.Helper()
	inst := func(id, group string, launched time.Duration) awsfake.Instance {
		tags := map[string]string{"Name": id}
		if group != "" {
			tags["aws:autoscaling:groupName"] = group
		}
		return awsfake.Instance{Instance: target.Instance{ID: id, Tags: tags, LaunchTime: t0.Add(launched)}}
	}
	srv, err := awsfake.New(awsfake.WithInstances([]awsfake.Instance{
		inst("i-01", "old", 0), inst("i-02", "old", time.Hour),
		inst("i-03", "new", 48*time.Hour), inst("i-04", "new", 47*time.Hour),
		inst("i-05", "gone", 72*time.Hour), inst("i-06", "", 96*time.Hour),
	}...))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	srv.Terminate("i-05")
	return srv
}

func TestInventorySuite(t *testing.T) {
	srv := newServer(t)
	diffytest.TestInventory(t, func(t *testing.T) inventory.Inventory {
		inv, err := ec2inventory.NewFromConfig(srv.Config())
		if err != nil {
			t.Fatal(err)
		}
		return inv
	})
}

func TestEntries(t *testing.T) {
	srv := newServer(t)
	inv, _ := ec2inventory.NewFromConfig(srv.Config())
	got, err := inv.Entries(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	// Newest launch first; the group whose only instance is terminated
	// and the instance outside any group are not listed.
	if len(got) != 2 || got[0].Key != "new" || got[0].Instance != "i-03" || got[1].Key != "old" || got[1].Instance != "i-02" {
		t.Fatalf("entries = %+v", got)
	}
	l := got[0].Labels
	if l["instances"] != "2" || l["account"] != srv.Account() || l["region"] != srv.Region() || l["newest_launch"] != t0.Add(48*time.Hour).Format(time.RFC3339) {
		t.Errorf("labels = %v", l)
	}
	since, _ := ec2inventory.NewFromConfig(srv.Config(), ec2inventory.WithSince(t0.Add(24*time.Hour)))
	got, err = since.Entries(context.Background())
	if err != nil || len(got) != 1 || got[0].Key != "new" {
		t.Errorf("since: %+v %v", got, err)
	}
}
