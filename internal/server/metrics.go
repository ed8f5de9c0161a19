package server

import (
	"log/slog"
	"net/http"

	"github.com/scalesocket/scalesocket-go/internal/config"
	"github.com/scalesocket/scalesocket-go/internal/metrics"
	"github.com/scalesocket/scalesocket-go/internal/process"
	"github.com/scalesocket/scalesocket-go/internal/room"
)

// refusalReasons and dropReasons are shown with 0 from the start, so that
// a scraper can alert on them before the first one happens. A reason not
// listed here is still counted when it first happens.
var (
	refusalReasons = []string{
		reasonRoomName, reasonReserved, reasonNotAllowed, reasonMaxRooms,
		reasonOneshot, reasonShuttingDown, reasonMaxConns, reasonMaxPerIP,
		reasonMaxClients, reasonOrigin, reasonTCPPorts,
	}
	dropReasons = []string{
		room.DropNotJSON, room.DropNotObject, room.DropBadTo, process.DropTooLarge,
	}
)

// newMetrics returns the server's metrics with --metrics, else nil.
func newMetrics(cfg *config.Config, log *slog.Logger) *metrics.Metrics {
	if !cfg.Metrics {
		return nil
	}
	return metrics.New(metrics.Options{
		DropReasons:    dropReasons,
		RefusalReasons: refusalReasons,
		Log:            log,
	})
}

// roomObserver is the hub's Observer: the metrics, or none at all without
// --metrics (a nil *Metrics in the interface would not be nil).
func (s *Server) roomObserver() room.Observer {
	if s.ext.metrics == nil {
		return nil
	}
	return s.ext.metrics
}

// countRefusal counts a connection refused before its upgrade.
func (s *Server) countRefusal(reason string) {
	if s.ext.metrics != nil {
		s.ext.metrics.ConnectionRefused(reason)
	}
}

// countOutputDrop counts a process output item that was dropped.
func (s *Server) countOutputDrop(reason string) {
	if s.ext.metrics != nil {
		s.ext.metrics.MessageDropped(reason)
	}
}

// serveMetrics serves a scrape of /metrics.
func (s *Server) serveMetrics(w http.ResponseWriter, r *http.Request) {
	if !allowMethods(w, r, http.MethodGet, http.MethodHead) {
		return
	}
	s.ext.metrics.Handler().ServeHTTP(w, r)
}
