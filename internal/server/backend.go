package server

import (
	"github.com/scalesocket/scalesocket-go/internal/config"
	"github.com/scalesocket/scalesocket-go/internal/process"
	"github.com/scalesocket/scalesocket-go/internal/room"
)

// startBackend starts the process of a new room.
func (s *Server) startBackend(req room.StartRequest) (room.Backend, error) {
	return process.StartStdio(process.Spec{
		Command: s.cfg.Command,
		Args:    s.cfg.Args,
		Env:     req.Env,
		Grace:   s.cfg.Grace,
		Log:     s.log.With("room", req.Room),
	}, process.OutputOptions{
		Binary:     s.cfg.Binary,
		GWSocket:   s.cfg.ServerFrame == config.FrameGWSocket,
		Delimiters: s.cfg.Delimiters,
		MaxItem:    s.cfg.MaxMsgSize,
	})
}
