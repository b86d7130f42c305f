package ssmframe

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/diffy-dfir/diffy/internal/readall"
)

// Encoding is how the script prints its framed stream.
type Encoding string

// The encodings.
const (
	// EncodingGzip: the stream gzipped, then base64 (76 columns), as the
	// gzip and base64 of every base image print it.
	EncodingGzip Encoding = "gzip+base64"
	// EncodingPlain: the stream as it is.
	EncodingPlain Encoding = "plain"
)

// Header is the first line of an invocation's stdout:
//
//	<M> OUTPUT <encoding> <sha256>\n
//
// where <sha256> is the hex SHA-256 digest of everything after the line
// (the body), or "-" when the host has no sha256sum.
type Header struct {
	Encoding Encoding
	// Digest is the body's SHA-256 digest, 64 hex digits; empty when the
	// host could not compute it.
	Digest string
	// Line is the header line itself, its newline included.
	Line []byte
}

// ParseHeader reads the Header at the start of stdout, which may be any
// first part of it (2,500 characters of ListCommandInvocations' Details,
// 24,000 of GetCommandInvocation) or the whole S3 object; false when
// stdout does not start with a whole, well-formed header line of marker.
func ParseHeader(stdout []byte, marker string) (Header, bool) {
	nl := bytes.IndexByte(stdout, '\n')
	if nl < 0 {
		return Header{}, false
	}
	line := stdout[:nl+1]
	f := bytes.Fields(line)
	if len(f) != 4 || string(f[0]) != marker || string(f[1]) != "OUTPUT" {
		return Header{}, false
	}
	h := Header{Encoding: Encoding(f[2]), Line: line}
	if h.Encoding != EncodingGzip && h.Encoding != EncodingPlain {
		return Header{}, false
	}
	switch d := string(f[3]); {
	case d == "-":
	case len(d) == 64 && isHex(d):
		h.Digest = d
	default:
		return Header{}, false
	}
	return h, true
}

func isHex(s string) bool {
	_, err := hex.DecodeString(s)
	return err == nil
}

// Stream is the framed stream an invocation's stdout carries, decoded.
type Stream struct {
	Header
	// Data is the decoded stream, or its first part when the stdout was
	// cut (or Data would pass the cap given to Decode); hand it to Split
	// as both stdout and stderr.
	Data []byte
	// Whole reports that the encoding's own end was read (base64 and
	// gzip ended properly, gzip's checksum and length matched): the
	// stdout given was not cut. A plain stream cannot tell; its DONE
	// line (Output.Done) does.
	Whole bool
	// Capped reports that decoding stopped at the cap.
	Capped bool
	// Problem says why a gzip stream is not Whole.
	Problem string
}

// Decode decodes the stream of stdout (a whole stdout or its first part),
// which must start with a Header, keeping at most max bytes of the decoded
// stream (more sets Capped): a host's few kilobytes of gzip can claim
// gigabytes. It reports false when stdout has no Header (the script did
// not run, or not to the point of printing).
func Decode(stdout []byte, marker string, max int64) (Stream, bool) {
	h, ok := ParseHeader(stdout, marker)
	if !ok {
		return Stream{}, false
	}
	body := stdout[len(h.Line):]
	st := Stream{Header: h}
	if h.Encoding == EncodingPlain {
		st.Data = body
		if int64(len(body)) > max {
			st.Data, st.Capped = body[:max], true
		}
		return st, true
	}
	b64, complete := base64Text(body)
	in := getInflater(b64)
	defer in.put()
	if err := in.start(); err != nil {
		st.Problem = "the compressed output is cut or not gzip: " + err.Error()
		return st, true
	}
	hint := 0
	// A cut text's last bytes are not a trailer: no size to expect.
	if n, ok := ISize(decodeTail(b64)); ok && complete && int64(n) <= max {
		hint = int(n)
	}
	var err error
	st.Data, err = readall.Read(in.zr, nil, int64(hint), max+1)
	n := int64(len(st.Data))
	switch {
	case n > max:
		st.Data, st.Capped = st.Data[:max], true
		st.Problem = fmt.Sprintf("the output is over the %d-byte cap once decompressed", max)
	case err != nil && errors.Is(err, io.ErrUnexpectedEOF):
		st.Problem = "the compressed output is cut"
	case err != nil:
		st.Problem = "the compressed output is corrupt: " + err.Error()
	case !complete:
		st.Problem = "the compressed output is followed by text that is not base64"
	default:
		st.Whole = true
	}
	return st, true
}

// inflater decompresses one base64 text at a time: a gzip.Reader over a
// bufio.Reader (gzip would otherwise wrap each base64 decoder in a new
// one) over the text's base64 decoder. A flate decompressor costs about
// 45 KB to make (its 32 KB window and its tables), more than most hosts'
// compressed output: kept in inflaters, it is made about once per
// goroutine that decodes at once, not once per Decode (BenchmarkBoundDecode
// gives the bytes allocated per Decode).
type inflater struct {
	br *bufio.Reader
	zr *gzip.Reader
}

// inflaters keeps the inflaters between Decodes.
var inflaters sync.Pool

// getInflater returns an inflater reading the base64 text b64.
func getInflater(b64 []byte) *inflater {
	dec := base64.NewDecoder(base64.StdEncoding, bytes.NewReader(b64))
	in, _ := inflaters.Get().(*inflater)
	if in == nil {
		return &inflater{br: bufio.NewReader(dec)}
	}
	in.br.Reset(dec)
	return in
}

// start reads the gzip header.
func (in *inflater) start() error {
	if in.zr == nil {
		zr, err := gzip.NewReader(in.br)
		in.zr = zr // nil on error: made again next time
		return err
	}
	return in.zr.Reset(in.br)
}

// put drops the inflater's reference to the text and keeps it for the
// next Decode.
func (in *inflater) put() {
	in.br.Reset(nil)
	inflaters.Put(in)
}

// ISize returns the uncompressed size (modulo 2^32) that a whole gzip
// stream's trailer claims, from its last 4 bytes: what to expect, not what
// to trust.
func ISize(gz []byte) (uint32, bool) {
	if len(gz) < 18 {
		return 0, false
	}
	return binary.LittleEndian.Uint32(gz[len(gz)-4:]), true
}

// base64Text returns the base64 lines at the start of b, up to the first
// byte that is neither base64 nor a line break (the SSM agent's
// "---Output truncated---" marker, say), without a last partial quantum,
// for base64.NewDecoder (which skips the line breaks): the text is decoded
// as it is decompressed, never copied, so that decoding holds no more than
// the decompressed output. complete reports that the text ended there
// with a whole quantum (and only line breaks after).
func base64Text(b []byte) (text []byte, complete bool) {
	end, n, cut := len(b), 0, 0
	for i, c := range b {
		k := b64Class[c]
		if k == classNewline {
			continue
		}
		if k != classBase64 {
			end = i
			break
		}
		n++
		if n%4 == 0 {
			cut = i + 1
		}
	}
	return b[:cut], n%4 == 0 && end == len(b)
}

// Verify checks that obj, an invocation's stdout read from somewhere the
// host's peers can write (its S3 object), is the stdout whose Header h the
// host's own report through SSM gave: it starts with h's line and the rest
// has h's digest. The error says what differs.
func Verify(obj []byte, h Header) error {
	if h.Digest == "" {
		return errors.New("the host reported no digest of its output (no sha256sum on the host)")
	}
	if !bytes.HasPrefix(obj, h.Line) {
		return errors.New("its first line is not the one the host reported through SSM")
	}
	sum := sha256.Sum256(obj[len(h.Line):])
	if got := hex.EncodeToString(sum[:]); got != h.Digest {
		return fmt.Errorf("its SHA-256 digest is %s, not the %s the host reported through SSM", got[:16]+"...", h.Digest[:16]+"...")
	}
	return nil
}

// AppendOutput appends to dst the stdout a host prints for the framed
// stream (what AppendFrame, AppendErrFrame and AppendDone build), encoded
// as enc, with its Header: what the script prints, for fakes and tests.
func AppendOutput(dst []byte, marker string, enc Encoding, stream []byte) []byte {
	var body []byte
	switch enc {
	case EncodingGzip:
		var z bytes.Buffer
		zw := gzip.NewWriter(&z)
		_, _ = zw.Write(stream)
		_ = zw.Close()
		s := base64.StdEncoding.EncodeToString(z.Bytes())
		for len(s) > 76 {
			body = append(append(body, s[:76]...), '\n')
			s = s[76:]
		}
		body = append(body, s...)
	default:
		// The script's command substitution drops the trailing newlines.
		body = bytes.TrimRight(stream, "\n")
	}
	body = append(body, '\n')
	sum := sha256.Sum256(body)
	dst = fmt.Appendf(dst, "%s OUTPUT %s %s\n", marker, enc, hex.EncodeToString(sum[:]))
	return append(dst, body...)
}

// maxDeflateRatio is the most bytes deflate can expand one byte to.
const maxDeflateRatio = 1032

// Bound returns the most bytes Decode can give for stdout, to reserve
// before decoding: the body's length for a plain stream; for a gzip stream,
// the size its trailer claims when the body is whole (Decode, given it as
// max, stops a host that claims less than it sends), else deflate's
// largest expansion of what arrived. It returns 0 when stdout has no
// Header.
func Bound(stdout []byte, marker string) int64 {
	h, ok := ParseHeader(stdout, marker)
	if !ok {
		return 0
	}
	body := stdout[len(h.Line):]
	if h.Encoding == EncodingPlain {
		return int64(len(body))
	}
	if wholeBase64(body) {
		if n, ok := ISize(decodeTail(body)); ok {
			return int64(n)
		}
	}
	return int64(base64.StdEncoding.DecodedLen(len(body))) * maxDeflateRatio
}

// tail returns the last base64 quanta of body, enough for gzip's 4-byte
// trailer and 14 bytes before it (so that ISize accepts it).
func tail(body []byte) []byte {
	clean := make([]byte, 0, 32)
	for i := len(body) - 1; i >= 0 && len(clean) < 32; i-- {
		if c := body[i]; c != '\n' && c != '\r' {
			clean = append(clean, c)
		}
	}
	for i, j := 0, len(clean)-1; i < j; i, j = i+1, j-1 {
		clean[i], clean[j] = clean[j], clean[i]
	}
	return clean[len(clean)%4:]
}

// decodeTail decodes tail(body); nil when it does not decode.
func decodeTail(body []byte) []byte {
	t := tail(body)
	out := make([]byte, base64.StdEncoding.DecodedLen(len(t)))
	n, err := base64.StdEncoding.Decode(out, t)
	if err != nil {
		return nil
	}
	return out[:n]
}

// wholeBase64 reports whether body is base64 lines to its end, with a whole
// last quantum.
func wholeBase64(body []byte) bool {
	n := 0
	for _, c := range body {
		switch b64Class[c] {
		case classNewline:
		case classBase64:
			n++
		default:
			return false
		}
	}
	return n%4 == 0
}

// The classes of b64Class.
const (
	classOther   = iota
	classNewline // '\n', '\r'
	classBase64  // A-Z, a-z, 0-9, '+', '/', '='
)

// b64Class is the class of each byte in base64 text: a table, where the
// comparisons it replaces took 12% of the collector's CPU in S3 mode
// (bench/ssm -cpuprofile; every output is scanned twice, by Bound and
// Decode).
var b64Class = func() (t [256]uint8) {
	for c := range 256 {
		switch {
		case c == '\n' || c == '\r':
			t[c] = classNewline
		case c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '+' || c == '/' || c == '=':
			t[c] = classBase64
		}
	}
	return t
}()
