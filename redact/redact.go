package redact

import (
	"regexp"
	"strings"
	"unicode"
)

// Redacted replaces every secret that String and NewHandler remove.
const Redacted = "[REDACTED]"

var (
	// pemKey matches a PEM private key block, or its start when it was cut.
	pemKey = regexp.MustCompile(`-----BEGIN[ A-Z0-9]*PRIVATE KEY-----(?s:.*?)(?:-----END[ A-Z0-9]*PRIVATE KEY-----|$)`)

	// keyed matches a name that marks the value after it as secret, and
	// the separator: name=, name: , "name": , 'name': .
	keyed = regexp.MustCompile(`(?i)[A-Za-z0-9_.\-]*(?:secret|passw(?:or)?d|passphrase|token|credential|signature|api[_\-]?key|private[_\-]?key|authorization|cookie)[A-Za-z0-9_.\-]*["']?[ \t]*[:=][ \t]*`)

	// stsToken matches STS session tokens by their fixed base64 prefixes.
	stsToken = regexp.MustCompile(`(?:IQoJb3JpZ2lu|AgoJb3JpZ2lu|FwoGZXIvYXdz|FQoGZXIvYXdz|AQoDYXdz)[A-Za-z0-9/+=%]+`)

	// bearer matches an HTTP bearer token.
	bearer = regexp.MustCompile(`(?i)\bbearer[ \t]+[A-Za-z0-9._~+/=\-]+`)

	// accessKeyID matches AWS access key IDs, long-term and temporary.
	accessKeyID = regexp.MustCompile(`(AKIA|ASIA|ABIA|ACCA)[A-Z0-9]{16}`)
)

// String returns s with every secret of the kinds listed in the package
// documentation replaced by Redacted. It is idempotent: String(String(s))
// == String(s). Text without secrets comes back unchanged.
func String(s string) string {
	// Cheap literal checks first: most log text has none of the patterns,
	// and regexp matching costs about a microsecond per byte.
	lower := strings.ToLower(s)
	if strings.Contains(s, "PRIVATE KEY-----") {
		s = pemKey.ReplaceAllLiteralString(s, "[REDACTED PRIVATE KEY]")
	}
	if containsAny(lower, keyedWords) {
		s = redactKeyed(s)
	}
	if containsAny(s, stsPrefixes) {
		s = stsToken.ReplaceAllLiteralString(s, Redacted)
	}
	if strings.Contains(lower, "bearer") {
		s = bearer.ReplaceAllLiteralString(s, "Bearer "+Redacted)
	}
	if containsAny(s, keyIDPrefixes) {
		s = accessKeyID.ReplaceAllString(s, "${1}"+Redacted)
	}
	return redactSecretKeys(s)
}

// The literals that the patterns above need, for the cheap checks.
var (
	keyedWords    = []string{"secret", "passw", "passphrase", "token", "credential", "signature", "key", "authorization", "cookie"}
	stsPrefixes   = []string{"IQoJb3JpZ2lu", "AgoJb3JpZ2lu", "FwoGZXIvYXdz", "FQoGZXIvYXdz", "AQoDYXdz"}
	keyIDPrefixes = []string{"AKIA", "ASIA", "ABIA", "ACCA"}
)

func containsAny(s string, subs []string) bool {
	for _, sub := range subs {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}

// redactKeyed replaces the value after each keyed name: a quoted value up
// to its closing quote (quotes kept), an Authorization value to the end of
// the line, any other value up to the next space or delimiter.
func redactKeyed(s string) string {
	locs := keyed.FindAllStringIndex(s, -1)
	if locs == nil {
		return s
	}
	var b strings.Builder
	last := 0
	for _, loc := range locs {
		start, end := loc[0], loc[1]
		if start < last {
			continue // inside a value already redacted
		}
		b.WriteString(s[last:end])
		if errorCode(s[start:end]) {
			last = end
			continue
		}
		name := strings.ToLower(s[start:end])
		vEnd := valueEnd(s, end, strings.Contains(name, "authorization"))
		switch {
		case vEnd == end:
			// No value (name= at the end, or before a delimiter).
		case s[end] == '"' || s[end] == '\'':
			b.WriteByte(s[end])
			b.WriteString(Redacted)
			if vEnd-1 > end && s[vEnd-1] == s[end] {
				b.WriteByte(s[end])
			}
		default:
			b.WriteString(Redacted)
		}
		last = vEnd
	}
	b.WriteString(s[last:])
	return b.String()
}

// awsErrorCodes are AWS API error codes whose names contain a keyed word;
// "ExpiredToken: The security token ... is expired" is the error's text,
// not a secret, and is what an operator needs to read.
var awsErrorCodes = map[string]bool{
	"InvalidClientTokenId": true, "ExpiredToken": true, "ExpiredTokenException": true,
	"InvalidToken": true, "SignatureDoesNotMatch": true, "IncompleteSignature": true,
	"InvalidSignatureException": true, "MissingAuthenticationToken": true,
	"MissingAuthenticationTokenException": true, "InvalidIdentityToken": true,
	"IDPCommunicationError": true, "InvalidAuthorizationMessageException": true,
	"TokenRefreshRequired": true, "InvalidToken.Malformed": true, "AuthFailure.TokenExpired": true,
	"UnauthorizedOperation.TokenExpired": true, "InvalidTokenException": true,
}

// errorCode reports whether a keyed match (name plus separator) is an AWS
// error code followed by its message.
func errorCode(match string) bool {
	name := strings.TrimRight(match, " \t:=\"'")
	return awsErrorCodes[name] && strings.Contains(match, ":")
}

// valueEnd returns the end of the value starting at i.
func valueEnd(s string, i int, toEOL bool) int {
	if i >= len(s) {
		return i
	}
	if q := s[i]; q == '"' || q == '\'' {
		for j := i + 1; j < len(s); j++ {
			switch s[j] {
			case '\\':
				j++
			case q:
				return j + 1
			case '\n':
				if !toEOL {
					return j
				}
			}
		}
		return len(s)
	}
	j := i
	for j < len(s) {
		c := s[j]
		if c == '\n' || c == '\r' {
			break
		}
		if !toEOL && (c == ' ' || c == '\t' || strings.IndexByte(`&,;"'<>()[]{}`, c) >= 0) {
			break
		}
		j++
	}
	return j
}

// redactSecretKeys replaces standalone 40-character base64 runs that mix
// upper case, lower case and digits: the shape of an AWS secret access key.
func redactSecretKeys(s string) string {
	var b strings.Builder
	last := 0
	for i := 0; i < len(s); {
		if !isBase64(s[i]) {
			i++
			continue
		}
		j := i
		var upper, lower, digit bool
		for ; j < len(s) && isBase64(s[j]); j++ {
			switch c := s[j]; {
			case 'A' <= c && c <= 'Z':
				upper = true
			case 'a' <= c && c <= 'z':
				lower = true
			case '0' <= c && c <= '9':
				digit = true
			}
		}
		if j-i == 40 && s[i] != '/' && upper && lower && digit {
			b.WriteString(s[last:i])
			b.WriteString(Redacted)
			last = j
		}
		i = j
	}
	if last == 0 {
		return s
	}
	b.WriteString(s[last:])
	return b.String()
}

func isBase64(c byte) bool {
	return 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '/' || c == '+'
}

// SensitiveKey reports whether an attribute key (or a group name) says its
// value is a secret: its words, split at punctuation and case changes,
// include secret, password, passwd, pwd, passphrase, token, credential(s),
// creds, signature, authorization or cookie, or "api key", "private key"
// run together. "tokens" (a list of words, say) is not sensitive.
func SensitiveKey(key string) bool {
	words := splitWords(key)
	for i, w := range words {
		switch w {
		case "secret", "secrets", "password", "passwords", "passwd", "pwd", "passphrase",
			"token", "credential", "credentials", "creds", "signature", "authorization",
			"cookie", "apikey", "privatekey", "sessiontoken", "securitytoken", "accesstoken",
			"refreshtoken", "secretkey", "secretaccesskey":
			return true
		case "key":
			if i > 0 && (words[i-1] == "api" || words[i-1] == "private") {
				return true
			}
		}
	}
	return false
}

// splitWords splits key into lower-case words at non-alphanumerics and at
// case changes ("XAmzSecurityToken" → x amz security token, "APIKey" →
// api key).
func splitWords(key string) []string {
	var words []string
	var cur []rune
	flush := func() {
		if len(cur) > 0 {
			words = append(words, strings.ToLower(string(cur)))
			cur = cur[:0]
		}
	}
	rs := []rune(key)
	for i, r := range rs {
		if !unicode.IsLetter(r) && !unicode.IsDigit(r) {
			flush()
			continue
		}
		if unicode.IsUpper(r) && len(cur) > 0 {
			prev := cur[len(cur)-1]
			nextLower := i+1 < len(rs) && unicode.IsLower(rs[i+1])
			if unicode.IsLower(prev) || unicode.IsDigit(prev) || (unicode.IsUpper(prev) && nextLower) {
				flush()
			}
		}
		cur = append(cur, r)
	}
	flush()
	return words
}
