// Package natstest runs an embedded NATS server with JetStream for tests, so
// cluster tests exercise the real protocol instead of a fake.
package natstest

import (
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// readyTimeout bounds server start-up; a loaded CI machine with -race needs
// well under a second, so hitting this means something is broken.
const readyTimeout = 10 * time.Second

// Server is an embedded NATS server owned by one test.
type Server struct {
	srv  *server.Server
	once sync.Once
}

// Start runs a NATS server with JetStream on a random port of 127.0.0.1,
// storing data under tb.TempDir. It is shut down, and waited for, when the
// test ends. The server logs nothing: a failing test reports through its own
// assertions.
func Start(tb testing.TB) *Server {
	tb.Helper()
	opts := &server.Options{
		Host:      "127.0.0.1",
		Port:      server.RANDOM_PORT,
		JetStream: true,
		StoreDir:  tb.TempDir(),
		NoLog:     true,
		NoSigs:    true,
	}
	srv, err := server.NewServer(opts)
	if err != nil {
		tb.Fatalf("natstest: new server: %v", err)
	}
	s := &Server{srv: srv}
	// Registered after TempDir so it runs first: the store is closed before
	// its directory is removed.
	tb.Cleanup(s.Shutdown)
	srv.Start()
	if !srv.ReadyForConnections(readyTimeout) {
		tb.Fatalf("natstest: server not ready after %v", readyTimeout)
	}
	return s
}

// URL is the client URL to pass to nats.Connect.
func (s *Server) URL() string { return s.srv.ClientURL() }

// Shutdown stops the server and waits until it has stopped. Tests call it to
// simulate losing NATS; calling it again does nothing.
func (s *Server) Shutdown() {
	s.once.Do(func() {
		s.srv.Shutdown()
		s.srv.WaitForShutdown()
	})
}
