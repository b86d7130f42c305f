package collect

import (
	"bytes"
	"errors"
	"fmt"
	"io"

	"github.com/go-json-experiment/json/jsontext"

	"github.com/diffy-dfir/diffy/diffyerr"
)

// How Results and rows are read from JSON, in one pass: a
// jsontext.Decoder reads the input token by token (the grammar of RFC
// 8259, the byte offset of any syntax error, no allocation for valid
// input), and each Result is built from its tokens as they come
// (decode_result.go). Each row comes from the jsontext.Decoder as one
// value, its bytes: a row whose bytes were seen lately is the row they
// were then, found by a hash of them; any other row is read from those
// bytes, checked already (jsonscan.go), into a RowPool, which hashes it
// once and makes a map only for a row it does not have (decode_rows.go).
// Nothing is decoded twice and no intermediate value is built.
//
// What is accepted is what encoding/json (v1) accepted when this package
// used it, which the files of this project and of the original Diffy have
// always been read with: a name given twice (the last counts), bytes that
// are not UTF-8 (each becomes U+FFFD), names of Result fields in any case,
// values of types a Result field does not take refusing the Result.
// FuzzDecodeDifferential holds the decoder to the encoding/json one.

// jsonOptions are the options of every jsontext.Decoder here (see above).
var jsonOptions = []jsontext.Options{jsontext.AllowDuplicateNames(true), jsontext.AllowInvalidUTF8(true)}

// DecodedSizeFactor bounds the memory of what ResultDecoder.Decode keeps
// of one input: the Results it returns hold at most about this many bytes
// per byte of input (a row already in the decoder's pool counts only its
// place in a Result). Real output stays well within it: a simulated
// host's file holds 2.3 times its size when none of its rows was seen
// before (TestDecodedSize), and much less once its rows are shared with
// other hosts'; a file made of many distinct tiny rows would hold 25 to
// 30 times its size. Past the bound the Results of the file are kept
// without their rows, marked Truncated (see ResultDecoder).
const DecodedSizeFactor = 16

// ResultDecoder reads collection files: a JSON array of Results, or
// several arrays one after another, or Result objects one after another
// (one Result, or JSON Lines); a UTF-8 byte order mark and white space
// before the first value are skipped. It reads every shape
// Result.UnmarshalJSON reads.
//
// The rows of the Results are shared through Pool (see RowPool; nil: each
// Decode uses a pool of its own). A Result with more rows than
// Limits.MaxRows (the default when zero) is kept without its rows, as
// Limits.Fill keeps one: StatusFailed, Truncated, with an Error that says
// so; so is every Result of a file once what its Results hold passes
// DecodedSizeFactor times its size. Limits' other caps do not apply to
// saved Results.
//
// A ResultDecoder keeps its buffers from one Decode to the next. It is
// not safe for concurrent use; several may share one Pool.
type ResultDecoder struct {
	// Pool shares the rows of the Results decoded.
	Pool *RowPool
	// Limits caps the rows of one Result (MaxRows).
	Limits Limits

	d   *decoder
	dec *jsontext.Decoder
}

// ResultError is a value of a collection file that is valid JSON but not a
// Result (a number, an object without instance_id, a field of the wrong
// type, an ID over MaxIDBytes). The other Results of the file are kept.
type ResultError struct {
	// Index is the number of the value among the file's Results, from 1.
	Index int
	// Offset is the byte offset where the value starts.
	Offset int64
	// Err says what is wrong; it matches diffyerr.ErrInvalidInput.
	Err error
}

func (e *ResultError) Error() string {
	return fmt.Sprintf("result %d at byte %d: %v", e.Index, e.Offset, e.Err)
}

func (e *ResultError) Unwrap() error { return e.Err }

// InputError says that a collection file as a whole cannot be read: it is
// not valid JSON (cut short, say), or it is empty, or it does not hold
// Results at all. None of its Results is kept, so that nothing cut is
// taken as whole.
type InputError struct {
	// What says what is wrong, as a phrase about the file: "not valid
	// JSON", "ends in the middle of a JSON value (cut short?)".
	What string
	// Offset is the byte offset where the problem is found; -1 when
	// there is no such place (an empty file).
	Offset int64
	// Detail, when not empty, says more (the grammar's complaint).
	Detail string
}

func (e *InputError) Error() string {
	s := e.What
	if e.Offset >= 0 {
		s += fmt.Sprintf(" at byte %d", e.Offset)
	}
	if e.Detail != "" {
		s += ": " + e.Detail
	}
	return s
}

// Unwrap makes an InputError match diffyerr.ErrInvalidInput.
func (e *InputError) Unwrap() error { return diffyerr.ErrInvalidInput }

// Decode reads the Results of data, the whole content of a collection
// file. It returns the Results in the order of the file, and a
// ResultError for each value that is valid JSON but not a Result; or, when
// the file as a whole cannot be read, no Result and an *InputError.
func (rd *ResultDecoder) Decode(data []byte) ([]Result, []*ResultError, error) {
	if rd.d == nil {
		rd.d = &decoder{}
		rd.dec = jsontext.NewDecoder(bytes.NewBuffer(nil))
	}
	d := rd.d
	d.pool = rd.Pool
	if d.pool == nil {
		d.pool = &RowPool{}
	}
	d.maxRows = rd.Limits.WithDefaults().MaxRows
	d.budget, d.over = DecodedSizeFactor*int64(len(data)), false
	defer d.release()

	base := 0
	if bytes.HasPrefix(data, []byte("\xEF\xBB\xBF")) {
		base = 3
	}
	base = skipSpace(data, base)
	if base == len(data) {
		return nil, nil, &InputError{What: "is empty, not a JSON array of Results", Offset: -1}
	}
	first := data[base]
	if first != '[' && first != '{' {
		return nil, nil, &InputError{What: fmt.Sprintf("is not a JSON array of Results: it starts with %q", first), Offset: int64(base)}
	}
	dec := rd.dec
	dec.Reset(bytes.NewBuffer(data[base:]), jsonOptions...)
	defer dec.Reset(bytes.NewBuffer(nil)) // do not keep data

	var rs []Result
	var bad []*ResultError
	n := 0
	// one reads the next Result; false at the end of the input or of the
	// array.
	one := func() (bool, error) {
		if first == '[' && dec.PeekKind() == ']' {
			return false, nil
		}
		at := int64(base) + nextValue(dec)
		r, rerr, err := d.readResult(dec)
		if err == io.EOF && first == '{' {
			return false, nil
		}
		if err != nil {
			return false, syntaxError(err, base)
		}
		n++
		if rerr != nil {
			bad = append(bad, &ResultError{Index: n, Offset: at, Err: rerr})
		} else {
			rs = append(rs, r)
		}
		return true, nil
	}
	for {
		if first == '[' {
			switch k := dec.PeekKind(); k {
			case '[':
			case 0:
				_, err := dec.ReadToken()
				if err == io.EOF {
					return rs, bad, nil
				}
				return nil, nil, syntaxError(err, base)
			default:
				return nil, nil, &InputError{What: "expected another array of Results", Offset: int64(base) + nextValue(dec),
					Detail: "found " + kindName(byte(k))}
			}
			if _, err := dec.ReadToken(); err != nil {
				return nil, nil, syntaxError(err, base)
			}
		}
		for {
			more, err := one()
			if err != nil {
				return nil, nil, err
			}
			if !more {
				break
			}
		}
		if first == '{' {
			return rs, bad, nil
		}
		if _, err := dec.ReadToken(); err != nil { // the end of the array
			return nil, nil, syntaxError(err, base)
		}
	}
}

// nextValue returns the offset in dec's input of the value that comes
// next: past the white space and the comma before it.
func nextValue(dec *jsontext.Decoder) int64 {
	dec.PeekKind()
	u := dec.UnreadBuffer()
	return dec.InputOffset() + int64(len(u)-len(bytes.TrimLeft(u, ", \t\r\n")))
}

// syntaxError turns an error of the jsontext.Decoder reading data[base:]
// into an *InputError.
func syntaxError(err error, base int) *InputError {
	var se *jsontext.SyntacticError
	if !errors.As(err, &se) {
		return &InputError{What: "cannot be read", Offset: -1, Detail: err.Error()}
	}
	at := int64(base) + se.ByteOffset
	if errors.Is(se.Err, io.ErrUnexpectedEOF) {
		return &InputError{What: "ends in the middle of a JSON value (cut short?)", Offset: at}
	}
	detail := se.Err.Error()
	if se.JSONPointer != "" {
		detail += fmt.Sprintf(" (within %s)", se.JSONPointer)
	}
	return &InputError{What: "not valid JSON", Offset: at, Detail: detail}
}
