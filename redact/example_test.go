package redact_test

import (
	"fmt"
	"log/slog"
	"os"

	"github.com/diffy-dfir/diffy/redact"
)

func ExampleNewHandler() {
	// Drop the time so the output is the same on every run.
	noTime := func(_ []string, a slog.Attr) slog.Attr {
		if a.Key == slog.TimeKey {
			return slog.Attr{}
		}
		return a
	}
	logger := slog.New(redact.NewHandler(slog.NewTextHandler(os.Stdout, &slog.HandlerOptions{ReplaceAttr: noTime})))

	logger.Info("assumed role", "access_key_id", "ASIAY34FZKBOKMUTVV7A",
		"session_token", "IQoJb3JpZ2luX2VjEJr//////////wEaCXVzLWVhc3QtMSJHMEUCIQD")
	logger.Warn("retrying", "url", "https://b.s3.amazonaws.com/o?X-Amz-Expires=900&X-Amz-Signature=fe5f80f77d5fa3be")
	// Output:
	// level=INFO msg="assumed role" access_key_id=ASIA[REDACTED] session_token=[REDACTED]
	// level=WARN msg=retrying url="https://b.s3.amazonaws.com/o?X-Amz-Expires=900&X-Amz-Signature=[REDACTED]"
}

func ExampleString() {
	fmt.Println(redact.String("export AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"))
	fmt.Println(redact.String("api error ExpiredToken: The security token included in the request is expired"))
	// Output:
	// export AWS_ACCESS_KEY_ID=AKIA[REDACTED] AWS_SECRET_ACCESS_KEY=[REDACTED]
	// api error ExpiredToken: The security token included in the request is expired
}
