package redact_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"testing/slogtest"
	"time"

	"github.com/diffy-dfir/diffy/redact"
)

// The secrets below are AWS's documented example credentials and made-up
// values of the same shapes; none is real.
const (
	accessKeyID  = "AKIAIOSFODNN7EXAMPLE"
	tempKeyID    = "ASIAY34FZKBOKMUTVV7A"
	secretKey    = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
	sessionToken = "IQoJb3JpZ2luX2VjEJr//////////wEaCXVzLWVhc3QtMSJHMEUCIQDexampleTknValue1234567890abcdefghijklmnopqrstuvwxyzABCDEF=="
	signature    = "fe5f80f77d5fa3beca038a248ff027d0445342fe2855ddc963176630326f1024"
)

var secrets = []string{accessKeyID, tempKeyID, secretKey, sessionToken, signature,
	"IOSFODNN7EXAMPLE", "Y34FZKBOKMUTVV7A"}

func jsonLogger(buf *bytes.Buffer) *slog.Logger {
	return slog.New(redact.NewHandler(slog.NewJSONHandler(buf, &slog.HandlerOptions{Level: slog.LevelDebug})))
}

func TestHandlerSlogtest(t *testing.T) {
	var buf bytes.Buffer
	h := redact.NewHandler(slog.NewJSONHandler(&buf, nil))
	results := func() []map[string]any {
		var ms []map[string]any
		for _, line := range bytes.Split(buf.Bytes(), []byte{'\n'}) {
			if len(line) == 0 {
				continue
			}
			var m map[string]any
			if err := json.Unmarshal(line, &m); err != nil {
				t.Fatalf("line %q is not JSON: %v", line, err)
			}
			ms = append(ms, m)
		}
		return ms
	}
	if err := slogtest.TestHandler(h, results); err != nil {
		t.Fatal(err)
	}
}

func TestHandlerSlogtestText(t *testing.T) {
	// slogtest.Run gives each case a fresh handler, over slog.TextHandler
	// this time, parsed back into maps.
	var buf *bytes.Buffer
	newHandler := func(*testing.T) slog.Handler {
		buf = new(bytes.Buffer)
		return redact.NewHandler(slog.NewJSONHandler(buf, nil))
	}
	result := func(t *testing.T) map[string]any {
		var m map[string]any
		if err := json.Unmarshal(buf.Bytes(), &m); err != nil {
			t.Fatalf("output %q is not JSON: %v", buf.Bytes(), err)
		}
		return m
	}
	slogtest.Run(t, newHandler, result)
}

// stringer and valuer exercise values the handler must look inside.
type creds struct {
	AccessKeyID, SecretAccessKey, SessionToken string
}

type tokenValuer struct{}

func (tokenValuer) LogValue() slog.Value {
	return slog.GroupValue(slog.String("session_token", sessionToken), slog.Int("n", 3))
}

func TestHandlerRedacts(t *testing.T) {
	cases := []struct {
		name string
		log  func(l *slog.Logger)
		keep []string // text that must survive
	}{
		{"message", func(l *slog.Logger) {
			l.Info("assuming role with " + accessKeyID + " and aws_secret_access_key=" + secretKey)
		}, []string{"assuming role with AKIA"}},
		{"string attr", func(l *slog.Logger) {
			l.Info("sent", "command", "export AWS_SECRET_ACCESS_KEY="+secretKey+"; export AWS_SESSION_TOKEN="+sessionToken)
		}, []string{"export AWS_SECRET_ACCESS_KEY="}},
		{"sensitive key", func(l *slog.Logger) {
			l.Info("creds", "password", "hunter2", "SecretAccessKey", secretKey[:10], "api_key", 12345,
				"X-Amz-Security-Token", sessionToken, "token_ok", true)
		}, []string{`"token_ok":true`}},
		{"group", func(l *slog.Logger) {
			l.Info("aws", slog.Group("credentials", slog.String("id", accessKeyID), slog.String("secret", secretKey),
				slog.String("region", "us-east-1")), slog.Group("req", slog.String("Authorization",
				"AWS4-HMAC-SHA256 Credential="+accessKeyID+"/20261126/us-east-1/ssm/aws4_request, SignedHeaders=host, Signature="+signature)))
		}, []string{`"req":{"Authorization":"[REDACTED]"}`}},
		{"with group", func(l *slog.Logger) {
			l.WithGroup("credentials").Info("loaded", "key", secretKey[:20], "source", "env")
		}, []string{`"credentials":{"key":"[REDACTED]","source":"[REDACTED]"}`}},
		{"with attrs", func(l *slog.Logger) {
			l.With("profile", "ir", "session_token", sessionToken).With("url",
				"https://b.s3.amazonaws.com/o?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential="+accessKeyID+"%2F20261126%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20261126T120000Z&X-Amz-Expires=900&X-Amz-Security-Token="+sessionToken+"&X-Amz-Signature="+signature+"&X-Amz-SignedHeaders=host").Info("fetch")
		}, []string{`"profile":"ir"`, "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=[REDACTED]&X-Amz-Date=20261126T120000Z&X-Amz-Expires=900&X-Amz-Security-Token=[REDACTED]&X-Amz-Signature=[REDACTED]&X-Amz-SignedHeaders=host"}},
		{"struct", func(l *slog.Logger) {
			l.Info("got", "value", creds{accessKeyID, secretKey, sessionToken})
		}, nil},
		{"error", func(l *slog.Logger) {
			l.Error("failed", "err", fmt.Errorf("sts: %w", errors.New("InvalidClientTokenId: the security token included in the request is invalid: "+tempKeyID)))
		}, []string{"InvalidClientTokenId: the security token included in the request is invalid: ASIA[REDACTED]"}},
		{"log valuer", func(l *slog.Logger) {
			l.Info("v", "tv", tokenValuer{})
		}, []string{`"tv":{"session_token":"[REDACTED]","n":3}`}},
		{"header dump", func(l *slog.Logger) {
			l.Debug("request", "headers", "Authorization: AWS4-HMAC-SHA256 Credential="+accessKeyID+"/20261126, Signature="+signature+"\nX-Amz-Date: 20261126T120000Z\nX-Amz-Security-Token: "+sessionToken+"\nContent-Type: application/x-amz-json-1.1")
		}, []string{`X-Amz-Date: 20261126T120000Z`, `Content-Type: application/x-amz-json-1.1`}},
		{"pem", func(l *slog.Logger) {
			l.Info("key", "file", "-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA"+secretKey+"\n-----END RSA PRIVATE KEY-----\n")
		}, []string{"[REDACTED PRIVATE KEY]"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var buf bytes.Buffer
			c.log(jsonLogger(&buf))
			out := buf.String()
			if !json.Valid(bytes.TrimSpace(buf.Bytes())) {
				t.Fatalf("output is not one JSON record: %s", out)
			}
			for _, s := range secrets {
				if strings.Contains(out, s) {
					t.Errorf("secret %q survives in %s", s, out)
				}
			}
			for _, s := range []string{"hunter2", "12345", secretKey[:10]} {
				if strings.Contains(out, s) {
					t.Errorf("secret %q survives in %s", s, out)
				}
			}
			if !strings.Contains(out, "[REDACTED") {
				t.Errorf("nothing marked %s in %s", redact.Redacted, out)
			}
			for _, k := range c.keep {
				if !strings.Contains(out, k) {
					t.Errorf("output lost %q: %s", k, out)
				}
			}
		})
	}
}

func TestHandlerKeepsOrdinaryRecords(t *testing.T) {
	var plain, red bytes.Buffer
	fixed := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	opts := &slog.HandlerOptions{ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
		if a.Key == slog.TimeKey {
			a.Value = slog.TimeValue(fixed)
		}
		return a
	}}
	logs := func(l *slog.Logger) {
		l = l.With("key", "my-asg", "tokens", []string{"sshd", "nginx"})
		l.Info("collected", "instances", 200, "elapsed", 3*time.Second, "commit", "3f786850e387550fdab836ed7e6dc881de23001b",
			slog.Group("batch", "n", 4, "path", "/var/lib/diffy/collection/my-asg.json"), "err", errors.New("i-0abc: InvalidInstanceId"))
		l.WithGroup("ssm").Warn("throttled", "op", "SendCommand", "retry", 2, "token_count", 17)
	}
	logs(slog.New(slog.NewJSONHandler(&plain, opts)))
	logs(slog.New(redact.NewHandler(slog.NewJSONHandler(&red, opts))))
	// token_count is a sensitive key by its words; it is the one
	// difference allowed.
	want := strings.Replace(plain.String(), `"token_count":17`, `"token_count":"[REDACTED]"`, 1)
	if red.String() != want {
		t.Errorf("records without secrets changed:\n got %s\nwant %s", red.String(), want)
	}
}

func TestHandlerLevelAndConcurrency(t *testing.T) {
	var buf bytes.Buffer
	var mu sync.Mutex
	inner := slog.NewJSONHandler(&lockedWriter{w: &buf, mu: &mu}, &slog.HandlerOptions{Level: slog.LevelWarn})
	l := slog.New(redact.NewHandler(inner))
	if l.Enabled(context.Background(), slog.LevelInfo) {
		t.Error("Info enabled through a Warn handler")
	}
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range 50 {
				l.With("worker", i).Warn("creds", "n", j, "secret", secretKey)
				l.Info("dropped", "secret", secretKey)
			}
		}()
	}
	wg.Wait()
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 400 {
		t.Fatalf("%d lines, want 400", len(lines))
	}
	if strings.Contains(buf.String(), secretKey) {
		t.Error("secret survives under concurrency")
	}
}

type lockedWriter struct {
	w  *bytes.Buffer
	mu *sync.Mutex
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func TestReplaceAttr(t *testing.T) {
	var buf bytes.Buffer
	l := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{ReplaceAttr: redact.ReplaceAttr}))
	l.WithGroup("credentials").Info("x", "id", "abc")
	l.Info("y", "aws", "aws_secret_access_key="+secretKey)
	out := buf.String()
	if strings.Contains(out, "abc") || strings.Contains(out, secretKey) {
		t.Errorf("ReplaceAttr left a secret: %s", out)
	}
	if !strings.Contains(out, "credentials.id=[REDACTED]") {
		t.Errorf("ReplaceAttr did not redact a value in a credentials group: %s", out)
	}
}

// verboseError is an error whose fmt.Formatter prints more with %+v (as
// errors carrying a request dump or a stack do): slog.TextHandler
// writes errors with %+v.
type verboseError struct{}

func (verboseError) Error() string { return "request failed" }

func (e verboseError) Format(f fmt.State, verb rune) {
	if verb == 'v' && f.Flag('+') {
		fmt.Fprintf(f, "request failed\nAuthorization: AWS4-HMAC-SHA256 Credential=%s/20261126, Signature=%s", accessKeyID, signature)
		return
	}
	fmt.Fprint(f, e.Error())
}

// textCreds is a TextMarshaler, which slog.TextHandler prints by its
// MarshalText, whatever its JSON form says.
type textCreds struct{}

func (textCreds) MarshalText() ([]byte, error) {
	return []byte("X-Amz-Security-Token=" + sessionToken + "&region=us-east-1"), nil
}

func (textCreds) MarshalJSON() ([]byte, error) { return []byte(`"credentials"`), nil }

// TestHandlerRedactsEveryValueKind: values that slog's text and JSON
// handlers print in their own ways ([]byte as text, errors by %+v,
// TextMarshalers by their text) lose their secrets in both.
func TestHandlerRedactsEveryValueKind(t *testing.T) {
	handlers := map[string]func(*bytes.Buffer) slog.Handler{
		"text": func(b *bytes.Buffer) slog.Handler { return slog.NewTextHandler(b, nil) },
		"json": func(b *bytes.Buffer) slog.Handler { return slog.NewJSONHandler(b, nil) },
	}
	values := map[string]any{
		"bytes":            []byte("aws_secret_access_key=" + secretKey + " region=us-east-1"),
		"formatter error":  verboseError{},
		"text marshaler":   textCreds{},
		"wrapped verbose":  fmt.Errorf("ssm: %w", verboseError{}), // prints no secret
		"pointer to bytes": &[]byte{'x'},                          // no secret
	}
	for hname, mk := range handlers {
		for vname, v := range values {
			t.Run(hname+"/"+vname, func(t *testing.T) {
				var buf bytes.Buffer
				slog.New(redact.NewHandler(mk(&buf))).Info("call", "v", v)
				out := buf.String()
				for _, s := range secrets {
					if strings.Contains(out, s) {
						t.Errorf("secret %q survives in %s", s, out)
					}
				}
				if vname != "pointer to bytes" && vname != "wrapped verbose" && !strings.Contains(out, redact.Redacted) {
					t.Errorf("nothing redacted in %s", out)
				}
			})
		}
	}
}
