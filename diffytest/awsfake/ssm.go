package awsfake

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// SSM API limits the fake enforces, as AWS documents them.
const (
	// MaxInstanceIDs is the most instance IDs one SendCommand takes.
	MaxInstanceIDs = 50
	// MaxTargets is the most Targets (tag filters) one SendCommand takes.
	MaxTargets = 5
	// StdoutLimit is the most characters of stdout GetCommandInvocation
	// returns; longer output is cut and ends with StdoutTruncatedMarker.
	StdoutLimit = 24000
	// StderrLimit is the same for stderr, with StderrTruncatedMarker.
	StderrLimit = 8000
	// PluginOutputLimit is the most characters of a plugin's Output in
	// ListCommandInvocations with Details.
	PluginOutputLimit = 2500
	// StdoutTruncatedMarker ends output that the SSM agent cut.
	StdoutTruncatedMarker = "\n---Output truncated---"
	// StderrTruncatedMarker ends error output that the SSM agent cut.
	StderrTruncatedMarker = "\n---Error truncated----"
	// PluginName is the plugin of AWS-RunShellScript.
	PluginName = "aws:runShellScript"
	// DocumentName is the one document the fake runs.
	DocumentName = "AWS-RunShellScript"
)

// pluginErrorTitle separates stdout from stderr in a plugin's Output.
const pluginErrorTitle = "\n----------ERROR-------\n"

// Target is one SendCommand target (Key "InstanceIds", "tag:NAME" or
// "tag-key", and its values).
type Target struct {
	Key    string
	Values []string
}

// SentCommand is a SendCommand call as the fake received it, whether it
// was accepted or refused.
type SentCommand struct {
	// CommandID is the command's ID; empty when the call was refused.
	CommandID string
	// Error is the API error code the call was refused with, or empty.
	Error string
	// At is when the call arrived.
	At time.Time
	// Body is the request's JSON body as received.
	Body []byte
	// The request's fields.
	DocumentName       string
	InstanceIDs        []string
	Targets            []Target
	Parameters         map[string][]string
	Comment            string
	MaxConcurrency     string
	MaxErrors          string
	OutputS3BucketName string
	OutputS3KeyPrefix  string
	TimeoutSeconds     int32
	// Script is the commands parameter joined with newlines: what the
	// instances run.
	Script string
}

// ssmState is the SSM side of the fake.
type ssmState struct {
	mu       sync.RWMutex
	commands map[string]*command
	order    []*command // by request time
	sent     []SentCommand
	seq      atomic.Int64
	stopped  atomic.Bool
}

func (st *ssmState) init() { st.commands = map[string]*command{} }

func (st *ssmState) stop() { st.stopped.Store(true) }

// command is one accepted SendCommand.
type command struct {
	id          string
	in          sendCommandInput
	script      script
	maySleep    bool // the script's text names sleep or timeout
	requested   time.Time
	visibleAt   time.Time
	execTimeout time.Duration
	runTime     time.Duration
	maxErrors   int
	invs        []*invocation
	byInst      map[string]*invocation
}

// invocation is one command on one instance.
type invocation struct {
	cmd   *command
	in    *instance
	start time.Time
	end   time.Time

	mu    sync.Mutex
	final *outcome     // set once, under mu; read with mu
	out   *finalOutput // set once with final when the script ran
	// measured is set once the script ran for its sleeps; extra is how
	// long they add to the run time, and ranOut what that run printed,
	// kept as the invocation's output: the script runs once (under mu).
	measured bool
	extra    time.Duration
	ranOut   *scriptRun
}

// outcome is an invocation's status at some time.
type outcome struct {
	status, details string
	code            int
	started         bool      // the script started on the instance
	ran             bool      // the script ran to its end (output exists)
	at              time.Time // when the status was reached (final) or zero
}

func (o outcome) done() bool {
	switch o.status {
	case "Success", "Failed", "TimedOut", "Cancelled":
		return true
	}
	return false
}

// sendCommandInput is the JSON of a SendCommand request.
type sendCommandInput struct {
	DocumentName       string              `json:"DocumentName"`
	DocumentVersion    string              `json:"DocumentVersion"`
	InstanceIds        []string            `json:"InstanceIds"`
	Targets            []Target            `json:"Targets"`
	Parameters         map[string][]string `json:"Parameters"`
	Comment            string              `json:"Comment"`
	MaxConcurrency     string              `json:"MaxConcurrency"`
	MaxErrors          string              `json:"MaxErrors"`
	OutputS3BucketName string              `json:"OutputS3BucketName"`
	OutputS3KeyPrefix  string              `json:"OutputS3KeyPrefix"`
	OutputS3Region     string              `json:"OutputS3Region"`
	TimeoutSeconds     *int32              `json:"TimeoutSeconds"`
}

// apiError is an SSM error answer.
type apiError struct {
	status int
	code   string
	msg    string
}

func (e *apiError) Error() string { return e.code + ": " + e.msg }

func badRequest(code, format string, args ...any) *apiError {
	return &apiError{status: http.StatusBadRequest, code: code, msg: fmt.Sprintf(format, args...)}
}

// epoch is a timestamp as awsJson1.1 writes it: seconds since the epoch.
type epoch time.Time

func (e epoch) MarshalJSON() ([]byte, error) {
	t := time.Time(e)
	return []byte(strconv.FormatFloat(float64(t.UnixMilli())/1000, 'f', 3, 64)), nil
}

func (s *Server) serveSSM(w http.ResponseWriter, r *http.Request) {
	target := r.Header.Get("X-Amz-Target")
	op, ok := strings.CutPrefix(target, "AmazonSSM.")
	if r.Method != http.MethodPost || !ok {
		s.counter("ssm:?").calls.Add(1)
		s.writeSSMError(w, badRequest("UnknownOperationException", "awsfake SSM takes POST with X-Amz-Target AmazonSSM.<Operation>; got %s %q", r.Method, target))
		return
	}
	name := "ssm:" + op
	if s.applyFaults(w, r, "ssm", name,
		func(w http.ResponseWriter) {
			s.writeSSMError(w, badRequest("ThrottlingException", "Rate exceeded"))
		},
		func(w http.ResponseWriter) {
			s.writeSSMError(w, &apiError{status: http.StatusInternalServerError, code: "InternalServerError", msg: "awsfake: injected server error"})
		}) == answered {
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 16<<20))
	if err != nil {
		return
	}
	var out any
	var aerr *apiError
	switch op {
	case "SendCommand":
		out, aerr = s.sendCommand(body)
	case "GetCommandInvocation":
		out, aerr = s.getCommandInvocation(body)
	case "ListCommandInvocations":
		out, aerr = s.listCommandInvocations(body)
	case "ListCommands":
		out, aerr = s.listCommands(body)
	case "CancelCommand":
		out, aerr = s.cancelCommand(body)
	case "DescribeInstanceInformation":
		out, aerr = s.describeInstanceInformation(body)
	default:
		aerr = badRequest("UnknownOperationException", "awsfake does not simulate SSM operation %s", op)
	}
	if aerr != nil {
		s.counter(name).errors.Add(1)
		s.writeSSMError(w, aerr)
		return
	}
	data, err := json.Marshal(out)
	if err != nil {
		s.writeSSMError(w, &apiError{status: 500, code: "InternalServerError", msg: err.Error()})
		return
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.Header().Set("x-amzn-RequestId", s.requestID())
	w.Header().Set("Content-Length", strconv.Itoa(len(data)))
	_, _ = w.Write(data)
}

func (s *Server) writeSSMError(w http.ResponseWriter, e *apiError) {
	data, _ := json.Marshal(map[string]string{"__type": e.code, "message": e.msg})
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.Header().Set("x-amzn-RequestId", s.requestID())
	w.WriteHeader(e.status)
	_, _ = w.Write(data)
}

func decodeInput(body []byte, v any) *apiError {
	if len(body) == 0 {
		body = []byte("{}")
	}
	if err := json.Unmarshal(body, v); err != nil {
		return badRequest("SerializationException", "cannot read the request body: %v", err)
	}
	return nil
}

// parseConcurrency reads MaxConcurrency/MaxErrors ("10" or "10%") for n
// targets; def is used when s is empty.
func parseConcurrency(field, s string, n, def int) (int, *apiError) {
	if s == "" {
		return def, nil
	}
	if p, ok := strings.CutSuffix(s, "%"); ok {
		pct, err := strconv.Atoi(p)
		if err != nil || pct < 0 || pct > 100 {
			return 0, badRequest("ValidationException", "1 validation error detected: Value '%s' at '%s' failed to satisfy constraint: Member must satisfy regular expression pattern: ^([1-9][0-9]*|[1-9][0-9]%%|[1-9]%%|100%%)$", s, field)
		}
		return int(math.Ceil(float64(pct) * float64(n) / 100)), nil
	}
	v, err := strconv.Atoi(s)
	if err != nil || v < 0 {
		return 0, badRequest("ValidationException", "1 validation error detected: Value '%s' at '%s' failed to satisfy constraint: Member must satisfy regular expression pattern: ^([1-9][0-9]*|[1-9][0-9]%%|[1-9]%%|100%%)$", s, field)
	}
	return v, nil
}

func (s *Server) sendCommand(body []byte) (any, *apiError) {
	now := s.now()
	var in sendCommandInput
	rec := SentCommand{At: now, Body: append([]byte(nil), body...)}
	aerr := decodeInput(body, &in)
	var cmd *command
	if aerr == nil {
		rec.DocumentName, rec.InstanceIDs, rec.Targets, rec.Parameters = in.DocumentName, in.InstanceIds, in.Targets, in.Parameters
		rec.Comment, rec.MaxConcurrency, rec.MaxErrors = in.Comment, in.MaxConcurrency, in.MaxErrors
		rec.OutputS3BucketName, rec.OutputS3KeyPrefix = in.OutputS3BucketName, in.OutputS3KeyPrefix
		if in.TimeoutSeconds != nil {
			rec.TimeoutSeconds = *in.TimeoutSeconds
		}
		rec.Script = strings.Join(in.Parameters["commands"], "\n")
		cmd, aerr = s.newCommand(in, now)
	}
	if aerr != nil {
		rec.Error = aerr.code
	} else {
		rec.CommandID = cmd.id
	}
	s.ssm.mu.Lock()
	s.ssm.sent = append(s.ssm.sent, rec)
	if cmd != nil {
		s.ssm.commands[cmd.id] = cmd
		s.ssm.order = append(s.ssm.order, cmd)
	}
	s.ssm.mu.Unlock()
	if aerr != nil {
		return nil, aerr
	}
	s.scheduleUploads(cmd)
	return map[string]any{"Command": s.commandJSON(cmd, now)}, nil
}

// newCommand checks a SendCommand request and builds its command.
func (s *Server) newCommand(in sendCommandInput, now time.Time) (*command, *apiError) {
	if in.DocumentName == "" {
		return nil, badRequest("ValidationException", "1 validation error detected: Value null at 'documentName' failed to satisfy constraint: Member must not be null")
	}
	doc := in.DocumentName
	if i := strings.LastIndex(doc, "document/"); i >= 0 && strings.HasPrefix(doc, "arn:") {
		doc = doc[i+len("document/"):]
	}
	if doc != DocumentName {
		return nil, badRequest("InvalidDocument", "Document %s does not exist in your account (awsfake runs only %s)", in.DocumentName, DocumentName)
	}
	for k := range in.Parameters {
		if k != "commands" && k != "executionTimeout" && k != "workingDirectory" {
			return nil, badRequest("InvalidParameters", "Parameter %q is not defined in document %s", k, DocumentName)
		}
	}
	lines := in.Parameters["commands"]
	if len(lines) == 0 {
		return nil, badRequest("InvalidParameters", "Parameter \"commands\" is required by document %s", DocumentName)
	}
	execTimeout := 3600 * time.Second
	if v := in.Parameters["executionTimeout"]; len(v) > 0 {
		n, err := strconv.Atoi(v[0])
		if len(v) != 1 || err != nil || n < 1 || n > 172800 {
			return nil, badRequest("InvalidParameters", "Parameter \"executionTimeout\" %q is not an integer from 1 to 172800", strings.Join(v, ","))
		}
		execTimeout = time.Duration(n) * time.Second
	}
	if in.TimeoutSeconds != nil && (*in.TimeoutSeconds < 30 || *in.TimeoutSeconds > 2592000) {
		return nil, badRequest("ValidationException", "1 validation error detected: Value '%d' at 'timeoutSeconds' failed to satisfy constraint: Member must have value between 30 and 2592000", *in.TimeoutSeconds)
	}
	if len(in.InstanceIds) > 0 && len(in.Targets) > 0 {
		return nil, badRequest("InvalidParameters", "InstanceIds and Targets cannot both be specified")
	}
	if len(in.InstanceIds) == 0 && len(in.Targets) == 0 {
		return nil, badRequest("InvalidParameters", "either InstanceIds or Targets must be specified")
	}
	if len(in.InstanceIds) > MaxInstanceIDs {
		return nil, badRequest("ValidationException", "1 validation error detected: Value at 'instanceIds' failed to satisfy constraint: Member must have length less than or equal to %d (got %d)", MaxInstanceIDs, len(in.InstanceIds))
	}
	if len(in.Targets) > MaxTargets {
		return nil, badRequest("ValidationException", "1 validation error detected: Value at 'targets' failed to satisfy constraint: Member must have length less than or equal to %d", MaxTargets)
	}
	var targets []*instance
	if len(in.InstanceIds) > 0 {
		seen := map[string]bool{}
		var invalid []string
		for _, id := range in.InstanceIds {
			if seen[id] {
				continue
			}
			seen[id] = true
			inst, ok := s.fleet().byID[id]
			if !ok || !inst.managed(now) {
				invalid = append(invalid, id)
				continue
			}
			targets = append(targets, inst)
		}
		if len(invalid) > 0 {
			return nil, badRequest("InvalidInstanceId", "Instances [[%s]] not in a valid state for account %s", strings.Join(invalid, ", "), s.opts.account)
		}
	} else {
		var err *apiError
		targets, err = s.resolveTargets(in.Targets, now)
		if err != nil {
			return nil, err
		}
	}
	conc, aerr := parseConcurrency("maxConcurrency", in.MaxConcurrency, len(targets), 50)
	if aerr != nil {
		return nil, aerr
	}
	if conc < 1 {
		conc = 1
	}
	maxErrors, aerr := parseConcurrency("maxErrors", in.MaxErrors, len(targets), 0)
	if aerr != nil {
		return nil, aerr
	}
	if in.OutputS3KeyPrefix != "" && in.OutputS3BucketName == "" {
		return nil, badRequest("InvalidParameters", "OutputS3KeyPrefix needs OutputS3BucketName")
	}
	seq := s.ssm.seq.Add(1)
	cmd := &command{
		id:          fmt.Sprintf("%08x-%04x-4%03x-a%03x-%012x", uint32(now.Unix()), uint16(seq>>24), seq>>12&0xfff, seq&0xfff, uint64(now.UnixNano())&0xffffffffffff),
		in:          in,
		requested:   now,
		visibleAt:   now.Add(s.opts.consistencyDelay),
		execTimeout: execTimeout,
		runTime:     s.opts.runTime,
		maxErrors:   maxErrors,
		byInst:      make(map[string]*invocation, len(targets)),
	}
	src := strings.Join(lines, "\n")
	cmd.script = parseScript(src)
	cmd.maySleep = strings.Contains(src, "sleep") || strings.Contains(src, "timeout")
	for i, inst := range targets {
		start := now.Add(time.Duration(i/conc) * cmd.runTime)
		inv := &invocation{cmd: cmd, in: inst, start: start, end: start.Add(cmd.runTime)}
		cmd.invs = append(cmd.invs, inv)
		cmd.byInst[inst.Instance.Instance.ID] = inv
		if inst.has(FaultTerminating) && !inst.has(FaultUndeliverable) {
			inst.terminate(start.Add(cmd.runTime / 2))
		}
	}
	return cmd, nil
}

// resolveTargets returns the managed instances matching every target.
func (s *Server) resolveTargets(ts []Target, now time.Time) ([]*instance, *apiError) {
	for _, t := range ts {
		if t.Key != "InstanceIds" && t.Key != "tag-key" && !strings.HasPrefix(t.Key, "tag:") {
			return nil, badRequest("InvalidTarget", "awsfake supports target keys InstanceIds, tag:NAME and tag-key, not %q", t.Key)
		}
		if len(t.Values) == 0 {
			return nil, badRequest("InvalidTarget", "target %q has no values", t.Key)
		}
	}
	var out []*instance
	for _, in := range s.fleet().instances {
		if !in.managed(now) {
			continue
		}
		ok := true
		for _, t := range ts {
			if !targetMatches(in, t) {
				ok = false
				break
			}
		}
		if ok {
			out = append(out, in)
		}
	}
	return out, nil
}

func targetMatches(in *instance, t Target) bool {
	tags := in.Instance.Instance.Tags
	for _, v := range t.Values {
		switch {
		case t.Key == "InstanceIds":
			if v == in.Instance.Instance.ID {
				return true
			}
		case t.Key == "tag-key":
			if _, ok := tags[v]; ok {
				return true
			}
		default:
			if tv, ok := tags[strings.TrimPrefix(t.Key, "tag:")]; ok && tv == v {
				return true
			}
		}
	}
	return false
}

// state returns the invocation's status at now, finishing it (running
// its script once, keeping its output and writing it to S3) when it has
// become final.
func (s *Server) state(inv *invocation, now time.Time) outcome {
	inv.mu.Lock()
	defer inv.mu.Unlock()
	return s.stateLocked(inv, now)
}

func (s *Server) stateLocked(inv *invocation, now time.Time) outcome {
	if inv.final != nil {
		return *inv.final
	}
	if !now.Before(inv.start) && s.overMaxErrors(inv) {
		// SSM stops sending a command once more than MaxErrors of its
		// invocations failed: those not started yet end Terminated.
		inv.final = &outcome{status: "Failed", details: "Terminated", code: -1, at: inv.start}
		return *inv.final
	}
	o := inv.evaluate(now)
	if o.done() && o.ran && !inv.measured {
		// The script's first run tells how long it sleeps: the
		// invocation then runs that much longer on the fake's clock.
		inv.measured = true
		if slept := s.measure(inv); slept > 0 {
			inv.extra = slept
			o = inv.evaluate(now)
			if !o.done() {
				s.scheduleUpload(inv)
			}
		}
	}
	if o.done() {
		r := inv.ranOut
		inv.ranOut = nil
		if o.ran {
			if r == nil {
				r = new(scriptRun)
				r.stdout, r.stderr, r.code = s.run(inv)
			}
			stdout, stderr, code := r.stdout, r.stderr, r.code
			o.code = code
			if code != 0 {
				o.status, o.details = "Failed", "Failed"
			}
			inv.out = newFinalOutput(stdout, stderr)
			s.writeOutput(inv, stdout, stderr)
		}
		inv.final = &o
	}
	return o
}

// overMaxErrors reports whether, when inv was to start, more than its
// command's MaxErrors invocations had ended Failed or TimedOut (the
// errors SSM counts; Undeliverable, DeliveryTimedOut and Terminated do
// not count). Only invocations that started earlier can have ended by
// then (MaxConcurrency sends a command in waves), so the locks it takes
// go from later to earlier invocations and never cycle.
func (s *Server) overMaxErrors(inv *invocation) bool {
	errs := 0
	for _, sib := range inv.cmd.invs {
		if !sib.start.Before(inv.start) {
			continue
		}
		o := s.state(sib, inv.start)
		if o.done() && !o.at.After(inv.start) && (o.status == "TimedOut" || o.status == "Failed" && o.details == "Failed") {
			errs++
		}
	}
	return errs > inv.cmd.maxErrors
}

// evaluate computes the invocation's status at now from its timing and
// its instance's faults.
func (inv *invocation) evaluate(now time.Time) outcome {
	in := inv.in
	if in.has(FaultUndeliverable) || in.agentLostAt.Load() != 0 && in.agentLostAt.Load() < inv.start.UnixNano() {
		if now.Before(inv.end) {
			return outcome{status: "Pending", details: "Pending", code: -1}
		}
		return outcome{status: "Failed", details: "Undeliverable", code: -1, at: inv.end}
	}
	end := inv.end.Add(inv.extra)
	timedOut := in.has(FaultHanging) || inv.cmd.runTime+inv.extra > inv.cmd.execTimeout
	if timedOut {
		end = inv.start.Add(inv.cmd.execTimeout)
	}
	if ta := in.terminatedAt.Load(); ta != 0 && ta < end.UnixNano() {
		t := time.Unix(0, ta)
		if t.Before(inv.start) {
			t = inv.start
		}
		if !now.Before(t) {
			return outcome{status: "Failed", details: "Terminated", code: -1, started: true, at: t}
		}
	}
	if now.Before(inv.start) {
		return outcome{status: "Pending", details: "Pending", code: -1}
	}
	if now.Before(end) {
		return outcome{status: "InProgress", details: "InProgress", code: -1, started: true}
	}
	if timedOut {
		return outcome{status: "TimedOut", details: "ExecutionTimedOut", code: -1, started: true, at: end}
	}
	// The script ran to its end; stateLocked runs it (once) for its exit
	// status and output.
	return outcome{status: "Success", details: "Success", started: true, ran: true, at: end}
}

// failureMessage is the stderr of a FaultFailing instance.
const failureMessage = "awsfake: simulated failure: the command failed on this instance\n"

// run executes the command's script on the instance.
func (s *Server) run(inv *invocation) (stdout, stderr []byte, code int) {
	stdout, stderr, code, _ = s.runTimed(inv)
	return stdout, stderr, code
}

// measure runs the script once for how long it sleeps; a script that
// names neither sleep nor timeout (its sh -c scripts are in its text)
// cannot, and is not run.
func (s *Server) measure(inv *invocation) time.Duration {
	if !inv.cmd.maySleep {
		return 0
	}
	r := new(scriptRun)
	var slept time.Duration
	r.stdout, r.stderr, r.code, slept = s.runTimed(inv)
	inv.ranOut = r
	return slept
}

// scriptRun is what one run of an invocation's script printed.
type scriptRun struct {
	stdout, stderr []byte
	code           int
}

func (s *Server) runTimed(inv *invocation) (stdout, stderr []byte, code int, slept time.Duration) {
	if inv.in.has(FaultFailing) {
		return nil, []byte(failureMessage), 1, 0
	}
	ctx, cancel := context.WithTimeout(context.Background(), scriptTimeout)
	defer cancel()
	return runScript(ctx, inv.cmd.script, hostRun{inv.in}, shellEnv{http: s.hostHTTP, start: inv.start}, inv.scriptPath())
}

// scriptTimeout bounds one run of a script in real time (its downloads).
const scriptTimeout = 5 * time.Minute

// scriptPath is where the SSM agent writes the script on the instance.
func (inv *invocation) scriptPath() string {
	return "/var/lib/amazon/ssm/" + inv.in.Instance.Instance.ID + "/document/orchestration/" + inv.cmd.id +
		"/awsrunShellScript/0.awsrunShellScript/_script.sh"
}

// output returns what GetCommandInvocation shows of the invocation's
// stdout and stderr (at most StdoutLimit and StderrLimit characters), given
// its outcome (as state returned it, which also orders this read after the
// write of inv.out).
func (s *Server) output(inv *invocation, o outcome) (stdout, stderr string) {
	if !o.ran || inv.out == nil {
		return "", ""
	}
	return inv.out.stdout, inv.out.stderr
}

// pluginOutput returns the invocation's plugin Output as
// ListCommandInvocations shows it.
func (inv *invocation) pluginOutput(o outcome) string {
	if !o.ran || inv.out == nil {
		return ""
	}
	return inv.out.plugin
}

// finalOutput is what is kept of a finished invocation's output: the
// plugin Output that ListCommandInvocations shows (at most
// PluginOutputLimit bytes), which callers poll often, and what
// GetCommandInvocation shows (at most StdoutLimit and StderrLimit), so
// that the script runs once: 32,000 characters at most per invocation
// (a few kilobytes for compressed output), the whole output going to S3.
type finalOutput struct {
	plugin, stdout, stderr string
}

func newFinalOutput(stdout, stderr []byte) *finalOutput {
	return &finalOutput{plugin: pluginOutput(stdout, stderr, PluginOutputLimit),
		stdout: truncateContent(stdout, StdoutLimit, StdoutTruncatedMarker),
		stderr: truncateContent(stderr, StderrLimit, StderrTruncatedMarker)}
}

// scheduleUploads finishes each invocation of cmd at its end time, so that
// its S3 output exists even when nobody asks for its status.
func (s *Server) scheduleUploads(cmd *command) {
	if cmd.in.OutputS3BucketName == "" || len(cmd.invs) == 0 {
		return
	}
	// One timer per wave of invocations (they share an end time).
	for i := 0; i < len(cmd.invs); {
		j := i
		for j < len(cmd.invs) && cmd.invs[j].end.Equal(cmd.invs[i].end) {
			j++
		}
		wave := cmd.invs[i:j]
		// A timer left when the server closes finds it stopped and does
		// nothing.
		time.AfterFunc(time.Until(wave[0].end), func() {
			if s.ssm.stopped.Load() {
				return
			}
			now := s.now()
			for _, inv := range wave {
				s.state(inv, now)
			}
		})
		i = j
	}
}

// scheduleUpload finishes inv at its end time (which its sleeps moved),
// so that its S3 output exists even when nobody asks for its status.
func (s *Server) scheduleUpload(inv *invocation) {
	if inv.cmd.in.OutputS3BucketName == "" {
		return
	}
	end := inv.end.Add(inv.extra)
	if t := inv.start.Add(inv.cmd.execTimeout); t.Before(end) {
		end = t
	}
	time.AfterFunc(time.Until(end), func() {
		if !s.ssm.stopped.Load() {
			s.state(inv, s.now())
		}
	})
}

// truncateContent cuts s to limit bytes, the last len(marker) of them the
// marker, on a UTF-8 boundary, as the SSM agent does for
// StandardOutputContent and StandardErrorContent.
func truncateContent(s []byte, limit int, marker string) string {
	if len(s) <= limit {
		return string(s)
	}
	return string(s[:runeCut(s, limit-len(marker))]) + marker
}

// runeCut returns the largest n' <= n that does not split a UTF-8
// sequence of s.
func runeCut(s []byte, n int) int {
	if n <= 0 {
		return 0
	}
	if n >= len(s) {
		return len(s)
	}
	for k := n; k > n-4 && k > 0; k-- {
		if s[k]&0xC0 != 0x80 {
			return k
		}
	}
	return n
}

// pluginOutput is a plugin's Output in ListCommandInvocations: stdout,
// then stderr after an error title, cut to limit the way the SSM agent
// cuts it (each part ends with its truncation marker when cut).
func pluginOutput(stdout, stderr []byte, limit int) string {
	title := ""
	if len(stderr) > 0 {
		title = pluginErrorTitle
	}
	avail := limit - len(title)
	if len(stdout)+len(stderr) < avail {
		return string(stdout) + title + string(stderr)
	}
	switch {
	case len(stdout) > avail/2 && len(stderr) > avail/2:
		half := (avail - len(StdoutTruncatedMarker) - len(StderrTruncatedMarker)) / 2
		return string(stdout[:runeCut(stdout, half)]) + StdoutTruncatedMarker + title + string(stderr[:runeCut(stderr, half)]) + StderrTruncatedMarker
	case len(stdout) < avail/2:
		keep := avail - len(StderrTruncatedMarker) - len(stdout)
		return string(stdout) + title + string(stderr[:runeCut(stderr, keep)]) + StderrTruncatedMarker
	default:
		keep := avail - len(StdoutTruncatedMarker) - len(stderr)
		return string(stdout[:runeCut(stdout, keep)]) + StdoutTruncatedMarker + title + string(stderr)
	}
}

// Response shapes.

type cloudWatchOutputConfig struct {
	CloudWatchOutputEnabled bool `json:"CloudWatchOutputEnabled"`
}

type getInvocationOutput struct {
	CommandId              string                 `json:"CommandId"`
	InstanceId             string                 `json:"InstanceId"`
	Comment                string                 `json:"Comment,omitempty"`
	DocumentName           string                 `json:"DocumentName"`
	DocumentVersion        string                 `json:"DocumentVersion"`
	PluginName             string                 `json:"PluginName"`
	ResponseCode           int                    `json:"ResponseCode"`
	ExecutionStartDateTime string                 `json:"ExecutionStartDateTime"`
	ExecutionElapsedTime   string                 `json:"ExecutionElapsedTime"`
	ExecutionEndDateTime   string                 `json:"ExecutionEndDateTime"`
	Status                 string                 `json:"Status"`
	StatusDetails          string                 `json:"StatusDetails"`
	StandardOutputContent  string                 `json:"StandardOutputContent"`
	StandardOutputUrl      string                 `json:"StandardOutputUrl"`
	StandardErrorContent   string                 `json:"StandardErrorContent"`
	StandardErrorUrl       string                 `json:"StandardErrorUrl"`
	CloudWatchOutputConfig cloudWatchOutputConfig `json:"CloudWatchOutputConfig"`
}

const isoMillis = "2006-01-02T15:04:05.000Z"

// lookupInvocation finds a visible invocation.
func (s *Server) lookupInvocation(commandID, instanceID string, now time.Time) (*invocation, *apiError) {
	s.ssm.mu.RLock()
	cmd := s.ssm.commands[commandID]
	s.ssm.mu.RUnlock()
	if cmd == nil || now.Before(cmd.visibleAt) {
		return nil, &apiError{status: 400, code: "InvocationDoesNotExist", msg: fmt.Sprintf("invocation of command %q on instance %q does not exist", commandID, instanceID)}
	}
	inv := cmd.byInst[instanceID]
	if inv == nil {
		return nil, &apiError{status: 400, code: "InvocationDoesNotExist", msg: fmt.Sprintf("command %q has no invocation on instance %q", commandID, instanceID)}
	}
	return inv, nil
}

func (s *Server) getCommandInvocation(body []byte) (any, *apiError) {
	var in struct {
		CommandId, InstanceId, PluginName string
	}
	if e := decodeInput(body, &in); e != nil {
		return nil, e
	}
	if in.CommandId == "" || in.InstanceId == "" {
		return nil, badRequest("ValidationException", "CommandId and InstanceId are required")
	}
	if in.PluginName != "" && in.PluginName != PluginName {
		return nil, badRequest("InvalidPluginName", "plugin %q is not in document %s (its plugin is %s)", in.PluginName, DocumentName, PluginName)
	}
	now := s.now()
	inv, aerr := s.lookupInvocation(in.CommandId, in.InstanceId, now)
	if aerr != nil {
		return nil, aerr
	}
	o := s.state(inv, now)
	stdout, stderr := s.output(inv, o)
	out := getInvocationOutput{
		CommandId: inv.cmd.id, InstanceId: inv.in.Instance.Instance.ID, Comment: inv.cmd.in.Comment,
		DocumentName: DocumentName, DocumentVersion: "1", PluginName: PluginName,
		ResponseCode: o.code, Status: o.status, StatusDetails: o.details,
		StandardOutputContent: stdout,
		StandardErrorContent:  stderr,
	}
	if o.started {
		out.ExecutionStartDateTime = inv.start.UTC().Format(isoMillis)
	}
	if o.done() && o.started {
		out.ExecutionEndDateTime = o.at.UTC().Format(isoMillis)
		out.ExecutionElapsedTime = isoDuration(o.at.Sub(inv.start))
	}
	out.StandardOutputUrl, out.StandardErrorUrl = s.outputURLs(inv, o)
	return out, nil
}

// isoDuration formats d as ISO 8601 ("PT0.02S").
func isoDuration(d time.Duration) string {
	return "PT" + strconv.FormatFloat(d.Seconds(), 'f', -1, 64) + "S"
}

// outputKey is the S3 key of an invocation's stdout or stderr.
func (inv *invocation) outputKey(stream string) string {
	key := inv.cmd.id + "/" + inv.in.Instance.Instance.ID + "/awsrunShellScript/0.awsrunShellScript/" + stream
	if p := strings.Trim(inv.cmd.in.OutputS3KeyPrefix, "/"); p != "" {
		key = p + "/" + key
	}
	return key
}

// outputURLs returns the invocation's S3 output URLs, in the form SSM
// gives them (https://s3.REGION.amazonaws.com/BUCKET/KEY), when it ran
// with an output bucket.
func (s *Server) outputURLs(inv *invocation, o outcome) (string, string) {
	b := inv.cmd.in.OutputS3BucketName
	if b == "" || !o.ran {
		return "", ""
	}
	base := "https://s3." + s.opts.region + ".amazonaws.com/" + b + "/"
	return base + inv.outputKey("stdout"), base + inv.outputKey("stderr")
}

// Pagination tokens: opaque to clients, tied to the query they page.

func encodeToken(query string, offset int) string {
	return base64.RawURLEncoding.EncodeToString([]byte(query + "\x00" + strconv.Itoa(offset)))
}

func decodeToken(tok, query string) (int, *apiError) {
	if tok == "" {
		return 0, nil
	}
	raw, err := base64.RawURLEncoding.DecodeString(tok)
	q, off, ok := strings.Cut(string(raw), "\x00")
	n, err2 := strconv.Atoi(off)
	if err != nil || !ok || err2 != nil || q != query || n < 0 {
		return 0, badRequest("InvalidNextToken", "the NextToken is not valid for this request")
	}
	return n, nil
}

func maxResults(field string, v *int, lo, hi, def int) (int, *apiError) {
	if v == nil {
		return def, nil
	}
	if *v < lo || *v > hi {
		return 0, badRequest("ValidationException", "1 validation error detected: Value '%d' at '%s' failed to satisfy constraint: Member must have value between %d and %d", *v, field, lo, hi)
	}
	return *v, nil
}

type commandPlugin struct {
	Name                   string `json:"Name"`
	Status                 string `json:"Status"`
	StatusDetails          string `json:"StatusDetails"`
	ResponseCode           int    `json:"ResponseCode"`
	ResponseStartDateTime  *epoch `json:"ResponseStartDateTime,omitempty"`
	ResponseFinishDateTime *epoch `json:"ResponseFinishDateTime,omitempty"`
	Output                 string `json:"Output"`
	StandardOutputUrl      string `json:"StandardOutputUrl"`
	StandardErrorUrl       string `json:"StandardErrorUrl"`
	OutputS3Region         string `json:"OutputS3Region,omitempty"`
	OutputS3BucketName     string `json:"OutputS3BucketName"`
	OutputS3KeyPrefix      string `json:"OutputS3KeyPrefix"`
}

type commandInvocation struct {
	CommandId              string                 `json:"CommandId"`
	InstanceId             string                 `json:"InstanceId"`
	InstanceName           string                 `json:"InstanceName"`
	Comment                string                 `json:"Comment"`
	DocumentName           string                 `json:"DocumentName"`
	DocumentVersion        string                 `json:"DocumentVersion"`
	RequestedDateTime      epoch                  `json:"RequestedDateTime"`
	Status                 string                 `json:"Status"`
	StatusDetails          string                 `json:"StatusDetails"`
	TraceOutput            string                 `json:"TraceOutput"`
	StandardOutputUrl      string                 `json:"StandardOutputUrl"`
	StandardErrorUrl       string                 `json:"StandardErrorUrl"`
	CommandPlugins         []commandPlugin        `json:"CommandPlugins"`
	CloudWatchOutputConfig cloudWatchOutputConfig `json:"CloudWatchOutputConfig"`
}

func (s *Server) invocationJSON(inv *invocation, now time.Time, details bool) commandInvocation {
	o := s.state(inv, now)
	ci := commandInvocation{
		CommandId: inv.cmd.id, InstanceId: inv.in.Instance.Instance.ID, InstanceName: inv.in.Instance.Instance.Name,
		Comment: inv.cmd.in.Comment, DocumentName: DocumentName, DocumentVersion: "1",
		RequestedDateTime: epoch(inv.cmd.requested), Status: o.status, StatusDetails: o.details,
		CommandPlugins: []commandPlugin{},
	}
	ci.StandardOutputUrl, ci.StandardErrorUrl = s.outputURLs(inv, o)
	if details {
		p := commandPlugin{
			Name: PluginName, Status: o.status, StatusDetails: o.details, ResponseCode: o.code,
			Output:            inv.pluginOutput(o),
			StandardOutputUrl: ci.StandardOutputUrl, StandardErrorUrl: ci.StandardErrorUrl,
			OutputS3BucketName: inv.cmd.in.OutputS3BucketName, OutputS3KeyPrefix: inv.cmd.in.OutputS3KeyPrefix,
		}
		if p.OutputS3BucketName != "" {
			p.OutputS3Region = s.opts.region
		}
		if o.started {
			st := epoch(inv.start)
			p.ResponseStartDateTime = &st
		}
		if o.done() && o.started {
			fin := epoch(o.at)
			p.ResponseFinishDateTime = &fin
		}
		ci.CommandPlugins = append(ci.CommandPlugins, p)
	}
	return ci
}

// visibleCommands returns the commands visible at now, oldest first,
// restricted to commandID when it is set.
func (s *Server) visibleCommands(commandID string, now time.Time) ([]*command, bool) {
	s.ssm.mu.RLock()
	defer s.ssm.mu.RUnlock()
	if commandID != "" {
		c := s.ssm.commands[commandID]
		if c == nil {
			return nil, false
		}
		if now.Before(c.visibleAt) {
			return nil, true
		}
		return []*command{c}, true
	}
	out := make([]*command, 0, len(s.ssm.order))
	for _, c := range s.ssm.order {
		if !now.Before(c.visibleAt) {
			out = append(out, c)
		}
	}
	return out, true
}

// listQuery is the request of ListCommands and ListCommandInvocations.
type listQuery struct {
	CommandId, InstanceId, NextToken string
	MaxResults                       *int
	Details                          bool
}

// listPage is one page of a list: the items from off, at most limit, and
// the token of the rest.
type listPage struct {
	off, end int
	next     string
	now      time.Time
}

// startList reads a list request: its page size (1-50, default 50), the
// offset its token stands for (tokens are tied to kind and the query), and
// the commands visible now. total counts the items the commands give.
func (s *Server) startList(body []byte, kind string, total func(in listQuery, cmds []*command) int) (listQuery, []*command, listPage, *apiError) {
	var in listQuery
	if e := decodeInput(body, &in); e != nil {
		return in, nil, listPage{}, e
	}
	limit, aerr := maxResults("maxResults", in.MaxResults, 1, 50, 50)
	if aerr != nil {
		return in, nil, listPage{}, aerr
	}
	query := kind + "|" + in.CommandId + "|" + in.InstanceId
	off, aerr := decodeToken(in.NextToken, query)
	if aerr != nil {
		return in, nil, listPage{}, aerr
	}
	now := s.now()
	cmds, ok := s.visibleCommands(in.CommandId, now)
	if !ok {
		return in, nil, listPage{}, badRequest("InvalidCommandId", "command %q does not exist", in.CommandId)
	}
	n := total(in, cmds)
	off = min(off, n)
	pg := listPage{off: off, end: min(off+limit, n), now: now}
	if pg.end < n {
		pg.next = encodeToken(query, pg.end)
	}
	return in, cmds, pg, nil
}

func (s *Server) listCommandInvocations(body []byte) (any, *apiError) {
	var all []*invocation
	in, _, pg, aerr := s.startList(body, "lci", func(in listQuery, cmds []*command) int {
		for _, c := range cmds {
			if in.InstanceId != "" {
				if inv := c.byInst[in.InstanceId]; inv != nil {
					all = append(all, inv)
				}
				continue
			}
			all = append(all, c.invs...)
		}
		return len(all)
	})
	if aerr != nil {
		return nil, aerr
	}
	out := struct {
		CommandInvocations []commandInvocation `json:"CommandInvocations"`
		NextToken          string              `json:"NextToken,omitempty"`
	}{CommandInvocations: []commandInvocation{}, NextToken: pg.next}
	for _, inv := range all[pg.off:pg.end] {
		out.CommandInvocations = append(out.CommandInvocations, s.invocationJSON(inv, pg.now, in.Details))
	}
	return out, nil
}

type commandOutput struct {
	CommandId              string                 `json:"CommandId"`
	DocumentName           string                 `json:"DocumentName"`
	DocumentVersion        string                 `json:"DocumentVersion"`
	Comment                string                 `json:"Comment"`
	ExpiresAfter           epoch                  `json:"ExpiresAfter"`
	Parameters             map[string][]string    `json:"Parameters"`
	InstanceIds            []string               `json:"InstanceIds"`
	Targets                []Target               `json:"Targets"`
	RequestedDateTime      epoch                  `json:"RequestedDateTime"`
	Status                 string                 `json:"Status"`
	StatusDetails          string                 `json:"StatusDetails"`
	OutputS3Region         string                 `json:"OutputS3Region,omitempty"`
	OutputS3BucketName     string                 `json:"OutputS3BucketName"`
	OutputS3KeyPrefix      string                 `json:"OutputS3KeyPrefix"`
	MaxConcurrency         string                 `json:"MaxConcurrency"`
	MaxErrors              string                 `json:"MaxErrors"`
	TargetCount            int                    `json:"TargetCount"`
	CompletedCount         int                    `json:"CompletedCount"`
	ErrorCount             int                    `json:"ErrorCount"`
	DeliveryTimedOutCount  int                    `json:"DeliveryTimedOutCount"`
	TimeoutSeconds         int32                  `json:"TimeoutSeconds"`
	CloudWatchOutputConfig cloudWatchOutputConfig `json:"CloudWatchOutputConfig"`
}

// commandJSON describes cmd at now, with its aggregate status: InProgress
// while an invocation is not final (Pending before any started);
// Cancelled when one was cancelled; Failed when more than MaxErrors
// failed; Success otherwise (StatusDetails Incomplete when some did not
// succeed). Undeliverable invocations count for neither, as in AWS.
func (s *Server) commandJSON(cmd *command, now time.Time) commandOutput {
	out := commandOutput{
		CommandId: cmd.id, DocumentName: DocumentName, DocumentVersion: "1", Comment: cmd.in.Comment,
		ExpiresAfter: epoch(cmd.requested.Add(cmd.execTimeout + 3600*time.Second)), Parameters: cmd.in.Parameters,
		InstanceIds: cmd.in.InstanceIds, Targets: cmd.in.Targets, RequestedDateTime: epoch(cmd.requested),
		OutputS3BucketName: cmd.in.OutputS3BucketName, OutputS3KeyPrefix: cmd.in.OutputS3KeyPrefix,
		MaxConcurrency: cmd.in.MaxConcurrency, MaxErrors: cmd.in.MaxErrors, TargetCount: len(cmd.invs),
		TimeoutSeconds: 3600,
	}
	if out.InstanceIds == nil {
		out.InstanceIds = []string{}
	}
	if out.Targets == nil {
		out.Targets = []Target{}
	}
	if out.MaxConcurrency == "" {
		out.MaxConcurrency = "50"
	}
	if out.MaxErrors == "" {
		out.MaxErrors = "0"
	}
	if cmd.in.TimeoutSeconds != nil {
		out.TimeoutSeconds = *cmd.in.TimeoutSeconds
	}
	if out.OutputS3BucketName != "" {
		out.OutputS3Region = s.opts.region
	}
	started, cancelled, success, undeliverable := 0, 0, 0, 0
	for _, inv := range cmd.invs {
		o := s.state(inv, now)
		if o.status != "Pending" {
			started++
		}
		if !o.done() {
			continue
		}
		out.CompletedCount++
		switch {
		case o.status == "Success":
			success++
		case o.status == "Cancelled":
			cancelled++
		case o.details == "Undeliverable":
			// Neither an error nor a reason for Incomplete (AWS).
			undeliverable++
		default:
			out.ErrorCount++
		}
	}
	switch {
	case out.CompletedCount < len(cmd.invs) && started == 0:
		out.Status, out.StatusDetails = "Pending", "Pending"
	case out.CompletedCount < len(cmd.invs):
		out.Status, out.StatusDetails = "InProgress", "InProgress"
	case cancelled > 0:
		out.Status, out.StatusDetails = "Cancelled", "Cancelled"
	case out.ErrorCount > cmd.maxErrors:
		out.Status, out.StatusDetails = "Failed", "Failed"
	case success+undeliverable < len(cmd.invs):
		out.Status, out.StatusDetails = "Success", "Incomplete"
	default:
		out.Status, out.StatusDetails = "Success", "Success"
	}
	return out
}

func (s *Server) listCommands(body []byte) (any, *apiError) {
	var sel []*command
	_, _, pg, aerr := s.startList(body, "lc", func(in listQuery, cmds []*command) int {
		for i := len(cmds) - 1; i >= 0; i-- { // newest first
			if in.InstanceId == "" || cmds[i].byInst[in.InstanceId] != nil {
				sel = append(sel, cmds[i])
			}
		}
		return len(sel)
	})
	if aerr != nil {
		return nil, aerr
	}
	out := struct {
		Commands  []commandOutput `json:"Commands"`
		NextToken string          `json:"NextToken,omitempty"`
	}{Commands: []commandOutput{}, NextToken: pg.next}
	for _, c := range sel[pg.off:pg.end] {
		out.Commands = append(out.Commands, s.commandJSON(c, pg.now))
	}
	return out, nil
}

func (s *Server) cancelCommand(body []byte) (any, *apiError) {
	var in struct {
		CommandId   string
		InstanceIds []string
	}
	if e := decodeInput(body, &in); e != nil {
		return nil, e
	}
	s.ssm.mu.RLock()
	cmd := s.ssm.commands[in.CommandId]
	s.ssm.mu.RUnlock()
	if cmd == nil {
		return nil, badRequest("InvalidCommandId", "command %q does not exist", in.CommandId)
	}
	invs := cmd.invs
	if len(in.InstanceIds) > 0 {
		invs = nil
		for _, id := range in.InstanceIds {
			inv := cmd.byInst[id]
			if inv == nil {
				return nil, badRequest("InvalidInstanceId", "Instances [[%s]] are not targets of command %s", id, cmd.id)
			}
			invs = append(invs, inv)
		}
	}
	now := s.now()
	for _, inv := range invs {
		inv.mu.Lock()
		if o := s.stateLocked(inv, now); !o.done() {
			inv.final = &outcome{status: "Cancelled", details: "Cancelled", code: -1, started: o.started, at: now}
		}
		inv.mu.Unlock()
	}
	return struct{}{}, nil
}

type instanceInformation struct {
	InstanceId       string `json:"InstanceId"`
	PingStatus       string `json:"PingStatus"`
	LastPingDateTime epoch  `json:"LastPingDateTime"`
	AgentVersion     string `json:"AgentVersion"`
	IsLatestVersion  bool   `json:"IsLatestVersion"`
	PlatformType     string `json:"PlatformType"`
	PlatformName     string `json:"PlatformName"`
	PlatformVersion  string `json:"PlatformVersion"`
	ResourceType     string `json:"ResourceType"`
	IPAddress        string `json:"IPAddress,omitempty"`
	ComputerName     string `json:"ComputerName,omitempty"`
	SourceId         string `json:"SourceId"`
	SourceType       string `json:"SourceType"`
}

func (s *Server) describeInstanceInformation(body []byte) (any, *apiError) {
	var in struct {
		InstanceInformationFilterList []struct {
			Key      string   `json:"key"`
			ValueSet []string `json:"valueSet"`
		}
		Filters []struct {
			Key    string
			Values []string
		}
		MaxResults *int
		NextToken  string
	}
	if e := decodeInput(body, &in); e != nil {
		return nil, e
	}
	limit, aerr := maxResults("maxResults", in.MaxResults, 5, 50, 50)
	if aerr != nil {
		return nil, aerr
	}
	type filter struct {
		key    string
		values map[string]bool
	}
	var filters []filter
	for _, f := range in.InstanceInformationFilterList {
		filters = append(filters, filter{f.Key, setOf(f.ValueSet)})
	}
	for _, f := range in.Filters {
		filters = append(filters, filter{f.Key, setOf(f.Values)})
	}
	var keys []string
	for _, f := range filters {
		switch {
		case f.key == "InstanceIds", f.key == "PingStatus", f.key == "PlatformTypes", f.key == "ResourceType", strings.HasPrefix(f.key, "tag:"), f.key == "tag-key":
		default:
			return nil, badRequest("InvalidInstanceInformationFilterValue", "awsfake does not filter instance information by %q", f.key)
		}
		keys = append(keys, f.key)
	}
	sort.Strings(keys)
	query := "dii|" + strings.Join(keys, ",")
	for _, f := range filters {
		query += "|" + strings.Join(sortedIDs(f.values), ",")
	}
	off, aerr := decodeToken(in.NextToken, query)
	if aerr != nil {
		return nil, aerr
	}
	now := s.now()
	var sel []*instance
	for _, inst := range s.fleet().instances {
		if !inst.managed(now) {
			continue
		}
		ok := true
		for _, f := range filters {
			var v []string
			switch {
			case f.key == "InstanceIds":
				v = []string{inst.Instance.Instance.ID}
			case f.key == "PingStatus":
				v = []string{"Online"}
			case f.key == "PlatformTypes":
				v = []string{"Linux"}
			case f.key == "ResourceType":
				v = []string{"EC2Instance"}
			case f.key == "tag-key":
				v = sortedIDs(inst.Instance.Instance.Tags)
			default:
				if tv, has := inst.Instance.Instance.Tags[strings.TrimPrefix(f.key, "tag:")]; has {
					v = []string{tv}
				}
			}
			hit := false
			for _, x := range v {
				if f.values[x] {
					hit = true
				}
			}
			if !hit {
				ok = false
				break
			}
		}
		if ok {
			sel = append(sel, inst)
		}
	}
	out := struct {
		InstanceInformationList []instanceInformation `json:"InstanceInformationList"`
		NextToken               string                `json:"NextToken,omitempty"`
	}{InstanceInformationList: []instanceInformation{}}
	if off > len(sel) {
		off = len(sel)
	}
	end := min(off+limit, len(sel))
	for _, inst := range sel[off:end] {
		out.InstanceInformationList = append(out.InstanceInformationList, instanceInformation{
			InstanceId: inst.Instance.Instance.ID, PingStatus: "Online", LastPingDateTime: epoch(now.Add(-30 * time.Second)),
			AgentVersion: "3.3.1142.0", IsLatestVersion: true, PlatformType: "Linux", PlatformName: "Amazon Linux",
			PlatformVersion: "2023", ResourceType: "EC2Instance", IPAddress: inst.Instance.Instance.PrivateIP,
			ComputerName: inst.Instance.Instance.Name, SourceId: inst.Instance.Instance.ID, SourceType: "AWS::EC2::Instance",
		})
	}
	if end < len(sel) {
		out.NextToken = encodeToken(query, end)
	}
	return out, nil
}

func setOf(vs []string) map[string]bool {
	m := make(map[string]bool, len(vs))
	for _, v := range vs {
		m[v] = true
	}
	return m
}

// SentCommands returns every SendCommand call received so far, in order.
func (s *Server) SentCommands() []SentCommand {
	s.ssm.mu.RLock()
	defer s.ssm.mu.RUnlock()
	return append([]SentCommand(nil), s.ssm.sent...)
}

// Run runs script on the instance id as an invocation of SendCommand would
// (its file system, tools and faults), outside of any command, and returns
// its stdout, stderr and exit status: for tests and for measuring what a
// script costs the fake. It reports false for an unknown ID.
func (s *Server) Run(id, script string) (stdout, stderr []byte, code int, ok bool) {
	in, ok := s.fleet().byID[id]
	if !ok {
		return nil, nil, 0, false
	}
	inv := &invocation{cmd: &command{id: "run", script: parseScript(script)}, in: in}
	stdout, stderr, code = s.run(inv)
	return stdout, stderr, code, true
}
