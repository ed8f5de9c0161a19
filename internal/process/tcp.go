package process

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"slices"
	"strconv"
	"syscall"
	"time"

	"github.com/scalesocket/scalesocket-go/internal/frame"
	"github.com/scalesocket/scalesocket-go/internal/room"
)

// Connection retries (SPEC §7): the first retry comes soon, so a process
// that listens quickly is reached quickly; the pause doubles up to a cap,
// so a slow one costs a few attempts a second, not a busy loop.
const (
	firstRetry = 10 * time.Millisecond
	maxRetry   = 200 * time.Millisecond
)

// TCP is a room backend that talks to a process over a TCP connection to
// 127.0.0.1:PORT. The process's stdout and stderr go to the log.
type TCP struct {
	proc *Process
	conn *net.TCPConn
	out  *OutputReader
	// drained is closed once the connection has been given its read
	// deadline after the process ended.
	drained chan struct{}
}

// StartTCP starts spec with PORT=port added to its environment, and
// connects to 127.0.0.1:port, retrying until the process listens there.
// It gives up when connectTimeout has passed, when the process exits
// first, or when ctx is done; the process is then ended and reaped before
// StartTCP returns, so that its port can be handed out again at once.
func StartTCP(ctx context.Context, spec Spec, port int, out OutputOptions, connectTimeout time.Duration) (*TCP, error) {
	// A copy, so that the caller's slice is never appended to.
	spec.Env = slices.Concat(spec.Env, []string{"PORT=" + strconv.Itoa(port)})
	spec.LogStdout = true
	p, err := Start(spec)
	if err != nil {
		return nil, err
	}
	p.log.Info("process started", "cmd", spec.Command, "port", port)
	conn, err := connect(ctx, p, port, connectTimeout)
	if err != nil {
		p.Stop()
		p.log.Info("process ended", "exit", p.Wait().String())
		return nil, err
	}
	out.Log = p.log
	t := &TCP{proc: p, conn: conn, drained: make(chan struct{})}
	t.out = NewOutputReader(connReader{conn}, out)
	go func() {
		defer close(t.drained)
		<-p.Exited()
		// What the process sent before it ended can still be read; only a
		// descendant that escaped its group could keep the connection
		// open beyond this. It fails only on a closed connection, whose
		// reads have ended anyway.
		_ = conn.SetReadDeadline(time.Now().Add(drainTimeout))
	}()
	return t, nil
}

// connect dials 127.0.0.1:port until it succeeds, the process exits, ctx
// is done or timeout has passed.
func connect(ctx context.Context, p *Process, port int, timeout time.Duration) (*net.TCPConn, error) {
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var d net.Dialer
	timer := time.NewTimer(0)
	defer timer.Stop()
	pause, tries := firstRetry, 0
	for {
		select {
		case <-timer.C:
		case <-p.Exited():
			return nil, fmt.Errorf("%s before listening on %s", p.Wait(), addr)
		case <-ctx.Done():
			if errors.Is(ctx.Err(), context.DeadlineExceeded) {
				return nil, fmt.Errorf("process did not listen on %s within %v", addr, timeout)
			}
			return nil, fmt.Errorf("stopped connecting to process on %s: %w", addr, context.Cause(ctx))
		}
		tries++
		c, err := d.DialContext(ctx, "tcp", addr)
		if err == nil {
			p.log.Debug("connected to process", "addr", addr, "tries", tries)
			return c.(*net.TCPConn), nil
		}
		// Refused is what a process that does not listen yet looks like;
		// anything else is worth a line when the process is debugged.
		if !errors.Is(err, syscall.ECONNREFUSED) && ctx.Err() == nil {
			p.log.Debug("connect to process", "addr", addr, "err", err)
		}
		timer.Reset(pause)
		pause = min(2*pause, maxRetry)
	}
}

// Next returns the next output item read from the connection.
func (t *TCP) Next() (frame.Output, error) {
	o, err := t.out.Next()
	if err != nil {
		// Nothing more is read; an error only says it was closed already.
		_ = t.conn.CloseRead()
	}
	return o, err
}

// TryNext returns the next output item if it is already read (see
// room.ReadyOutput).
func (t *TCP) TryNext() (frame.Output, bool, error) {
	o, ok, err := t.out.TryNext()
	if err != nil {
		_ = t.conn.CloseRead()
	}
	return o, ok, err
}

// Write writes one input item to the connection. It blocks while the
// process does not read.
func (t *TCP) Write(p []byte) error {
	_, err := t.conn.Write(p)
	return err
}

// Stop ends the process: the connection's write side is closed, so the
// process sees the end of its input, then the process is stopped as over
// stdio (SIGTERM, SIGKILL after grace).
func (t *TCP) Stop() {
	// An error only says that a previous Stop closed it already.
	_ = t.conn.CloseWrite()
	t.proc.Stop()
}

// Wait waits for the process to end. It is called once the output has
// ended, that is once the process has closed the connection: a process
// that goes on running without it can no longer serve its room, so it
// gets the grace period to exit by itself and is then stopped.
func (t *TCP) Wait() room.Exit {
	timer := time.NewTimer(t.proc.grace)
	select {
	case <-t.proc.Exited():
	case <-timer.C:
		t.proc.log.Info("process closed its connection but is still running, stopping it")
		t.Stop()
	}
	timer.Stop()
	e := t.proc.Wait()
	<-t.drained
	// Both directions are done with; a failed close loses nothing.
	_ = t.conn.Close()
	return e.roomExit()
}

// connReader reads the connection the way Process.Read reads stdout: the
// drain deadline set after the process ended is the end of the output. So
// is a reset, which is how the connection ends when the process closes it
// (or exits) with client messages still unread; what it sent before is
// read first.
type connReader struct{ conn *net.TCPConn }

func (r connReader) Read(b []byte) (int, error) {
	n, err := r.conn.Read(b)
	if errors.Is(err, os.ErrDeadlineExceeded) || errors.Is(err, syscall.ECONNRESET) {
		err = io.EOF
	}
	return n, err
}
