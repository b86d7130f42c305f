package diffytest

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"testing"

	"github.com/diffy-dfir/diffy/payload"
)

// Incident is the incident ID the Payload suite passes to Generate.
const Incident = "diffytest-incident-0001"

// TestPayload runs the Payload suite: each rule below is a subtest of t,
// run on a fresh Payload from newPayload. A broken rule fails its subtest
// with a message naming the rule. The rules, from the doc comment of
// payload.Payload:
//
//   - at-least-one-command: Generate returns at least one command and nil
//     error.
//   - valid-ids: the commands pass payload.Validate: every ID valid
//     (payload.ValidID) and unique, each with a Query or a Shell script.
//   - deterministic: two calls return the same commands in the same order.
//   - cancelled-context: Generate with a cancelled context returns an error
//     matching context.Canceled.
//   - no-credentials: no command's Shell, Query or Description holds
//     something that looks like a credential (CredentialPatterns).
//   - concurrent-use: calls from several goroutines at once return the
//     same commands as a lone call (run the suite with -race).
//   - returns-copies: changing the returned commands does not change what
//     the next call returns.
//
// Generate is called with the incident ID Incident. A call that panics, or
// does not return within HangTimeout, breaks the rule that made it.
func TestPayload(t *testing.T, newPayload func(t *testing.T) payload.Payload) {
	t.Helper()
	runTest(t, "Payload", payloadRules, newPayload)
}

// CheckPayload runs the rules of TestPayload without a *testing.T, each on
// a fresh Payload from newPayload, and returns every rule broken as a
// *Violation, joined with errors.Join; nil when the Payload keeps them all.
func CheckPayload(newPayload func() (payload.Payload, error)) error {
	return runCheck("Payload", payloadRules, newPayload)
}

// CredentialPatterns are what the no-credentials rule looks for in a
// payload's commands: AWS access key IDs, the names of the AWS secret
// environment variables and config keys, and private key blocks. A command
// sent to every host of a fleet must never carry the operator's
// credentials, as the original Diffy's did.
var CredentialPatterns = []*regexp.Regexp{
	regexp.MustCompile(`\b(AKIA|ASIA|AROA|AIDA)[0-9A-Z]{16}\b`),
	regexp.MustCompile(`(?i)aws_secret_access_key`),
	regexp.MustCompile(`(?i)aws_session_token`),
	regexp.MustCompile(`(?i)aws_access_key_id`),
	regexp.MustCompile(`(?i)x-amz-security-token`),
	regexp.MustCompile(`-----BEGIN [A-Z ]*PRIVATE KEY-----`),
}

// FindCredential returns the first text in s that matches one of
// CredentialPatterns, or "".
func FindCredential(s string) string {
	for _, re := range CredentialPatterns {
		if m := re.FindString(s); m != "" {
			return m
		}
	}
	return ""
}

var payloadRules = []rule[payload.Payload]{
	{"at-least-one-command", func(ctx context.Context, p payload.Payload) error {
		cmds, err := generate(ctx, p)
		if err != nil {
			return fmt.Errorf("Generate: %w", err)
		}
		if len(cmds) == 0 {
			return errors.New("Generate returned no command and no error")
		}
		return nil
	}},
	{"valid-ids", func(ctx context.Context, p payload.Payload) error {
		cmds, err := generate(ctx, p)
		if err != nil {
			return fmt.Errorf("Generate: %w", err)
		}
		if err := payload.Validate(cmds); err != nil {
			return fmt.Errorf("the commands Generate returned are not valid: %w", err)
		}
		return nil
	}},
	{"deterministic", func(ctx context.Context, p payload.Payload) error {
		a, err := generate(ctx, p)
		if err != nil {
			return fmt.Errorf("first Generate: %w", err)
		}
		b, err := generate(ctx, p)
		if err != nil {
			return fmt.Errorf("second Generate: %w", err)
		}
		if d := diffCommands(a, b); d != "" {
			return fmt.Errorf("two calls of Generate differ: %s", d)
		}
		return nil
	}},
	{"cancelled-context", func(ctx context.Context, p payload.Payload) error {
		_, err := generate(cancelled(ctx), p)
		return wantCanceled("Generate", err)
	}},
	{"no-credentials", func(ctx context.Context, p payload.Payload) error {
		cmds, err := generate(ctx, p)
		if err != nil {
			return fmt.Errorf("Generate: %w", err)
		}
		var errs []error
		for _, c := range cmds {
			for _, f := range []struct{ name, text string }{{"Shell", c.Shell}, {"Query", c.Query}, {"Description", c.Description}} {
				if m := FindCredential(f.text); m != "" {
					errs = append(errs, fmt.Errorf("command %q: its %s holds %q, which looks like a credential", c.ID, f.name, m))
				}
			}
		}
		return errors.Join(errs...)
	}},
	{"concurrent-use", func(ctx context.Context, p payload.Payload) error {
		want, err := generate(ctx, p)
		if err != nil {
			return fmt.Errorf("Generate: %w", err)
		}
		return parallel(concurrency, func(i int) error {
			got, err := generate(ctx, p)
			if err != nil {
				return fmt.Errorf("concurrent call %d of Generate: %w", i, err)
			}
			if d := diffCommands(want, got); d != "" {
				return fmt.Errorf("concurrent call %d of Generate differs from a lone call: %s", i, d)
			}
			return nil
		})
	}},
	{"returns-copies", func(ctx context.Context, p payload.Payload) error {
		first, err := generate(ctx, p)
		if err != nil {
			return fmt.Errorf("Generate: %w", err)
		}
		want := slices.Clone(first)
		for i := range first {
			first[i].ID += "-changed"
			first[i].Shell = "changed by diffytest"
		}
		again, err := generate(ctx, p)
		if err != nil {
			return fmt.Errorf("second Generate: %w", err)
		}
		if d := diffCommands(want, again); d != "" {
			return fmt.Errorf("changing what Generate returned changed the next answer: %s", d)
		}
		return nil
	}},
}

func generate(ctx context.Context, p payload.Payload) ([]payload.Command, error) {
	return call("Generate", func() ([]payload.Command, error) { return p.Generate(ctx, Incident) })
}

// diffCommands describes the first difference between a and b, or returns
// "".
func diffCommands(a, b []payload.Command) string {
	if len(a) != len(b) {
		return fmt.Sprintf("%d commands, then %d", len(a), len(b))
	}
	for i := range a {
		switch {
		case a[i].ID != b[i].ID:
			return fmt.Sprintf("command %d is %q, then %q", i, a[i].ID, b[i].ID)
		case a[i] != b[i]:
			return fmt.Sprintf("command %d (%q) is %+v, then %+v", i, a[i].ID, a[i], b[i])
		}
	}
	return ""
}
