package process

import (
	"github.com/scalesocket/scalesocket-go/internal/frame"
	"github.com/scalesocket/scalesocket-go/internal/room"
)

// Stdio is a room backend that talks to a process over its stdin and stdout.
type Stdio struct {
	proc *Process
	out  *OutputReader
}

// StartStdio starts spec and reads its output as out says.
func StartStdio(spec Spec, out OutputOptions) (*Stdio, error) {
	p, err := Start(spec)
	if err != nil {
		return nil, err
	}
	out.Log = p.log
	p.log.Info("process started", "cmd", spec.Command)
	return &Stdio{proc: p, out: NewOutputReader(p, out)}, nil
}

// Next returns the next output item.
func (s *Stdio) Next() (frame.Output, error) {
	o, err := s.out.Next()
	if err != nil {
		s.proc.CloseOutput()
	}
	return o, err
}

// TryNext returns the next output item if it is already read (see
// room.ReadyOutput).
func (s *Stdio) TryNext() (frame.Output, bool, error) {
	o, ok, err := s.out.TryNext()
	if err != nil {
		s.proc.CloseOutput()
	}
	return o, ok, err
}

// Write writes one input item to stdin.
func (s *Stdio) Write(p []byte) error { return s.proc.Write(p) }

// Stop ends the process (stdin closed, SIGTERM, SIGKILL after grace).
func (s *Stdio) Stop() { s.proc.Stop() }

// Wait waits for the process to end.
func (s *Stdio) Wait() room.Exit {
	return s.proc.Wait().roomExit()
}
