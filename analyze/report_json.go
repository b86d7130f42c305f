package analyze

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	jsonv2 "github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
	jsonv1 "github.com/go-json-experiment/json/v1"

	"github.com/diffy-dfir/diffy/diffyerr"
)

// WriteJSON writes r as indented JSON (two spaces) followed by a newline:
// the stable Report format of docs/design.md, as Diffy stores it and
// render.JSON prints it. The output is deterministic for a given Report
// (struct fields in their order, row columns sorted). Row content is kept
// intact: strings are escaped as encoding/json escapes them ('<', '>' and
// '&' as \u003c and so on, control characters as \u00XX; invalid UTF-8
// bytes become U+FFFD, as encoding/json does). A nil Report is an error
// matching diffyerr.ErrInvalidInput.
//
// The bytes are those of encoding/json's Encoder with SetIndent("", "  "),
// made in one pass by go-json-experiment/json with encoding/json's options
// (jsonv1.DefaultOptionsV1, map keys sorted): about twice as fast, which
// counts for the Report of a large fleet (100 MB of JSON for 10,000 hosts
// with 28 findings each). The one difference between the two is invalid
// UTF-8, which encoding/json writes as the escape \ufffd and the other as
// U+FFFD itself: a part (the Report's own fields, or one host) whose output
// holds U+FFFD is made again by encoding/json. TestWriteJSONIsEncodingJSON
// holds it to that.
//
// WriteJSON is a JSONWriter given r's hosts one by one: the whole document
// is never in memory, only one host's part of it. A write error of w ends
// it; what was written before stays written.
func (r *Report) WriteJSON(w io.Writer) error {
	if r == nil {
		return fmt.Errorf("no report: %w", diffyerr.ErrInvalidInput)
	}
	jw := NewJSONWriter(w)
	if r.Hosts == nil {
		// "hosts": null, as encoding/json writes a nil slice.
		if err := jw.whole(r); err != nil {
			return err
		}
		return jw.flush()
	}
	if err := jw.Begin(r); err != nil {
		return err
	}
	for i := range r.Hosts {
		if err := jw.Host(&r.Hosts[i]); err != nil {
			return err
		}
	}
	return jw.End(r)
}

// JSONWriter writes a Report as WriteJSON does, a piece at a time, so that
// a Report too large to hold (one of 100,000 hosts with a few dozen
// findings each is about 1 GB of JSON) can be written as its hosts are
// made: Begin writes the Report's fields before its hosts, Host writes one
// host (in Report order), End the fields after them. The bytes are
// WriteJSON's for the Report whose Hosts are the hosts given to Host
// (an empty list when none was given). A JSONWriter buffers what it
// writes; End flushes it. It is not safe for concurrent use.
type JSONWriter struct {
	w     *bufio.Writer
	head  []byte // what Begin wrote, for End to check
	hosts int
	state uint8 // 0: before Begin; 1: after Begin; 2: after End
	buf   bytes.Buffer
	err   error // the first error: every call after it returns it
}

// NewJSONWriter returns a JSONWriter writing to w.
func NewJSONWriter(w io.Writer) *JSONWriter {
	return &JSONWriter{w: bufio.NewWriterSize(w, 64<<10)}
}

// hostsField is how the skeleton of a Report (its Hosts nil) holds its
// hosts: a newline cannot be in an encoded string, so this is found once,
// at the Report's own level.
var hostsField = []byte("\n  \"hosts\": null")

// Begin writes the Report's fields that come before its hosts (Key,
// Analyzer, CreatedAt, BaselineInstance, BaselineHosts); r.Hosts and the
// fields after it are not written (End writes those). A nil Report is an
// error matching diffyerr.ErrInvalidInput.
func (jw *JSONWriter) Begin(r *Report) error {
	if jw.err != nil {
		return jw.err
	}
	if jw.state != 0 {
		return jw.fail(errors.New("analyze: JSONWriter.Begin called twice"))
	}
	jw.state = 1
	head, _, err := jw.skeleton(r)
	if err != nil {
		return jw.fail(err)
	}
	jw.head = append([]byte(nil), head...)
	jw.write(head)
	jw.write([]byte("["))
	return jw.err
}

// Host writes one host of the Report, after those written before it.
func (jw *JSONWriter) Host(h *Host) error {
	if jw.err != nil {
		return jw.err
	}
	if jw.state != 1 {
		return jw.fail(errors.New("analyze: JSONWriter.Host called outside Begin and End"))
	}
	jw.buf.Reset()
	if err := encodePart(&jw.buf, h, "    "); err != nil {
		return jw.fail(fmt.Errorf("encoding host %q: %w", h.InstanceID, err))
	}
	if jw.hosts == 0 {
		jw.write([]byte("\n    "))
	} else {
		jw.write([]byte(",\n    "))
	}
	jw.hosts++
	jw.write(jw.buf.Bytes())
	return jw.err
}

// End writes the Report's fields after its hosts (Clusters, Skipped,
// Notes) and the final newline, and flushes. r's fields before Hosts must
// be those given to Begin (an error otherwise: the document would not be
// the Report's); r.Hosts is not written (the hosts are those given to
// Host).
func (jw *JSONWriter) End(r *Report) error {
	if jw.err != nil {
		return jw.err
	}
	if jw.state != 1 {
		return jw.fail(errors.New("analyze: JSONWriter.End called without Begin, or twice"))
	}
	jw.state = 2
	head, tail, err := jw.skeleton(r)
	if err != nil {
		return jw.fail(err)
	}
	if !bytes.Equal(head, jw.head) {
		return jw.fail(errors.New("analyze: JSONWriter.End: the Report's fields before its hosts changed since Begin"))
	}
	if jw.hosts > 0 {
		jw.write([]byte("\n  ]"))
	} else {
		jw.write([]byte("]"))
	}
	jw.write(tail)
	jw.write([]byte("\n"))
	return jw.flush()
}

// whole writes r, whose Hosts is nil, as one piece.
func (jw *JSONWriter) whole(r *Report) error {
	jw.buf.Reset()
	if err := encodePart(&jw.buf, r, ""); err != nil {
		return jw.fail(err)
	}
	jw.write(jw.buf.Bytes())
	jw.write([]byte("\n"))
	return jw.err
}

// skeleton encodes r without its hosts and returns what comes before them
// (up to `"hosts": `) and after them (from the comma or brace that
// follows); both alias jw.buf.
func (jw *JSONWriter) skeleton(r *Report) (head, tail []byte, err error) {
	if r == nil {
		return nil, nil, fmt.Errorf("no report: %w", diffyerr.ErrInvalidInput)
	}
	sk := *r
	sk.Hosts = nil
	jw.buf.Reset()
	if err := encodePart(&jw.buf, &sk, ""); err != nil {
		return nil, nil, err
	}
	data := jw.buf.Bytes()
	i := bytes.Index(data, hostsField)
	if i < 0 {
		return nil, nil, errors.New("analyze: JSONWriter: no hosts field in the encoded Report")
	}
	i += len(hostsField) - len("null")
	return data[:i], data[i+len("null"):], nil
}

// encodePart appends v to buf as WriteJSON encodes it, its lines after the
// first prefixed with prefix (the indentation of its place in the
// Report), without a final newline.
func encodePart(buf *bytes.Buffer, v any, prefix string) error {
	start := buf.Len()
	err := jsonv2.MarshalWrite(buf, v, jsonv1.DefaultOptionsV1(), jsonv2.Deterministic(true),
		jsontext.WithIndentPrefix(prefix), jsontext.WithIndent("  "))
	if err != nil {
		return err
	}
	if !bytes.Contains(buf.Bytes()[start:], replacementChar) {
		return nil
	}
	buf.Truncate(start)
	data, err := json.MarshalIndent(v, prefix, "  ")
	if err != nil {
		return err
	}
	buf.Write(data)
	return nil
}

// write writes p, keeping the first error.
func (jw *JSONWriter) write(p []byte) {
	if jw.err == nil {
		if _, err := jw.w.Write(p); err != nil {
			jw.err = err
		}
	}
}

// flush flushes the buffer, keeping the first error.
func (jw *JSONWriter) flush() error {
	if jw.err == nil {
		jw.err = jw.w.Flush()
	}
	return jw.err
}

// fail keeps err as the writer's error and returns it.
func (jw *JSONWriter) fail(err error) error {
	if jw.err == nil {
		jw.err = err
	}
	return jw.err
}

// replacementChar is U+FFFD in UTF-8.
var replacementChar = []byte("\uFFFD")
