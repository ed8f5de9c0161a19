package wsconn

import (
	"io"
	"net"
	"os"
	"sync"
	"syscall"
	"unsafe"

	"github.com/scalesocket/scalesocket-go/internal/rawio"
)

// rawSocket is a plain TCP connection whose reads, and the writes of
// TryWriteFrames, are raw non-blocking system calls (see package rawio for
// why; with the same on the pipe side, about a fifth of the echo round
// trip here).
type rawSocket struct {
	net.Conn
	rc syscall.RawConn
	// wmu makes each write whole: the library's control frames (Write)
	// and the server's data frames (WriteFrames, tryWritev). A tryWritev
	// that the socket took only part of keeps it held, so that no pong or
	// close frame can come between the two halves of a frame; the
	// WriteFrames that sends the rest lets it go.
	wmu sync.Mutex
	// held is set while a cut tryWritev holds wmu; only the connection's
	// writer, one at a time, touches it.
	held bool
}

// Write is the library's write, of one control frame or message.
func (s *rawSocket) Write(p []byte) (int, error) {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	return s.Conn.Write(p)
}

// lockWrites takes wmu for WriteFrames, unless a cut tryWritev left it
// held for it.
func (s *rawSocket) lockWrites() {
	if s.held {
		s.held = false
		return
	}
	s.wmu.Lock()
}

// newRawSocket wraps conn, or returns nil when it is not a plain socket
// (TLS).
func newRawSocket(conn net.Conn) *rawSocket {
	sc, ok := conn.(syscall.Conn)
	if !ok {
		return nil
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return nil
	}
	return &rawSocket{Conn: conn, rc: rc}
}

// Read waits for data and reads it.
func (s *rawSocket) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	n, errno, err := rawio.Read(s.rc, p)
	switch {
	case err != nil:
		return s.Conn.Read(p) // closed, or past the deadline, as net.Conn says it
	case errno != 0:
		return 0, &net.OpError{Op: "read", Net: "tcp", Source: s.LocalAddr(), Addr: s.RemoteAddr(), Err: os.NewSyscallError("read", errno)}
	case n == 0:
		return 0, io.EOF
	}
	return n, nil
}

// maxTryFrames bounds the frames of one tryWritev, so that its iovecs
// live on the stack; more frames are a burst, for WriteFrames.
const maxTryFrames = 16

// tryWritev makes one non-blocking vectored write of frames, consumes
// what the socket took, and reports whether that was all. A full socket
// or an error leaves the rest to WriteFrames, which waits or fails.
func (s *rawSocket) tryWritev(frames *net.Buffers) bool {
	if len(*frames) > maxTryFrames {
		return false
	}
	var iov [maxTryFrames]syscall.Iovec
	n := 0
	for _, b := range *frames {
		if len(b) > 0 {
			iov[n].Base = &b[0]
			iov[n].SetLen(len(b))
			n++
		}
	}
	if n == 0 {
		return true
	}
	s.wmu.Lock()
	var written uintptr
	var errno syscall.Errno
	err := s.rc.Write(func(fd uintptr) bool {
		written, _, errno = syscall.RawSyscall(syscall.SYS_WRITEV, fd, uintptr(unsafe.Pointer(&iov[0])), uintptr(n))
		return true // one attempt: waiting is WriteFrames's
	})
	if err != nil || errno != 0 || written == 0 {
		s.wmu.Unlock()
		return false
	}
	consume(frames, int(written))
	if len(*frames) > 0 {
		s.held = true // for the WriteFrames that sends the rest
		return false
	}
	s.wmu.Unlock()
	return true
}

// consume drops the first n bytes of v, as a write of net.Buffers does.
func consume(v *net.Buffers, n int) {
	for len(*v) > 0 {
		if len((*v)[0]) > n {
			(*v)[0] = (*v)[0][n:]
			return
		}
		n -= len((*v)[0])
		(*v)[0] = nil
		*v = (*v)[1:]
	}
}
