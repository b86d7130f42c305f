package awsfake_test

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"
	"github.com/aws/smithy-go"

	"github.com/diffy-dfir/diffy/collect"
	"github.com/diffy-dfir/diffy/collect/ssmcollect/ssmframe"
	"github.com/diffy-dfir/diffy/diffytest/awsfake"
	"github.com/diffy-dfir/diffy/payload"
)

func TestSendCommandLimitsAndUnmanaged(t *testing.T) {
	insts := testInstances(60, "g")
	insts[5].Unmanaged = true
	srv := newServer(t, awsfake.WithInstances(insts...))
	client := ssm.NewFromConfig(srv.Config())
	ctx := context.Background()
	ids := make([]string, 0, 51)
	for _, in := range insts[6:57] {
		ids = append(ids, in.Instance.ID)
	}
	_, err := client.SendCommand(ctx, &ssm.SendCommandInput{DocumentName: aws.String("AWS-RunShellScript"), InstanceIds: ids,
		Parameters: map[string][]string{"commands": {"echo hi"}}})
	var apiErr smithy.APIError
	if !errors.As(err, &apiErr) || apiErr.ErrorCode() != "ValidationException" {
		t.Fatalf("51 instance IDs: got %v, want ValidationException", err)
	}
	// One unmanaged ID fails the whole call, naming it.
	_, err = client.SendCommand(ctx, &ssm.SendCommandInput{DocumentName: aws.String("AWS-RunShellScript"),
		InstanceIds: []string{insts[4].Instance.ID, insts[5].Instance.ID},
		Parameters:  map[string][]string{"commands": {"echo hi"}}})
	var invalid *ssmtypes.InvalidInstanceId
	if !errors.As(err, &invalid) || !strings.Contains(err.Error(), insts[5].Instance.ID) {
		t.Fatalf("unmanaged instance: got %v, want InvalidInstanceId naming %s", err, insts[5].Instance.ID)
	}
	// Another document is refused.
	_, err = client.SendCommand(ctx, &ssm.SendCommandInput{DocumentName: aws.String("AWS-RunPowerShellScript"),
		InstanceIds: []string{insts[4].Instance.ID}, Parameters: map[string][]string{"commands": {"dir"}}})
	if !errors.As(err, &apiErr) || apiErr.ErrorCode() != "InvalidDocument" {
		t.Fatalf("other document: got %v", err)
	}
	sent := srv.SentCommands()
	if len(sent) != 3 || sent[0].Error != "ValidationException" || sent[1].Error != "InvalidInstanceId" || sent[2].CommandID != "" {
		t.Fatalf("refused calls recorded as %+v", sent)
	}
	// Targets select managed instances only: 59 of the group.
	out, err := client.SendCommand(ctx, &ssm.SendCommandInput{DocumentName: aws.String("AWS-RunShellScript"),
		Targets:    []ssmtypes.Target{{Key: aws.String("tag:aws:autoscaling:groupName"), Values: []string{"g"}}},
		Parameters: map[string][]string{"commands": {"echo hi"}}})
	if err != nil || out.Command.TargetCount != 59 {
		t.Fatalf("Targets: %v, TargetCount %v", err, out.Command)
	}
	// DescribeInstanceInformation lists the managed ones, paginated.
	p := ssm.NewDescribeInstanceInformationPaginator(client, &ssm.DescribeInstanceInformationInput{MaxResults: aws.Int32(10)})
	n := 0
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, ii := range page.InstanceInformationList {
			if aws.ToString(ii.InstanceId) == insts[5].Instance.ID {
				t.Errorf("unmanaged instance listed")
			}
			n++
		}
	}
	if n != 59 {
		t.Fatalf("DescribeInstanceInformation listed %d, want 59", n)
	}
}

// TestListCommandInvocationsPagination runs on the in-memory network in a
// testing/synctest bubble: its wait for the command to finish is on the
// bubble's clock.
func TestListCommandInvocationsPagination(t *testing.T) {
	synctest.Test(t, testListCommandInvocationsPagination)
}

func testListCommandInvocationsPagination(t *testing.T) {
	insts := testInstances(120, "g")
	srv := newServer(t, awsfake.WithInstances(insts...), awsfake.WithRunTime(time.Millisecond), awsfake.WithInMemory())
	client := ssm.NewFromConfig(srv.Config())
	ctx := context.Background()
	out, err := client.SendCommand(ctx, &ssm.SendCommandInput{DocumentName: aws.String("AWS-RunShellScript"),
		Targets:        []ssmtypes.Target{{Key: aws.String("tag:aws:autoscaling:groupName"), Values: []string{"g"}}},
		MaxConcurrency: aws.String("100%"),
		Parameters:     map[string][]string{"commands": strings.Split(payload.StandardPack()[4].Shell, "\n")}})
	if err != nil {
		t.Fatal(err)
	}
	id := aws.ToString(out.Command.CommandId)
	for {
		l, err := client.ListCommands(ctx, &ssm.ListCommandsInput{CommandId: aws.String(id)})
		if err != nil {
			t.Fatal(err)
		}
		if st := l.Commands[0].Status; st == ssmtypes.CommandStatusSuccess {
			if l.Commands[0].CompletedCount != 120 {
				t.Fatalf("completed %d", l.Commands[0].CompletedCount)
			}
			break
		} else if st != ssmtypes.CommandStatusPending && st != ssmtypes.CommandStatusInProgress {
			t.Fatalf("command status %s", st)
		}
		time.Sleep(5 * time.Millisecond)
	}
	p := ssm.NewListCommandInvocationsPaginator(client, &ssm.ListCommandInvocationsInput{CommandId: aws.String(id), Details: true, MaxResults: aws.Int32(50)})
	seen := map[string]bool{}
	pages := 0
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		for _, inv := range page.CommandInvocations {
			seen[aws.ToString(inv.InstanceId)] = true
			if inv.Status != ssmtypes.CommandInvocationStatusSuccess || len(inv.CommandPlugins) != 1 {
				t.Fatalf("%s: status %s, %d plugins", aws.ToString(inv.InstanceId), inv.Status, len(inv.CommandPlugins))
			}
			rows, err := collect.ParseRows([]byte(aws.ToString(inv.CommandPlugins[0].Output)))
			if err != nil || len(rows) != 2 || rows[0]["host"] != aws.ToString(inv.InstanceId) {
				t.Fatalf("plugin output of %s: %v %v", aws.ToString(inv.InstanceId), rows, err)
			}
		}
	}
	if len(seen) != 120 || pages != 3 {
		t.Fatalf("%d invocations in %d pages, want 120 in 3", len(seen), pages)
	}
	_, err = client.ListCommandInvocations(ctx, &ssm.ListCommandInvocationsInput{CommandId: aws.String(id), NextToken: aws.String("garbage")})
	var apiErr smithy.APIError
	if !errors.As(err, &apiErr) || apiErr.ErrorCode() != "InvalidNextToken" {
		t.Fatalf("bad token: %v", err)
	}
}

func TestCancelCommand(t *testing.T) {
	insts := testInstances(3, "g")
	srv := newServer(t, awsfake.WithInstances(insts...), awsfake.WithRunTime(time.Hour))
	client := ssm.NewFromConfig(srv.Config())
	ctx := context.Background()
	id := send(t, client, []string{insts[0].Instance.ID, insts[1].Instance.ID}, "echo hi")
	get := func(inst string) *ssm.GetCommandInvocationOutput {
		out, err := client.GetCommandInvocation(ctx, &ssm.GetCommandInvocationInput{CommandId: aws.String(id), InstanceId: aws.String(inst)})
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	if st := get(insts[0].Instance.ID).Status; st != ssmtypes.CommandInvocationStatusInProgress {
		t.Fatalf("before cancel: %s", st)
	}
	if _, err := client.CancelCommand(ctx, &ssm.CancelCommandInput{CommandId: aws.String(id), InstanceIds: []string{insts[0].Instance.ID}}); err != nil {
		t.Fatal(err)
	}
	if st := get(insts[0].Instance.ID).Status; st != ssmtypes.CommandInvocationStatusCancelled {
		t.Fatalf("after cancel: %s", st)
	}
	if st := get(insts[1].Instance.ID).Status; st != ssmtypes.CommandInvocationStatusInProgress {
		t.Fatalf("other instance after cancelling one: %s", st)
	}
	if _, err := client.CancelCommand(ctx, &ssm.CancelCommandInput{CommandId: aws.String(id)}); err != nil {
		t.Fatal(err)
	}
	l, err := client.ListCommands(ctx, &ssm.ListCommandsInput{CommandId: aws.String(id)})
	if err != nil || l.Commands[0].Status != ssmtypes.CommandStatusCancelled {
		t.Fatalf("command after cancelling all: %v %v", err, l)
	}
	_, err = client.CancelCommand(ctx, &ssm.CancelCommandInput{CommandId: aws.String("00000000-0000-0000-0000-000000000000")})
	var bad *ssmtypes.InvalidCommandId
	if !errors.As(err, &bad) {
		t.Fatalf("unknown command: %v", err)
	}
}

func TestInstanceFaultStatuses(t *testing.T) {
	cases := []struct {
		name    string
		faults  awsfake.Faults
		timeout string
		status  ssmtypes.CommandInvocationStatus
		details string
		code    int32
		stderr  string
	}{
		{"failing", awsfake.Faults{Failing: 1}, "", ssmtypes.CommandInvocationStatusFailed, "Failed", 1, "simulated failure"},
		{"undeliverable", awsfake.Faults{Undeliverable: 1}, "", ssmtypes.CommandInvocationStatusFailed, "Undeliverable", -1, ""},
		{"terminating", awsfake.Faults{Terminating: 1}, "", ssmtypes.CommandInvocationStatusFailed, "Terminated", -1, ""},
		{"hanging", awsfake.Faults{Hanging: 1}, "1", ssmtypes.CommandInvocationStatusTimedOut, "ExecutionTimedOut", -1, ""},
		{"no osqueryi", awsfake.Faults{NoOsquery: 1}, "", ssmtypes.CommandInvocationStatusFailed, "Failed", payload.ExitNoOsquery, "osqueryi not found"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			insts := testInstances(1, "g")
			srv := newServer(t, awsfake.WithInstances(insts...), awsfake.WithFaults(c.faults))
			client := ssm.NewFromConfig(srv.Config())
			id := send(t, client, []string{insts[0].Instance.ID}, payload.StandardPack()[0].Shell, func(in *ssm.SendCommandInput) {
				if c.timeout != "" {
					in.Parameters["executionTimeout"] = []string{c.timeout}
				}
			})
			out := waitFor(t, client, id, insts[0].Instance.ID)
			if out.Status != c.status || aws.ToString(out.StatusDetails) != c.details || out.ResponseCode != c.code {
				t.Fatalf("got %s/%s code %d, want %s/%s code %d", out.Status, aws.ToString(out.StatusDetails), out.ResponseCode, c.status, c.details, c.code)
			}
			if !strings.Contains(aws.ToString(out.StandardErrorContent), c.stderr) {
				t.Fatalf("stderr %q, want %q", aws.ToString(out.StandardErrorContent), c.stderr)
			}
			if c.name == "terminating" {
				_, err := ssm.NewFromConfig(srv.Config()).SendCommand(context.Background(), &ssm.SendCommandInput{
					DocumentName: aws.String("AWS-RunShellScript"), InstanceIds: []string{insts[0].Instance.ID},
					Parameters: map[string][]string{"commands": {"echo hi"}}})
				var invalid *ssmtypes.InvalidInstanceId
				if !errors.As(err, &invalid) {
					t.Fatalf("SendCommand to a terminated instance: %v", err)
				}
			}
		})
	}
}

func TestBigOutputTruncatedAndInS3(t *testing.T) {
	insts := testInstances(2, "g")
	srv := newServer(t, awsfake.WithInstances(insts...), awsfake.WithFaults(awsfake.Faults{BigOutput: 1, BigOutputBytes: 50000}))
	if err := srv.CreateBucket("diffy-output"); err != nil {
		t.Fatal(err)
	}
	cfg := srv.Config()
	client := ssm.NewFromConfig(cfg)
	s3c := s3.NewFromConfig(cfg, srv.S3Options)
	ctx := context.Background()
	cmd := payload.StandardPack()[1]
	id := send(t, client, []string{insts[0].Instance.ID, insts[1].Instance.ID}, cmd.Shell, func(in *ssm.SendCommandInput) {
		in.OutputS3BucketName = aws.String("diffy-output")
		in.OutputS3KeyPrefix = aws.String("incident-42/")
	})
	out := waitFor(t, client, id, insts[1].Instance.ID)
	stdout := aws.ToString(out.StandardOutputContent)
	if len(stdout) != awsfake.StdoutLimit || !strings.HasSuffix(stdout, awsfake.StdoutTruncatedMarker) {
		t.Fatalf("stdout of %d characters ending %q; want %d ending with the marker", len(stdout), stdout[max(0, len(stdout)-30):], awsfake.StdoutLimit)
	}
	if _, err := collect.ParseRows([]byte(stdout)); err == nil {
		t.Fatalf("cut output parsed as if whole")
	}
	url := aws.ToString(out.StandardOutputUrl)
	key := "incident-42/" + id + "/" + insts[1].Instance.ID + "/awsrunShellScript/0.awsrunShellScript/stdout"
	if url != "https://s3.us-east-1.amazonaws.com/diffy-output/"+key {
		t.Fatalf("StandardOutputUrl %q", url)
	}
	obj, err := s3c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("diffy-output"), Key: aws.String(key)})
	if err != nil {
		t.Fatal(err)
	}
	full, err := io.ReadAll(obj.Body)
	obj.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	if len(full) != 50000 {
		t.Fatalf("S3 object has %d bytes, want 50000", len(full))
	}
	rows, err := collect.ParseRows(full)
	if err != nil || len(rows) != 2 || rows[0]["host"] != insts[1].Instance.ID {
		t.Fatalf("full output: %v %v", rows, err)
	}
	// No stderr object when stderr is empty.
	_, err = s3c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("diffy-output"), Key: aws.String(strings.TrimSuffix(key, "stdout") + "stderr")})
	var apiErr smithy.APIError
	if !errors.As(err, &apiErr) || apiErr.ErrorCode() != "NoSuchKey" {
		t.Fatalf("stderr object: %v", err)
	}
}

func TestMissingS3Output(t *testing.T) {
	insts := testInstances(1, "g")
	srv := newServer(t, awsfake.WithInstances(insts...), awsfake.WithFaults(awsfake.Faults{MissingS3Output: 1}))
	if err := srv.CreateBucket("out"); err != nil {
		t.Fatal(err)
	}
	client := ssm.NewFromConfig(srv.Config())
	id := send(t, client, []string{insts[0].Instance.ID}, "echo '[]'", func(in *ssm.SendCommandInput) { in.OutputS3BucketName = aws.String("out") })
	out := waitFor(t, client, id, insts[0].Instance.ID)
	if out.Status != ssmtypes.CommandInvocationStatusSuccess {
		t.Fatalf("status %s", out.Status)
	}
	_, err := s3.NewFromConfig(srv.Config(), srv.S3Options).GetObject(context.Background(), &s3.GetObjectInput{Bucket: aws.String("out"),
		Key: aws.String(id + "/" + insts[0].Instance.ID + "/awsrunShellScript/0.awsrunShellScript/stdout")})
	var nsk interface{ ErrorCode() string }
	if !errors.As(err, &nsk) || nsk.ErrorCode() != "NoSuchKey" {
		t.Fatalf("missing output object: %v", err)
	}
}

// The framing of collect/ssmcollect/ssmframe runs in the fake's shell as on
// a real host: each command's frame is whole, with its exit status.
func TestSSMFrameScript(t *testing.T) {
	for _, enc := range []ssmframe.Encoding{ssmframe.EncodingGzip, ssmframe.EncodingPlain} {
		t.Run(string(enc), func(t *testing.T) { testSSMFrameScript(t, enc) })
	}
}

func testSSMFrameScript(t *testing.T, enc ssmframe.Encoding) {
	insts := testInstances(3, "g")
	insts[1].NoOsquery = true
	insts[2].Without = []string{"gzip"} // falls back to plain output
	srv := newServer(t, awsfake.WithInstances(insts...))
	client := ssm.NewFromConfig(srv.Config())
	pack := payload.StandardPack()
	marker := ssmframe.NewMarker()
	script, err := ssmframe.Script(marker, pack, enc)
	if err != nil {
		t.Fatal(err)
	}
	id := send(t, client, []string{insts[0].Instance.ID, insts[1].Instance.ID, insts[2].Instance.ID}, script)
	ids := make([]string, len(pack))
	for i, c := range pack {
		ids[i] = c.ID
	}
	for k, in := range insts {
		out := waitFor(t, client, id, in.Instance.ID)
		stdout := []byte(aws.ToString(out.StandardOutputContent))
		st, ok := ssmframe.Decode(stdout, marker, 1<<20)
		if wantEnc := map[bool]ssmframe.Encoding{true: ssmframe.EncodingPlain, false: enc}[k == 2]; !ok || st.Encoding != wantEnc || ssmframe.Verify(stdout, st.Header) != nil {
			t.Fatalf("%s: stream %v (%v), want %s, verified: %v", in.Instance.ID, st.Encoding, ok, wantEnc, ssmframe.Verify(stdout, st.Header))
		}
		if e := aws.ToString(out.StandardErrorContent); e != "" {
			t.Fatalf("%s: the script printed on stderr: %q", in.Instance.ID, e)
		}
		split := ssmframe.Split(st.Data, st.Data, marker, ids)
		if !split.Done {
			t.Fatalf("%s: script did not run to its end:\n%s", in.Instance.ID, aws.ToString(out.StandardOutputContent))
		}
		for _, c := range pack {
			f := split.Frames[c.ID]
			if f.State != ssmframe.Whole {
				t.Fatalf("%s %s: frame %v", in.Instance.ID, c.ID, f.State)
			}
			if k == 1 {
				if f.ExitCode != payload.ExitNoOsquery || !strings.Contains(string(f.Stderr), "osqueryi not found") {
					t.Fatalf("%s without osqueryi: exit %d stderr %q", c.ID, f.ExitCode, f.Stderr)
				}
				continue
			}
			rows, err := collect.ParseRows(f.Stdout)
			if f.ExitCode != 0 || err != nil || len(rows) != 2 {
				t.Fatalf("%s: exit %d rows %v err %v", c.ID, f.ExitCode, rows, err)
			}
		}
	}
}

// TestMaxErrorsStopsCommand: sent one instance at a time (MaxConcurrency
// 1) with MaxErrors 1 to instances that all fail, a command runs on the
// first two (the second error is one more than allowed) and SSM cancels the
// rest: Failed with StatusDetails Terminated, never run, and the command
// Failed. With MaxErrors 100% every instance runs and the command is
// Success/Incomplete (no more errors than allowed).
func TestMaxErrorsStopsCommand(t *testing.T) {
	for _, c := range []struct {
		maxErrors string
		ran       int
		status    ssmtypes.CommandStatus
	}{{"1", 2, ssmtypes.CommandStatusFailed}, {"0", 1, ssmtypes.CommandStatusFailed}, {"100%", 4, ssmtypes.CommandStatusSuccess}} {
		t.Run(c.maxErrors, func(t *testing.T) {
			insts := testInstances(4, "g")
			srv := newServer(t, awsfake.WithInstances(insts...), awsfake.WithFaults(awsfake.Faults{Failing: 1}))
			client := ssm.NewFromConfig(srv.Config())
			var ids []string
			for _, in := range insts {
				ids = append(ids, in.Instance.ID)
			}
			id := send(t, client, ids, "echo hi", func(in *ssm.SendCommandInput) {
				in.MaxConcurrency, in.MaxErrors = aws.String("1"), aws.String(c.maxErrors)
			})
			ran := 0
			for i, inst := range ids {
				out := waitFor(t, client, id, inst)
				switch d := aws.ToString(out.StatusDetails); {
				case d == "Failed" && i == ran:
					ran++
				case d == "Terminated" && i >= ran && out.Status == ssmtypes.CommandInvocationStatusFailed && out.ResponseCode == -1 &&
					aws.ToString(out.StandardErrorContent) == "":
				default:
					t.Fatalf("instance %d: %s/%s code %d stderr %q", i, out.Status, d, out.ResponseCode, aws.ToString(out.StandardErrorContent))
				}
			}
			if ran != c.ran {
				t.Errorf("the command ran on %d instances, want %d", ran, c.ran)
			}
			l, err := client.ListCommands(context.Background(), &ssm.ListCommandsInput{CommandId: aws.String(id)})
			if err != nil || l.Commands[0].Status != c.status {
				t.Fatalf("command: %v, status %s, want %s", err, l.Commands[0].Status, c.status)
			}
		})
	}
}
