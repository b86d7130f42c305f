// Package readall reads a reader to its end, or to a limit, into a buffer
// the size the reader is expected to have (a file's size, a gzip
// trailer's claim) plus one byte, which sees the end without growing it:
// one allocation for an honest reader, whatever the build. io.ReadAll's
// buffer grows from 512 bytes, which allocates about twice what is read
// and copies it as often (a 438 KB report: 994 KB), and bytes.Buffer's
// growth allocates twice under -race.
package readall

import (
	"io"
)

// Read reads r to its end, or until it has limit bytes, and returns what
// it read, with the error that stopped it (nil at the end of r, or at
// limit) beside what was read before it. It reads into buf when buf has
// room for min(hint+1, limit) bytes (its contents are overwritten), else
// into a new buffer of that many bytes. A reader that sends more than hint
// grows the buffer by half each time it is full (at least 512 bytes,
// never past limit): at most limit bytes for one that lies. hint < 0 is
// 0; limit must be at least 0.
func Read(r io.Reader, buf []byte, hint, limit int64) ([]byte, error) {
	want := min(max(hint, 0), limit-1) + 1 // hint+1, at most limit
	if int64(cap(buf)) < want {
		buf = make([]byte, 0, want)
	}
	buf = buf[:0]
	for int64(len(buf)) < limit {
		if len(buf) == cap(buf) {
			grown := make([]byte, len(buf), min(int64(max(cap(buf)+cap(buf)/2, 512)), limit))
			copy(grown, buf)
			buf = grown
		}
		n, err := r.Read(buf[len(buf):int(min(int64(cap(buf)), limit))])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return buf, err
		}
	}
	return buf, nil
}
