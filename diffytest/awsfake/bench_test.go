package awsfake_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"

	"github.com/diffy-dfir/diffy/collect"
	"github.com/diffy-dfir/diffy/collect/ssmcollect/ssmframe"
	"github.com/diffy-dfir/diffy/diffytest/awsfake"
	"github.com/diffy-dfir/diffy/diffytest/fleet"
	"github.com/diffy-dfir/diffy/payload"
)

// The fleet's hosts run the whole standard pack, framed, and their output
// through GetCommandInvocation parses back to each host's own rows.
func TestFleetInstances(t *testing.T) {
	f := fleet.Generate(fleet.Config{Seed: 1, Hosts: 20, GroupName: "web-asg"})
	srv := newServer(t, awsfake.WithInstances(awsfake.FleetInstances(f)...))
	client := ssm.NewFromConfig(srv.Config())
	pack := payload.StandardPack()
	marker := ssmframe.NewMarker()
	script, err := ssmframe.Script(marker, pack, ssmframe.EncodingPlain)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, h := range f.Hosts {
		ids = append(ids, h.Instance.ID)
	}
	id := send(t, client, ids, script, func(in *ssm.SendCommandInput) { in.MaxConcurrency = aws.String("100%") })
	cmdIDs := make([]string, len(pack))
	for i, c := range pack {
		cmdIDs[i] = c.ID
	}
	for _, h := range f.Hosts {
		out := waitFor(t, client, id, h.Instance.ID)
		stdout := aws.ToString(out.StandardOutputContent)
		if strings.HasSuffix(stdout, awsfake.StdoutTruncatedMarker) {
			continue // a host with more output than the API returns
		}
		st, _ := ssmframe.Decode([]byte(stdout), marker, 1<<30)
		split := ssmframe.Split(st.Data, st.Data, marker, cmdIDs)
		for _, c := range pack {
			rows, err := collect.ParseRows(split.Frames[c.ID].Stdout)
			if err != nil || len(rows) != len(h.Rows[c.ID]) {
				t.Fatalf("%s %s: %d rows (%v), want %d", h.Instance.ID, c.ID, len(rows), err, len(h.Rows[c.ID]))
			}
		}
	}
}

// BenchmarkGetCommandInvocation measures one GetCommandInvocation of the
// framed standard pack on a fleet host, client and fake together (the
// fake's share is the server goroutines' CPU; see the package doc).
func BenchmarkGetCommandInvocation(b *testing.B) {
	f := fleet.Generate(fleet.Config{Seed: 1, Hosts: 50, GroupName: "web-asg"})
	srv, err := awsfake.New(awsfake.WithInstances(awsfake.FleetInstances(f)...), awsfake.WithRunTime(time.Millisecond))
	if err != nil {
		b.Fatal(err)
	}
	defer srv.Close()
	client := ssm.NewFromConfig(srv.Config())
	script, _ := ssmframe.Script(ssmframe.NewMarker(), payload.StandardPack(), ssmframe.EncodingGzip)
	var ids []string
	for _, h := range f.Hosts {
		ids = append(ids, h.Instance.ID)
	}
	out, err := client.SendCommand(context.Background(), &ssm.SendCommandInput{DocumentName: aws.String("AWS-RunShellScript"),
		InstanceIds: ids, Parameters: map[string][]string{"commands": strings.Split(script, "\n")}})
	if err != nil {
		b.Fatal(err)
	}
	time.Sleep(10 * time.Millisecond)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			_, err := client.GetCommandInvocation(context.Background(), &ssm.GetCommandInvocationInput{CommandId: out.Command.CommandId, InstanceId: aws.String(ids[i%len(ids)])})
			if err != nil {
				b.Error(err)
				return
			}
			i++
		}
	})
}

// BenchmarkRunPackScript runs the standard pack's framed script on one
// simulated host, without and with ssmframe.WithTimeLimit (timeout(1) and
// date +%s around each command), side by side: what the time limits cost
// the fake per host.
func BenchmarkRunPackScript(b *testing.B) {
	f := fleet.Generate(fleet.Config{Seed: 1, Hosts: 1, GroupName: "web-asg"})
	srv, err := awsfake.New(awsfake.WithInstances(awsfake.FleetInstances(f)...))
	if err != nil {
		b.Fatal(err)
	}
	defer srv.Close()
	for _, c := range []struct {
		name string
		opts []ssmframe.ScriptOption
	}{{"no-limit", nil}, {"time-limit", []ssmframe.ScriptOption{ssmframe.WithTimeLimit(565 * time.Second)}}} {
		b.Run(c.name, func(b *testing.B) {
			script, err := ssmframe.Script(ssmframe.NewMarker(), payload.StandardPack(), ssmframe.EncodingGzip, c.opts...)
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				if _, stderr, code, ok := srv.Run(f.Hosts[0].Instance.ID, script); !ok || code != 0 {
					b.Fatalf("status %d: %s", code, stderr)
				}
			}
		})
	}
}
