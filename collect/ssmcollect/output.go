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

// detailsMax caps what the 2,500 characters of Details may decompress to
// (deflate turns 1,875 bytes into at most 1.9 MB): more is read as if
// Details had not held the whole output.
const detailsMax = 256 << 10

// apiRead is what one GetCommandInvocation answer may hold in memory: 24,000
// characters of stdout and 8,000 of stderr, up to 4 bytes each, and the
// JSON around them.
const apiRead = 4*(APIStdoutLimit+8000) + 16<<10

// output is what was read of one invocation.
type output struct {
	// stream is the framed stream the stdout carried (ok when it had a
	// header); stderr is the invocation's own stderr, which holds only
	// what the script itself printed (the commands' stderr is framed in
	// the stream).
	stream ssmframe.Stream
	ok     bool
	stderr []byte
	// why is set when the stdout source is known to stop before the end
	// of the output (API limit, byte cap); it explains a cut frame.
	why string
	// apiCut is set when the stream was cut by SSM's API: the commands cut
	// can be collected again alone.
	apiCut bool
	// shown is what ListCommandInvocations showed (2,500 characters of
	// stdout and stderr), for a script that failed as a whole.
	shown []byte
	// failed is set when no output could be used; note says why.
	failed bool
	// note is added to the Error of every command whose frame is not
	// whole.
	note string
	// rv holds the read budget for the bytes read, until the Results
	// are built.
	rv *reservation
}

// reservation is part of the read budget, held until the Results it was
// read for are built.
//
// A read reserves its bytes before they come into memory: the answer of
// GetCommandInvocation (apiRead), the S3 object (its length), then what
// the stream decompresses to (ssmframe.Bound), which is known only once
// the stream is read. A read that holds bytes never waits for more while
// holding them (two reads each holding part of the budget and waiting for
// the other's would wait forever), and never gives back what it holds
// while its bytes are still in memory (the budget would no longer bound
// them): when the more it needs is not free at once, grow answers
// errReadAgain, the read drops what it read, and again waits, holding
// nothing, for the whole it needs, then reads again (see complete).
type reservation struct {
	r *run
	// n is the part of the budget held; used is what the reads of this
	// attempt asked for (the bytes they hold, or are reading); want is
	// what the next attempt reserves before it starts.
	n, used, want int64
	// attempts counts the attempts that had to read again.
	attempts int
	// live is the bytes read into memory by this attempt (WithLiveHook).
	live int64
}

// errReadAgain is grow's answer to a read that holds bytes and needs more
// of the budget than is free: it must drop them and read again.
var errReadAgain = errors.New("ssmcollect: read budget: read again")

// reserve returns a reservation holding nothing yet.
func (r *run) reserve() *reservation { return &reservation{r: r} }

// grow takes n more bytes of the read budget for the attempt (at most all
// of it: an output larger than the budget is read alone). When the attempt
// holds nothing it waits for them; when it holds bytes and the more is
// not free at once, it answers errReadAgain.
func (rv *reservation) grow(ctx context.Context, n int64) error {
	budget := rv.r.c.o.readBudget
	used := min(rv.used+max(n, 0), budget)
	switch {
	case used <= rv.n:
	case rv.used == 0 && rv.n == 0:
		// Nothing read yet: waiting holds nothing.
		if err := rv.r.budget.Acquire(ctx, used); err != nil {
			return err
		}
		rv.n = used
	case rv.r.budget.TryAcquire(used - rv.n):
		rv.n = used
	default:
		rv.want = used
		return errReadAgain
	}
	rv.used = used
	return nil
}

// again drops what the attempt read (the caller has let go of it) and
// waits, holding nothing, for what the next attempt needs: what the last
// asked for, and from the third attempt on the whole budget, so that the
// reads end however the output changes between them.
func (rv *reservation) again(ctx context.Context) error {
	rv.attempts++
	want := rv.want
	if rv.attempts >= 2 {
		want = rv.r.c.o.readBudget
	}
	rv.release()
	if err := rv.r.budget.Acquire(ctx, want); err != nil {
		return err
	}
	rv.n, rv.used, rv.want = want, 0, 0
	return nil
}

// hold counts n bytes read into memory by the attempt (for WithLiveHook).
func (rv *reservation) hold(n int) {
	if h := rv.r.c.o.liveHook; h != nil && n > 0 {
		rv.live += int64(n)
		h(int64(n))
	}
}

// release gives back the budget held, and drops what the attempt read.
func (rv *reservation) release() {
	if rv == nil {
		return
	}
	if rv.n > 0 {
		rv.r.budget.Release(rv.n)
		rv.n = 0
	}
	if h := rv.r.c.o.liveHook; h != nil && rv.live > 0 {
		h(-rv.live)
		rv.live = 0
	}
	rv.used = 0
}

// decode decodes the stream of stdout under rv: it reserves what the
// stream may decompress to (ssmframe.Bound, at most MaxBytes) first.
func (r *run) decode(ctx context.Context, rv *reservation, stdout []byte, marker string) (ssmframe.Stream, bool, error) {
	h, ok := ssmframe.ParseHeader(stdout, marker)
	limit := min(ssmframe.Bound(stdout, marker), r.c.o.limits.MaxBytes)
	if ok && h.Encoding == ssmframe.EncodingGzip {
		// A plain stream is the bytes already read and reserved.
		if err := rv.grow(ctx, limit); err != nil {
			return ssmframe.Stream{}, false, err
		}
	}
	st, ok := ssmframe.Decode(stdout, marker, max(limit, 1))
	if ok && h.Encoding == ssmframe.EncodingGzip {
		rv.hold(cap(st.Data))
	}
	return st, ok, nil
}

// complete turns a final invocation into the instance's Results: from the
// 2,500 characters ListCommandInvocations showed when they hold the whole
// output, else from S3 (S3 mode) or GetCommandInvocation (API mode).
func (r *run) complete(ctx context.Context, s sent, inv types.CommandInvocation) {
	id := aws.ToString(inv.InstanceId)
	details := aws.ToString(inv.StatusDetails)
	if st, msg, ok := notRun(inv); ok {
		s.set(id, s.all(id, st, details, msg))
		return
	}
	var shown []byte
	hasShown := len(inv.CommandPlugins) > 0 && inv.CommandPlugins[0].Output != nil
	if hasShown {
		shown = []byte(aws.ToString(inv.CommandPlugins[0].Output))
	}
	trusted, hasHeader := ssmframe.ParseHeader(shown, s.marker)
	if hasShown {
		st, ok := ssmframe.Decode(shown, s.marker, detailsMax)
		data := st.Data
		if !ok {
			data = shown
		}
		sp := ssmframe.Split(data, data, s.marker, s.cmdIDs)
		if complete(sp) || inv.Status == types.CommandInvocationStatusCancelled {
			r.detailsHit.Add(1)
			r.countPlain(st, ok)
			res, _ := r.results(s, id, inv, sp, output{stream: st, ok: ok, why: "ListCommandInvocations shows only the first 2,500 characters", shown: shown})
			s.set(id, res)
			return
		}
		r.detailsMiss.Add(1)
	}
	done := make(chan struct{})
	job := func() {
		defer close(done)
		r.readResults(ctx, s, id, inv, trusted, hasHeader, shown)
	}
	if !r.toReader(ctx, job) {
		s.set(id, s.all(id, collect.StatusCancelled, details, "the run was cancelled before the output was read"))
		return
	}
	<-done
}

// readResults reads the output of a final invocation whose Details did
// not hold it whole (shown, what they held) and delivers the instance's
// Results; it runs on one of the run's readers.
func (r *run) readResults(ctx context.Context, s sent, id string, inv types.CommandInvocation, trusted ssmframe.Header, hasHeader bool, shown []byte) {
	details := aws.ToString(inv.StatusDetails)
	out, err := r.read(ctx, s, id, trusted, hasHeader)
	defer out.rv.release()
	if err != nil || ctx.Err() != nil && !out.ok {
		s.set(id, s.all(id, collect.StatusCancelled, details, "the run was cancelled while the output was read"))
		return
	}
	r.countPlain(out.stream, out.ok)
	out.shown = shown
	sp := ssmframe.Split(out.stream.Data, out.stream.Data, s.marker, s.cmdIDs)
	res, cut := r.results(s, id, inv, sp, out)
	s.deliver(id, res, cut)
}

// read reads an invocation's output under the read budget, from S3 or
// through the API, reading again (holding nothing while it waits) when the
// budget it holds is not enough; the caller releases out.rv once the
// Results are built (a nil out.rv releases nothing). The error is the
// context's.
func (r *run) read(ctx context.Context, s sent, id string, trusted ssmframe.Header, hasHeader bool) (output, error) {
	rv := r.reserve()
	for {
		var out output
		var err error
		if r.c.o.bucket != "" {
			out, err = r.readS3(ctx, rv, s, id, trusted, hasHeader)
		} else {
			out, err = r.readAPI(ctx, rv, s, id)
		}
		if !errors.Is(err, errReadAgain) {
			out.rv = rv
			if err != nil {
				rv.release()
			}
			return out, err
		}
		r.readAgain.Add(1)
		if err := rv.again(ctx); err != nil {
			return output{}, err
		}
	}
}

// countPlain counts a host that sent its output uncompressed when asked to
// compress it.
func (r *run) countPlain(st ssmframe.Stream, ok bool) {
	if ok && r.enc == ssmframe.EncodingGzip && st.Encoding == ssmframe.EncodingPlain {
		r.plainHosts.Add(1)
	}
}

// complete reports whether a split output is whole: the script's DONE line
// arrived, every stdout frame is whole, and so is the stderr of every
// command that failed (the stderr of one that succeeded is not needed).
func complete(sp ssmframe.Output) bool {
	if !sp.Done {
		return false
	}
	for _, f := range sp.Frames {
		if f.Stopped && f.State == ssmframe.Missing {
			continue // not run: nothing more to read
		}
		if f.State != ssmframe.Whole || f.ExitCode != 0 && f.StderrState != ssmframe.Whole {
			return false
		}
	}
	return true
}

// readS3 reads the invocation's stdout object, at most MaxBytes of it, and
// checks it against the header the host reported through SSM (trusted,
// from Details, else from GetCommandInvocation): a host can write other
// hosts' objects, never their reports. An object that does not match is
// not parsed. A missing object (or a read that fails), or a host that
// could not digest its output, falls back to GetCommandInvocation.
func (r *run) readS3(ctx context.Context, rv *reservation, s sent, id string, trusted ssmframe.Header, hasHeader bool) (output, error) {
	o := r.c.o
	var api *output
	if !hasHeader || trusted.Digest == "" {
		a, err := r.readAPI(ctx, rv, s, id)
		if err != nil || !a.ok || a.stream.Digest == "" || a.stream.Whole {
			// The script printed no header (it failed as a whole), the
			// API held the whole output, or nothing can check the object.
			if err == nil && a.ok && a.stream.Digest == "" && !a.stream.Whole {
				a.why = "the instance has no sha256sum, so its S3 output object could not be checked against its report through SSM and was not read; " + a.why
			}
			return a, err
		}
		trusted, api = a.stream.Header, &a
	}
	key := OutputKey(o.prefix, s.commandID, id)
	obj, cut, gerr := r.getObject(ctx, rv, key, o.limits.MaxBytes)
	if gerr != nil {
		if errors.Is(gerr, errReadAgain) {
			return output{}, gerr
		}
		if ctx.Err() != nil {
			return output{}, ctx.Err()
		}
		var out output
		if api != nil {
			out = *api
		} else {
			a, err := r.readAPI(ctx, rv, s, id)
			if err != nil {
				return a, err
			}
			out = a
		}
		what := "could not be read (" + gerr.Error() + ")"
		if s3obj.IsNotFound(gerr) {
			what = "is missing"
		}
		note := fmt.Sprintf("the S3 output object s3://%s/%s %s, so the output was read through the SSM API", o.bucket, key, what)
		if out.failed {
			out.note = joinNote(note, out.note)
		} else {
			out.why = note + "; " + out.why
		}
		return out, nil
	}
	if cut {
		// A part cannot be checked against the digest: nothing of it is
		// parsed.
		return output{ok: true, why: fmt.Sprintf("the instance's stdout is over the %d-byte cap (collect.Limits.MaxBytes)", o.limits.MaxBytes)}, nil
	}
	if err := ssmframe.Verify(obj, trusted); err != nil {
		return output{failed: true, note: fmt.Sprintf("the S3 output object s3://%s/%s is not the output the instance reported through SSM: %v; "+
			"another instance, or someone else who can write to the bucket, changed it, so it was not parsed "+
			"(keep each instance to its own prefix: see the ssmcollect package doc)", o.bucket, key, err)}, nil
	}
	st, ok, err := r.decode(ctx, rv, obj, s.marker)
	if err != nil {
		return output{}, err
	}
	out := output{stream: st, ok: ok}
	if ok && !st.Whole && st.Problem != "" {
		out.why = st.Problem
	}
	return out, nil
}

// getObject reads at most max bytes of an object, under the read budget;
// cut reports that there was more.
func (r *run) getObject(ctx context.Context, rv *reservation, key string, max int64) (data []byte, cut bool, err error) {
	obj, err := r.c.c.S3.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(r.c.o.bucket), Key: aws.String(key)})
	if err != nil {
		return nil, false, err
	}
	if obj == nil || obj.Body == nil {
		return nil, false, fmt.Errorf("reading s3://%s/%s: GetObject answered without a body", r.c.o.bucket, key)
	}
	defer obj.Body.Close()
	n := aws.ToInt64(obj.ContentLength)
	if n <= 0 || n > max {
		n = max
	}
	if err := rv.grow(ctx, n+1); err != nil {
		return nil, false, err
	}
	var buf bytes.Buffer
	buf.Grow(int(n) + 1)
	defer func() { rv.hold(buf.Cap()) }()
	if _, err := io.Copy(&buf, io.LimitReader(obj.Body, max+1)); err != nil {
		return nil, false, fmt.Errorf("reading s3://%s/%s: %w", r.c.o.bucket, key, err)
	}
	if int64(buf.Len()) > max {
		return buf.Bytes()[:max], true, nil
	}
	return buf.Bytes(), false, nil
}

// readAPI reads an invocation's output with GetCommandInvocation (the
// first 24,000 characters of stdout and 8,000 of stderr) and decodes it.
// The error is the context's, when cancelled.
func (r *run) readAPI(ctx context.Context, rv *reservation, s sent, id string) (output, error) {
	if err := rv.grow(ctx, apiRead); err != nil {
		return output{}, err
	}
	var last error
	for try := 0; try < notYetTries; try++ {
		out, err := r.c.c.Get.GetCommandInvocation(ctx, &ssm.GetCommandInvocationInput{
			CommandId: aws.String(s.commandID), InstanceId: aws.String(id),
		})
		if err == nil {
			if problem := invocationProblem(out, s.commandID, id); problem != "" {
				return output{failed: true, note: "GetCommandInvocation answered " + problem + " (a malformed answer)"}, nil
			}
			stdout := []byte(aws.ToString(out.StandardOutputContent))
			rv.hold(len(stdout) + len(aws.ToString(out.StandardErrorContent)))
			st, ok, err := r.decode(ctx, rv, stdout, s.marker)
			if err != nil {
				return output{}, err
			}
			res := output{stream: st, ok: ok, stderr: []byte(aws.ToString(out.StandardErrorContent)), why: whyAPI}
			if ok && !st.Whole {
				split := ssmframe.Split(st.Data, st.Data, s.marker, s.cmdIDs)
				res.apiCut = !split.Done
				if st.Encoding == ssmframe.EncodingPlain && r.enc == ssmframe.EncodingGzip {
					res.why = "the instance has no gzip or base64, so its output was not compressed; " + whyAPI
				}
			}
			return res, nil
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
			return output{}, ctx.Err()
		case <-t.C:
		}
	}
	if ctx.Err() != nil {
		return output{}, ctx.Err()
	}
	return output{failed: true, note: "GetCommandInvocation failed: " + last.Error()}, nil
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

// whyAlone is the reason given for a command cut even alone.
const whyAlone = "its output is over the 24,000 characters SSM returns through its API, even compressed and collected alone; " +
	"set an output bucket (--output-bucket) to read the whole output from S3"

// results builds the instance's Result of every command of s from its
// frames, and returns the IDs of the commands SSM's API cut that can be
// collected again alone.
func (r *run) results(s sent, id string, inv types.CommandInvocation, sp ssmframe.Output, out output) ([]collect.Result, []string) {
	now := time.Now().UTC()
	details := aws.ToString(inv.StatusDetails)
	ranToEnd := inv.Status == types.CommandInvocationStatus("Success")
	res := make([]collect.Result, len(s.cmds))
	var again []string
	for i, cmd := range s.cmds {
		f := sp.Frames[cmd.ID]
		x := collect.Result{InstanceID: id, CommandID: cmd.ID, StatusDetails: details, CollectedAt: now, ExitCode: -1}
		stderr := string(f.Stderr)
		if f.StderrState != ssmframe.Whole && len(f.Stderr) > 0 {
			stderr += " [stderr cut]"
		}
		switch {
		case out.failed:
			x.Status, x.Error = collect.StatusFailed, fmt.Sprintf("command %s: %s", cmd.ID, out.note)
			if ranToEnd {
				x.Error = fmt.Sprintf("command %s: its output could not be used: %s", cmd.ID, out.note)
			}
		case f.Stopped:
			// The script's time limit stopped the command (or kept it
			// from starting); what it printed is not parsed.
			r.c.o.limits.Fill(&x, nil, stderr, false, "")
			x.Status, x.Rows, x.RawBytes = collect.StatusTimedOut, nil, int64(len(f.Stdout))
			x.ExitCode = f.ExitCode
			x.Error = r.stoppedError(cmd.ID, f)
		case f.State == ssmframe.Whole:
			x.ExitCode = f.ExitCode
			r.c.o.limits.FillShared(s.pool, &x, f.Stdout, stderr, false, "")
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
		case ranToEnd && out.ok:
			why := out.why
			if out.apiCut && len(s.cmds) == 1 {
				why = whyAlone
			}
			if why == "" {
				why = f.Problem
			}
			r.c.o.limits.Fill(&x, f.Stdout, stderr, true, why)
			if out.apiCut && len(s.cmds) > 1 {
				again = append(again, cmd.ID)
			}
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
	return res, again
}

// stoppedError says why the script's time limit stopped a command.
func (r *run) stoppedError(id string, f ssmframe.Frame) string {
	exec := r.c.o.executionTimeout
	how := fmt.Sprintf("the script keeps its commands within %v of its %v execution timeout, so that what they collected survives the timeout",
		commandsLimit(exec), exec)
	if f.Limit == 0 {
		return fmt.Sprintf("command %s was not run: the commands before it used the script's time (%s); "+
			"raise the execution timeout (WithTimeouts) to collect it", id, how)
	}
	return fmt.Sprintf("command %s was stopped after %v, its share of the script's time (%s); its output was not parsed; "+
		"raise the execution timeout (WithTimeouts) to collect it", id, f.Limit, how)
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
