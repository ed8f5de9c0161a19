// Package wsconn is the one place that knows which WebSocket library the
// server uses. The rest of the program sees an Upgrader and a Conn with the
// few operations a room connection needs, so the library can be swapped
// without touching rooms or HTTP routing.
//
// The library is github.com/lxzan/gws: it passes the Autobahn TestSuite
// including the UTF-8 cases, it accepts the short Sec-WebSocket-Key of the
// original ScaleSocket's Quick Start as the original does, its read loop
// calls back synchronously (so a blocked backend stops reading from the
// socket: TCP backpressure), and its close sends the close frame and drops
// the connection without waiting for a peer that may never answer.
package wsconn

import (
	"bufio"
	"errors"
	"net"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/lxzan/gws"
)

// readBufferSize is the read buffer of a connection, in bytes. Every
// connection holds it for as long as it lives, idle or not, so it is
// small: it only has to take frame headers and small messages in one read,
// and a larger payload is read straight into the message's own buffer.
// Against 1024 bytes it saved about 0.4 kB of memory per idle connection
// and changed neither streaming rate (64-byte or 4000-byte messages)
// measurably (BENCHMARKS.md).
const readBufferSize = 256

// closeTimeout bounds the write of the final frames and the close frame to
// a peer that has stopped reading.
const closeTimeout = time.Second

// Options configure every connection of an Upgrader.
type Options struct {
	// MaxMessageSize is the largest client message in bytes, fragments
	// joined; a larger one closes the connection with 1009.
	MaxMessageSize int
	// HandshakeTimeout bounds the write of the upgrade response.
	HandshakeTimeout time.Duration
	// PingInterval is how often a ping is sent; a peer that has not
	// answered one ping by the next is dropped. Zero disables pings.
	PingInterval time.Duration
}

// Upgrader turns HTTP upgrade requests into Conns.
type Upgrader struct {
	up   *gws.Upgrader
	ping time.Duration
}

// NewUpgrader returns an Upgrader with opts.
func NewUpgrader(opts Options) *Upgrader {
	return &Upgrader{ping: opts.PingInterval, up: gws.NewUpgrader(events{}, &gws.ServerOption{
		ReadMaxPayloadSize: opts.MaxMessageSize,
		// Every connection holds its read buffer while it waits; a small
		// one keeps idle connections cheap, and large payloads are read
		// past it straight into the message.
		ReadBufferSize:   readBufferSize,
		CheckUtf8Enabled: true,
		HandshakeTimeout: opts.HandshakeTimeout,
		// One slot per connection holds our *Conn; the default session is
		// a locked map, consulted on every message.
		NewSession: func() gws.SessionStorage { return new(slot) },
	})}
}

// Upgrade completes the WebSocket handshake. On failure an HTTP error has
// been written or the connection has been dropped.
func (u *Upgrader) Upgrade(w http.ResponseWriter, r *http.Request) (*Conn, error) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		return nil, errors.New("connection cannot be hijacked")
	}
	netConn, brw, err := hj.Hijack()
	if err != nil {
		return nil, err
	}
	// The hijack is done here rather than by gws so that the library
	// reads through a rawSocket. Bytes a client sent before the response
	// (it should not, but may) are still in the HTTP server's reader:
	// then that reader stays in front, and the socket is used as it is.
	c := &Conn{ping: u.ping, sock: netConn}
	var conn net.Conn = netConn
	br := brw.Reader
	if br.Buffered() == 0 {
		if c.raw = newRawSocket(netConn); c.raw != nil {
			conn, br = c.raw, bufio.NewReaderSize(c.raw, readBufferSize)
		}
	}
	ws, err := u.up.UpgradeFromConn(conn, br, r)
	if err != nil {
		return nil, err
	}
	c.ws = ws
	ws.Session().(*slot).conn.Store(c)
	return c, nil
}

// errPingTimeout is why a connection that stopped answering pings closed.
var errPingTimeout = errors.New("no pong before the next ping")

// Handler receives the messages of a connection, one at a time, in order.
// While it runs, nothing more is read from the peer. data is only valid
// during the call.
type Handler func(binary bool, data []byte)

// Conn is an upgraded WebSocket connection. Write and Close may be called
// from one writer goroutine while Serve runs in another.
type Conn struct {
	ws      *gws.Conn
	handler Handler
	// closeErr is why the connection closed, as the read loop saw it.
	closeErr atomic.Pointer[error]

	// ping is the keepalive interval; pinger fires every interval, with
	// no goroutine of its own in between. ponged records an answer to the
	// last ping.
	ping   time.Duration
	pinger *time.Timer
	ponged atomic.Bool

	// sock is the connection as accepted, which WriteFrames writes to
	// (a rawSocket hides its vectored write); raw is set when it is a
	// plain socket.
	sock net.Conn
	raw  *rawSocket
}

// RemoteAddr returns the peer's address.
func (c *Conn) RemoteAddr() net.Addr { return c.ws.RemoteAddr() }

// Serve reads messages and passes them to h until the connection closes,
// then returns why it closed.
func (c *Conn) Serve(h Handler) error {
	c.handler = h
	if c.ping > 0 {
		c.ponged.Store(true)
		c.pinger = time.AfterFunc(c.ping, c.keepalive)
		defer c.pinger.Stop()
	}
	c.ws.ReadLoop()
	if err := c.closeErr.Load(); err != nil {
		return *err
	}
	return net.ErrClosed
}

// keepalive drops a peer that did not answer the last ping (a half-open
// connection would otherwise live forever), or sends the next ping.
func (c *Conn) keepalive() {
	if !c.ponged.Swap(false) {
		err := errPingTimeout
		c.closeErr.Store(&err)
		_ = c.ws.NetConn().Close()
		return
	}
	if err := c.ws.WritePing(nil); err != nil {
		return // the read loop sees the connection go
	}
	c.pinger.Reset(c.ping)
}

// TryWriteFrames sends frames as WriteFrames does if the socket takes
// them all at once, and reports whether it did. It does not wait for the
// socket: what it took is consumed from frames, and the rest, or an
// error, is for WriteFrames. It sends nothing on a connection that is not
// a plain socket (TLS), nor more than a few frames.
func (c *Conn) TryWriteFrames(frames *net.Buffers) bool {
	return c.raw != nil && c.raw.tryWritev(frames)
}

// WriteFrames sends data frames already encoded (see frame.AppendWSFrame)
// in one vectored write. Each frame is one buffer, so a control frame the
// library sends meanwhile (a pong) can only come between two frames: the
// connection's writes are serialised one whole buffer at a time. frames
// is consumed.
func (c *Conn) WriteFrames(frames *net.Buffers) error {
	if c.raw != nil {
		c.raw.lockWrites()
		defer c.raw.wmu.Unlock()
	}
	_, err := frames.WriteTo(c.sock)
	return err
}

// Close sends a close frame with code and reason, then closes the
// connection. It does not wait for the peer's reply.
func (c *Conn) Close(code int, reason string) {
	// A peer that stopped reading must not hold the writer forever.
	_ = c.ws.SetWriteDeadline(time.Now().Add(closeTimeout))
	_ = c.ws.WriteClose(uint16(code), []byte(reason))
	_ = c.ws.NetConn().Close()
}

// Abort bounds the writes still to come by d, so that a writer blocked on
// a peer that stopped reading gives up.
func (c *Conn) Abort(d time.Duration) {
	_ = c.ws.SetWriteDeadline(time.Now().Add(d))
}

// events routes gws callbacks to the Conn stored in the session slot.
type events struct {
	gws.BuiltinEventHandler
}

// OnPing answers with the ping's payload, as RFC 6455 §5.5.3 asks.
func (events) OnPing(ws *gws.Conn, payload []byte) { _ = ws.WritePong(payload) }

func (events) OnPong(ws *gws.Conn, _ []byte) {
	if c := connOf(ws); c != nil {
		c.ponged.Store(true)
	}
}

func (events) OnClose(ws *gws.Conn, err error) {
	if c := connOf(ws); c != nil && err != nil {
		c.closeErr.CompareAndSwap(nil, &err)
	}
}

func (events) OnMessage(ws *gws.Conn, m *gws.Message) {
	defer m.Close()
	if c := connOf(ws); c != nil && c.handler != nil {
		c.handler(m.Opcode == gws.OpcodeBinary, m.Bytes())
	}
}

func connOf(ws *gws.Conn) *Conn {
	return ws.Session().(*slot).conn.Load()
}

// slot is a gws.SessionStorage that holds just our *Conn.
type slot struct {
	conn atomic.Pointer[Conn]
}

func (s *slot) Len() int                     { return 1 }
func (s *slot) Load(string) (any, bool)      { return s.conn.Load(), true }
func (s *slot) Delete(string)                {}
func (s *slot) Store(string, any)            {}
func (s *slot) Range(func(string, any) bool) {}
