package diffytest

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"sync"
	"testing"
	"time"
)

// HangTimeout is how long a suite waits for one call of the plugin to
// return before it reports the call as hung. It is not a performance
// requirement: it only keeps a plugin that never returns (for instance one
// that ignores a cancelled context) from blocking the suite forever.
const HangTimeout = 30 * time.Second

// hangTimeout is HangTimeout; diffytest's own tests shorten it to prove that
// a hang is reported.
var hangTimeout = HangTimeout

// A Violation is one rule of a suite that a plugin broke. The Check
// functions return every Violation of a run joined with errors.Join; the
// Test functions report each one in the subtest of its rule.
type Violation struct {
	// Suite names the interface: "Target", "Payload", "Collector",
	// "Store", "Analyzer" or "Inventory".
	Suite string
	// Rule is the rule's name, as the subtest is named
	// ("one-result-per-pair").
	Rule string
	// Err says how the rule was broken.
	Err error
}

// Error returns "diffytest: SUITE rule RULE: ERR".
func (v *Violation) Error() string {
	return fmt.Sprintf("diffytest: %s rule %s: %v", v.Suite, v.Rule, v.Err)
}

// Unwrap returns v.Err.
func (v *Violation) Unwrap() error { return v.Err }

// Violations returns the Violations held in err, as a Check function
// returns it (a Violation or an errors.Join of them), in order. It returns
// nil for a nil error.
func Violations(err error) []*Violation {
	var out []*Violation
	var walk func(error)
	walk = func(e error) {
		if e == nil {
			return
		}
		if v, ok := e.(*Violation); ok {
			out = append(out, v)
			return
		}
		if j, ok := e.(interface{ Unwrap() []error }); ok {
			for _, x := range j.Unwrap() {
				walk(x)
			}
			return
		}
		walk(errors.Unwrap(e))
	}
	walk(err)
	return out
}

// BrokenRules returns the names of the rules that err (as a Check function
// returns it) says were broken, in order, each once.
func BrokenRules(err error) []string {
	var names []string
	seen := map[string]bool{}
	for _, v := range Violations(err) {
		if !seen[v.Rule] {
			seen[v.Rule] = true
			names = append(names, v.Rule)
		}
	}
	return names
}

// errSkip is returned by a rule that does not apply to the plugin under
// test (an optional part of the harness is not set). The Test functions
// skip its subtest; the Check functions ignore it.
type errSkip struct{ why string }

func (e errSkip) Error() string { return "skipped: " + e.why }

func skip(why string) error { return errSkip{why} }

// rule is one named rule of a suite, checked on a fresh harness.
type rule[H any] struct {
	name  string
	check func(ctx context.Context, h H) error
}

// runTest runs every rule as a subtest of t, each on a fresh harness made
// by newH.
func runTest[H any](t *testing.T, suite string, rules []rule[H], newH func(*testing.T) H) {
	t.Helper()
	for _, r := range rules {
		t.Run(r.name, func(t *testing.T) {
			h := newH(t)
			if err := validHarness(h); err != nil {
				t.Fatal(err)
			}
			err := r.check(t.Context(), h)
			var s errSkip
			switch {
			case err == nil:
			case errors.As(err, &s):
				t.Skip(s.why)
			default:
				t.Error((&Violation{Suite: suite, Rule: r.name, Err: err}).Error())
			}
		})
	}
}

// runCheck runs every rule on a fresh harness made by newH and joins the
// violations.
func runCheck[H any](suite string, rules []rule[H], newH func() (H, error)) error {
	var errs []error
	for _, r := range rules {
		h, err := newH()
		if err != nil {
			errs = append(errs, &Violation{Suite: suite, Rule: r.name, Err: fmt.Errorf("the harness constructor failed: %w", err)})
			continue
		}
		if err := validHarness(h); err != nil {
			errs = append(errs, &Violation{Suite: suite, Rule: r.name, Err: err})
			continue
		}
		err = r.check(context.Background(), h)
		var s errSkip
		if err != nil && !errors.As(err, &s) {
			errs = append(errs, &Violation{Suite: suite, Rule: r.name, Err: err})
		}
	}
	return errors.Join(errs...)
}

// validHarness checks a harness that can tell what it lacks, so that a
// harness mistake is reported as one, not as a broken rule.
func validHarness(h any) error {
	if v, ok := h.(interface{ validate() error }); ok {
		if err := v.validate(); err != nil {
			return fmt.Errorf("diffytest: the harness is incomplete: %w", err)
		}
	}
	if h == nil {
		return errors.New("diffytest: the harness constructor returned nil")
	}
	return nil
}

// call runs f in its own goroutine and waits for it for at most
// hangTimeout. A panic in f, or f not returning in time, is an error naming
// what was called. A hung f is left running: there is no way to stop it.
func call[T any](what string, f func() (T, error)) (T, error) {
	type outcome struct {
		v   T
		err error
		pan error
	}
	ch := make(chan outcome, 1)
	go func() {
		var o outcome
		defer func() {
			if p := recover(); p != nil {
				o.pan = fmt.Errorf("%s panicked: %v\n%s", what, p, debug.Stack())
			}
			ch <- o
		}()
		o.v, o.err = f()
	}()
	timer := time.NewTimer(hangTimeout)
	defer timer.Stop()
	select {
	case o := <-ch:
		if o.pan != nil {
			var zero T
			return zero, &callError{o.pan}
		}
		return o.v, o.err
	case <-timer.C:
		var zero T
		return zero, &callError{fmt.Errorf("%s did not return within %v: it hangs", what, hangTimeout)}
	}
}

// callError is a failure of the call itself (a panic, a hang), as opposed
// to an error the plugin returned. Rules report it as it is.
type callError struct{ err error }

func (e *callError) Error() string { return e.err.Error() }

// asCallError returns err when it is a callError (the plugin panicked or
// hung), else nil.
func asCallError(err error) error {
	var c *callError
	if errors.As(err, &c) {
		return c
	}
	return nil
}

// cancelled returns a context that is already cancelled.
func cancelled(parent context.Context) context.Context {
	ctx, cancel := context.WithCancel(parent)
	cancel()
	return ctx
}

// wantCanceled checks that op, called with a cancelled context, failed
// with an error matching context.Canceled.
func wantCanceled(op string, err error) error {
	switch {
	case asCallError(err) != nil:
		return err
	case err == nil:
		return fmt.Errorf("%s with a cancelled context returned no error, want one matching context.Canceled", op)
	case !errors.Is(err, context.Canceled):
		return fmt.Errorf("%s with a cancelled context returned %v, which does not match context.Canceled", op, err)
	}
	return nil
}

// concurrency is how many goroutines the concurrent-use rules run at once.
const concurrency = 4

// parallel runs f(0) to f(n-1) in n goroutines at once and joins their
// errors.
func parallel(n int, f func(i int) error) error {
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() { errs[i] = f(i) })
	}
	wg.Wait()
	return errors.Join(errs...)
}
