package persist

import (
	"strings"
	"testing"
	"testing/iotest"
)

// TestReadSized: the whole input is read whatever the size said (exact,
// short of it: a file that grew, longer, zero), also from a reader that
// gives one byte at a time; a read error is returned.
func TestReadSized(t *testing.T) {
	const doc = `{"hosts": [1, 2, 3]}`
	for _, size := range []int64{int64(len(doc)), 0, 3, int64(len(doc)) + 100, -1} {
		for _, name := range []string{"whole", "one byte"} {
			rd := strings.NewReader(doc)
			var got []byte
			var err error
			if name == "one byte" {
				got, err = readSized(iotest.OneByteReader(rd), size)
			} else {
				got, err = readSized(rd, size)
			}
			if err != nil || string(got) != doc {
				t.Errorf("size %d, %s: %q, %v", size, name, got, err)
			}
		}
	}
	if _, err := readSized(iotest.ErrReader(iotest.ErrTimeout), 10); err != iotest.ErrTimeout {
		t.Errorf("read error: %v", err)
	}
}
