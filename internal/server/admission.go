package server

import (
	"net"
	"net/http"
	"sync"
)

// admission counts the connections of the server and of each IP address,
// for --maxconns and --maxperip. A connection is counted from its admission,
// before the upgrade, until its handler returns.
type admission struct {
	maxConns, maxPerIP int

	mu    sync.Mutex
	total int
	perIP map[string]int
}

// enter admits a connection from ip, or returns the status and the
// reason it is refused with.
func (a *admission) enter(ip string) (status int, reason string, ok bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.maxConns > 0 && a.total >= a.maxConns {
		return http.StatusServiceUnavailable, reasonMaxConns, false
	}
	if a.maxPerIP > 0 && a.perIP[ip] >= a.maxPerIP {
		return http.StatusTooManyRequests, reasonMaxPerIP, false
	}
	a.total++
	if a.maxPerIP > 0 {
		if a.perIP == nil {
			a.perIP = make(map[string]int)
		}
		a.perIP[ip]++
	}
	return 0, "", true
}

// leave forgets a connection that enter admitted.
func (a *admission) leave(ip string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.total--
	if a.maxPerIP > 0 {
		if a.perIP[ip]--; a.perIP[ip] <= 0 {
			delete(a.perIP, ip)
		}
	}
}

// remoteIP returns the IP address of a request's peer.
func remoteIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}
