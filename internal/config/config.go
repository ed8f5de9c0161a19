// Package config holds the one configuration of a ScaleSocket server and the
// command-line parser that fills it (SPEC §2). Every flag is known here and
// nowhere else; the rest of the program reads a *Config.
package config

import (
	"time"

	"github.com/scalesocket/scalesocket-go/internal/origin"
)

// Framing is how messages are framed in one direction (SPEC §4).
type Framing int

const (
	// FrameNone passes messages through unchanged.
	FrameNone Framing = iota
	// FrameJSON stamps _from on client messages and routes process output by _to.
	FrameJSON
	// FrameGWSocket uses gwsocket's strict-mode 12-byte binary headers.
	FrameGWSocket
)

// String returns the flag value that selects f.
func (f Framing) String() string {
	switch f {
	case FrameJSON:
		return "json"
	case FrameGWSocket:
		return "gwsocket"
	default:
		return "none"
	}
}

// CacheKind selects which server messages the room cache keeps (SPEC §8).
type CacheKind int

const (
	// CacheAll keeps every broadcast message.
	CacheAll CacheKind = iota
	// CacheTagged keeps only JSON messages with "_cache": true.
	CacheTagged
)

// Config is the whole configuration of one server run.
type Config struct {
	// Addr is the listen address, HOST:PORT.
	Addr string

	// Command is the wrapped program; Args are its arguments (after --).
	Command string
	Args    []string

	// Binary sends process output as binary frames in read-sized chunks and
	// writes client messages to the process without a trailing newline.
	Binary bool
	// Delimiters is the set of bytes at which process output is split.
	// --null sets it to "\x00"; the default is "\n".
	Delimiters string

	// ClientFrame and ServerFrame are the framing of client→process and
	// process→client messages.
	ClientFrame Framing
	ServerFrame Framing
	// JoinMsg and LeaveMsg are templates (SPEC §5); empty means none.
	JoinMsg  string
	LeaveMsg string

	// CacheSize is the number of server messages kept per room; 0 disables
	// the cache. CacheKind says which messages count.
	CacheSize    int
	CacheBytes   int
	CacheKind    CacheKind
	CachePersist bool

	// Delay is how long to wait before attaching to a new process (stdio) or
	// the deadline for connecting to it (TCP). Zero means no delay / default.
	Delay time.Duration

	// TCP talks to the process over 127.0.0.1:PORT with PORT taken from
	// [TCPPortStart, TCPPortEnd).
	TCP          bool
	TCPPortStart int
	TCPPortEnd   int

	// Metrics, API and StaticDir enable the extra HTTP endpoints (SPEC §9).
	Metrics   bool
	API       bool
	StaticDir string

	// Rooms is the allowlist of room names; nil allows every valid name.
	Rooms []string
	// MaxRooms caps the number of rooms (processes) at once; 0 is no cap.
	MaxRooms int
	// Oneshot serves one room and one client, then exits.
	Oneshot bool

	// Grace is how long a process has between SIGTERM and SIGKILL.
	Grace time.Duration
	// SendQueue bounds each client's queue of pending messages; a client
	// whose queue stays full for SendTimeout is a slow consumer (SPEC §12).
	SendQueue   int
	SendTimeout time.Duration
	// MaxMsgSize bounds a client message and a process output item, bytes.
	MaxMsgSize int

	// MaxConns, MaxClients and MaxPerIP cap the connections of the whole
	// server, of one room and from one IP address; 0 is no cap.
	MaxConns   int
	MaxClients int
	MaxPerIP   int
	// Ping is the keepalive interval; 0 disables pings.
	Ping time.Duration
	// RateLimit is the client messages per second per connection; 0 is no
	// limit.
	RateLimit int
	// Origin is the allowed Origin check (--origin, --sameorigin).
	Origin origin.Policy
	// TLSCert and TLSKey are the certificate and key files for HTTPS/WSS.
	TLSCert string
	TLSKey  string

	// Cluster lists the NATS servers of cluster mode; nil runs alone.
	// ClusterCreds is a NATS credentials file. NodeName names this server
	// in the cluster ("" for host name and pid), Placement is "first" or
	// "leastloaded", and LeaseTTL is the lease of a room's owner.
	Cluster      []string
	ClusterCreds string
	NodeName     string
	Placement    string
	LeaseTTL     time.Duration

	// PassEnv names the server's environment variables given to the process.
	PassEnv []string

	// LogFormat is "text" or "json"; Verbosity counts -v flags; Quiet
	// (-q) leaves out everything below warnings.
	LogFormat string
	Verbosity int
	Quiet     bool
}
