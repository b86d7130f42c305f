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
	// the separator: name=, name: , "name": , 'name': , the JSON-escaped
	// \"name\": of JSON inside a JSON string, and the URL-encoded
	// name%3D and name%253D of a URL inside a URL (once or twice encoded).
	keyed = regexp.MustCompile(`(?i)[A-Za-z0-9_.\-]*(?:secret|passw(?:or)?d|passphrase|token|credential|signature|api[_\-]?key|private[_\-]?key|authorization|cookie)[A-Za-z0-9_.\-]*(?:\\?["'])?[ \t]*(?:[:=]|%3D|%253D)[ \t]*`)

	// stsToken matches STS session tokens by their fixed base64 prefixes.
	stsToken = regexp.MustCompile(`(?:IQoJb3JpZ2lu|AgoJb3JpZ2lu|FwoGZXIvYXdz|FQoGZXIvYXdz|AQoDYXdz)[A-Za-z0-9/+=%]+`)

	// bearer matches an HTTP bearer token.
	bearer = regexp.MustCompile(`(?i)\bbearer[ \t]+[A-Za-z0-9._~+/=\-]+`)

	// accessKeyID matches AWS access key IDs, long-term and temporary.
	accessKeyID = regexp.MustCompile(`(AKIA|ASIA|ABIA|ACCA)[A-Z0-9]{16}`)

	// urlPassword matches the password of a URL's user information
	// (scheme://user:password@host: a database DSN, a proxy URL); the
	// first group is what comes before it, kept. A password's "/" and "@"
	// are percent-encoded in a URL, so neither ends one early.
	urlPassword = regexp.MustCompile(`(\b[A-Za-z][A-Za-z0-9+.\-]*://[^\s/?#@:"'<>]*:)[^\s/?#@"'<>]+@`)
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
		s = bearer.ReplaceAllStringFunc(s, redactBearer)
	}
	if containsAny(s, keyIDPrefixes) {
		s = accessKeyID.ReplaceAllString(s, "${1}"+Redacted)
	}
	if strings.Contains(s, "://") && strings.Contains(s, "@") {
		s = urlPassword.ReplaceAllString(s, "${1}"+Redacted+"@")
	}
	return redactSecretKeys(s)
}

// maxBearerWord is the longest word after "bearer" read as prose: "bearer
// token", "Bearer TOKEN" (a placeholder), "bearer authentication" are
// words of one case; a credential of 16 letters of one case would carry
// at most 75 bits, less than any issuer gives.
const maxBearerWord = 16

// redactBearer redacts the credential of a bearer match, unless what
// follows "bearer" is a word of one case (prose, or a placeholder).
func redactBearer(m string) string {
	v := strings.TrimLeft(m[len("bearer"):], " \t")
	if len(v) <= maxBearerWord && (strings.Trim(v, "abcdefghijklmnopqrstuvwxyz") == "" || strings.Trim(v, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") == "") {
		return m
	}
	return "Bearer " + Redacted
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
		match := strings.ToLower(s[start:end])
		toEOL := strings.Contains(match, "authorization")
		if !toEOL && prose(s, end) {
			last = end
			continue
		}
		vEnd := valueEnd(s, end, toEOL, encodedAmp(match))
		switch open, close := enclosing(s[end:vEnd]); {
		case vEnd == end:
			// No value (name= at the end, or before a delimiter).
		case open != "":
			b.WriteString(open)
			b.WriteString(Redacted)
			b.WriteString(close)
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

// prose reports whether the text at i, right after a keyed name and its
// separator, reads as a sentence rather than a value: the separator is a
// colon and a space, and a word of letters follows, then a space and
// another word or a path. That is how Go errors chain their context
// ("get credentials: failed to refresh cached credentials", "open
// /etc/passwd: permission denied", "token: open /var/run/token: no such
// file"); a value (a key, a token, a password with a digit or a symbol in
// it) is one run of characters.
func prose(s string, i int) bool {
	if i < 2 || s[i-1] != ' ' && s[i-1] != '\t' || !strings.Contains(s[max(0, i-4):i], ":") {
		return false
	}
	j := i
	for j < len(s) && isLetter(s[j]) {
		j++
	}
	return j > i && j+1 < len(s) && s[j] == ' ' && (isLetter(s[j+1]) || s[j+1] == '/')
}

func isLetter(c byte) bool { return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' }

// encodedAmp returns how a keyed match's separator says the '&' that ends
// its value is written: "%26" after name%3D, "%2526" after name%253D, ""
// after a plain separator.
func encodedAmp(match string) string {
	switch {
	case strings.Contains(match, "%253d"):
		return "%2526"
	case strings.Contains(match, "%3d"):
		return "%26"
	}
	return ""
}

// enclosing returns the quotes or brackets around a value, to keep them
// around Redacted: " ", ' ', \" \" (JSON in a JSON string), [ ] (a
// header map's list), or nothing.
func enclosing(v string) (open, close string) {
	for _, q := range []string{`\"`, `\'`, `"`, `'`} {
		if strings.HasPrefix(v, q) {
			if len(v) >= 2*len(q) && strings.HasSuffix(v, q) {
				return q, q
			}
			return q, ""
		}
	}
	if strings.HasPrefix(v, "[") && v != Redacted {
		open = "["
		if len(v) > 1 && (v[1] == '"' || v[1] == '\'') {
			open = v[:2] // a JSON or Python list of strings
		}
		if len(v) >= 2*len(open) && strings.HasSuffix(v, "]") {
			close = "]"
			if len(open) == 2 && v[len(v)-2] == open[1] {
				close = open[1:] + "]"
			}
		}
		return open, close
	}
	return "", ""
}

// valueEnd returns the end of the value starting at i: a quoted value to
// its closing quote (\"...\" when escaped), a bracketed list to its
// closing bracket, an Authorization value (toEOL) to the end of the line,
// any other value to the next space or delimiter, or to amp (the
// URL-encoded '&' of a value in an encoded URL).
func valueEnd(s string, i int, toEOL bool, amp string) int {
	if i >= len(s) {
		return i
	}
	if strings.HasPrefix(s[i:], Redacted) {
		return i + len(Redacted) // redacted already
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
	if i+1 < len(s) && s[i] == '\\' && (s[i+1] == '"' || s[i+1] == '\'') {
		q := s[i : i+2]
		if k := strings.Index(s[i+2:], q); k >= 0 && !strings.ContainsAny(s[i+2:i+2+k], "\n\r") {
			return i + 2 + k + 2
		}
	}
	if s[i] == '[' {
		depth := 0
		for j := i; j < len(s); j++ {
			switch s[j] {
			case '[':
				depth++
			case ']':
				if depth--; depth == 0 {
					return j + 1
				}
			case '\n', '\r':
				return j
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
		if amp != "" && len(s)-j >= len(amp) && strings.EqualFold(s[j:j+len(amp)], amp) {
			break
		}
		if c == '\\' && j+1 < len(s) && (s[j+1] == '"' || s[j+1] == '\'') {
			break // the end of a JSON-escaped string the value is in
		}
		j++
	}
	return j
}

// redactSecretKeys replaces 40-character base64 runs that mix upper
// case, lower case and digits as randomly as an AWS secret access key
// does (minKeyClassChanges), when they stand alone: the whole run, or a part of a longer run that
// starts right after a '/' and ends at the run's end or right before a
// '/' (a key at the end of a path or URL, which may hold '/' itself, up
// to maxKeySlashes of them).
func redactSecretKeys(s string) string {
	var b strings.Builder
	last := 0
	for i := 0; i < len(s); {
		if !isBase64(s[i]) {
			i++
			continue
		}
		j := i
		for j < len(s) && isBase64(s[j]) {
			j++
		}
		for p := i; p+secretKeyLen <= j; p++ {
			if p > i && s[p-1] != '/' || s[p] == '/' {
				continue
			}
			e := p + secretKeyLen
			whole := p == i && e == j
			if (e == j || s[e] == '/') && mixed(s[p:e]) && classChanges(s[p:e]) >= minKeyClassChanges &&
				(whole || strings.Count(s[p:e], "/") <= maxKeySlashes) {
				b.WriteString(s[last:p])
				b.WriteString(Redacted)
				last, p = e, e-1
			}
		}
		i = j
	}
	if last == 0 {
		return s
	}
	b.WriteString(s[last:])
	return b.String()
}

// secretKeyLen is the length of an AWS secret access key.
const secretKeyLen = 40

// maxKeySlashes is the most '/' a secret key found inside a longer run
// (after a '/') may hold. A key is 40 random base64 characters, each '/'
// with probability 1/64: 97.6% of keys hold at most 2; a path of 40
// characters usually holds more (tmp/TestDemoFormats3802392503/002/no/dir
// holds 4), and is not a key. A run that is exactly a key is redacted
// whatever it holds.
const maxKeySlashes = 2

// minKeyClassChanges is how many times the characters of a run must
// change class (upper case, lower case, digit, symbol) to be taken for a
// secret key. A random 40-character base64 key changes 25 times on
// average; of 100,000 random keys, 99.9% changed at least 15 times and 1%
// fewer than 18 (AWS's documentation example, with EXAMPLEKEY in it, 16).
// File names made of words change far less: of the 40-character runs
// after a '/' in the 190,000 paths under /usr and a Go module cache, 1.5%
// changed 16 times or more. (A key next to its name, as in
// aws_secret_access_key=..., is redacted by its name whatever it looks
// like.)
const minKeyClassChanges = 16

// classChanges counts the places where s changes character class.
func classChanges(s string) int {
	n := 0
	for i := 1; i < len(s); i++ {
		if charClass(s[i]) != charClass(s[i-1]) {
			n++
		}
	}
	return n
}

func charClass(c byte) int {
	switch {
	case 'A' <= c && c <= 'Z':
		return 0
	case 'a' <= c && c <= 'z':
		return 1
	case '0' <= c && c <= '9':
		return 2
	}
	return 3
}

// mixed reports whether s has upper case, lower case and digits.
func mixed(s string) bool {
	var upper, lower, digit bool
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case 'A' <= c && c <= 'Z':
			upper = true
		case 'a' <= c && c <= 'z':
			lower = true
		case '0' <= c && c <= '9':
			digit = true
		}
	}
	return upper && lower && digit
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
