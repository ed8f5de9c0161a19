// Package rawio reads and writes pollable file descriptors (sockets,
// pipes) with raw non-blocking system calls. They return at once, so they
// need not tell the Go scheduler that they enter a system call; one that
// does, on a server gone idle between two messages, wakes the runtime's
// monitor thread, a cross-CPU wake-up on the path of every request and
// reply. Waiting for the descriptor is still the runtime poller's, through
// syscall.RawConn.
package rawio

import (
	"syscall"
	"unsafe"
)

// Read waits until the descriptor of rc is readable and reads into p,
// which must not be empty. err is the poller's (closed, past a deadline),
// for the caller to turn into its own error by a plain read; errno is the
// read's. n is 0 with neither at the end of the stream.
func Read(rc syscall.RawConn, p []byte) (n int, errno syscall.Errno, err error) {
	var got uintptr
	err = rc.Read(func(fd uintptr) bool {
		for {
			got, _, errno = syscall.RawSyscall(syscall.SYS_READ, fd, uintptr(unsafe.Pointer(&p[0])), uintptr(len(p)))
			if errno != syscall.EINTR {
				return errno != syscall.EAGAIN
			}
		}
	})
	if err != nil || errno != 0 {
		return 0, errno, err
	}
	return int(got), 0, nil
}
