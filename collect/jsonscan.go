package collect

import (
	"encoding/binary"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"
)

// This file holds the byte-level helpers of the decoder (decode.go). They
// walk JSON that a jsontext.Decoder has already checked against the
// grammar, so they never see a syntax error: their only job is to find
// where each part starts and ends, and to turn strings into their text.
// Calling them on bytes that were not checked is a bug (they may index
// out of range).

// jsonSpace reports whether c is JSON white space.
func jsonSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// skipSpace returns the index of the first byte at or after i that is not
// JSON white space.
func skipSpace(b []byte, i int) int {
	for i < len(b) && jsonSpace(b[i]) {
		i++
	}
	return i
}

// plainByte[c] is set for the bytes a string can hold as they are: not a
// quote, a backslash, or the start of a multi-byte (or invalid) sequence.
var plainByte = func() (t [256]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// stringEnd returns the index just past the closing quote of the string
// that starts at b[i] (a quote), and whether its content is plain: ASCII
// with no escape, so that its text is its bytes.
func stringEnd(b []byte, i int) (end int, plain bool) {
	i++
	// Eight bytes at a time while none of them is a quote, a backslash or
	// a byte of a multi-byte sequence.
	for i+8 <= len(b) {
		x := binary.LittleEndian.Uint64(b[i:])
		if (hasByte(x, '"')|hasByte(x, '\\')|x)&highBits != 0 {
			break
		}
		i += 8
	}
	for plainByte[b[i]] {
		i++
	}
	plain = true
	for {
		switch c := b[i]; {
		case c == '"':
			return i + 1, plain
		case c == '\\':
			plain = false
			i += 2
		case c >= utf8.RuneSelf:
			plain = false
			i++
		default:
			i++
		}
	}
}

const (
	lowBits  = 0x0101010101010101
	highBits = 0x8080808080808080
)

// hasByte has the high bit of some byte set when a byte of x is c (and
// perhaps of others too, but never when no byte of x is c).
func hasByte(x uint64, c byte) uint64 {
	y := x ^ lowBits*uint64(c)
	return (y - lowBits) &^ y
}

// numberEnd returns the index just past the number that starts at b[i].
func numberEnd(b []byte, i int) int {
	for i < len(b) {
		switch c := b[i]; {
		case c >= '0' && c <= '9', c == '-', c == '+', c == '.', c == 'e', c == 'E':
			i++
		default:
			return i
		}
	}
	return i
}

// appendText appends the text of the string q (a JSON string, quotes
// included, that has passed the grammar) to dst. plain is stringEnd's.
func appendText(dst, q []byte, plain bool) []byte {
	if plain {
		return append(dst, q[1:len(q)-1]...)
	}
	return appendUnquoted(dst, q[1:len(q)-1])
}

// appendUnquoted appends the text of the content s of a JSON string to
// dst, exactly as encoding/json (v1) decodes it, which is what this
// project's and the original's files have always been read with: each byte
// that is not part of valid UTF-8 becomes U+FFFD, and so does a \u escape
// of half a surrogate pair (a high half followed by a low half is the one
// character they encode).
func appendUnquoted(dst, s []byte) []byte {
	for r := 0; r < len(s); {
		c := s[r]
		switch {
		case c == '\\':
			r++
			switch s[r] {
			case 'b':
				dst = append(dst, '\b')
			case 'f':
				dst = append(dst, '\f')
			case 'n':
				dst = append(dst, '\n')
			case 'r':
				dst = append(dst, '\r')
			case 't':
				dst = append(dst, '\t')
			case 'u':
				rr := hex4(s[r+1:])
				r += 5
				if utf16.IsSurrogate(rr) {
					if r+6 <= len(s) && s[r] == '\\' && s[r+1] == 'u' {
						if dec := utf16.DecodeRune(rr, hex4(s[r+2:])); dec != unicode.ReplacementChar {
							dst = utf8.AppendRune(dst, dec)
							r += 6
							continue
						}
					}
					rr = unicode.ReplacementChar
				}
				dst = utf8.AppendRune(dst, rr)
				continue
			default: // '"', '\\', '/'
				dst = append(dst, s[r])
			}
			r++
		case c < utf8.RuneSelf:
			dst = append(dst, c)
			r++
		default:
			rr, size := utf8.DecodeRune(s[r:])
			dst = utf8.AppendRune(dst, rr)
			r += size
		}
	}
	return dst
}

// hex4 returns the value of the four hexadecimal digits at the start of b
// (the grammar has checked that they are there).
func hex4(b []byte) rune {
	var r rune
	for _, c := range b[:4] {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c = c - 'a' + 10
		default:
			c = c - 'A' + 10
		}
		r = r<<4 | rune(c)
	}
	return r
}

// kindName names the kind of the value that starts with c, for errors.
func kindName(c byte) string {
	switch c {
	case '{':
		return "an object"
	case '[':
		return "an array"
	case '"':
		return "a string"
	case 't', 'f':
		return "a boolean"
	case 'n':
		return "null"
	}
	return "a number"
}
