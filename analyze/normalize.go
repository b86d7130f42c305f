package analyze

import (
	"net/netip"
	"slices"
	"strings"

	"github.com/diffy-dfir/diffy/collect"
	"github.com/diffy-dfir/diffy/payload"
)

// The placeholders NormalizeText puts in place of per-host tokens.
const (
	TokenIP   = "<ip>"   // an IPv4 or IPv6 address
	TokenUUID = "<uuid>" // a UUID
	TokenID   = "<id>"   // an EC2 instance ID (i-0123abcd, i-0123456789abcdef0)
	TokenHost = "<host>" // an EC2 host name (ip-10-0-1-2, with its domain)
	TokenHex  = "<hex>"  // a run of 12 or more hex digits, one a decimal digit at least
	TokenNum  = "<num>"  // a run of 6 to 11 decimal digits
	TokenPort = "<port>" // a number of the Linux ephemeral port range, 32768-60999
)

// FreeTextColumns names the columns whose values are free text (command
// lines, paths, crontab commands), in which NormalizeRow replaces per-host
// tokens. Every other column is structured (a port, a user name, a module
// name, a key) and is compared as it is: a planted listener's port or a
// planted key must stay what sets its row apart.
var FreeTextColumns = []string{"cmdline", "command", "path", "directory", "key_file", "args", "cwd"}

// isFreeText reports whether column holds free text.
func isFreeText(column string) bool { return slices.Contains(FreeTextColumns, column) }

// isAddressColumn reports whether column of commandID holds one address,
// normalized by NormalizeAddress.
func isAddressColumn(commandID, column string) bool {
	return column == "address" && commandID == payload.ListeningPorts
}

// NormalizeRow returns a copy of row with per-host tokens replaced by
// placeholders: NormalizeText on the free-text columns (FreeTextColumns),
// NormalizeAddress on the address column of listening_ports, every other
// column unchanged. Volatile columns are not dropped here (see Volatile).
func NormalizeRow(commandID string, row collect.Row) collect.Row {
	out := make(collect.Row, len(row))
	for c, v := range row {
		out[c] = normalizeColumn(commandID, c, v)
	}
	return out
}

func normalizeColumn(commandID, column, v string) string {
	switch {
	case isFreeText(column):
		return NormalizeText(v)
	case isAddressColumn(commandID, column):
		return NormalizeAddress(v)
	}
	return v
}

// NormalizeAddress returns TokenIP for an IP address that names one host
// (a unicast address other than loopback), and addr unchanged otherwise:
// the wildcard addresses 0.0.0.0 and ::, loopback addresses and anything
// that is not an address keep what they say about a listener's exposure.
func NormalizeAddress(addr string) string {
	a, err := netip.ParseAddr(addr)
	if err != nil || a.IsUnspecified() || a.IsLoopback() {
		return addr
	}
	return TokenIP
}

// NormalizeText replaces the per-host tokens inside free text with
// placeholders, so that the same command line on two hosts compares equal.
// Tokens start after a character that is not a letter or digit (or at the
// start) and end before one; in that order it replaces:
//
//	a UUID (8-4-4-4-12 hex digits)                    <uuid>
//	an EC2 instance ID (i- and 8 or 17 hex digits)    <id>
//	an EC2 host name (ip-A-B-C-D and its domain)      <host>
//	an IPv4 address (a port after it stays)           <ip>
//	an IPv6 address (two colons or more)              <ip>
//	  (wildcard and loopback addresses are kept)
//	12+ hex digits, at least one a decimal digit      <hex>
//	6 to 11 decimal digits                            <num>
//	a number from 32768 to 60999 (ephemeral ports)    <port>
//
// Everything else is kept: words, paths, short numbers (ports of services,
// versions), so "nc -lvnp 4444" stays itself.
func NormalizeText(s string) string {
	// Fast path: text without a digit holds no token.
	if !strings.ContainsAny(s, "0123456789") {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	i := 0
	for i < len(s) {
		if i > 0 && (isAlnum(s[i-1]) || endsWithPlaceholder(s[:i]) ||
			s[i-1] == '.' && i > 1 && (isAlnum(s[i-2]) || endsWithPlaceholder(s[:i-1]))) {
			// Inside a word (dotted words included, so that the tail of
			// a version 1.2.3.4.5 is not an address): copy up to the
			// next boundary. A placeholder counts as the word it
			// replaced, so that normalizing again changes nothing.
			j := i
			for j < len(s) && isAlnum(s[j]) {
				j++
			}
			if j == i {
				j++
			}
			b.WriteString(s[i:j])
			i = j
			continue
		}
		if tok, n := matchToken(s[i:], i > 0 && s[i-1] == ':'); n > 0 {
			if tok == "" {
				tok = s[i : i+n] // matched, but not a per-host token
			}
			b.WriteString(tok)
			i += n
			continue
		}
		b.WriteByte(s[i])
		i++
	}
	return b.String()
}

// placeholders are the texts NormalizeText puts in place of tokens.
var placeholders = []string{TokenIP, TokenUUID, TokenID, TokenHost, TokenHex, TokenNum, TokenPort}

// endsWithPlaceholder reports whether s ends with a placeholder.
func endsWithPlaceholder(s string) bool {
	if len(s) == 0 || s[len(s)-1] != '>' {
		return false
	}
	for _, p := range placeholders {
		if strings.HasSuffix(s, p) {
			return true
		}
	}
	return false
}

// matchToken matches a token at the start of s; it returns the placeholder
// and the length matched, or 0. An empty placeholder with a length keeps
// the text matched (a loopback address). afterColon says s follows a ':' (so it
// cannot start an IPv6 address of its own).
func matchToken(s string, afterColon bool) (string, int) {
	if n := matchUUID(s); n > 0 {
		return TokenUUID, n
	}
	if n := matchInstanceID(s); n > 0 {
		return TokenID, n
	}
	if n := matchEC2Host(s); n > 0 {
		return TokenHost, n
	}
	if !afterColon {
		if n := matchIPv6(s); n > 0 {
			return hostAddress(s[:n]), n
		}
	}
	if n := matchIPv4(s); n > 0 {
		return hostAddress(s[:n]), n
	}
	// A run of hex digits or decimal digits, ending at a boundary.
	j, digits, letters := 0, 0, 0
	for j < len(s) && isHex(s[j]) {
		if s[j] <= '9' {
			digits++
		} else {
			letters++
		}
		j++
	}
	if j < len(s) && isAlnum(s[j]) {
		return "", 0
	}
	switch {
	case j >= 12 && digits > 0:
		return TokenHex, j
	case letters == 0 && digits >= 6:
		return TokenNum, j
	case letters == 0 && digits == 5 && s[:5] >= "32768" && s[:5] <= "60999":
		return TokenPort, j
	}
	return "", 0
}

// hostAddress returns TokenIP for an address that names a host, and ""
// (keep it) for the wildcard and loopback addresses, which every host
// shares.
func hostAddress(addr string) string {
	if NormalizeAddress(addr) == TokenIP {
		return TokenIP
	}
	return ""
}

func isAlnum(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// boundary reports whether s ends at n: s[n] does not continue a token.
func boundary(s string, n int) bool {
	return n >= len(s) || !isAlnum(s[n]) && !startsWithPlaceholder(s[n:])
}

// startsWithPlaceholder reports whether s begins with a placeholder, which
// counts as the word it replaced: a token directly before one is not at a
// boundary, in the first pass (before the word) as in the next (before its
// placeholder).
func startsWithPlaceholder(s string) bool {
	if len(s) == 0 || s[0] != '<' {
		return false
	}
	for _, p := range placeholders {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
}

// hexRun returns the number of hex digits at the start of s, at most max.
func hexRun(s string, max int) int {
	n := 0
	for n < len(s) && n < max && isHex(s[n]) {
		n++
	}
	return n
}

func matchUUID(s string) int {
	if len(s) < 36 {
		return 0
	}
	for _, want := range [5]int{8, 4, 4, 4, 12} {
		if hexRun(s, want) != want {
			return 0
		}
		s = s[want:]
		if want != 12 {
			if s[0] != '-' {
				return 0
			}
			s = s[1:]
		}
	}
	if len(s) > 0 && isAlnum(s[0]) {
		return 0
	}
	return 36
}

func matchInstanceID(s string) int {
	if len(s) < 10 || s[0] != 'i' || s[1] != '-' {
		return 0
	}
	n := hexRun(s[2:], 18)
	if (n == 8 || n == 17) && boundary(s, 2+n) {
		return 2 + n
	}
	return 0
}

// matchEC2Host matches ip-A-B-C-D and the dot-separated labels after it.
func matchEC2Host(s string) int {
	if !strings.HasPrefix(s, "ip-") {
		return 0
	}
	n := 3
	for part := 0; part < 4; part++ {
		d := 0
		for n+d < len(s) && d < 3 && isDigit(s[n+d]) {
			d++
		}
		if d == 0 {
			return 0
		}
		n += d
		if part < 3 {
			if n >= len(s) || s[n] != '-' {
				return 0
			}
			n++
		}
	}
	if !boundary(s, n) {
		return 0
	}
	// The domain: .label.label...
	for n+1 < len(s) && s[n] == '.' && isAlnum(s[n+1]) {
		m := n + 1
		for m < len(s) && (isAlnum(s[m]) || s[m] == '-') {
			m++
		}
		n = m
	}
	return n
}

// matchIPv4 matches a dotted quad of numbers up to 255.
func matchIPv4(s string) int {
	n := 0
	for part := 0; part < 4; part++ {
		d, v := 0, 0
		for n+d < len(s) && d < 4 && isDigit(s[n+d]) {
			v = v*10 + int(s[n+d]-'0')
			d++
		}
		if d == 0 || d > 3 || v > 255 {
			return 0
		}
		n += d
		if part < 3 {
			if n >= len(s) || s[n] != '.' {
				return 0
			}
			n++
		}
	}
	// Not the start of a longer dotted number (a version 1.2.3.4.5).
	if n < len(s) && (isAlnum(s[n]) || s[n] == '.' && n+1 < len(s) && isDigit(s[n+1])) {
		return 0
	}
	return n
}

// matchIPv6 matches an IPv6 address: the longest run of hex digits, colons
// and dots with at least two colons that parses as one.
func matchIPv6(s string) int {
	n, colons := 0, 0
	for n < len(s) && (isHex(s[n]) || s[n] == ':' || s[n] == '.') {
		if s[n] == ':' {
			colons++
		}
		n++
	}
	if colons < 2 || !boundary(s, n) {
		return 0
	}
	// Trailing punctuation is not part of the address.
	for n > 0 && (s[n-1] == '.' || s[n-1] == ':' && !strings.HasSuffix(s[:n], "::")) {
		n--
	}
	if a, err := netip.ParseAddr(s[:n]); err == nil && a.Is6() {
		return n
	}
	return 0
}

// coarseTokens merges the numeric placeholders, whose choice depends on
// the digits drawn (a hex id of decimal digits only, say), for
// templateValue.
var coarseTokens = strings.NewReplacer(TokenHex, "#", TokenNum, "#", TokenPort, "#")

func isSeparator(c byte) bool {
	switch c {
	case ' ', '\t', '/', '=', ',', '"', '\'', '[', ']', '(', ')', ';', '|':
		return true
	}
	return false
}
