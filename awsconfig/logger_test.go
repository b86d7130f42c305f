package awsconfig_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"github.com/diffy-dfir/diffy/awsconfig"
)

// TestSDKLogsAtDebug: what the SDK logs goes to Options.Logger at debug
// level, not to stderr; with no Logger it is dropped. Here the SDK's
// warning that IMDS refused a session token and it falls back to IMDSv1,
// from an instance metadata endpoint on loopback that answers every
// request 403 (the credential chain reaches it for want of any other
// credentials).
func TestSDKLogsAtDebug(t *testing.T) {
	imds := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "forbidden", http.StatusForbidden)
	}))
	defer imds.Close()
	dir := t.TempDir()
	for k, v := range map[string]string{"AWS_EC2_METADATA_SERVICE_ENDPOINT": imds.URL, "AWS_CONFIG_FILE": dir + "/none",
		"AWS_SHARED_CREDENTIALS_FILE": dir + "/none", "AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": "", "AWS_SESSION_TOKEN": "",
		"AWS_PROFILE": "", "AWS_WEB_IDENTITY_TOKEN_FILE": "", "AWS_CONTAINER_CREDENTIALS_FULL_URI": "",
		"AWS_CONTAINER_CREDENTIALS_RELATIVE_URI": "", "AWS_EC2_METADATA_DISABLED": ""} {
		t.Setenv(k, v)
	}
	var logs bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	stderr := captureStderr(t)
	for _, l := range []*slog.Logger{logger, nil} {
		cfg, err := awsconfig.Load(context.Background(), awsconfig.Options{Region: "us-east-1", MaxAttempts: 1, Logger: l})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := cfg.Credentials.Retrieve(context.Background()); err == nil {
			t.Fatal("credentials from an IMDS that refuses everything")
		}
	}
	if got := stderr(); got != "" {
		t.Errorf("the SDK wrote to stderr: %q", got)
	}
	if !strings.Contains(logs.String(), "level=DEBUG") || !strings.Contains(logs.String(), "IMDSv1") {
		t.Errorf("the SDK's warning is not in the logger at debug level: %q", logs.String())
	}
}

// captureStderr redirects os.Stderr until the returned function, which
// gives what was written, is called.
func captureStderr(t *testing.T) func() string {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	old := os.Stderr
	os.Stderr = w
	done := make(chan string)
	go func() {
		b, _ := io.ReadAll(r)
		done <- string(b)
	}()
	return func() string {
		os.Stderr = old
		w.Close()
		return <-done
	}
}
