package main

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/coder/websocket"
	"github.com/lxzan/gws"
)

// Conn is one client connection of a scenario. Messages arrive on the
// callback given to Dial, in order, from the connection's own read
// goroutine; the callback must not keep the slice.
type Conn interface {
	// Send writes one text message. It is safe to call while messages
	// arrive, but not from two goroutines at once.
	Send(p []byte) error
	// Close sends a close frame, closes the socket and waits for the read
	// goroutine to end.
	Close()
	// Done is closed when the connection has ended.
	Done() <-chan struct{}
	// Err is why the connection ended; valid once Done is closed.
	Err() error
}

// Client dials Conns with one WebSocket library.
type Client interface {
	Name() string
	Dial(ctx context.Context, rawURL string, local net.Addr, onMessage func(p []byte)) (Conn, error)
}

// clients are the libraries the tool can drive; gws is the default, being
// the faster reader (see BENCHMARKS.md).
var clients = map[string]Client{"gws": gwsClient{}, "coder": coderClient{}}

// maxMessageSize is the largest message a client accepts.
const maxMessageSize = 2 << 20

// closeWait bounds how long Close waits for the read goroutine.
const closeWait = 2 * time.Second

// dialTCP connects to the host of rawURL from local, within ctx.
func dialTCP(ctx context.Context, rawURL string, local net.Addr) (net.Conn, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, err
	}
	host := u.Host
	if u.Port() == "" {
		host = net.JoinHostPort(u.Hostname(), "80")
	}
	d := net.Dialer{LocalAddr: local}
	return d.DialContext(ctx, "tcp", host)
}

// handshakeTimeout is the time left before ctx's deadline, at most 10 s.
func handshakeTimeout(ctx context.Context) time.Duration {
	d := 10 * time.Second
	if dl, ok := ctx.Deadline(); ok {
		d = min(d, time.Until(dl))
	}
	return max(d, time.Millisecond)
}

// --- gws ---

type gwsClient struct{}

func (gwsClient) Name() string { return "gws" }

func (gwsClient) Dial(ctx context.Context, rawURL string, local net.Addr, onMessage func([]byte)) (Conn, error) {
	nc, err := dialTCP(ctx, rawURL, local)
	if err != nil {
		return nil, err
	}
	c := &gwsConn{onMessage: onMessage, done: make(chan struct{})}
	ws, resp, err := gws.NewClientFromConn(c, &gws.ClientOption{
		Addr:               rawURL,
		HandshakeTimeout:   handshakeTimeout(ctx),
		ReadMaxPayloadSize: maxMessageSize,
		NewSession:         func() gws.SessionStorage { return noSession{} },
	}, nc)
	if err != nil {
		if resp != nil {
			return nil, fmt.Errorf("handshake: HTTP %s", resp.Status)
		}
		return nil, fmt.Errorf("handshake: %w", err)
	}
	_ = nc.SetDeadline(time.Time{})
	c.ws = ws
	go func() {
		defer close(c.done)
		ws.ReadLoop()
	}()
	return c, nil
}

type gwsConn struct {
	gws.BuiltinEventHandler
	ws        *gws.Conn
	onMessage func([]byte)
	done      chan struct{}
	err       error
}

func (c *gwsConn) OnMessage(_ *gws.Conn, m *gws.Message) {
	c.onMessage(m.Bytes())
	m.Close()
}

func (c *gwsConn) OnPing(ws *gws.Conn, p []byte) { _ = ws.WritePong(p) }

func (c *gwsConn) OnClose(_ *gws.Conn, err error) { c.err = err }

func (c *gwsConn) Send(p []byte) error   { return c.ws.WriteMessage(gws.OpcodeText, p) }
func (c *gwsConn) Done() <-chan struct{} { return c.done }
func (c *gwsConn) Err() error            { return c.err }

func (c *gwsConn) Close() {
	_ = c.ws.NetConn().SetWriteDeadline(time.Now().Add(closeWait))
	_ = c.ws.WriteClose(1000, nil) // also closes the socket
	waitOrClose(c.done, c.ws.NetConn())
}

// waitOrClose waits for done, closing nc if that takes longer than
// closeWait.
func waitOrClose(done <-chan struct{}, nc net.Conn) {
	t := time.NewTimer(closeWait)
	defer t.Stop()
	select {
	case <-done:
	case <-t.C:
		_ = nc.Close()
		<-done
	}
}

// noSession is a gws.SessionStorage that stores nothing: the default one
// is a map per connection, which idle runs with many connections would pay
// for.
type noSession struct{}

func (noSession) Len() int                     { return 0 }
func (noSession) Load(string) (any, bool)      { return nil, false }
func (noSession) Delete(string)                {}
func (noSession) Store(string, any)            {}
func (noSession) Range(func(string, any) bool) {}

// --- coder/websocket ---

type coderClient struct{}

func (coderClient) Name() string { return "coder" }

func (coderClient) Dial(ctx context.Context, rawURL string, local net.Addr, onMessage func([]byte)) (Conn, error) {
	var nc net.Conn
	hc := &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var err error
			nc, err = dialTCP(ctx, rawURL, local)
			return nc, err
		},
	}}
	hctx, cancel := context.WithTimeout(ctx, handshakeTimeout(ctx))
	defer cancel()
	ws, resp, err := websocket.Dial(hctx, rawURL, &websocket.DialOptions{HTTPClient: hc})
	if err != nil {
		if resp != nil && resp.StatusCode != http.StatusSwitchingProtocols {
			return nil, fmt.Errorf("handshake: HTTP %s", resp.Status)
		}
		return nil, fmt.Errorf("handshake: %w", err)
	}
	ws.SetReadLimit(maxMessageSize)
	c := &coderConn{ws: ws, nc: nc, done: make(chan struct{})}
	go func() {
		defer close(c.done)
		var buf bytes.Buffer
		for {
			_, r, err := ws.Reader(context.Background())
			if err == nil {
				buf.Reset()
				_, err = buf.ReadFrom(r)
			}
			if err != nil {
				c.err = err
				return
			}
			onMessage(buf.Bytes())
		}
	}()
	return c, nil
}

type coderConn struct {
	ws   *websocket.Conn
	nc   net.Conn
	done chan struct{}
	err  error
	once sync.Once
}

func (c *coderConn) Send(p []byte) error {
	return c.ws.Write(context.Background(), websocket.MessageText, p)
}
func (c *coderConn) Done() <-chan struct{} { return c.done }
func (c *coderConn) Err() error            { return c.err }

func (c *coderConn) Close() {
	c.once.Do(func() {
		// Close waits up to 5 s for the peer's close frame; the socket is
		// dropped sooner if the read goroutine does not end.
		go func() { _ = c.ws.Close(websocket.StatusNormalClosure, "") }()
		if c.nc != nil {
			waitOrClose(c.done, c.nc)
		} else {
			_ = c.ws.CloseNow()
			<-c.done
		}
	})
}
