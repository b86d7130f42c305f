package jsonv1

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/diffy-dfir/diffy/analyze"
	"github.com/diffy-dfir/diffy/collect"
	"github.com/diffy-dfir/diffy/diffyerr"
)

// unwrapPath drops the path from an *fs.PathError, which the Skip names
// already.
func unwrapPath(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// LoadFile reads the Results of one file, at most maxBytes long, as
// package diffy's loadFile did.
func LoadFile(path string, maxBytes int64) ([]collect.Result, []analyze.Skip) {
	skip := func(format string, a ...any) []analyze.Skip {
		return []analyze.Skip{{Source: path, Reason: fmt.Sprintf(format, a...)}}
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, skip("cannot be read: %v", unwrapPath(err))
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, skip("cannot be read: %v", unwrapPath(err))
	}
	if !fi.Mode().IsRegular() {
		return nil, skip("is not a regular file")
	}
	if fi.Size() > maxBytes {
		return nil, skip("is %d bytes, over the %d-byte limit for a result file; not read", fi.Size(), maxBytes)
	}
	br := bufio.NewReaderSize(io.LimitReader(f, maxBytes+1), 1<<16)
	// Skip a UTF-8 byte order mark and leading white space, to see what
	// the file starts with; base counts the bytes skipped.
	var base int64
	if bom, _ := br.Peek(3); string(bom) == "\xEF\xBB\xBF" {
		_, _ = br.Discard(3)
		base = 3
	}
	var first byte
	for {
		c, err := br.ReadByte()
		if err == io.EOF {
			return nil, skip("is empty, not a JSON array of Results")
		}
		if err != nil {
			return nil, skip("cannot be read: %v", err)
		}
		if c == ' ' || c == '\t' || c == '\r' || c == '\n' {
			base++
			continue
		}
		_ = br.UnreadByte()
		first = c
		break
	}
	dec := json.NewDecoder(br)
	// where turns a decoder offset into "line L, column C".
	where := func(off int64) string {
		l, c := lineCol(path, base+off)
		return fmt.Sprintf("line %d, column %d", l, c)
	}
	// bad says the file is not valid JSON: the whole file is skipped.
	bad := func(err error) []analyze.Skip {
		var se *json.SyntaxError
		switch {
		case errors.As(err, &se):
			return skip("not valid JSON at %s: %v; the whole file was skipped", where(syntaxErrorAt(path, base)), se)
		case errors.Is(err, io.ErrUnexpectedEOF):
			return skip("ends in the middle of a JSON value (cut short?) at %s; the whole file was skipped", where(dec.InputOffset()))
		}
		return skip("cannot be read at %s: %v; the whole file was skipped", where(dec.InputOffset()), err)
	}
	var rs []collect.Result
	var skips []analyze.Skip
	n := 0
	// one decodes the next Result, at decoder offset off; false means the
	// file is not valid JSON and was skipped.
	one := func(off int64) bool {
		var r result
		err := dec.Decode(&r)
		n++
		var te *json.UnmarshalTypeError
		switch {
		case err == nil:
			rs = append(rs, collect.Result(r))
		case errors.Is(err, diffyerr.ErrInvalidInput) || errors.As(err, &te):
			skips = append(skips, analyze.Skip{Source: path, Reason: fmt.Sprintf("result %d at %s is not a Result: %v", n, where(valueStart(path, base+off)-base), err)})
		default:
			skips = bad(err)
			return false
		}
		return true
	}
	switch first {
	case '[':
		for {
			tok, err := dec.Token()
			if err == io.EOF {
				break
			}
			if err != nil {
				return nil, bad(err)
			}
			if d, ok := tok.(json.Delim); !ok || d != '[' {
				return nil, skip("at %s: expected another array of Results, found %v; the whole file was skipped", where(dec.InputOffset()), tok)
			}
			for dec.More() {
				if !one(dec.InputOffset()) {
					return nil, skips
				}
			}
			if _, err := dec.Token(); err != nil {
				return nil, bad(err)
			}
		}
	case '{':
		for {
			if !dec.More() {
				if _, err := dec.Token(); err != io.EOF {
					return nil, bad(fmt.Errorf("unexpected data after the last Result"))
				}
				break
			}
			if !one(dec.InputOffset()) {
				return nil, skips
			}
		}
	default:
		return nil, skip("is not a JSON array of Results: it starts with %q at %s; the whole file was skipped", first, where(0))
	}
	return rs, skips
}

// syntaxErrorAt returns the offset, from base, of the byte where the file
// at path stops being valid JSON, or 0 when it cannot tell. The offset of a
// json.SyntaxError is exact only when the decoder read everything with
// Decode from the start, which loadFile does not do (it streams the
// elements of arrays); so on that error path the file is read again here,
// one top-level value at a time.
func syntaxErrorAt(path string, base int64) int64 {
	f, err := os.Open(path)
	if err != nil {
		return 0
	}
	defer f.Close()
	if _, err := f.Seek(base, io.SeekStart); err != nil {
		return 0
	}
	dec := json.NewDecoder(bufio.NewReader(f))
	for {
		var v struct{} // a syntax check only: keeps nothing of the values
		err := dec.Decode(&v)
		var se *json.SyntaxError
		switch {
		case errors.As(err, &se):
			return max(se.Offset-1, 0) // Offset counts the bad byte
		case err == io.EOF || errors.Is(err, io.ErrUnexpectedEOF):
			return dec.InputOffset()
		case err != nil && !isTypeError(err):
			return 0
		}
	}
}

func isTypeError(err error) bool {
	var te *json.UnmarshalTypeError
	return errors.As(err, &te)
}

// valueStart returns the offset of the first byte at or after off that is
// not white space or a comma: where a value of an array starts.
func valueStart(path string, off int64) int64 {
	f, err := os.Open(path)
	if err != nil {
		return off
	}
	defer f.Close()
	if _, err := f.Seek(off, io.SeekStart); err != nil {
		return off
	}
	br := bufio.NewReader(f)
	for {
		c, err := br.ReadByte()
		if err != nil || !(c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == ',') {
			return off
		}
		off++
	}
}

// lineCol returns the 1-based line and byte column of offset off in the
// file at path.
func lineCol(path string, off int64) (line, col int) {
	line, col = 1, 1
	f, err := os.Open(path)
	if err != nil {
		return line, col
	}
	defer f.Close()
	br := bufio.NewReader(io.LimitReader(f, off))
	for {
		c, err := br.ReadByte()
		if err != nil {
			return line, col
		}
		if c == '\n' {
			line, col = line+1, 1
		} else {
			col++
		}
	}
}
