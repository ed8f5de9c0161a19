package server

import (
	"fmt"
	"net/http"
	"os"
	"strings"

	"github.com/scalesocket/scalesocket-go/internal/metrics"
)

// extras are the optional HTTP endpoints of SPEC §9, each nil while its
// flag is off.
type extras struct {
	// metrics serves /metrics with --metrics and observes the rooms.
	metrics *metrics.Metrics
	// static is --staticdir, opened by Serve.
	static *os.Root
}

// ServeHTTP routes a request. Upgrades go to rooms whatever their path (the
// reserved names keep rooms off the paths below); plain requests go to
// health, metrics and the lobby API, then to static files.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch p := r.URL.Path; {
	case isUpgrade(r):
		s.serveRoom(w, r)
	case p == "/health":
		s.health(w, r)
	case p == "/metrics" && s.ext.metrics != nil:
		s.serveMetrics(w, r)
	case (p == "/api" || strings.HasPrefix(p, "/api/")) && s.cfg.API:
		s.serveAPI(w, r)
	case s.ext.static != nil:
		s.serveStatic(w, r)
	default:
		plainError(w, http.StatusNotFound, "not found")
	}
}

func (s *Server) health(w http.ResponseWriter, r *http.Request) {
	if !allowMethods(w, r, http.MethodGet, http.MethodHead) {
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodGet {
		_, _ = w.Write([]byte(`{"status":"ok"}`))
	}
}

// isUpgrade reports whether r asks for a WebSocket upgrade.
func isUpgrade(r *http.Request) bool {
	return headerHasToken(r.Header, "Connection", "upgrade") && headerHasToken(r.Header, "Upgrade", "websocket")
}

func headerHasToken(h http.Header, name, token string) bool {
	for _, v := range h.Values(name) {
		for _, t := range strings.Split(v, ",") {
			if strings.EqualFold(strings.TrimSpace(t), token) {
				return true
			}
		}
	}
	return false
}

// allowMethods answers 405 with an Allow header unless r uses one of
// methods.
func allowMethods(w http.ResponseWriter, r *http.Request, methods ...string) bool {
	for _, m := range methods {
		if r.Method == m {
			return true
		}
	}
	w.Header().Set("Allow", strings.Join(methods, ", "))
	plainError(w, http.StatusMethodNotAllowed, "method not allowed")
	return false
}

// plainError writes a short plain-text error.
func plainError(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_, _ = fmt.Fprintln(w, msg)
}
