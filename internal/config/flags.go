package config

import (
	"errors"

	"fmt"
	"math"
	"net"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/scalesocket/scalesocket-go/internal/origin"
)

// option is one command-line flag. The options table is the only place that
// knows a flag: Parse registers it, defaults are parsed from its def, and
// Usage prints it, so the three cannot drift apart.
type option struct {
	group string // heading in --help
	name  string // long name, without --
	short string // one letter, or ""
	arg   string // placeholder for the value in --help; "" for a switch
	// bare is the value of a flag given without "=VALUE". Only --frame has
	// one: it makes "--frame ./cmd.sh" take ./cmd.sh as CMD, not as MODE.
	bare string
	def  string // default, in command-line syntax; "" for none
	help string
	// target is the field a switch sets; nil when Parse only needs to know
	// whether the switch was given.
	target func(c *Config) *bool
	// set parses the value of a flag that takes one; nil for switches.
	set func(c *Config, v string) error
}

func (o *option) isSwitch() bool { return o.set == nil }

const (
	maxCacheSize = 100000 // SPEC §2
	maxPort      = 65535
	// maxSendQueue keeps a mistyped --sendqueue from reserving room for
	// millions of messages per client; no client benefits from more.
	maxSendQueue = 1 << 20
	// maxDelaySeconds is the most whole seconds a time.Duration can hold
	// (and an int, on 32-bit platforms).
	maxDelaySeconds = min(math.MaxInt, math.MaxInt64/1_000_000_000)
	// minLeaseTTL keeps leases from needing renewals more often than
	// NATS can answer them.
	minLeaseTTL = time.Second
)

const (
	jsonJoinMsg  = `{"t":"Join","_from":#ID}`
	jsonLeaveMsg = `{"t":"Leave","_from":#ID}`
)

var options = []option{
	{group: "Server", name: "addr", arg: "HOST:PORT", def: "0.0.0.0:9000",
		help: "listen address",
		set:  func(c *Config, v string) (err error) { c.Addr, err = parseAddr(v); return err }},
	{group: "Server", name: "metrics",
		help:   "serve Prometheus/OpenMetrics metrics at /metrics",
		target: func(c *Config) *bool { return &c.Metrics }},
	{group: "Server", name: "api",
		help:   "serve the lobby API under /api/",
		target: func(c *Config) *bool { return &c.API }},
	{group: "Server", name: "staticdir", arg: "DIR",
		help: "serve the files under DIR over plain HTTP",
		set:  func(c *Config, v string) (err error) { c.StaticDir, err = parseNonEmpty(v); return err }},
	{group: "Server", name: "tlscert", arg: "FILE",
		help: "serve HTTPS and WSS with this certificate (PEM); re-read on SIGHUP",
		set:  func(c *Config, v string) (err error) { c.TLSCert, err = parseNonEmpty(v); return err }},
	{group: "Server", name: "tlskey", arg: "FILE",
		help: "the private key (PEM) of --tlscert",
		set:  func(c *Config, v string) (err error) { c.TLSKey, err = parseNonEmpty(v); return err }},
	{group: "Server", name: "log", arg: "FORMAT", def: "text",
		help: "log format: text or json",
		set:  func(c *Config, v string) (err error) { c.LogFormat, err = parseOneOf(v, "text", "json"); return err }},
	{group: "Server", name: "verbose", short: "v", bare: "+1",
		help: "log more; repeat for more still: -v debug, -vv trace",
		set:  setVerbosity},
	{group: "Server", name: "quiet", short: "q",
		help:   "log only warnings, errors, the listening address and the process's stderr",
		target: func(c *Config) *bool { return &c.Quiet }},

	{group: "Process", name: "tcp",
		help:   "talk to CMD over TCP at 127.0.0.1:$PORT instead of over stdio",
		target: func(c *Config) *bool { return &c.TCP }},
	{group: "Process", name: "tcpports", arg: "START:END", def: "9001:9999",
		help: "ports handed to processes in $PORT with --tcp, END exclusive",
		set:  setTCPPorts},
	{group: "Process", name: "delay", arg: "SECONDS",
		help: "seconds to wait before attaching to a new process; with --tcp, " +
			"seconds to keep trying to connect to it (default: 0, or 10 with --tcp)",
		set: setDelay},
	{group: "Process", name: "passenv", arg: "LIST", def: "PATH,DYLD_LIBRARY_PATH",
		help: "comma-separated names of environment variables passed on to CMD",
		set:  setPassEnv},
	{group: "Process", name: "grace", arg: "DURATION", def: "2s",
		help: "time a stopped process gets between SIGTERM and SIGKILL",
		set: func(c *Config, v string) (err error) {
			c.Grace, err = parseDuration(v, true)
			return err
		}},

	{group: "Messages", name: "binary", short: "b",
		help: "send process output as binary frames, in the chunks it is read; " +
			"write client messages to CMD as raw bytes, with no newline added",
		target: func(c *Config) *bool { return &c.Binary }},
	{group: "Messages", name: "delimiters", arg: "CHARS",
		help: "split process output at any of these characters, taken literally " +
			"(default: newline)",
		set: setDelimiters},
	{group: "Messages", name: "null",
		help: "split process output at NUL bytes, for multi-line messages"},
	{group: "Messages", name: "json",
		help: "shorthand for --frame=json --joinmsg '" + jsonJoinMsg + "' --leavemsg '" +
			jsonLeaveMsg + "'"},
	{group: "Messages", name: "frame", arg: "MODE", bare: "json",
		help: "framing in both directions: json (when =MODE is left out) or gwsocket",
		set: func(c *Config, v string) error {
			f, err := parseFraming(v)
			c.ClientFrame, c.ServerFrame = f, f
			return err
		}},
	{group: "Messages", name: "clientframe", arg: "MODE",
		help: "framing of client-to-process messages alone: json or gwsocket",
		set:  func(c *Config, v string) (err error) { c.ClientFrame, err = parseFraming(v); return err }},
	{group: "Messages", name: "serverframe", arg: "MODE",
		help: "framing of process-to-client messages alone: json or gwsocket",
		set:  func(c *Config, v string) (err error) { c.ServerFrame, err = parseFraming(v); return err }},
	{group: "Messages", name: "joinmsg", arg: "MSG",
		help: "line written to CMD when a client joins; " +
			"#ID, #ROOM, #REMOTE_ADDR, #QUERY_STRING and #QUERY_<NAME> are replaced",
		set: func(c *Config, v string) error { c.JoinMsg = v; return nil }},
	{group: "Messages", name: "leavemsg", arg: "MSG",
		help: "line written to CMD when a client leaves; same variables as --joinmsg",
		set:  func(c *Config, v string) error { c.LeaveMsg = v; return nil }},
	{group: "Messages", name: "cache", arg: "[TYPE:]SIZE",
		help: "replay a room's last SIZE messages (1-100000) to clients that join; " +
			`TYPE all (default) or tagged: only JSON messages with "_cache": true`,
		set: setCache},
	{group: "Messages", name: "cachebytes", arg: "BYTES", def: "67108864",
		help: "most payload bytes a room's cache holds; the oldest messages go first",
		set: func(c *Config, v string) (err error) {
			c.CacheBytes, err = parseInt(v, 1, math.MaxInt, "a positive integer")
			return err
		}},
	{group: "Messages", name: "cachepersist",
		help:   "keep a room's cache after its last client leaves",
		target: func(c *Config) *bool { return &c.CachePersist }},

	{group: "Rooms", name: "rooms", arg: "LIST",
		help: "comma-separated room names; any other room is refused",
		set:  setRooms},
	{group: "Rooms", name: "maxrooms", arg: "NUM",
		help: "at most NUM rooms (processes) at once",
		set:  setMaxRooms},
	{group: "Rooms", name: "maxforks", arg: "NUM",
		help: "alias of --maxrooms",
		set:  setMaxRooms},
	{group: "Rooms", name: "oneshot",
		help:   "serve one room and one client, then exit",
		target: func(c *Config) *bool { return &c.Oneshot }},

	{group: "Limits", name: "maxmsgsize", arg: "BYTES", def: "1048576",
		help: "largest client message or process output item",
		set: func(c *Config, v string) (err error) {
			c.MaxMsgSize, err = parseInt(v, 1, math.MaxInt, "a positive integer")
			return err
		}},
	{group: "Limits", name: "sendqueue", arg: "N", def: "4096",
		help: "messages queued per client before the room waits for it",
		set: func(c *Config, v string) (err error) {
			c.SendQueue, err = parseInt(v, 1, maxSendQueue, "a positive integer")
			return err
		}},
	{group: "Limits", name: "sendtimeout", arg: "DURATION", def: "1s",
		help: "how long the room waits for a client with a full queue before " +
			"closing it as a slow consumer",
		set: func(c *Config, v string) (err error) {
			c.SendTimeout, err = parseDuration(v, false)
			return err
		}},

	{group: "Limits", name: "maxconns", arg: "N", def: "0",
		help: "at most N client connections to the whole server; 0: no limit",
		set: func(c *Config, v string) (err error) {
			c.MaxConns, err = parseInt(v, 0, math.MaxInt32, "a non-negative integer")
			return err
		}},
	{group: "Limits", name: "maxclients", arg: "N", def: "0",
		help: "at most N clients in one room; 0: no limit",
		set: func(c *Config, v string) (err error) {
			c.MaxClients, err = parseInt(v, 0, math.MaxInt32, "a non-negative integer")
			return err
		}},
	{group: "Limits", name: "maxperip", arg: "N", def: "0",
		help: "at most N client connections from one IP address; 0: no limit",
		set: func(c *Config, v string) (err error) {
			c.MaxPerIP, err = parseInt(v, 0, math.MaxInt32, "a non-negative integer")
			return err
		}},
	{group: "Limits", name: "ratelimit", arg: "N", def: "0",
		help: "at most N messages per second from one client (a token bucket of N); " +
			"beyond it the client is read more slowly; 0: no limit",
		set: func(c *Config, v string) (err error) {
			c.RateLimit, err = parseInt(v, 0, math.MaxInt32, "a non-negative integer")
			return err
		}},
	{group: "Limits", name: "ping", arg: "DURATION", def: "30s",
		help: "send pings this often and drop clients that did not answer the last one; 0: off",
		set: func(c *Config, v string) (err error) {
			c.Ping, err = parseDuration(v, true)
			return err
		}},

	{group: "Security", name: "origin", arg: "LIST",
		help: "comma-separated origins (scheme://host[:port], *.host for subdomains) " +
			"whose pages may connect; others get 403",
		set: func(c *Config, v string) (err error) {
			c.Origin.Allowed, err = origin.ParseList(v)
			return err
		}},
	{group: "Security", name: "sameorigin",
		help:   "allow only pages whose origin is this server's host and port; others get 403",
		target: func(c *Config) *bool { return &c.Origin.Same }},

	{group: "Cluster", name: "cluster", arg: "URL[,URL...]",
		help: "share rooms with other servers through these NATS servers (JetStream enabled); " +
			"credentials may be in the URL, tls:// uses TLS",
		set: func(c *Config, v string) (err error) { c.Cluster, err = parseList(v, "NATS URL"); return err }},
	{group: "Cluster", name: "clustercreds", arg: "FILE",
		help: "NATS credentials file for --cluster",
		set:  func(c *Config, v string) (err error) { c.ClusterCreds, err = parseNonEmpty(v); return err }},
	{group: "Cluster", name: "nodename", arg: "NAME",
		help: "this server's name in the cluster, unique; default: host name and pid",
		set:  func(c *Config, v string) (err error) { c.NodeName, err = parseNonEmpty(v); return err }},
	{group: "Cluster", name: "placement", arg: "MODE", def: "first",
		help: "where a new room runs: first (the node its first client reached) or " +
			"leastloaded (the node with the fewest rooms)",
		set: func(c *Config, v string) (err error) {
			c.Placement, err = parseOneOf(v, "first", "leastloaded")
			return err
		}},
	{group: "Cluster", name: "leasettl", arg: "DURATION", def: "10s",
		help: "how long a node owns a room without renewing (every third of it): a lost node's rooms " +
			"close and can restart elsewhere within about this long; the same on every node",
		set: func(c *Config, v string) (err error) {
			c.LeaseTTL, err = parseDuration(v, false)
			if err == nil && c.LeaseTTL < minLeaseTTL {
				err = fmt.Errorf("must be at least %v", minLeaseTTL)
			}
			return err
		}},

	{group: "Other", name: "help", short: "h", help: "print this help and exit"},
	{group: "Other", name: "version", short: "V", help: "print the version and exit"},
}

// conflicts are the pairs of flags that cannot be given together.
var conflicts = [][2]string{
	{"json", "frame"},
	{"json", "clientframe"},
	{"json", "serverframe"},
	{"frame", "clientframe"},
	{"frame", "serverframe"},
	{"binary", "delimiters"},
	{"binary", "null"},
	{"null", "delimiters"},
	{"maxrooms", "maxforks"},
	{"quiet", "verbose"},
	// A oneshot server serves one client of its own; a cluster shares
	// rooms with other servers.
	{"oneshot", "cluster"},
}

func setVerbosity(c *Config, v string) error {
	if v == "+1" { // a bare -v
		c.Verbosity++
		return nil
	}
	n, err := parseInt(v, 0, math.MaxInt, "a non-negative integer")
	c.Verbosity = n
	return err
}

func setTCPPorts(c *Config, v string) error {
	start, end, ok := strings.Cut(v, ":")
	if !ok {
		return errors.New("must be START:END")
	}
	const want = "a port from 1 to 65535"
	s, err := parseInt(start, 1, maxPort, want)
	if err != nil {
		return fmt.Errorf("START %s", err)
	}
	e, err := parseInt(end, 1, maxPort, want)
	if err != nil {
		return fmt.Errorf("END %s", err)
	}
	if s >= e {
		return errors.New("START must be below END")
	}
	c.TCPPortStart, c.TCPPortEnd = s, e
	return nil
}

func setDelay(c *Config, v string) error {
	n, err := parseInt(v, 0, maxDelaySeconds, "a whole number of seconds, 0 or more")
	c.Delay = time.Duration(n) * time.Second
	return err
}

func setPassEnv(c *Config, v string) error {
	if v == "" { // --passenv '' passes nothing
		c.PassEnv = nil
		return nil
	}
	names, err := parseList(v, "variable name")
	if err != nil {
		return err
	}
	for _, n := range names {
		if strings.ContainsAny(n, "=\x00") {
			return fmt.Errorf("%q is not a variable name", n)
		}
	}
	c.PassEnv = names
	return nil
}

func setRooms(c *Config, v string) (err error) {
	c.Rooms, err = parseList(v, "room name")
	return err
}

func setMaxRooms(c *Config, v string) (err error) {
	c.MaxRooms, err = parseInt(v, 1, math.MaxInt, "a positive integer")
	return err
}

func setDelimiters(c *Config, v string) error {
	if v == "" {
		return errors.New("must not be empty")
	}
	// Output is split at bytes, so a character of several bytes would split
	// text in the middle of other characters that share those bytes.
	for i := 0; i < len(v); {
		r, size := utf8.DecodeRuneInString(v[i:])
		if size > 1 {
			return fmt.Errorf("%q is not a single-byte character", r)
		}
		i += size
	}
	c.Delimiters = v
	return nil
}

func setCache(c *Config, v string) error {
	kind, size := "all", v
	if k, s, ok := strings.Cut(v, ":"); ok {
		kind, size = k, s
	}
	switch kind {
	case "all":
		c.CacheKind = CacheAll
	case "tagged":
		c.CacheKind = CacheTagged
	default:
		return errors.New("TYPE must be all or tagged")
	}
	n, err := parseInt(size, 1, maxCacheSize, "a SIZE from 1 to 100000")
	c.CacheSize = n
	return err
}

func parseAddr(v string) (string, error) {
	_, port, err := net.SplitHostPort(v)
	if err == nil {
		_, err = parseInt(port, 0, maxPort, "")
	}
	if err != nil {
		return "", errors.New("must be HOST:PORT with PORT from 0 to 65535")
	}
	return v, nil
}

func parseFraming(v string) (Framing, error) {
	switch v {
	case "json":
		return FrameJSON, nil
	case "gwsocket":
		return FrameGWSocket, nil
	}
	return FrameNone, errors.New("must be json or gwsocket")
}

func parseOneOf(v, a, b string) (string, error) {
	if v != a && v != b {
		return "", fmt.Errorf("must be %s or %s", a, b)
	}
	return v, nil
}

func parseNonEmpty(v string) (string, error) {
	if v == "" {
		return "", errors.New("must not be empty")
	}
	return v, nil
}

// parseList splits a comma-separated list. An empty entry is refused rather
// than dropped: "a,,b" is more likely a typo than a wish.
func parseList(v, what string) ([]string, error) {
	parts := strings.Split(v, ",")
	for i, p := range parts {
		parts[i] = strings.TrimSpace(p)
		if parts[i] == "" {
			return nil, fmt.Errorf("empty %s in the list", what)
		}
	}
	return parts, nil
}

// parseInt accepts decimal digits only, so that "+5", "0x10" and " 5" are
// refused instead of being read in some surprising way. want describes the
// accepted values for the error.
func parseInt(v string, lo, hi int, want string) (int, error) {
	if v == "" || strings.Trim(v, "0123456789") != "" {
		return 0, errors.New("must be " + want)
	}
	n, err := strconv.Atoi(v)
	switch {
	case err != nil || n > hi:
		return 0, fmt.Errorf("must be at most %d", hi)
	case n < lo:
		return 0, errors.New("must be " + want)
	}
	return n, nil
}

func parseDuration(v string, zeroOK bool) (time.Duration, error) {
	d, err := time.ParseDuration(v)
	switch {
	case err != nil:
		return 0, errors.New("must be a duration such as 1s or 300ms")
	case d < 0:
		return 0, errors.New("must not be negative")
	case d == 0 && !zeroOK:
		return 0, errors.New("must be greater than 0")
	}
	return d, nil
}

func parseBool(v string) (bool, error) {
	b, err := strconv.ParseBool(v)
	if err != nil {
		return false, errors.New("must be true or false")
	}
	return b, nil
}
