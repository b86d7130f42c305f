// Package redact keeps AWS credentials and other secrets out of logs.
//
// Diffy runs on credentials that can reach a whole fleet, and its logs end
// up in tickets, chat and incident reports. NewHandler wraps any
// slog.Handler so that every record's message, attribute values (in groups
// too, and in attributes added with Logger.With) and values of attributes
// whose key names a secret are redacted before the wrapped handler sees
// them. String does the same for one piece of text.
//
// What is redacted, each replaced by Redacted (keeping a recognisable
// prefix where it says what kind of secret it was, never the secret):
//
//   - AWS access key IDs: AKIA..., ASIA..., ABIA..., ACCA... followed by 16
//     upper-case letters or digits (kept as "AKIA[REDACTED]").
//   - Secret access keys: the value after a key or attribute name that
//     contains "secret" (aws_secret_access_key=..., "SecretAccessKey":
//     "...", SecretAccessKey:...), and any standalone 40-character run of
//     base64 letters mixing upper case, lower case and digits, the shape of
//     an AWS secret access key, also at the end of a path or URL, right
//     after a '/' (git's 40-character hex hashes are kept).
//   - Values after names that contain secret, password, passwd,
//     passphrase, token, credential, signature, api key, private key,
//     authorization or cookie, written as name=value, name: value or
//     "name": "value": session tokens, X-Amz-Security-Token headers, the
//     X-Amz-Signature and X-Amz-Credential parameters of presigned URLs.
//     Also JSON inside a JSON string (\"password\":\"...\"), a URL inside
//     a URL, encoded once or twice (X-Amz-Signature%3D...%26,
//     X-Amz-Signature%253D...%2526), and the lists of a header map as Go
//     and JSON print it (Cookie:[...], "Cookie":["..."]).
//   - Authorization header values, to the end of the line.
//   - Bearer tokens, STS session tokens (IQoJb3JpZ2lu..., FwoGZXIvYXdz...)
//     wherever they appear, and PEM private key blocks.
//   - The password of a URL's user information, scheme://user:password@
//     (a database DSN, an HTTPS_PROXY), kept as scheme://user:[REDACTED]@.
//
// In records, an attribute whose key names a secret (SensitiveKey) has its
// value replaced whole, whatever it holds, except booleans, times and
// durations; so do all attributes inside a group so named (slog.Group or
// Logger.WithGroup). Other string values, messages and every text form a
// handler may print of other values go through String: []byte as text,
// errors by Error and by %+v (which an error's fmt.Formatter may make
// longer), TextMarshalers by their text, structs by %+v, %v and JSON.
//
// What is kept: a "name: " followed by words, which is how Go errors chain
// their context ("get credentials: failed to refresh cached
// credentials", "open /etc/passwd: permission denied"), is prose, not a
// value; so are AWS error codes followed by their message ("ExpiredToken:
// The security token ... is expired"). The SDK's own error messages come
// through unchanged (a test checks a corpus of them, made by the SDK).
//
// Redaction works on text patterns: a secret with none of the shapes above,
// under an attribute name that does not say what it is, is not recognised.
// Put credentials in attributes named for what they are.
//
// # Defaults
//
// NewHandler has no options: redaction cannot be turned off on a handler it
// wraps.
//
// # Testing
//
// The handler passes testing/slogtest.TestHandler wrapped around
// slog.JSONHandler; the redaction rules have table tests and a fuzz target
// (FuzzString) checking that a planted secret never survives and that
// redaction is idempotent.
package redact
