// Package process runs a room's wrapped command: it starts it in its own
// process group with a clean environment, relays its stdin and stdout (or a
// TCP connection to it), logs its stderr, and ends it with SIGTERM then
// SIGKILL so that no child of it outlives its room.
package process

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/scalesocket/scalesocket-go/internal/logging"
	"github.com/scalesocket/scalesocket-go/internal/room"
)

// drainTimeout bounds how long output is still read after the process and
// its group are gone. Only a descendant that left the group (setsid) can
// keep the pipe open that long; everything written before the exit is
// already in the pipe and is read at once.
const drainTimeout = 500 * time.Millisecond

// Spec says what to run.
type Spec struct {
	Command string
	Args    []string
	// Env is the complete environment of the process (SPEC §6).
	Env []string
	// Grace is the time between SIGTERM and SIGKILL when the process is
	// stopped.
	Grace time.Duration
	// Log receives the process's stderr and its lifecycle events.
	Log *slog.Logger
	// LogStdout sends stdout to Log as well, line by line, instead of
	// relaying it: in TCP mode the messages travel over the connection.
	LogStdout bool
}

// Exit describes how a process ended.
type Exit struct {
	// Code is the exit status, or -1 when the process was killed by a signal.
	Code int
	// Signal is the signal that killed the process, if any.
	Signal syscall.Signal
}

// Success reports whether the process exited by itself with status 0.
func (e Exit) Success() bool { return e.Code == 0 }

// String says how the process ended, for logs and close reasons.
func (e Exit) String() string {
	if e.Code < 0 {
		return fmt.Sprintf("process killed by signal %d (%s)", int(e.Signal), e.Signal)
	}
	return fmt.Sprintf("process exited with status %d", e.Code)
}

// roomExit is e as a room backend reports it.
func (e Exit) roomExit() room.Exit {
	return room.Exit{Success: e.Success(), Signaled: e.Code < 0, Reason: e.String()}
}

// Process is a running command. Write and CloseInput may be called from any
// goroutine but not concurrently with each other; Read from one goroutine.
type Process struct {
	cmd    *exec.Cmd
	pid    int
	grace  time.Duration
	log    *slog.Logger
	stdin  *os.File
	stdout *os.File // nil when stdout is logged rather than relayed
	// in and out do the I/O of stdin and stdout.
	in, out rawPipe

	stopOnce sync.Once
	// killTimer sends SIGKILL after the grace period; it is stopped when
	// the process is gone before, rather than left to fire for nothing.
	killTimer atomic.Pointer[time.Timer]
	// exited is closed once the process and its group are gone and exit is
	// set.
	exited chan struct{}
	exit   Exit
	// logged are the streams that go to the log; logging is done when
	// their loggers have read them to the end.
	logged  []*os.File
	logging sync.WaitGroup
}

// Start starts the command in a new process group. The returned error says
// why the command could not be started (not found, not executable, ...).
func Start(spec Spec) (p *Process, err error) {
	var closers []*os.File
	defer func() {
		for _, f := range closers {
			f.Close()
		}
	}()
	pipe := func(oursWrites bool) (ours, theirs *os.File) {
		if err != nil {
			return nil, nil
		}
		ours, theirs, err = newPipe(oursWrites)
		closers = append(closers, ours, theirs)
		return ours, theirs
	}
	stdinW, stdinR := pipe(true)
	stdoutR, stdoutW := pipe(false)
	stderrR, stderrW := pipe(false)
	if err != nil {
		return nil, fmt.Errorf("create pipes: %w", err)
	}

	cmd := command(spec.Command, spec.Args)
	cmd.Env = spec.Env
	if cmd.Env == nil {
		cmd.Env = []string{}
	}
	cmd.Stdin, cmd.Stdout, cmd.Stderr = stdinR, stdoutW, stderrW
	// Setpgid puts the command and all its children in one group so that
	// one signal reaches them all. Pdeathsig kills the command if the server
	// itself dies without cleaning up.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err = cmd.Start(); err != nil {
		commandPaths.Delete(spec.Command)
		return nil, fmt.Errorf("start %s: %w", spec.Command, err)
	}
	// The child has its own copies now; keeping ours would hold the pipes
	// open after the process exits.
	stdinR.Close()
	stdoutW.Close()
	stderrW.Close()
	closers = nil

	p = &Process{
		cmd:    cmd,
		pid:    cmd.Process.Pid,
		grace:  spec.Grace,
		log:    spec.Log.With("pid", cmd.Process.Pid),
		stdin:  stdinW,
		in:     newRawPipe(stdinW),
		exited: make(chan struct{}),
	}
	if spec.LogStdout {
		p.logStream("stdout", stdoutR)
	} else {
		p.stdout = stdoutR
		p.out = newRawPipe(stdoutR)
	}
	p.logStream("stderr", stderrR)
	go p.wait()
	return p, nil
}

// commandPaths remembers where each command name was found on PATH, so
// that starting a room does not search PATH again: that is a dozen stat
// calls, a few percent of a short-lived room's cost. An entry is dropped
// when starting from it fails, so a command moved since is looked up anew.
var commandPaths sync.Map // name → path

// command is exec.Command with the PATH lookup remembered. argv[0] stays
// the name as given, as exec.Command has it.
func command(name string, args []string) *exec.Cmd {
	if path, ok := commandPaths.Load(name); ok {
		return &exec.Cmd{Path: path.(string), Args: append([]string{name}, args...)}
	}
	cmd := exec.Command(name, args...)
	if cmd.Err == nil && filepath.Base(name) == name {
		commandPaths.Store(name, cmd.Path)
	}
	return cmd
}

// newPipe makes a pipe. The server's end is non-blocking and polled by
// the runtime; the child's end is a plain blocking descriptor that the
// server never reads or writes, so it is not registered with the poller
// (os.Pipe would register both ends, and unregister them again).
func newPipe(oursWrites bool) (ours, theirs *os.File, err error) {
	var fds [2]int
	if err := syscall.Pipe2(fds[:], syscall.O_CLOEXEC); err != nil {
		return nil, nil, os.NewSyscallError("pipe2", err)
	}
	o, t := fds[0], fds[1]
	oName, tName := "|0", "|1" // as os.Pipe names the read and write ends
	if oursWrites {
		o, t, oName, tName = t, o, tName, oName
	}
	if err := syscall.SetNonblock(o, true); err != nil {
		syscall.Close(o)
		syscall.Close(t)
		return nil, nil, os.NewSyscallError("setnonblock", err)
	}
	return os.NewFile(uintptr(o), oName), os.NewFile(uintptr(t), tName), nil
}

// Write writes to the process's stdin. It blocks while the process does not
// read, which is how backpressure reaches the clients.
func (p *Process) Write(b []byte) error {
	_, err := p.in.Write(b)
	return err
}

// CloseInput closes the process's stdin, which unblocks a pending Write.
func (p *Process) CloseInput() error {
	err := p.stdin.Close()
	if errors.Is(err, os.ErrClosed) {
		return nil
	}
	return err
}

// Read reads the process's stdout. It returns io.EOF once the process has
// exited and what it wrote has been read, and at once when stdout is
// logged.
func (p *Process) Read(b []byte) (int, error) {
	if p.stdout == nil {
		return 0, io.EOF
	}
	n, err := p.out.Read(b)
	if errors.Is(err, os.ErrDeadlineExceeded) {
		err = io.EOF
	}
	return n, err
}

// Stop ends the process: stdin is closed, the group gets SIGTERM, and
// SIGKILL once the grace period has passed. It does not wait; see Wait.
func (p *Process) Stop() {
	p.stopOnce.Do(func() {
		p.CloseInput()
		if p.hasExited() {
			return // reaped: its group ID is no longer ours to signal
		}
		p.signalGroup(syscall.SIGTERM)
		p.killTimer.Store(time.AfterFunc(p.grace, func() {
			if !p.hasExited() {
				p.log.Warn("process still running after grace period, killing it", "grace", p.grace)
				p.signalGroup(syscall.SIGKILL)
			}
		}))
	})
}

func (p *Process) hasExited() bool {
	select {
	case <-p.exited:
		return true
	default:
		return false
	}
}

// Wait blocks until the process and its group are gone, and tells how the
// process ended.
func (p *Process) Wait() Exit {
	<-p.exited
	return p.exit
}

// Exited is closed when the process and its group are gone.
func (p *Process) Exited() <-chan struct{} { return p.exited }

func (p *Process) signalGroup(sig syscall.Signal) {
	// A negative pid addresses the whole process group.
	if err := syscall.Kill(-p.pid, sig); err != nil && !errors.Is(err, syscall.ESRCH) {
		p.log.Warn("signal process group", "signal", sig, "err", err)
	}
}

// wait reaps the process, then makes sure nothing of its group is left and
// that readers of its output see the end.
func (p *Process) wait() {
	err := p.cmd.Wait()
	var exitErr *exec.ExitError
	switch {
	case err == nil:
		p.exit = Exit{Code: 0}
	case errors.As(err, &exitErr):
		ws := exitErr.Sys().(syscall.WaitStatus)
		if ws.Signaled() {
			p.exit = Exit{Code: -1, Signal: ws.Signal()}
		} else {
			p.exit = Exit{Code: ws.ExitStatus()}
		}
	default:
		p.exit = Exit{Code: -1, Signal: syscall.SIGKILL}
		p.log.Error("wait for process", "err", err)
	}
	// Children that outlived the leader die with the room.
	p.signalGroup(syscall.SIGKILL)
	reapGroup(p.pid, p.grace)
	p.CloseInput()
	// Whatever is in the pipes can still be read; only a descendant that
	// escaped the group could hold them open beyond this.
	deadline := time.Now().Add(drainTimeout)
	if p.stdout != nil {
		p.stdout.SetReadDeadline(deadline)
	}
	for _, f := range p.logged {
		f.SetReadDeadline(deadline)
	}
	p.logging.Wait()
	p.log.Debug("process ended", "exit", p.exit)
	close(p.exited)
	if t := p.killTimer.Load(); t != nil {
		t.Stop()
	}
}

// CloseOutput releases the stdout pipe once the reader is done with it.
func (p *Process) CloseOutput() error {
	if p.stdout == nil {
		return nil
	}
	return p.stdout.Close()
}

// maxLogLine bounds one logged line of output; longer lines are cut into
// several log records rather than buffered without limit.
const maxLogLine = 4096

// logReaders holds the line readers of logged streams between rooms, so
// that a short-lived room does not allocate one.
var logReaders = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, maxLogLine) }}

// logStream logs what the process writes to f, line by line, under the
// message stream ("stderr" or "stdout"), until f ends.
func (p *Process) logStream(stream string, f *os.File) {
	p.logged = append(p.logged, f)
	p.logging.Add(1)
	go func() {
		defer p.logging.Done()
		defer f.Close()
		r := logReaders.Get().(*bufio.Reader)
		r.Reset(f)
		defer func() {
			r.Reset(nil)
			logReaders.Put(r)
		}()
		for {
			line, err := r.ReadSlice('\n')
			if len(line) > 0 {
				p.log.Log(context.Background(), logging.LevelNotice, stream, "line", string(trimEOL(line)))
			}
			if err != nil && !errors.Is(err, bufio.ErrBufferFull) {
				return
			}
		}
	}()
}

func trimEOL(b []byte) []byte {
	if n := len(b); n > 0 && b[n-1] == '\n' {
		b = b[:n-1]
		if n := len(b); n > 0 && b[n-1] == '\r' {
			b = b[:n-1]
		}
	}
	return b
}
