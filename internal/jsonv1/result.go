// Package jsonv1 is the decoder of Results and rows as it was before
// collect's decode.go, with encoding/json (v1), kept while both exist to
// hold the new one to it (the differential fuzz tests of collect and of
// package diffy). Only names changed; nothing but tests imports it.
package jsonv1

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strconv"
	"time"

	"github.com/diffy-dfir/diffy/collect"
	"github.com/diffy-dfir/diffy/diffyerr"
)

// UnmarshalResult decodes data into r as collect.Result.UnmarshalJSON did.
func UnmarshalResult(data []byte, r *collect.Result) error {
	return (*result)(r).UnmarshalJSON(data)
}

// result is a collect.Result with the old UnmarshalJSON.
type result collect.Result

// resultJSON mirrors Result with stdout left raw, for UnmarshalJSON.
type resultJSON struct {
	InstanceID    string          `json:"instance_id"`
	CommandID     string          `json:"command_id"`
	Status        collect.Status  `json:"status"`
	StatusDetails string          `json:"status_details"`
	CollectedAt   json.RawMessage `json:"collected_at"`
	Stdout        json.RawMessage `json:"stdout"`
	Stderr        string          `json:"stderr"`
	ExitCode      *int            `json:"exit_code"`
	Error         string          `json:"error"`
	Truncated     bool            `json:"truncated"`
	RawBytes      int64           `json:"raw_bytes"`
}

// UnmarshalJSON decodes a Result, accepting the original Diffy's shapes too:
// stdout as an array of row objects, or as a string holding such an array
// (or empty); row values that are numbers, booleans or null (turned into
// their JSON text, null into ""); collected_at as RFC 3339 or as the
// original's "2006-01-02 15:04:05[.999999]" form. A missing exit_code is -1
// unless the status is Success (0). Errors match diffyerr.ErrInvalidInput.
func (r *result) UnmarshalJSON(data []byte) error {
	var j resultJSON
	if err := json.Unmarshal(data, &j); err != nil {
		return fmt.Errorf("result: %w: %w", err, diffyerr.ErrInvalidInput)
	}
	if j.InstanceID == "" {
		return fmt.Errorf("result: no instance_id: %w", diffyerr.ErrInvalidInput)
	}
	for _, id := range []struct{ name, v string }{{"instance_id", j.InstanceID}, {"command_id", j.CommandID}} {
		if len(id.v) > collect.MaxIDBytes {
			return fmt.Errorf("result: %s is %d bytes, over the %d-byte limit for an ID: %w", id.name, len(id.v), collect.MaxIDBytes, diffyerr.ErrInvalidInput)
		}
	}
	out := result{
		InstanceID: j.InstanceID, CommandID: j.CommandID, Status: j.Status,
		StatusDetails: j.StatusDetails, Stderr: j.Stderr, Error: j.Error,
		Truncated: j.Truncated, RawBytes: j.RawBytes, ExitCode: -1,
	}
	if j.ExitCode != nil {
		out.ExitCode = *j.ExitCode
	} else if j.Status == collect.StatusSuccess {
		out.ExitCode = 0
	}
	t, err := parseTime(j.CollectedAt)
	if err != nil {
		return fmt.Errorf("result of %s: collected_at: %w", j.InstanceID, err)
	}
	out.CollectedAt = t
	rows, err := decodeStdout(j.Stdout)
	if err != nil {
		return fmt.Errorf("result of %s %s: stdout: %w", j.InstanceID, j.CommandID, err)
	}
	out.Rows = rows
	*r = out
	return nil
}

func parseTime(raw json.RawMessage) (time.Time, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return time.Time{}, nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return time.Time{}, fmt.Errorf("not a string: %w", diffyerr.ErrInvalidInput)
	}
	if s == "" {
		return time.Time{}, nil
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02 15:04:05.999999999", "2006-01-02T15:04:05.999999999"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("%q is not a time: %w", s, diffyerr.ErrInvalidInput)
}

// decodeStdout decodes the stdout field: null, an array of rows, or a
// string holding an array of rows.
func decodeStdout(raw json.RawMessage) ([]collect.Row, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	if raw[0] == '"' {
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return nil, fmt.Errorf("%w: %w", err, diffyerr.ErrInvalidInput)
		}
		if len(bytes.TrimSpace([]byte(s))) == 0 {
			return nil, nil
		}
		return ParseRows([]byte(s))
	}
	return ParseRows(raw)
}

// ParseRows parses the output of `osqueryi --json`: a JSON array of
// objects. Values that are strings stay as they are; numbers and booleans
// become their JSON text; null becomes "". Nested arrays or objects,
// anything that is not an array of objects, and trailing data are errors
// matching diffyerr.ErrInvalidInput. Empty output is an error too: osqueryi
// prints [] for no rows. An array of no objects is a non-nil empty slice.
func ParseRows(data []byte) ([]collect.Row, error) {
	// Fast path: osqueryi's own output, every value a string, decodes
	// straight into Rows. Anything else (numbers, null rows, errors) takes
	// the general path below, which also words the errors.
	var rows []collect.Row
	if err := json.Unmarshal(data, &rows); err == nil && rows != nil && !slices.ContainsFunc(rows, func(r collect.Row) bool { return r == nil }) {
		return rows, nil
	}
	return parseRowsGeneral(data)
}

// parseRowsGeneral is ParseRows for output that is not an array of objects
// of strings.
func parseRowsGeneral(data []byte) ([]collect.Row, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	tok, err := dec.Token()
	if err != nil {
		return nil, fmt.Errorf("output is not JSON: %w: %w", err, diffyerr.ErrInvalidInput)
	}
	if d, ok := tok.(json.Delim); !ok || d != '[' {
		return nil, fmt.Errorf("output is not a JSON array of rows (starts with %v): %w", tok, diffyerr.ErrInvalidInput)
	}
	rows := []collect.Row{}
	for dec.More() {
		var obj map[string]any
		if err := dec.Decode(&obj); err != nil {
			return nil, fmt.Errorf("row %d: %w: %w", len(rows)+1, err, diffyerr.ErrInvalidInput)
		}
		if obj == nil {
			return nil, fmt.Errorf("row %d is null, not an object: %w", len(rows)+1, diffyerr.ErrInvalidInput)
		}
		row := make(collect.Row, len(obj))
		for k, v := range obj {
			switch v := v.(type) {
			case string:
				row[k] = v
			case json.Number:
				row[k] = v.String()
			case bool:
				row[k] = strconv.FormatBool(v)
			case nil:
				row[k] = ""
			default:
				return nil, fmt.Errorf("row %d column %q holds a nested %T, not a scalar: %w", len(rows)+1, k, v, diffyerr.ErrInvalidInput)
			}
		}
		rows = append(rows, row)
	}
	if _, err := dec.Token(); err != nil {
		return nil, fmt.Errorf("output is cut or malformed after row %d: %w: %w", len(rows), err, diffyerr.ErrInvalidInput)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("output has data after the array of rows: %w", diffyerr.ErrInvalidInput)
	}
	return rows, nil
}
