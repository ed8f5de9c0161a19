package server

import (
	"context"
	"errors"
	"time"

	"github.com/scalesocket/scalesocket-go/internal/config"
	"github.com/scalesocket/scalesocket-go/internal/process"
	"github.com/scalesocket/scalesocket-go/internal/room"
)

// defaultConnectTimeout is how long TCP mode tries to connect to a new
// process when --delay is not given (SPEC §7).
const defaultConnectTimeout = 10 * time.Second

// startBackend starts the process of a new room, over stdio or, with
// --tcp, over TCP on the port reserved for the room.
func (s *Server) startBackend(req room.StartRequest) (room.Backend, error) {
	spec := process.Spec{
		Command: s.cfg.Command,
		Args:    s.cfg.Args,
		Env:     req.Env(),
		Grace:   s.cfg.Grace,
		Log:     s.log.With("room", req.Room),
	}
	out := process.OutputOptions{
		Binary:     s.cfg.Binary,
		GWSocket:   s.cfg.ServerFrame == config.FrameGWSocket,
		Delimiters: s.cfg.Delimiters,
		MaxItem:    s.cfg.MaxMsgSize,
		OnDrop:     s.countOutputDrop,
	}
	if !s.cfg.TCP {
		return process.StartStdio(spec, out)
	}
	port, ok := req.Reservation.(*process.Port)
	if !ok {
		return nil, errors.New("no TCP port reserved for the room")
	}
	// The connect gives up when the room ends meanwhile, so that shutting
	// down does not wait for a process that never listens.
	ctx, cancel := context.WithCancelCause(context.Background())
	defer cancel(nil)
	go func() {
		select {
		case <-req.Ended:
			cancel(room.ErrRoomEnded)
		case <-ctx.Done():
		}
	}()
	timeout := s.cfg.Delay
	if timeout == 0 {
		timeout = defaultConnectTimeout
	}
	b, err := process.StartTCP(ctx, spec, port.Number(), out, timeout)
	if err != nil {
		return nil, err
	}
	return b, nil
}

// attachDelay is the pause between a new process's start and its first
// client's attachment: --delay over stdio. With --tcp, --delay bounds the
// connect instead, and output is read as soon as the connection is made.
func attachDelay(cfg *config.Config) time.Duration {
	if cfg.TCP {
		return 0
	}
	return cfg.Delay
}

// portReserver is the hub's Reserve with --tcp: each new room gets a port
// of --tcpports before its first client is upgraded, and gives it back
// when it ends. Without --tcp rooms reserve nothing.
func portReserver(cfg *config.Config) func(string) (room.Reservation, error) {
	if !cfg.TCP {
		return nil
	}
	ports := process.NewPorts(cfg.TCPPortStart, cfg.TCPPortEnd)
	return func(string) (room.Reservation, error) {
		port, err := ports.Reserve()
		if err != nil {
			return nil, err
		}
		return port, nil
	}
}
