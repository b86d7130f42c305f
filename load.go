package diffy

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/diffy-dfir/diffy/analyze"
	"github.com/diffy-dfir/diffy/collect"
)

// MaxResultFileBytes is the largest file LoadResults reads: 1 GiB. A larger
// file is skipped (and named in a Skip), not read.
const MaxResultFileBytes = 1 << 30

// LoadResults reads Results saved earlier: each path is a file, or a
// directory whose *.json and *.jsonl files (not its subdirectories) are
// read in name order. A file holds a JSON array of Results (any number per
// file, several arrays one after another allowed), or Result objects one
// after another (one Result, or JSON Lines). The original Diffy's files,
// without command_id, are read too (see collect.Result.UnmarshalJSON).
//
// Bad input does not stop the others; it comes back as an analyze.Skip
// whose Source is the path and whose Reason says what is wrong and where
// (line and column):
//   - a file that is not valid JSON (cut short, say) is skipped whole, so
//     that nothing cut is taken as whole;
//   - an element that is valid JSON but not a Result (no instance_id, a
//     number) is skipped alone;
//   - a file over MaxResultFileBytes, a path that cannot be read, a
//     directory without JSON files are skipped.
//
// The same instance and command found twice (in two files, or one) is kept
// once, the Result with the later collected_at (on a tie, the one read
// last), and a Skip notes the Results dropped.
//
// Equal rows of different Results are one map (collect.RowPool), which
// keeps a fleet's Results small in memory: treat them as read-only.
//
// The error, matching ErrInvalidInput and naming the paths, is for the case
// where no Result at all could be loaded; the Skips say why.
func LoadResults(paths ...string) ([]collect.Result, []analyze.Skip, error) {
	var all []collect.Result
	var from []string // from[i] is the file all[i] came from
	var pool collect.RowPool
	skips, err := ScanResults(paths, func(source string, rs []collect.Result) error {
		for i := range rs {
			pool.Share(rs[i].Rows)
		}
		all = append(all, rs...)
		for range rs {
			from = append(from, source)
		}
		return nil
	})
	if err != nil {
		return nil, skips, err
	}
	all, dupSkips := dedupe(all, from)
	return all, append(skips, dupSkips...), nil
}

// ScanResults reads Results saved earlier, as LoadResults does (the same
// paths, files, formats, limits and Skips), but one file at a time: it
// calls fn with each file's Results (never none) and the file's path, in
// the order LoadResults reads them, and keeps nothing; fn may keep
// results. Unlike LoadResults it does not drop duplicates: the same
// instance and command found twice reach fn twice.
//
// An error of fn stops the scan and is returned as is. Otherwise the error,
// matching ErrInvalidInput and naming the paths, is for the case where no
// Result at all could be read; the Skips say why.
func ScanResults(paths []string, fn func(source string, results []collect.Result) error) ([]analyze.Skip, error) {
	if len(paths) == 0 {
		return nil, fmt.Errorf("no file or directory of results given: %w", ErrInvalidInput)
	}
	var files []string
	var skips []analyze.Skip
	for _, p := range paths {
		fs, skip := expand(p)
		if skip != nil {
			skips = append(skips, *skip)
		}
		files = append(files, fs...)
	}
	read := 0
	for _, f := range files {
		rs, fileSkips := loadFile(f, MaxResultFileBytes)
		skips = append(skips, fileSkips...)
		if len(rs) == 0 {
			continue
		}
		read += len(rs)
		if err := fn(f, rs); err != nil {
			return skips, err
		}
	}
	if read == 0 {
		why := "nothing in them"
		if len(skips) > 0 {
			var rs []string
			for _, s := range skips {
				rs = append(rs, s.Source+": "+s.Reason)
			}
			why = strings.Join(rs, "; ")
		}
		return skips, fmt.Errorf("no result could be loaded from %s: %s: %w", strings.Join(paths, ", "), why, ErrInvalidInput)
	}
	return skips, nil
}

// expand returns the files to read for path p: p itself, or the JSON files
// of the directory p.
func expand(p string) ([]string, *analyze.Skip) {
	fi, err := os.Stat(p)
	if err != nil {
		return nil, &analyze.Skip{Source: p, Reason: fmt.Sprintf("cannot be read: %v", unwrapPath(err))}
	}
	if !fi.IsDir() {
		return []string{p}, nil
	}
	entries, err := os.ReadDir(p)
	if err != nil {
		return nil, &analyze.Skip{Source: p, Reason: fmt.Sprintf("directory cannot be listed: %v", unwrapPath(err))}
	}
	var files []string
	for _, e := range entries {
		name := strings.ToLower(e.Name())
		if e.IsDir() || !(strings.HasSuffix(name, ".json") || strings.HasSuffix(name, ".jsonl")) {
			continue
		}
		files = append(files, filepath.Join(p, e.Name()))
	}
	if len(files) == 0 {
		return nil, &analyze.Skip{Source: p, Reason: "directory holds no *.json or *.jsonl file"}
	}
	return files, nil
}

// unwrapPath drops the path from an *fs.PathError, which the Skip names
// already.
func unwrapPath(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// loadFile reads the Results of one file, at most maxBytes long.
func loadFile(path string, maxBytes int64) ([]collect.Result, []analyze.Skip) {
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
		var r collect.Result
		err := dec.Decode(&r)
		n++
		var te *json.UnmarshalTypeError
		switch {
		case err == nil:
			rs = append(rs, r)
		case errors.Is(err, ErrInvalidInput) || errors.As(err, &te):
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

// dedupe keeps one Result per (instance, command): the later collected_at,
// or on a tie the one read last. from[i] names the file of rs[i]. It
// returns a Skip per pair of files that lost Results to another.
func dedupe(rs []collect.Result, from []string) ([]collect.Result, []analyze.Skip) {
	type pair struct{ inst, cmd string }
	type loss struct {
		count   int
		example pair
	}
	at := make(map[pair]int, len(rs))
	keep := make([]bool, len(rs))
	losses := map[[2]string]*loss{} // [dropped file, kept file]
	var order [][2]string
	for i, r := range rs {
		p := pair{r.InstanceID, r.CommandID}
		j, seen := at[p]
		if !seen {
			at[p] = i
			keep[i] = true
			continue
		}
		drop, kept := j, i
		if rs[j].CollectedAt.After(r.CollectedAt) {
			drop, kept = i, j
		}
		keep[drop], keep[kept] = false, true
		at[p] = kept
		k := [2]string{from[drop], from[kept]}
		if losses[k] == nil {
			losses[k] = &loss{example: p}
			order = append(order, k)
		}
		losses[k].count++
	}
	out := rs[:0:0]
	for i, r := range rs {
		if keep[i] {
			out = append(out, r)
		}
	}
	var skips []analyze.Skip
	for _, k := range order {
		l := losses[k]
		cmd := l.example.cmd
		if cmd == "" {
			cmd = "(unnamed command)"
		}
		where := "also in " + k[1]
		if k[0] == k[1] {
			where = "repeated within the file"
		}
		skips = append(skips, analyze.Skip{Source: k[0], Reason: fmt.Sprintf(
			"%d result(s) dropped as duplicates (same instance and command %s, e.g. %s %s); kept the one with the later collected_at",
			l.count, where, l.example.inst, cmd)})
	}
	return out, skips
}
