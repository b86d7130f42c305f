package awsfake_test

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/diffy-dfir/diffy/collect/ssmcollect"
	"github.com/diffy-dfir/diffy/diffytest/awsfake"
	"github.com/diffy-dfir/diffy/payload"
	"github.com/diffy-dfir/diffy/target/ec2target"
)

// TestLaunch: instances launched into a running fake (a new Auto Scaling
// group) are listed by EC2 and run commands through SSM from then on, the
// first ones unchanged; a taken or empty ID is refused and adds nothing;
// launching while clients list the fleet is safe (run it with -race).
func TestLaunch(t *testing.T) {
	srv := newServer(t, awsfake.WithInstances(testInstances(2, "web")...))
	ctx := context.Background()
	tg, err := ec2target.NewFromConfig(srv.Config(), ec2target.KindASG)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	stop := make(chan struct{})
	wg.Add(1)
	go func() { // a client listing while the group launches
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			if _, err := tg.Targets(ctx, "web"); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	api := testInstances(3, "api")
	for i := range api {
		api[i].Instance.ID = fmt.Sprintf("i-%017x", 0xdef000+i)
	}
	if err := srv.Launch(api...); err != nil {
		t.Fatal(err)
	}
	close(stop)
	wg.Wait()
	if err := srv.Launch(api[0]); err == nil {
		t.Error("launching a taken ID: no error")
	}
	bad := api[1]
	bad.Instance.ID = ""
	if err := srv.Launch(bad); err == nil {
		t.Error("launching an instance without ID: no error")
	}
	web, err := tg.Targets(ctx, "web")
	if err != nil || len(web) != 2 {
		t.Fatalf("web after the launch: %d instances (%v), want 2", len(web), err)
	}
	got, err := tg.Targets(ctx, "api")
	if err != nil || len(got) != 3 {
		t.Fatalf("the launched group: %d instances (%v), want 3", len(got), err)
	}
	col, err := ssmcollect.NewFromConfig(srv.Config())
	if err != nil {
		t.Fatal(err)
	}
	rs, err := col.Collect(ctx, got, payload.StandardPack())
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rs {
		if !r.OK() || len(r.Rows) != 2 {
			t.Errorf("%s %s on a launched instance: %s, %d rows: %s", r.InstanceID, r.CommandID, r.Status, len(r.Rows), r.Error)
		}
	}
	if len(rs) != 3*len(payload.StandardPack()) {
		t.Errorf("%d Results, want %d", len(rs), 3*len(payload.StandardPack()))
	}
}
