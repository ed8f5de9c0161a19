package process

import (
	"io"
	"os"
	"syscall"
	"unsafe"

	"github.com/scalesocket/scalesocket-go/internal/rawio"
)

// rawPipe reads or writes a non-blocking pipe with raw system calls (see
// package rawio for why); with the same on the socket side, that is about
// a fifth of the echo round trip here.
type rawPipe struct {
	f  *os.File
	rc syscall.RawConn // nil: plain os.File I/O
}

func newRawPipe(f *os.File) rawPipe {
	rc, err := f.SyscallConn()
	if err != nil {
		return rawPipe{f: f}
	}
	return rawPipe{f: f, rc: rc}
}

func (p rawPipe) Read(b []byte) (int, error) {
	if p.rc == nil || len(b) == 0 {
		return p.f.Read(b)
	}
	n, errno, err := rawio.Read(p.rc, b)
	switch {
	case err != nil:
		return p.f.Read(b) // closed, or past the deadline, as os.File says it
	case errno != 0:
		return 0, &os.PathError{Op: "read", Path: p.f.Name(), Err: errno}
	case n == 0:
		return 0, io.EOF
	}
	return n, nil
}

func (p rawPipe) Write(b []byte) (int, error) {
	if p.rc == nil {
		return p.f.Write(b)
	}
	written := 0
	var errno syscall.Errno
	err := p.rc.Write(func(fd uintptr) bool {
		for written < len(b) {
			n, _, e := syscall.RawSyscall(syscall.SYS_WRITE, fd, uintptr(unsafe.Pointer(&b[written])), uintptr(len(b)-written))
			switch e {
			case 0:
				written += int(n)
			case syscall.EINTR:
			case syscall.EAGAIN:
				return false // wait until the process reads
			default:
				errno = e
				return true
			}
		}
		return true
	})
	switch {
	case err != nil:
		n, err := p.f.Write(b[written:]) // closed, as os.File says it
		return written + n, err
	case errno != 0:
		return written, &os.PathError{Op: "write", Path: p.f.Name(), Err: errno}
	}
	return written, nil
}
