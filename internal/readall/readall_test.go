package readall_test

import (
	"bytes"
	"errors"
	"io"
	"math"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/diffy-dfir/diffy/internal/readall"
)

// TestRead: the whole input is read whatever the hint said (exact, short
// of it: a file that grew, longer, zero, negative), also from a reader
// that gives one byte at a time; a limit stops it there.
func TestRead(t *testing.T) {
	const doc = `{"hosts": [1, 2, 3]}`
	for _, hint := range []int64{int64(len(doc)), 0, 3, int64(len(doc)) + 100, -1} {
		for _, limit := range []int64{math.MaxInt64, int64(len(doc)), 5} {
			for _, oneByte := range []bool{false, true} {
				var r io.Reader = strings.NewReader(doc)
				if oneByte {
					r = iotest.OneByteReader(r)
				}
				got, err := readall.Read(r, nil, hint, limit)
				if want := doc[:min(int64(len(doc)), limit)]; err != nil || string(got) != want {
					t.Errorf("hint %d, limit %d, one byte %v: %q, %v; want %q", hint, limit, oneByte, got, err, want)
				}
			}
		}
	}
}

// TestReadError: a read error is returned with what was read before it.
func TestReadError(t *testing.T) {
	r := io.MultiReader(strings.NewReader("abc"), iotest.ErrReader(iotest.ErrTimeout))
	if got, err := readall.Read(r, nil, 10, 100); !errors.Is(err, iotest.ErrTimeout) || string(got) != "abc" {
		t.Errorf("%q, %v; want abc and the timeout", got, err)
	}
}

// TestReadAllocs: an honest reader (its hint its size) costs one
// allocation, none into a buffer with room; a lying one (hint 0, 1 MiB)
// at most the limit's worth, the limit stopping it.
func TestReadAllocs(t *testing.T) {
	data := bytes.Repeat([]byte("x"), 1<<20)
	rd := bytes.NewReader(nil)
	if n := testing.AllocsPerRun(10, func() { rd.Reset(data); readall.Read(rd, nil, int64(len(data)), math.MaxInt64) }); n != 1 {
		t.Errorf("honest: %.0f allocations, want 1", n)
	}
	buf := make([]byte, 0, len(data)+1)
	if n := testing.AllocsPerRun(10, func() { rd.Reset(data); readall.Read(rd, buf, int64(len(data)), math.MaxInt64) }); n != 0 {
		t.Errorf("into a buffer with room: %.0f allocations, want 0", n)
	}
	got, err := readall.Read(bytes.NewReader(data), nil, 0, 1000)
	if err != nil || len(got) != 1000 || cap(got) > 1000 {
		t.Errorf("lying, limit 1000: %d bytes read, buffer %d, %v", len(got), cap(got), err)
	}
}
