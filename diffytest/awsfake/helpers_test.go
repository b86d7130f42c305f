package awsfake_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/diffy-dfir/diffy/collect"
	"github.com/diffy-dfir/diffy/diffytest/awsfake"
	"github.com/diffy-dfir/diffy/payload"
	"github.com/diffy-dfir/diffy/target"
)

// testInstances returns n instances of the Auto Scaling group group, each
// with a few rows per standard-pack command (one row naming the instance).
func testInstances(n int, group string) []awsfake.Instance {
	out := make([]awsfake.Instance, n)
	for i := range out {
		id := fmt.Sprintf("i-%017x", 0xabc000+i)
		rows := awsfake.Rows{}
		for _, c := range payload.StandardPack() {
			rows[c.ID] = []collect.Row{
				{"name": "sshd", "path": "/usr/sbin/sshd", "host": id},
				{"name": "cron", "path": "/usr/sbin/cron", "host": id},
			}
		}
		out[i] = awsfake.Instance{
			Instance: target.Instance{
				ID: id, Name: fmt.Sprintf("web-%d", i),
				Tags:      map[string]string{"aws:autoscaling:groupName": group, "role": []string{"web", "api"}[i%2]},
				PrivateIP: fmt.Sprintf("10.0.%d.%d", i/250, i%250+1), ImageID: "ami-0123456789abcdef0",
				LaunchTime: time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC),
			},
			Host: rows,
		}
	}
	return out
}

func newServer(t testing.TB, opts awsfake.Options) *awsfake.Server {
	t.Helper()
	srv, err := awsfake.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	return srv
}
