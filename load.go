package diffy

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"

	"github.com/diffy-dfir/diffy/analyze"
	"github.com/diffy-dfir/diffy/collect"
	"github.com/diffy-dfir/diffy/internal/ordered"
	"github.com/diffy-dfir/diffy/internal/readall"
	"github.com/diffy-dfir/diffy/internal/textcut"
)

// MaxResultFileBytes is the largest file LoadResults reads: 1 GiB. A larger
// file is skipped (and named in a Skip), not read.
const MaxResultFileBytes = 1 << 30

// maxBytesInFlight bounds the sizes of the files being read at once and
// of those read ahead of the caller (a larger file is read alone).
const maxBytesInFlight = 64 << 20

// filesPerJob is the number of files a goroutine of ScanResults reads at
// a time.
const filesPerJob = 16

// scanPoolRows is the Limit of the RowPool of ScanResults, whose caller
// drops the Results: enough for the rows a fleet's hosts have in common.
// A row stays shared while it comes back before Limit new rows have come:
// each host brings rows of its own (processes with their pids, kernel
// modules with their load addresses: about 130 of the 175 rows of a
// simulated xlarge host), so a row on a share ρ of the hosts comes back
// after about 130/ρ new rows. 16384 keeps the rows of 1% of the hosts or
// more (the analysis's rare share) shared on such a fleet; a rarer row
// has few copies, and a row not shared costs only while its Results are
// read. bench/README.md (issue 14) has the curve: at 100,000 hosts, 65536
// cost 285 MiB more peak RSS for the same CPU.
const scanPoolRows = 1 << 14

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
//   - an element that is valid JSON but not a Result (no instance_id, an
//     ID over collect.MaxIDBytes, a number) is skipped alone;
//   - a file over MaxResultFileBytes, a path that cannot be read, that is
//     not a regular file (a FIFO, a device: never opened for reading, so
//     never waited on), a directory without JSON files are skipped.
//
// A Result with more rows than collect.DefaultMaxRows is kept without
// them, Truncated, as a collector keeps one (see collect.ResultDecoder);
// so is every Result of a file whose rows would take more than
// collect.DecodedSizeFactor times its size in memory.
//
// The same instance and command found twice (in two files, or one) is kept
// once, the Result with the later collected_at (on a tie, the one read
// last), and a Skip notes the Results dropped.
//
// Equal rows of different Results are one map (collect.RowPool), which
// keeps a fleet's Results small in memory: treat them as read-only.
//
// The files are read on every core (see ScanResults).
//
// The error, matching ErrInvalidInput and naming the paths, is for the case
// where no Result at all could be loaded; the Skips say why.
func LoadResults(paths ...string) ([]collect.Result, []analyze.Skip, error) {
	return loadResults(context.Background(), paths)
}

// loadResults is LoadResults, stopped by ctx between files.
func loadResults(ctx context.Context, paths []string) ([]collect.Result, []analyze.Skip, error) {
	var all []collect.Result
	var from []string // from[i] is the file all[i] came from
	skips, err := scanResults(ctx, paths, &collect.RowPool{}, func(source string, rs []collect.Result) error {
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
// The files are read and decoded on up to runtime.GOMAXPROCS(0)
// goroutines, 16 files at a time each, a few ahead of fn, which is called
// on the calling goroutine, one file after the other, in order: what fn
// sees does not depend on which file was decoded first. The memory of
// reading a file is its size (it is read whole) plus what its Results hold
// (at most collect.DecodedSizeFactor times its size); the files being read
// or waiting for fn are at most 32 per goroutine, and together at most
// 64 MiB (or the 16 files that hold a larger one). Rows are shared through
// a RowPool that keeps only the rows seen recently, so that its memory
// does not grow with the files read; equal rows of different files may
// be one map: treat them as read-only.
//
// An error of fn stops the scan and is returned as is. Otherwise the error,
// matching ErrInvalidInput and naming the paths, is for the case where no
// Result at all could be read; the Skips say why.
func ScanResults(paths []string, fn func(source string, results []collect.Result) error) ([]analyze.Skip, error) {
	return scanResults(context.Background(), paths, &collect.RowPool{Limit: scanPoolRows}, fn)
}

// scanResults is ScanResults with the rows shared through pool, stopped by
// ctx between files (returning its error).
func scanResults(ctx context.Context, paths []string, pool *collect.RowPool, fn func(source string, results []collect.Result) error) ([]analyze.Skip, error) {
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
	// A job reads a few files one after the other, so that small files
	// do not cost a hand-over each.
	type fileResults struct {
		rs    []collect.Result
		skips []analyze.Skip
	}
	jobs := (len(files) + filesPerJob - 1) / filesPerJob
	job := func(j int) []string { return files[j*filesPerJob : min((j+1)*filesPerJob, len(files))] }
	readers := sync.Pool{New: func() any { return &fileReader{dec: collect.ResultDecoder{Pool: pool}} }}
	workers := runtime.GOMAXPROCS(0)
	read := 0
	err := ordered.Run(jobs, ordered.Options{
		Workers: workers, Window: 2 * workers, MaxWeight: maxBytesInFlight,
		Weight: func(j int) int64 {
			var size int64
			for _, f := range job(j) {
				if fi, err := os.Stat(f); err == nil {
					size += fi.Size()
				}
			}
			return size
		},
	}, func(j int) []fileResults {
		out := make([]fileResults, len(job(j)))
		if ctx.Err() != nil {
			return out
		}
		fr := readers.Get().(*fileReader)
		defer readers.Put(fr)
		for i, f := range job(j) {
			out[i].rs, out[i].skips = fr.load(f, MaxResultFileBytes)
		}
		return out
	}, func(j int, out []fileResults) error {
		for i, f := range job(j) {
			if err := ctx.Err(); err != nil {
				return err
			}
			for _, s := range out[i].skips {
				skips = append(skips, analyze.Skip{Source: s.Source, Reason: cutReason(s.Reason)})
			}
			if len(out[i].rs) == 0 {
				continue
			}
			read += len(out[i].rs)
			if err := fn(f, out[i].rs); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return skips, err
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

// cutReason is a Skip's reason cut as a Report's values are (see
// analyze.MaxValueBytes): it may quote what a file holds (an instance ID,
// an error, a timestamp megabytes long).
func cutReason(s string) string {
	kept, _, _ := textcut.Cut(s, analyze.MaxValueBytes)
	return kept
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

// fileReader reads result files, one at a time, keeping its buffer and
// decoder from one to the next.
type fileReader struct {
	buf []byte
	dec collect.ResultDecoder
}

// keptBuffer is the largest buffer a fileReader keeps for the next file.
const keptBuffer = 4 << 20

// load reads the Results of one file, at most maxBytes long.
func (fr *fileReader) load(path string, maxBytes int64) ([]collect.Result, []analyze.Skip) {
	skip := func(format string, a ...any) []analyze.Skip {
		return []analyze.Skip{{Source: path, Reason: fmt.Sprintf(format, a...)}}
	}
	// Opened without waiting for a writer (a FIFO), checked before it is
	// read.
	f, err := openNoWait(path)
	if err != nil {
		return nil, skip("cannot be read: %v", unwrapPath(err))
	}
	defer f.Close()
	regular, size, err := f.stat()
	if err != nil {
		return nil, skip("cannot be read: %v", unwrapPath(err))
	}
	if !regular {
		return nil, skip("is not a regular file")
	}
	if size > maxBytes {
		return nil, skip("is %d bytes, over the %d-byte limit for a result file; not read", size, maxBytes)
	}
	data, err := fr.read(f, size, maxBytes)
	defer func() {
		if cap(fr.buf) > keptBuffer {
			fr.buf = nil // not kept: a large file's buffer goes with it
		}
	}()
	if err != nil {
		return nil, skip("cannot be read: %v", unwrapPath(err))
	}
	if int64(len(data)) > maxBytes {
		return nil, skip("grew past the %d-byte limit for a result file while it was read; not read", maxBytes)
	}
	rs, bad, err := fr.dec.Decode(data)
	var ie *collect.InputError
	if errors.As(err, &ie) {
		reason := ie.What
		if ie.Offset >= 0 {
			reason += " at " + where(data, ie.Offset)
		}
		if ie.Detail != "" {
			reason += ": " + ie.Detail
		}
		if ie.Offset >= 0 {
			reason += "; the whole file was skipped"
		}
		return nil, skip("%s", reason)
	}
	var skips []analyze.Skip
	for _, e := range bad {
		skips = append(skips, analyze.Skip{Source: path, Reason: fmt.Sprintf("result %d at %s is not a Result: %v", e.Index, where(data, e.Offset), e.Err)})
	}
	return rs, skips
}

// read reads f, which had size bytes when it was opened, to its end into
// fr's buffer (readall: one allocation when the file has not grown), and
// no more than maxBytes+1 bytes of it.
func (fr *fileReader) read(f io.Reader, size, maxBytes int64) ([]byte, error) {
	buf, err := readall.Read(f, fr.buf, size, maxBytes+1)
	fr.buf = buf[:0]
	if err != nil {
		return nil, err
	}
	return buf, nil
}

// where returns "line L, column C" of offset off in data: 1-based, the
// column counted in bytes.
func where(data []byte, off int64) string {
	off = min(max(off, 0), int64(len(data)))
	before := data[:off]
	line := 1 + bytes.Count(before, []byte("\n"))
	col := off + 1
	if nl := bytes.LastIndexByte(before, '\n'); nl >= 0 {
		col = off - int64(nl)
	}
	return fmt.Sprintf("line %d, column %d", line, col)
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
		skips = append(skips, analyze.Skip{Source: k[0], Reason: cutReason(fmt.Sprintf(
			"%d result(s) dropped as duplicates (same instance and command %s, e.g. %s %s); kept the one with the later collected_at",
			l.count, where, l.example.inst, cmd))})
	}
	return out, skips
}
