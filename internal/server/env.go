package server

import (
	"net"
	"net/http"
	"os"
	"sort"
	"strings"

	"github.com/scalesocket/scalesocket-go/internal/config"
)

// hiddenHeaders never reach the process: credentials, and Proxy so that
// HTTP_PROXY can never be set by a client (SPEC §14).
var hiddenHeaders = map[string]bool{"Cookie": true, "Authorization": true, "Proxy": true}

// passEnv returns the NAME=value pairs of the server's own environment that
// names lists, in that order, for the variables that are set.
func passEnv(names []string) []string {
	var env []string
	for _, name := range names {
		if v, ok := os.LookupEnv(name); ok {
			env = append(env, name+"="+v)
		}
	}
	return env
}

// processEnv returns the environment of a room's process started for
// request r (SPEC §6): base (the passed-through variables), the room and
// the CGI/1.1 variables that apply to a WebSocket upgrade, and HTTP_* for
// the request headers.
func processEnv(base []string, room string, r *http.Request) []string {
	env := append(make([]string, 0, len(base)+16+len(r.Header)), base...)
	remoteHost, remotePort, _ := net.SplitHostPort(r.RemoteAddr)
	serverName, serverPort := r.Host, ""
	if h, p, err := net.SplitHostPort(r.Host); err == nil {
		serverName, serverPort = h, p
	} else if la, ok := r.Context().Value(http.LocalAddrContextKey).(net.Addr); ok {
		_, serverPort, _ = net.SplitHostPort(la.String())
	}
	env = append(env,
		"ROOM="+room,
		"QUERY_STRING="+r.URL.RawQuery,
		"REMOTE_ADDR="+r.RemoteAddr,
		"REMOTE_HOST="+remoteHost,
		"REMOTE_PORT="+remotePort,
		"GATEWAY_INTERFACE=CGI/1.1",
		"SERVER_SOFTWARE=scalesocket/"+config.Version,
		"SERVER_PROTOCOL="+r.Proto,
		"SERVER_NAME="+serverName,
		"SERVER_PORT="+serverPort,
		"REQUEST_METHOD="+r.Method,
		"REQUEST_URI="+r.RequestURI,
		"SCRIPT_NAME=/"+room,
		"PATH_INFO=",
		"HTTP_HOST="+r.Host,
	)
	names := make([]string, 0, len(r.Header))
	for name := range r.Header {
		if !hiddenHeaders[name] && name != "Host" {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	for _, name := range names {
		key := "HTTP_" + strings.ToUpper(strings.ReplaceAll(name, "-", "_"))
		env = append(env, key+"="+strings.Join(r.Header[name], ", "))
	}
	return env
}
