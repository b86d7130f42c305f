package ssmcollect

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/aws/aws-sdk-go-v2/service/ssm/types"

	"github.com/diffy-dfir/diffy/collect"
	"github.com/diffy-dfir/diffy/collect/ssmcollect/ssmframe"
	"github.com/diffy-dfir/diffy/internal/s3obj"
	"github.com/diffy-dfir/diffy/payload"
)

// notYetTries is how many times GetCommandInvocation is asked again after
// InvocationDoesNotExist for an invocation ListCommandInvocations already
// showed final (eventual consistency between the two).
const notYetTries = 8

// output is what was read of one invocation.
type output struct {
	stdout, stderr []byte
	// why is set when the stdout source is known to stop before the end
	// of the output (API limit, byte cap); it explains a cut frame.
	why string
	// shown is what ListCommandInvocations showed (2,500 characters of
	// stdout and stderr), for a script that failed as a whole.
	shown []byte
	// failed is set when no output could be read; note says why.
	failed bool
	// note is added to the Error of every command whose frame is not
	// whole.
	note string
}

// complete turns a final invocation into the instance's Results: from the
// 2,500 characters ListCommandInvocations showed when they hold the whole
// output, else from S3 (S3 mode) or GetCommandInvocation (API mode).
func (r *run) complete(ctx context.Context, s sent, inv types.CommandInvocation) {
	id := aws.ToString(inv.InstanceId)
	details := aws.ToString(inv.StatusDetails)
	if st, msg, ok := notRun(inv); ok {
		r.set(id, r.all(id, st, details, msg))
		return
	}
	var shown []byte
	if len(inv.CommandPlugins) > 0 {
		shown = []byte(aws.ToString(inv.CommandPlugins[0].Output))
	}
	if len(inv.CommandPlugins) > 0 && inv.CommandPlugins[0].Output != nil {
		sp := ssmframe.Split(shown, shown, s.marker, r.cmdIDs)
		if complete(sp) || inv.Status == types.CommandInvocationStatusCancelled {
			r.detailsHit.Add(1)
			r.set(id, r.results(id, inv, sp, output{why: "ListCommandInvocations shows only the first 2,500 characters", shown: shown}))
			return
		}
		r.detailsMiss.Add(1)
	}
	select {
	case r.sem <- struct{}{}:
		defer func() { <-r.sem }()
	case <-ctx.Done():
		r.set(id, r.all(id, collect.StatusCancelled, details, "the run was cancelled before the output was read"))
		return
	}
	var out output
	if r.c.o.bucket != "" {
		out = r.readS3(ctx, s, id)
	} else {
		out = r.readAPI(ctx, s.commandID, id)
	}
	if ctx.Err() != nil && out.stdout == nil {
		r.set(id, r.all(id, collect.StatusCancelled, details, "the run was cancelled while the output was read"))
		return
	}
	out.shown = shown
	sp := ssmframe.Split(out.stdout, out.stderr, s.marker, r.cmdIDs)
	r.set(id, r.results(id, inv, sp, out))
}

// complete reports whether a split output is whole: the script's DONE line
// arrived, every stdout frame is whole, and so is the stderr of every
// command that failed (the stderr of one that succeeded is not needed).
func complete(sp ssmframe.Output) bool {
	if !sp.Done {
		return false
	}
	for _, f := range sp.Frames {
		if f.State != ssmframe.Whole || f.ExitCode != 0 && f.StderrState != ssmframe.Whole {
			return false
		}
	}
	return true
}

// readS3 reads the invocation's stdout object, at most MaxBytes of it, and
// its stderr object when a command failed. A missing object (or a read
// that fails) falls back to GetCommandInvocation.
func (r *run) readS3(ctx context.Context, s sent, id string) output {
	o := r.c.o
	key := OutputKey(o.prefix, s.commandID, id)
	stdout, cut, err := r.getObject(ctx, key, o.limits.MaxBytes)
	if err != nil {
		if ctx.Err() != nil {
			return output{}
		}
		out := r.readAPI(ctx, s.commandID, id)
		what := "could not be read (" + err.Error() + ")"
		if s3obj.IsNotFound(err) {
			what = "is missing"
		}
		note := fmt.Sprintf("the S3 output object s3://%s/%s %s, so the output was read through the SSM API", o.bucket, key, what)
		if out.failed {
			out.note = joinNote(note, out.note)
		} else {
			out.why = note + "; " + out.why
		}
		return out
	}
	out := output{stdout: stdout}
	if cut {
		out.why = fmt.Sprintf("the instance's stdout is over the %d-byte cap (collect.Limits.MaxBytes)", o.limits.MaxBytes)
	}
	sp := ssmframe.Split(stdout, nil, s.marker, r.cmdIDs)
	failed := false
	for _, f := range sp.Frames {
		failed = failed || f.State == ssmframe.Whole && f.ExitCode != 0
	}
	if failed || !sp.Done {
		errKey := key[:len(key)-len("stdout")] + "stderr"
		stderr, _, err := r.getObject(ctx, errKey, int64(o.limits.MaxStderr*len(r.cmds)+4096))
		if err != nil && !s3obj.IsNotFound(err) {
			out.note = joinNote(out.note, "the stderr object could not be read: "+err.Error())
		}
		out.stderr = stderr
	}
	return out
}

// getObject reads at most max bytes of an object; cut reports that there
// was more.
func (r *run) getObject(ctx context.Context, key string, max int64) (data []byte, cut bool, err error) {
	obj, err := r.c.c.S3.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(r.c.o.bucket), Key: aws.String(key)})
	if err != nil {
		return nil, false, err
	}
	if obj == nil || obj.Body == nil {
		return nil, false, fmt.Errorf("reading s3://%s/%s: GetObject answered without a body", r.c.o.bucket, key)
	}
	defer obj.Body.Close()
	var buf bytes.Buffer
	if n := aws.ToInt64(obj.ContentLength); n > 0 && n <= max {
		buf.Grow(int(n))
	}
	if _, err := io.Copy(&buf, io.LimitReader(obj.Body, max+1)); err != nil {
		return nil, false, fmt.Errorf("reading s3://%s/%s: %w", r.c.o.bucket, key, err)
	}
	if int64(buf.Len()) > max {
		return buf.Bytes()[:max], true, nil
	}
	return buf.Bytes(), false, nil
}

// readAPI reads an invocation's output with GetCommandInvocation: the
// first 24,000 characters of stdout and 8,000 of stderr.
func (r *run) readAPI(ctx context.Context, commandID, id string) output {
	var last error
	for try := 0; try < notYetTries; try++ {
		out, err := r.c.c.Get.GetCommandInvocation(ctx, &ssm.GetCommandInvocationInput{
			CommandId: aws.String(commandID), InstanceId: aws.String(id),
		})
		if err == nil {
			if problem := invocationProblem(out, commandID, id); problem != "" {
				return output{failed: true, note: "GetCommandInvocation answered " + problem + " (a malformed answer)"}
			}
			return output{
				stdout: []byte(*out.StandardOutputContent),
				stderr: []byte(aws.ToString(out.StandardErrorContent)),
				why:    whyAPI,
			}
		}
		last = err
		var notYet *types.InvocationDoesNotExist
		if !errors.As(err, &notYet) || ctx.Err() != nil {
			break
		}
		t := time.NewTimer(r.c.o.pollInterval)
		select {
		case <-ctx.Done():
			t.Stop()
			return output{}
		case <-t.C:
		}
	}
	if ctx.Err() != nil {
		return output{}
	}
	return output{failed: true, note: "GetCommandInvocation failed: " + last.Error()}
}

// invocationProblem says what is wrong with a GetCommandInvocation
// answer for commandID on id, or "": it must hold the output and, when it
// names its invocation, name this one.
func invocationProblem(out *ssm.GetCommandInvocationOutput, commandID, id string) string {
	switch {
	case out == nil:
		return "nothing"
	case out.CommandId != nil && *out.CommandId != commandID, out.InstanceId != nil && *out.InstanceId != id:
		return fmt.Sprintf("for another invocation (command %q on %q)", clipText(aws.ToString(out.CommandId), 64), clipText(aws.ToString(out.InstanceId), 64))
	case out.StandardOutputContent == nil:
		return "without its output (StandardOutputContent)"
	}
	return ""
}

// lastLine returns the last line of s that is not blank.
func lastLine(s string) string {
	s = strings.TrimRight(s, " \t\r\n")
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		s = s[i+1:]
	}
	return strings.TrimSpace(s)
}

func joinNote(a, b string) string {
	switch {
	case a == "":
		return b
	case b == "":
		return a
	}
	return a + "; " + b
}

// notRun tells the invocations whose script never ran, from their status
// details, with the Status of their Results and why.
func notRun(inv types.CommandInvocation) (collect.Status, string, bool) {
	d := aws.ToString(inv.StatusDetails)
	switch d {
	case "Undeliverable", "InvalidPlatform", "AccessDenied", "NoInstancesInTag":
		return collect.StatusUndeliverable, fmt.Sprintf("SSM could not deliver the command (%s)", d), true
	case "DeliveryTimedOut":
		return collect.StatusUndeliverable, "the instance did not pick up the command before the delivery timeout (DeliveryTimedOut)", true
	case "Terminated":
		return collect.StatusTerminated, "SSM stopped the command on this instance (StatusDetails Terminated: the command went over its " +
			"MaxErrors, see WithRateControl, and SSM cancelled the invocations it had not run); collect the instance again", true
	}
	return "", "", false
}

// unfinished is the Status of a command whose frame did not end in an
// invocation that did not run to its end.
func unfinished(inv types.CommandInvocation) (collect.Status, string) {
	d := aws.ToString(inv.StatusDetails)
	switch inv.Status {
	case types.CommandInvocationStatusTimedOut:
		return collect.StatusTimedOut, fmt.Sprintf("the script reached its execution timeout before the command finished (%s)", d)
	case types.CommandInvocationStatusCancelled:
		return collect.StatusCancelled, fmt.Sprintf("the command was cancelled before it finished (%s)", d)
	}
	return collect.StatusFailed, fmt.Sprintf("the script stopped before the command finished (invocation %s, %s, response code %d)", inv.Status, d, responseCode(inv))
}

func responseCode(inv types.CommandInvocation) int32 {
	if len(inv.CommandPlugins) > 0 {
		return inv.CommandPlugins[0].ResponseCode
	}
	return -1
}

// results builds the instance's Result of every command from its frames.
func (r *run) results(id string, inv types.CommandInvocation, sp ssmframe.Output, out output) []collect.Result {
	now := time.Now().UTC()
	details := aws.ToString(inv.StatusDetails)
	ranToEnd := inv.Status == types.CommandInvocationStatus("Success")
	res := make([]collect.Result, len(r.cmds))
	for i, cmd := range r.cmds {
		f := sp.Frames[cmd.ID]
		x := collect.Result{InstanceID: id, CommandID: cmd.ID, StatusDetails: details, CollectedAt: now, ExitCode: -1}
		stderr := string(f.Stderr)
		if f.StderrState != ssmframe.Whole && len(f.Stderr) > 0 {
			stderr += " [stderr cut]"
		}
		switch {
		case f.State == ssmframe.Whole:
			x.ExitCode = f.ExitCode
			r.c.o.limits.Fill(&x, f.Stdout, stderr, false, "")
			r.pool.Share(x.Rows)
			switch {
			case cmd.Query == "":
			case f.ExitCode == payload.ExitNoOsquery:
				x.Error = fmt.Sprintf("command %s: osqueryi is not installed on the host (exit status %d); install osquery on %s to collect this query", cmd.ID, f.ExitCode, id)
			case f.ExitCode == payload.ExitFetchFailed:
				// The script's last line of stderr says what failed.
				x.Error = fmt.Sprintf("command %s on %s (exit status %d): %s", cmd.ID, id, f.ExitCode, clipText(lastLine(stderr), 600))
			}
		case f.State == ssmframe.Malformed:
			r.c.o.limits.Fill(&x, nil, stderr, false, "")
			x.Status, x.Rows = collect.StatusFailed, nil
			x.Error = fmt.Sprintf("command %s: its output frame is malformed (%s); not parsed", cmd.ID, f.Problem)
		case ranToEnd && !out.failed:
			why := out.why
			if why == "" {
				why = f.Problem
			}
			r.c.o.limits.Fill(&x, f.Stdout, stderr, true, why)
		default:
			if len(f.Stderr) == 0 {
				// The script failed as a whole (or never reached this
				// command): its own stderr says why.
				raw := out.stderr
				if raw == nil {
					raw = out.shown
				}
				stderr = clipText(string(raw), r.c.o.limits.MaxStderr)
			}
			st, msg := unfinished(inv)
			if ranToEnd {
				st, msg = collect.StatusFailed, "its output could not be read"
			}
			x.Status, x.Stderr, x.Truncated, x.RawBytes = st, stderr, f.State == ssmframe.Cut, int64(len(f.Stdout))
			x.Error = fmt.Sprintf("command %s: %s", cmd.ID, joinNote(msg, out.note))
		}
		res[i] = x
	}
	return res
}

// clipText keeps the first n bytes of s, on a rune boundary.
func clipText(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + " [cut]"
}
