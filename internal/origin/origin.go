// Package origin decides which web pages may open WebSocket connections to
// the server (SPEC §14). Without a check, any page a user visits could
// connect to a server they can reach, with their cookies: cross-site
// WebSocket hijacking.
package origin

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
)

// Pattern is one allowed origin: a scheme, a host (or, with Wildcard, any
// subdomain of it) and a port.
type Pattern struct {
	Scheme string
	Host   string
	Port   string
	// Wildcard matches any subdomain of Host, but not Host itself.
	Wildcard bool
}

// String returns the pattern as it is written on the command line.
func (p Pattern) String() string {
	host := p.Host
	if p.Wildcard {
		host = "*." + host
	}
	return p.Scheme + "://" + net.JoinHostPort(host, p.Port)
}

// ParseList parses a comma-separated list of origins such as
// "https://example.com,https://*.example.com:8443".
func ParseList(list string) ([]Pattern, error) {
	var out []Pattern
	for _, item := range strings.Split(list, ",") {
		p, err := parse(strings.TrimSpace(item))
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, nil
}

func parse(s string) (Pattern, error) {
	if s == "" {
		return Pattern{}, errors.New("empty origin")
	}
	scheme, rest, ok := strings.Cut(s, "://")
	if !ok || rest == "" {
		return Pattern{}, fmt.Errorf("origin %q is not scheme://host[:port]", s)
	}
	wildcard := strings.HasPrefix(rest, "*.")
	if wildcard {
		rest = rest[2:]
	}
	u, err := url.Parse(scheme + "://" + rest)
	if err != nil || u.Host != rest || u.Hostname() == "" || strings.Contains(u.Hostname(), "*") {
		return Pattern{}, fmt.Errorf("origin %q is not scheme://host[:port]", s)
	}
	p := Pattern{Scheme: strings.ToLower(u.Scheme), Host: strings.ToLower(u.Hostname()), Port: u.Port(), Wildcard: wildcard}
	if p.Port == "" {
		if p.Port = defaultPort(p.Scheme); p.Port == "" {
			return Pattern{}, fmt.Errorf("origin %q needs a port: no default port for %s", s, p.Scheme)
		}
	}
	return p, nil
}

// Policy is the origin check of a server.
type Policy struct {
	// Allowed lists the origins allowed by --origin.
	Allowed []Pattern
	// Same allows an origin whose host and port are the request's Host.
	Same bool
}

// Enabled reports whether any check is configured.
func (p Policy) Enabled() bool { return len(p.Allowed) > 0 || p.Same }

// Allows reports whether a request with Origin header origin (empty when
// absent) and Host header host may connect. A request without Origin is
// not from a browser page and is allowed; "null" is refused whenever a
// check is configured.
func (p Policy) Allows(origin, host string, tls bool) bool {
	if !p.Enabled() || origin == "" {
		return true
	}
	u, err := url.Parse(origin)
	if err != nil || u.Scheme == "" || u.Host == "" {
		return false
	}
	scheme, hostname, port := strings.ToLower(u.Scheme), strings.ToLower(u.Hostname()), u.Port()
	if port == "" {
		port = defaultPort(scheme)
	}
	if p.Same && sameHost(hostname, port, host, tls) {
		return true
	}
	for _, a := range p.Allowed {
		if a.Scheme != scheme || a.Port != port {
			continue
		}
		if a.Wildcard && strings.HasSuffix(hostname, "."+a.Host) || !a.Wildcard && hostname == a.Host {
			return true
		}
	}
	return false
}

// sameHost compares an origin's host and port with the request's Host.
func sameHost(hostname, port, host string, tls bool) bool {
	h, p, err := net.SplitHostPort(host)
	if err != nil {
		h, p = host, "80"
		if tls {
			p = "443"
		}
	}
	return strings.EqualFold(strings.Trim(h, "[]"), hostname) && p == port
}

func defaultPort(scheme string) string {
	switch scheme {
	case "http", "ws":
		return "80"
	case "https", "wss":
		return "443"
	}
	return ""
}
