package server

import (
	"context"
	"fmt"

	"github.com/scalesocket/scalesocket-go/internal/cluster"
	"github.com/scalesocket/scalesocket-go/internal/room"
)

// JoinCluster connects to the cluster with --cluster; without it, it does
// nothing. Serve calls it if it has not been called, but main calls it
// first, so that the server listens only once it is in the cluster
// (SPEC §15). A server that joined and is not served must LeaveCluster.
func (s *Server) JoinCluster(ctx context.Context) error {
	if len(s.cfg.Cluster) == 0 || s.node != nil {
		return nil
	}
	name := s.cfg.NodeName
	if name == "" {
		name = cluster.DefaultName()
	}
	opts := cluster.Options{
		URLs:       s.cfg.Cluster,
		Creds:      s.cfg.ClusterCreds,
		Name:       name,
		Placement:  s.cfg.Placement,
		TTL:        s.cfg.LeaseTTL,
		MaxRooms:   s.cfg.MaxRooms,
		MaxMessage: s.cfg.MaxMsgSize,
		Log:        s.log,
	}
	if s.ext.metrics != nil {
		opts.Metrics = s.ext.metrics.Cluster()
	}
	node, err := cluster.Connect(ctx, opts)
	if err != nil {
		return fmt.Errorf("join the cluster: %w", err)
	}
	// Set before Serve, which lets other nodes start rooms here.
	s.node = node
	if err := node.Serve(s.hub); err != nil {
		node.Close()
		s.node = nil
		return err
	}
	return nil
}

// LeaveCluster leaves the cluster once the hub has shut down.
func (s *Server) LeaveCluster() {
	if s.node != nil {
		s.node.Close()
		s.node = nil
	}
}

// startRoom starts a new room's backend: in a cluster, here or as a relay
// to the node that owns the room; alone, always here.
func (s *Server) startRoom(req room.StartRequest) (room.Backend, error) {
	if s.node != nil {
		return s.node.Start(req, s.startBackend)
	}
	return s.startBackend(req)
}

// nextID gives connection IDs unique in the cluster; alone, the hub
// counts them itself.
func (s *Server) nextID() func() (uint32, error) {
	if len(s.cfg.Cluster) == 0 {
		return nil
	}
	return func() (uint32, error) { return s.node.NextID() }
}
