// Package server is the HTTP and WebSocket front of ScaleSocket: it routes
// requests, admits or refuses room connections before the upgrade, and
// runs each connection's reader and writer against its room.
package server

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/scalesocket/scalesocket-go/internal/cluster"
	"github.com/scalesocket/scalesocket-go/internal/config"
	"github.com/scalesocket/scalesocket-go/internal/frame"
	"github.com/scalesocket/scalesocket-go/internal/logging"
	"github.com/scalesocket/scalesocket-go/internal/process"
	"github.com/scalesocket/scalesocket-go/internal/room"
	"github.com/scalesocket/scalesocket-go/internal/wsconn"
)

// Timeouts for the HTTP side (SPEC §14): a request's line and headers must
// arrive within headerTimeout, which drops slow-loris connections.
const (
	headerTimeout    = 10 * time.Second
	handshakeTimeout = 10 * time.Second
	// drainTimeout bounds how long a client that is closed after its room
	// ended gets to receive what was still queued for it.
	drainTimeout = 5 * time.Second
	// abortTimeout bounds the close of a client dropped without draining.
	abortTimeout = time.Second
	// idleTimeout closes plain HTTP keep-alive connections left idle.
	idleTimeout = time.Minute
	// httpDrainTimeout is how long plain HTTP requests may still run at
	// shutdown.
	httpDrainTimeout = 500 * time.Millisecond
)

// Server serves rooms over WebSocket. Create it with New and run it with
// Serve.
type Server struct {
	cfg     *config.Config
	log     *slog.Logger
	hub     *room.Hub
	up      *wsconn.Upgrader
	baseEnv []string
	// admission enforces --maxconns and --maxperip.
	admission admission
	// cert is the TLS certificate with --tlscert, else nil.
	cert *certificate
	// ext holds /metrics, the lobby API's and static files' state.
	ext extras
	// node is this server's membership of a cluster with --cluster.
	node *cluster.Node

	// conns counts the running connection handlers.
	conns sync.WaitGroup
	// oneshotTaken is set when --oneshot has admitted its one client;
	// oneshotDone is closed when that client is gone.
	oneshotTaken atomic.Bool
	oneshotOnce  sync.Once
	oneshotDone  chan struct{}
}

// New returns a Server for cfg that logs to log.
func New(cfg *config.Config, log *slog.Logger) *Server {
	s := &Server{
		cfg: cfg,
		log: log,
		up: wsconn.NewUpgrader(wsconn.Options{
			MaxMessageSize:   cfg.MaxMsgSize,
			HandshakeTimeout: handshakeTimeout,
			PingInterval:     cfg.Ping,
		}),
		admission:   admission{maxConns: cfg.MaxConns, maxPerIP: cfg.MaxPerIP},
		baseEnv:     passEnv(cfg.PassEnv),
		oneshotDone: make(chan struct{}),
		ext:         extras{metrics: newMetrics(cfg, log)},
	}
	if cfg.TLSCert != "" {
		s.cert = &certificate{certFile: cfg.TLSCert, keyFile: cfg.TLSKey}
	}
	maxRooms := cfg.MaxRooms
	switch {
	case cfg.Oneshot:
		maxRooms = 1
	case len(cfg.Cluster) > 0:
		// The cluster counts rooms across nodes.
		maxRooms = 0
	}
	s.hub = room.NewHub(room.Options{
		Start:        s.startRoom,
		NextID:       s.nextID(),
		MaxRooms:     maxRooms,
		MaxClients:   cfg.MaxClients,
		Binary:       cfg.Binary,
		Delay:        attachDelay(cfg),
		SendQueue:    cfg.SendQueue,
		SendTimeout:  cfg.SendTimeout,
		ClientFrame:  cfg.ClientFrame,
		ServerFrame:  cfg.ServerFrame,
		JoinMsg:      template(cfg.JoinMsg),
		LeaveMsg:     template(cfg.LeaveMsg),
		CacheSize:    cfg.CacheSize,
		CacheBytes:   cfg.CacheBytes,
		CacheTagged:  cfg.CacheKind == config.CacheTagged,
		CachePersist: cfg.CachePersist,
		Grace:        cfg.Grace,
		Reserve:      portReserver(cfg),
		Observer:     s.roomObserver(),
		Log:          log,
	})
	return s
}

// template compiles a join or leave template; none when s is empty.
func template(s string) *frame.Template {
	if s == "" {
		return nil
	}
	return frame.CompileTemplate(s)
}

// Serve accepts connections on ln until ctx is cancelled (or, with
// --oneshot, its client is gone), then shuts down in order: no new
// connections, every client closed with 1001, every process ended.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	hs := &http.Server{
		Handler:           s,
		ReadHeaderTimeout: headerTimeout,
		IdleTimeout:       idleTimeout,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelDebug),
	}
	scheme := "http"
	if s.cert != nil {
		if err := s.cert.load(); err != nil {
			return err
		}
		ln = tls.NewListener(ln, s.cert.config())
		scheme = "https"
	}
	if err := s.openStatic(); err != nil {
		return err
	}
	defer s.closeStatic()
	if err := s.JoinCluster(ctx); err != nil {
		return err
	}
	served := make(chan error, 1)
	go func() { served <- hs.Serve(ln) }()
	s.log.Log(ctx, logging.LevelNotice, "listening", "addr", ln.Addr().String(), "scheme", scheme)
	if !s.cfg.Origin.Enabled() && !isLoopback(ln.Addr()) {
		s.log.Warn("any web page may connect: consider --origin or --sameorigin (cross-site WebSocket hijacking)")
	}

	var err error
	select {
	case <-ctx.Done():
		s.log.Info("shutting down")
	case <-s.oneshotDone:
		s.log.Info("oneshot client gone, shutting down")
	case err = <-served:
		err = fmt.Errorf("serve HTTP: %w", err)
	}
	// Plain HTTP requests in flight get a moment to finish; connections
	// that never sent a request (browsers open spare ones) would hold
	// Shutdown for seconds, so they are then closed outright.
	shutdownCtx, cancel := context.WithTimeout(context.Background(), httpDrainTimeout)
	defer cancel()
	if hs.Shutdown(shutdownCtx) != nil {
		if cerr := hs.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("close HTTP: %w", cerr)
		}
	}
	s.hub.Shutdown()
	s.conns.Wait()
	s.LeaveCluster()
	return err
}

// ReloadCertificate re-reads the TLS certificate (on SIGHUP). A
// certificate that fails to load is logged and the old one stays in use.
func (s *Server) ReloadCertificate() {
	if s.cert == nil {
		return
	}
	if err := s.cert.load(); err != nil {
		s.log.Error("TLS certificate not reloaded, the old one stays in use", "err", err)
		return
	}
	s.log.Info("TLS certificate reloaded")
}

// isLoopback reports whether addr is a loopback address.
func isLoopback(addr net.Addr) bool {
	ta, ok := addr.(*net.TCPAddr)
	return ok && ta.IP.IsLoopback()
}

// serveRoom admits a client to its room, upgrades the connection and hands
// it to a goroutine of its own that relays messages until either side ends.
// This one, which holds the HTTP server's buffers for the request, returns
// at once, so that an idle connection keeps only what it needs.
func (s *Server) serveRoom(w http.ResponseWriter, r *http.Request) {
	// undo lists what admission took, to be given back when the connection
	// is over: on return here, unless it was handed off.
	var undo []func()
	handedOff := false
	defer func() {
		if !handedOff {
			undoAll(undo)
		}
	}()
	// Counted from the start: http.Server.Shutdown stops waiting for a
	// connection once it is hijacked, and Serve must still wait for it.
	s.conns.Add(1)
	undo = append(undo, s.conns.Done)
	name, err := roomName(r.URL.EscapedPath())
	// The log attributes are kept as values rather than as a logger with
	// them: building that costs more than the rare lines that use it.
	attrs := []any{"remote", r.RemoteAddr, "room", name}
	if err != nil {
		reason := reasonRoomName
		if errors.Is(err, errNameReserved) {
			reason = reasonReserved
		}
		s.refuse(w, attrs, http.StatusBadRequest, reason, err.Error())
		return
	}
	if !s.allowedRoom(name) {
		s.refuse(w, attrs, http.StatusBadRequest, reasonNotAllowed, "room not allowed")
		return
	}
	if !s.cfg.Origin.Allows(r.Header.Get("Origin"), r.Host, r.TLS != nil) {
		s.refuse(w, attrs, http.StatusForbidden, reasonOrigin, "origin not allowed")
		return
	}
	ip := remoteIP(r)
	if status, reason, ok := s.admission.enter(ip); !ok {
		s.refuse(w, attrs, status, reason, "too many connections")
		return
	}
	undo = append(undo, func() { s.admission.leave(ip) })
	if s.cfg.Oneshot && !s.oneshotTaken.CompareAndSwap(false, true) {
		s.refuse(w, attrs, http.StatusServiceUnavailable, reasonOneshot, "oneshot server already has its client")
		return
	}
	rm, err := s.hub.Acquire(name)
	if err != nil {
		s.refuse(w, attrs, http.StatusServiceUnavailable, acquireRefusal(err), err.Error())
		s.oneshotGone()
		return
	}
	undo = append(undo, s.oneshotGone)

	// The client joins before the upgrade completes, so that once it sees
	// 101 it is in the room and misses nothing written after.
	info := room.ClientInfo{RemoteAddr: r.RemoteAddr, QueryString: r.URL.RawQuery}
	wr := &writer{done: make(chan struct{})}
	client, rm, joinErr := s.join(rm, room.StartRequest{Room: name, Env: func() []string { return processEnv(s.baseEnv, name, r) }}, info, wr.wake)
	if errors.Is(joinErr, room.ErrShuttingDown) || errors.Is(joinErr, room.ErrMaxRooms) || errors.Is(joinErr, room.ErrMaxClients) ||
		errors.Is(joinErr, cluster.ErrOwnerUnavailable) {
		// In a cluster, rooms and clients are counted across nodes when
		// the room starts or the client joins.
		s.refuse(w, attrs, http.StatusServiceUnavailable, acquireRefusal(joinErr), joinErr.Error())
		return
	}
	conn, err := s.up.Upgrade(w, r)
	if err != nil {
		s.log.Info("upgrade failed", append(attrs, "err", err)...)
		if joinErr == nil {
			rm.Leave(client)
		}
		return
	}
	if joinErr != nil {
		// A command that cannot start is told to the client as a close.
		s.log.Error("cannot join room", append(attrs, "err", joinErr)...)
		conn.Close(room.CloseInternalError, closeReason(joinErr.Error()))
		return
	}
	// Kept for as long as the connection lives, so made to measure.
	attrs = []any{"remote", r.RemoteAddr, "room", name, "conn", client.ID}
	s.log.Info("client connected", attrs...)
	handedOff = true
	go func() {
		defer undoAll(undo)
		wr.start(conn, client)
		s.relay(attrs, conn, rm, client, wr)
	}()
}

// undoAll runs fs in reverse order.
func undoAll(fs []func()) {
	for i := len(fs) - 1; i >= 0; i-- {
		fs[i]()
	}
}

// join joins rm, or the room that replaces it when rm ended since the
// client's admission. On error no reference is held.
func (s *Server) join(rm *room.Room, req room.StartRequest, info room.ClientInfo, wake func()) (*room.Client, *room.Room, error) {
	for {
		client, err := rm.Join(req, info, wake)
		if err == nil {
			return client, rm, nil
		}
		rm.Release()
		if !errors.Is(err, room.ErrRoomEnded) {
			return nil, nil, err
		}
		if rm, err = s.hub.Acquire(req.Room); err != nil {
			return nil, nil, err
		}
	}
}

func (s *Server) allowedRoom(name string) bool {
	if s.cfg.Rooms == nil {
		return true
	}
	for _, allowed := range s.cfg.Rooms {
		if name == allowed {
			return true
		}
	}
	return false
}

func (s *Server) oneshotGone() {
	if s.cfg.Oneshot {
		s.oneshotOnce.Do(func() { close(s.oneshotDone) })
	}
}

// Reasons for refusing a connection before its upgrade, as logged and
// counted (SPEC §14).
const (
	reasonRoomName     = "room_name"
	reasonReserved     = "reserved"
	reasonNotAllowed   = "not_allowed"
	reasonMaxRooms     = "maxrooms"
	reasonOneshot      = "oneshot"
	reasonShuttingDown = "shutting_down"
	reasonMaxConns     = "maxconns"
	reasonMaxPerIP     = "maxperip"
	reasonMaxClients   = "maxclients"
	reasonOrigin       = "origin"
	reasonTCPPorts     = "tcp_ports"
	reasonOwnerGone    = "owner_unavailable"
)

// acquireRefusal names the reason of an error from Hub.Acquire.
func acquireRefusal(err error) string {
	switch {
	case errors.Is(err, room.ErrMaxRooms):
		return reasonMaxRooms
	case errors.Is(err, room.ErrShuttingDown):
		return reasonShuttingDown
	case errors.Is(err, room.ErrMaxClients):
		return reasonMaxClients
	case errors.Is(err, process.ErrNoPorts):
		return reasonTCPPorts
	case errors.Is(err, cluster.ErrOwnerUnavailable):
		return reasonOwnerGone
	}
	return "other"
}

// refuse answers a connection that is not admitted with status and a short
// message, and logs it with its reason.
func (s *Server) refuse(w http.ResponseWriter, attrs []any, status int, reason, msg string) {
	s.log.Info("connection refused", append(attrs, "status", status, "reason", reason, "err", msg)...)
	s.countRefusal(reason)
	plainError(w, status, msg)
}

// maxCloseReason is the longest close reason a control frame can carry.
const maxCloseReason = 123

// closeReason cuts reason to fit a close frame without splitting a UTF-8
// sequence.
func closeReason(reason string) string {
	if len(reason) <= maxCloseReason {
		return reason
	}
	cut := maxCloseReason
	for cut > 0 && reason[cut]&0xC0 == 0x80 {
		cut--
	}
	return reason[:cut]
}
