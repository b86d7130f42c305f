// Package cli holds what the example commands, examples/diffy and
// examples/diffy-demo, share: the interrupt handling, the exit status and
// its one-line, terminal-safe, redacted message, usage errors, the capture
// of a crash, the logger and the analyzers by name. It is internal to the
// examples: a library user wires Diffy with its own options.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"syscall"

	"github.com/diffy-dfir/diffy/analyze"
	"github.com/diffy-dfir/diffy/redact"
	"github.com/diffy-dfir/diffy/render"
)

// NotifyContext returns a context cancelled by the first Ctrl-C (or
// SIGTERM): the run then stores what it collected and says how to resume.
// The default handling is back after it, so a second Ctrl-C ends the
// program at once. Call stop when the run ends.
func NotifyContext() (ctx context.Context, stop context.CancelFunc) {
	ctx, stop = signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	go func() {
		<-ctx.Done()
		stop()
	}()
	return ctx, stop
}

// UsageError is a mistake in the command line: exit status 2.
type UsageError struct{ Msg string }

// Error returns the message.
func (e *UsageError) Error() string { return e.Msg }

// Usagef returns a *UsageError with the formatted message.
func Usagef(format string, a ...any) error {
	return &UsageError{Msg: fmt.Sprintf(format, a...)}
}

// Exit prints err as one line "PROG: MESSAGE" on stderr (see OneLine) and
// returns the exit status: 0 for no error, 2 for a usage error, 1
// otherwise.
func Exit(stderr io.Writer, prog string, err error) int {
	if err == nil {
		return 0
	}
	fmt.Fprintf(stderr, "%s: %s\n", prog, OneLine(err.Error()))
	var ue *UsageError
	if errors.As(err, &ue) {
		return 2
	}
	return 1
}

// InternalError turns a panic (a bug) of program prog into an error whose
// one line says where its stack trace was saved, so that the user sees no
// trace.
func InternalError(prog string, v any) error {
	where := "stack trace not saved"
	if f, err := os.CreateTemp("", prog+"-crash-*.txt"); err == nil {
		fmt.Fprintf(f, "panic: %v\n\n%s", v, debug.Stack())
		f.Close()
		where = "stack trace in " + f.Name()
	}
	return fmt.Errorf("internal error: %v (%s; please report it)", v, where)
}

// OneLine makes a message one terminal-safe line, with secrets redacted.
func OneLine(msg string) string {
	msg = strings.Join(strings.Fields(strings.ReplaceAll(msg, "\n", "; ")), " ")
	return render.Escape(redact.String(msg))
}

// NewLogger returns the commands' logger: "level=LEVEL msg=... key=value"
// lines on stderr, from level up, without the time. (diffy.WithLogger puts
// it behind redact.NewHandler, so no AWS secret is logged.)
func NewLogger(stderr io.Writer, level slog.Level) *slog.Logger {
	return slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{
		Level: level,
		ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
			if len(groups) == 0 && a.Key == slog.TimeKey {
				return slog.Attr{}
			}
			return a
		},
	}))
}

// NewAnalyzer returns the analyzer of an --analyzer name, "baseline" or
// "cluster"; another name is a usage error.
func NewAnalyzer(name string) (analyze.Analyzer, error) {
	switch name {
	case "baseline":
		return analyze.Baseline{}, nil
	case "cluster":
		return analyze.Clustering{}, nil
	}
	return nil, Usagef("unknown --analyzer %q", name)
}
