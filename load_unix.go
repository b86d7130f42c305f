//go:build unix

package diffy

import (
	"io"
	"syscall"
)

// resultFile is a file of results open for reading, by its descriptor:
// there are thousands to read, and the os package's *File would try each
// with the poller first.
type resultFile struct{ fd int }

// openNoWait opens path for reading without waiting for anything: a FIFO
// opens at once (O_NONBLOCK), whether or not a writer has it open, so that
// its type can be checked before anything is read. O_NONBLOCK changes
// nothing for the reading of a regular file.
func openNoWait(path string) (resultFile, error) {
	for {
		fd, err := syscall.Open(path, syscall.O_RDONLY|syscall.O_NONBLOCK|syscall.O_CLOEXEC, 0)
		if err != syscall.EINTR {
			return resultFile{fd}, err
		}
	}
}

// stat says whether f is a regular file, and its size.
func (f resultFile) stat() (regular bool, size int64, err error) {
	var st syscall.Stat_t
	for {
		if err = syscall.Fstat(f.fd, &st); err != syscall.EINTR {
			break
		}
	}
	return err == nil && st.Mode&syscall.S_IFMT == syscall.S_IFREG, st.Size, err
}

func (f resultFile) Read(p []byte) (int, error) {
	for {
		n, err := syscall.Read(f.fd, p)
		switch {
		case err == syscall.EINTR:
			continue
		case err != nil:
			return 0, err
		case n == 0 && len(p) > 0:
			return 0, io.EOF
		}
		return n, nil
	}
}

func (f resultFile) Close() error { return syscall.Close(f.fd) }
