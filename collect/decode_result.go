package collect

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"sync"
	"time"

	"github.com/go-json-experiment/json/jsontext"

	"github.com/diffy-dfir/diffy/diffyerr"
)

// decoder is the state of one goroutine's decoding: buffers reused from
// one value to the next, and the strings that repeat from one Result to
// the next.
type decoder struct {
	pool    *RowPool
	maxRows int
	// budget is what the Results of the current input may still hold, in
	// bytes (see DecodedSizeFactor); over says it ran out.
	budget int64
	over   bool

	text []byte     // a string's text
	name []byte     // the name of the field being read
	row  rowScratch // the row being read
	rows []Row      // the rows of the output being read
	// dup are the names of the last row found to have no name twice.
	dup rowScratch
	raw rawRows // rows by their JSON text
	// The JSON of the collected_at and (when not an array) stdout of the
	// Result being read.
	collectedAt, stdout []byte

	lastID        string
	lastTime      []byte // the JSON of lastTimeValue
	lastTimeValue time.Time
	short         map[string]string // command IDs, statuses: few, repeated
	inner         *jsontext.Decoder // ParseRows's, and a stdout string's
	outer         *jsontext.Decoder // UnmarshalJSON's: not inner, which reads its stdout string meanwhile
}

// release drops what the decoder holds of the input and its results.
func (d *decoder) release() {
	d.pool = nil
	clear(d.rows)
	d.rows = d.rows[:0]
	if cap(d.rows) > 1<<16 {
		d.rows = nil
	}
	for _, b := range []*[]byte{&d.text, &d.stdout} {
		if cap(*b) > 1<<20 {
			*b = nil
		}
	}
	d.lastID = ""
}

// decoders are the decoders of ParseRows, Fill and UnmarshalJSON.
var decoders = sync.Pool{New: func() any { return &decoder{} }}

// get returns a decoder of decoders ready for one value: rows up to
// maxRows, shared through pool (nil: not shared), no budget.
func getDecoder(pool *RowPool, maxRows int) *decoder {
	d := decoders.Get().(*decoder)
	d.pool, d.maxRows, d.budget, d.over = pool, maxRows, math.MaxInt64, false
	return d
}

// put gives d back to decoders.
func (d *decoder) put() {
	d.release()
	decoders.Put(d)
}

// rowsCapError says an output had more rows than the cap.
type rowsCapError struct{ rows, cap int }

func (e *rowsCapError) Error() string {
	return fmt.Sprintf("output has %d rows, over the %d-row cap; not kept", e.rows, e.cap)
}

// MaxIDBytes is the longest instance_id or command_id a Result decoded
// from JSON may have: 4,096 bytes, as analyze.MaxValueBytes (an EC2
// instance ID is 19, a command ID a name). A report quotes the IDs whole
// (Host.InstanceID, Finding.CommandID, notes), and a results file is
// anyone's: a longer one makes the value not a Result.
const MaxIDBytes = 4096

// checkIDs returns an error matching diffyerr.ErrInvalidInput when the
// instance or command ID is over MaxIDBytes, saying which and how long.
func checkIDs(instance, command string) error {
	for _, id := range []struct{ name, v string }{{"instance_id", instance}, {"command_id", command}} {
		if len(id.v) > MaxIDBytes {
			return invalid("result: %s is %d bytes, over the %d-byte limit for an ID", id.name, len(id.v), MaxIDBytes)
		}
	}
	return nil
}

// errOverBudget says the Results of an input already hold
// DecodedSizeFactor times its size.
var errOverBudget = errors.New("not kept: the Results read before it from the same file already hold " +
	strconv.Itoa(DecodedSizeFactor) + " times the file's size in memory (many small rows no other host has?)")

// invalid wraps err to match diffyerr.ErrInvalidInput.
func invalid(format string, a ...any) error {
	return fmt.Errorf(format+": %w", append(a, diffyerr.ErrInvalidInput)...)
}

// str returns the text of the string q (quotes included) as a string.
func (d *decoder) str(q []byte) string {
	if plainString(q) {
		return string(q[1 : len(q)-1])
	}
	d.text = appendUnquoted(d.text[:0], q[1:len(q)-1])
	return string(d.text)
}

// shortStr is str for the strings that repeat across Results: command
// IDs, statuses.
func (d *decoder) shortStr(q []byte) string {
	b := q[1 : len(q)-1]
	if !plainString(q) {
		d.text = appendUnquoted(d.text[:0], b)
		b = d.text
	}
	if s, ok := d.short[string(b)]; ok {
		return s
	}
	s := string(b)
	if d.short == nil {
		d.short = map[string]string{}
	}
	if len(d.short) < 256 {
		d.short[s] = s
	}
	return s
}

// plainString reports whether the text of the JSON string q is its bytes.
func plainString(q []byte) bool {
	_, plain := stringEnd(q, 0)
	return plain
}

// The fields of a Result, as resultField numbers them.
const (
	fieldNone = iota
	fieldInstanceID
	fieldCommandID
	fieldStatus
	fieldStatusDetails
	fieldCollectedAt
	fieldStdout
	fieldStderr
	fieldExitCode
	fieldError
	fieldTruncated
	fieldRawBytes
)

// fieldNames are the JSON names of the fields of a Result.
var fieldNames = [...]string{
	fieldInstanceID: "instance_id", fieldCommandID: "command_id", fieldStatus: "status",
	fieldStatusDetails: "status_details", fieldCollectedAt: "collected_at", fieldStdout: "stdout",
	fieldStderr: "stderr", fieldExitCode: "exit_code", fieldError: "error",
	fieldTruncated: "truncated", fieldRawBytes: "raw_bytes",
}

// resultField returns the field named name: the exact name, or else one
// equal to it under Unicode case folding, as encoding/json matches the
// names of struct fields.
func resultField(name []byte) int {
	for f, n := range fieldNames {
		if n != "" && string(name) == n {
			return f
		}
	}
	for f, n := range fieldNames {
		if n != "" && bytes.EqualFold(name, []byte(n)) {
			return f
		}
	}
	return fieldNone
}

// readResult reads the next value of dec as a Result. err is an error of
// dec (the grammar, or io.EOF at the end of the input): nothing more can
// be read. bad says why a value that is valid JSON is not a Result; the
// value has been read whole.
func (d *decoder) readResult(dec *jsontext.Decoder) (r Result, bad, err error) {
	switch k := dec.PeekKind(); k {
	case '{':
	case 0:
		_, err := dec.ReadToken() // the error of PeekKind
		return Result{}, nil, err
	case 'n': // null decodes to an empty Result, which has no instance_id
		if err := dec.SkipValue(); err != nil {
			return Result{}, nil, err
		}
		return Result{}, invalid("result: no instance_id"), nil
	default:
		if err := dec.SkipValue(); err != nil {
			return Result{}, nil, err
		}
		return Result{}, invalid("result: %s, not a Result object", kindName(byte(k))), nil
	}
	if _, err := dec.ReadToken(); err != nil {
		return Result{}, nil, err
	}
	var (
		exitCode  *int
		exit      int
		hasTime   bool
		hasStdout bool  // stdout is not an array: d.stdout holds it
		rows      []Row // or the rows of the array, or its error
		rowsErr   error
		typeErr   error
		wrongType = func(v byte, want string) {
			if typeErr == nil {
				typeErr = fmt.Errorf("%s is %s, not %s", d.name, kindName(v), want)
			}
		}
	)
	r = Result{ExitCode: -1}
	for dec.PeekKind() != '}' {
		q, err := dec.ReadValue()
		if err != nil {
			return Result{}, nil, err
		}
		if plainString(q) {
			d.name = append(d.name[:0], q[1:len(q)-1]...)
		} else {
			d.name = appendUnquoted(d.name[:0], q[1:len(q)-1])
		}
		f := resultField(d.name)
		if f == fieldNone {
			if err := dec.SkipValue(); err != nil {
				return Result{}, nil, err
			}
			continue
		}
		if f == fieldStdout && dec.PeekKind() == '[' {
			// Decoded at once; the last stdout counts (an error of an
			// earlier one is forgotten too).
			hasStdout = false
			if rows, rowsErr, err = d.readRows(dec); err != nil {
				return Result{}, nil, err
			}
			continue
		}
		v, err := dec.ReadValue()
		if err != nil {
			return Result{}, nil, err
		}
		switch f {
		case fieldInstanceID, fieldCommandID, fieldStatus, fieldStatusDetails, fieldStderr, fieldError:
			switch v[0] {
			case '"':
				switch f {
				case fieldInstanceID:
					if r.InstanceID = d.lastID; string(v[1:len(v)-1]) != d.lastID || !plainString(v) {
						r.InstanceID = d.str(v)
						d.lastID = r.InstanceID
					}
				case fieldCommandID:
					r.CommandID = d.shortStr(v)
				case fieldStatus:
					r.Status = Status(d.shortStr(v))
				case fieldStatusDetails:
					r.StatusDetails = d.shortStr(v)
				case fieldStderr:
					r.Stderr = d.str(v)
				case fieldError:
					r.Error = d.str(v)
				}
			case 'n': // null leaves a string as it is
			default:
				wrongType(v[0], "a string")
			}
		case fieldExitCode, fieldRawBytes:
			switch c := v[0]; {
			case c == '-' || c >= '0' && c <= '9':
				n, err := strconv.ParseInt(string(v), 10, 64)
				switch {
				case err != nil:
					if typeErr == nil {
						typeErr = fmt.Errorf("%s %s is not an integer", d.name, v)
					}
				case f == fieldExitCode:
					exit = int(n)
					exitCode = &exit
				default:
					r.RawBytes = n
				}
			case c == 'n': // null: no exit code; raw_bytes as it is
				if f == fieldExitCode {
					exitCode = nil
				}
			default:
				wrongType(c, "an integer")
			}
		case fieldTruncated:
			switch v[0] {
			case 't', 'f':
				r.Truncated = v[0] == 't'
			case 'n':
			default:
				wrongType(v[0], "a boolean")
			}
		case fieldCollectedAt:
			d.collectedAt, hasTime = append(d.collectedAt[:0], v...), true
		case fieldStdout:
			d.stdout, hasStdout, rows, rowsErr = append(d.stdout[:0], v...), true, nil, nil
		}
	}
	if _, err := dec.ReadToken(); err != nil {
		return Result{}, nil, err
	}

	if typeErr != nil {
		return Result{}, invalid("result: %v", typeErr), nil
	}
	if r.InstanceID == "" {
		return Result{}, invalid("result: no instance_id"), nil
	}
	if err := checkIDs(r.InstanceID, r.CommandID); err != nil {
		return Result{}, err, nil
	}
	if exitCode != nil {
		r.ExitCode = *exitCode
	} else if r.Status == StatusSuccess {
		r.ExitCode = 0
	}
	if hasTime {
		t, err := d.time(d.collectedAt)
		if err != nil {
			return Result{}, fmt.Errorf("result of %s: collected_at: %w", r.InstanceID, err), nil
		}
		r.CollectedAt = t
	}
	if hasStdout {
		rows, rowsErr = d.stdoutValue(d.stdout)
	}
	var capped *rowsCapError
	switch {
	case errors.As(rowsErr, &capped):
		if d.over {
			d.overBudget(&r) // the rows were only checked
			return r, nil, nil
		}
		r.Status, r.Truncated = StatusFailed, true
		r.Error = fmt.Sprintf("command %s: %v", commandName(r.CommandID), rowsErr)
	case rowsErr != nil:
		return Result{}, fmt.Errorf("result of %s %s: stdout: %w", r.InstanceID, r.CommandID, rowsErr), nil
	default:
		r.Rows = rows
	}
	d.budget -= resultBytes + int64(len(r.InstanceID)+len(r.Stderr)+len(r.Error)) + 8*int64(len(r.Rows))
	if d.budget < 0 && !d.over {
		d.over = true
		if r.Rows != nil {
			d.overBudget(&r)
		}
	}
	return r, nil, nil
}

// resultBytes estimates the memory of a Result besides its strings and
// rows.
const resultBytes = 200

// overBudget marks r, which had rows, as kept without them, its input
// being over DecodedSizeFactor.
func (d *decoder) overBudget(r *Result) {
	r.Status, r.Truncated, r.Rows = StatusFailed, true, nil
	r.Error = fmt.Sprintf("command %s: rows %v", commandName(r.CommandID), errOverBudget)
}

// commandName is a command ID for messages.
func commandName(id string) string {
	if id == "" {
		return "(unnamed)"
	}
	return id
}

// timeLayouts are the forms collected_at is read in: RFC 3339, and the
// original's "2006-01-02 15:04:05[.999999]" (with a space or a T).
var timeLayouts = []string{time.RFC3339Nano, "2006-01-02 15:04:05.999999999", "2006-01-02T15:04:05.999999999"}

// time decodes collected_at, whose JSON is v.
func (d *decoder) time(v []byte) (time.Time, error) {
	if v[0] == 'n' {
		return time.Time{}, nil
	}
	if v[0] != '"' {
		return time.Time{}, invalid("not a string")
	}
	if bytes.Equal(v, d.lastTime) {
		return d.lastTimeValue, nil
	}
	s := d.str(v)
	if s == "" {
		return time.Time{}, nil
	}
	for _, layout := range timeLayouts {
		if t, err := time.Parse(layout, s); err == nil {
			d.lastTime, d.lastTimeValue = append(d.lastTime[:0], v...), t
			return t, nil
		}
	}
	return time.Time{}, invalid("%q is not a time", s)
}

// stdoutValue decodes a stdout that is not an array, whose JSON is v:
// null, or a string holding an array of rows (or nothing but white
// space).
func (d *decoder) stdoutValue(v []byte) ([]Row, error) {
	switch v[0] {
	case 'n':
		return nil, nil
	case '"':
		text := appendText(nil, v, plainString(v))
		if len(bytes.TrimSpace(text)) == 0 {
			return nil, nil
		}
		return d.parseRows(text)
	}
	return nil, invalid("output is not a JSON array of rows: it is %s", kindName(v[0]))
}

// inputDecoder returns *dec (d.inner or d.outer), made when nil, reset to
// read data, which ParseRows and UnmarshalJSON read one value of.
func inputDecoder(dec **jsontext.Decoder, data []byte) *jsontext.Decoder {
	if *dec == nil {
		*dec = jsontext.NewDecoder(bytes.NewBuffer(nil))
	}
	(*dec).Reset(bytes.NewBuffer(data), jsonOptions...)
	return *dec
}

// endOf checks that dec has nothing after the value read, and turns an
// error of dec into one that says what is wrong with data as JSON.
func endOf(dec *jsontext.Decoder, err error) error {
	if err == nil {
		if _, err = dec.ReadToken(); err == io.EOF {
			return nil
		}
		if err == nil {
			return invalid("followed by more data after its JSON value (at byte %d)", dec.InputOffset())
		}
	}
	if err == io.EOF {
		return invalid("empty, not JSON")
	}
	var se *jsontext.SyntacticError
	if errors.As(err, &se) {
		if errors.Is(se.Err, io.ErrUnexpectedEOF) {
			return invalid("cut short: it ends in the middle of a JSON value at byte %d", se.ByteOffset)
		}
		return invalid("not valid JSON at byte %d: %v", se.ByteOffset, se.Err)
	}
	return invalid("not JSON: %v", err)
}

// parseRows decodes data, the output of a command, as ParseRows does.
func (d *decoder) parseRows(data []byte) ([]Row, error) {
	dec := inputDecoder(&d.inner, data)
	defer dec.Reset(bytes.NewBuffer(nil)) // do not keep data
	var rows []Row
	var bad error
	var err error
	switch k := dec.PeekKind(); k {
	case '[':
		rows, bad, err = d.readRows(dec)
	case 0:
		_, err = dec.ReadToken() // the error of PeekKind
	default:
		bad = invalid("output is not a JSON array of rows: it is %s", kindName(byte(k)))
		err = dec.SkipValue()
	}
	if err := endOf(dec, err); err != nil {
		return nil, fmt.Errorf("output is %w", err)
	}
	if bad != nil {
		return nil, bad
	}
	return rows, nil
}

// unmarshalResult decodes data, one Result, as Result.UnmarshalJSON does.
func (d *decoder) unmarshalResult(data []byte) (Result, error) {
	dec := inputDecoder(&d.outer, data)
	defer dec.Reset(bytes.NewBuffer(nil)) // do not keep data
	r, bad, err := d.readResult(dec)
	if err := endOf(dec, err); err != nil {
		return Result{}, fmt.Errorf("result is %w", err)
	}
	if bad != nil {
		return Result{}, bad
	}
	return r, nil
}
