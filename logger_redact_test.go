package diffy_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"

	"github.com/diffy-dfir/diffy"
	"github.com/diffy-dfir/diffy/collect"
	"github.com/diffy-dfir/diffy/diffytest"
	"github.com/diffy-dfir/diffy/payload"
	"github.com/diffy-dfir/diffy/persist"
	"github.com/diffy-dfir/diffy/target"
)

// TestLoggerIsRedacted: whatever handler the caller gives WithLogger,
// Diffy's records reach it through redact.NewHandler. The key and a
// collector's error carry AWS's documented example credentials here.
func TestLoggerIsRedacted(t *testing.T) {
	const keyID, secret = "AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
	var buf bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	key := "asg-" + keyID
	d, err := diffy.New(
		diffy.WithLogger(logger),
		diffy.WithTarget(target.StaticIDs(key, "i-1", "i-2")),
		diffy.WithPayload(payload.Commands{{ID: "env", Shell: "env"}}),
		diffy.WithCollector(diffytest.CollectorFunc(func(ctx context.Context, insts []target.Instance, cmds []payload.Command) ([]collect.Result, error) {
			return nil, errors.New("agent said: AWS_SECRET_ACCESS_KEY=" + secret)
		})),
		diffy.WithStore(&persist.Memory{}),
		diffy.WithBatchSize(1),
	)
	if err != nil {
		t.Fatal(err)
	}
	_, err = d.Collect(context.Background(), key)
	if err == nil {
		t.Fatal("Collect with a failing collector succeeded")
	}
	out := buf.String()
	if out == "" {
		t.Fatal("Diffy logged nothing")
	}
	if strings.Contains(out, keyID) || strings.Contains(out, secret) {
		t.Errorf("a secret reached the caller's handler:\n%s", out)
	}
	if !strings.Contains(out, "AKIA[REDACTED]") {
		t.Errorf("the key is not in the log, redacted:\n%s", out)
	}
}
