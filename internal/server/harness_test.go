package server_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"
	"go.uber.org/goleak"

	"github.com/scalesocket/scalesocket-go/internal/config"
	"github.com/scalesocket/scalesocket-go/internal/process"
	"github.com/scalesocket/scalesocket-go/internal/server"
	"github.com/scalesocket/scalesocket-go/internal/testutil"
)

// timeout bounds every wait of these tests; it is generous because CI has
// two shared cores, and it is never what a test measures.
const timeout = 15 * time.Second

func TestMain(m *testing.M) {
	if err := process.BecomeSubreaper(); err != nil {
		fmt.Fprintln(os.Stderr, "become subreaper:", err)
		os.Exit(1)
	}
	goleak.VerifyTestMain(m)
}

// testServer is a real server on a loopback port, run in-process.
type testServer struct {
	srv  *server.Server
	addr string
	logs *testutil.Buffer
	stop func()
}

// startServer parses args as the command line (with the script path made
// absolute) and serves it until the test ends.
func startServer(t testing.TB, args ...string) *testServer {
	t.Helper()
	for i, a := range args {
		if strings.HasPrefix(a, "testdata/") {
			abs, err := filepath.Abs(a)
			if err != nil {
				t.Fatal(err)
			}
			args[i] = abs
		}
	}
	cfg, err := config.Parse(args)
	if err != nil {
		t.Fatalf("parse %q: %v", args, err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	logs := &testutil.Buffer{}
	log := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	srv := server.New(cfg, log)
	go func() { done <- srv.Serve(ctx, ln) }()
	s := &testServer{srv: srv, addr: ln.Addr().String(), logs: logs}
	var once sync.Once
	s.stop = func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("Serve: %v", err)
				}
			case <-time.After(timeout):
				t.Errorf("server did not stop within %v", timeout)
			}
		})
	}
	t.Cleanup(func() {
		s.stop()
		if t.Failed() {
			t.Logf("server log:\n%s", logs.String())
		}
	})
	return s
}

func (s *testServer) url(room string) string { return "ws://" + s.addr + "/" + room }

// dial connects a WebSocket client to room.
func (s *testServer) dial(t *testing.T, room string) *testClient {
	t.Helper()
	return s.dialWith(t, room, nil)
}

// dialWith connects a WebSocket client to room, sending header.
func (s *testServer) dialWith(t *testing.T, room string, header http.Header) *testClient {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	c, resp, err := websocket.Dial(ctx, s.url(room), &websocket.DialOptions{HTTPHeader: header})
	if err != nil {
		t.Fatalf("dial %s: %v (response %v)", room, err, resp)
	}
	c.SetReadLimit(-1)
	t.Cleanup(func() { c.CloseNow() })
	return &testClient{t: t, c: c}
}

// refusal dials room and returns the HTTP status of the refused upgrade.
func (s *testServer) refusal(t *testing.T, room string) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	c, resp, err := websocket.Dial(ctx, s.url(room), nil)
	if err == nil {
		c.CloseNow()
		t.Fatalf("dial %q: upgrade succeeded, want a refusal", room)
	}
	if resp == nil {
		t.Fatalf("dial %q: %v, no HTTP response", room, err)
	}
	return resp.StatusCode
}

// get makes a plain HTTP request.
func (s *testServer) get(t *testing.T, method, path string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, "http://"+s.addr+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	client := &http.Client{Timeout: timeout}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	var body bytes.Buffer
	body.ReadFrom(resp.Body)
	return resp.StatusCode, body.String()
}

type testClient struct {
	t *testing.T
	c *websocket.Conn
}

// read returns the next message.
func (c *testClient) read() (websocket.MessageType, string) {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	typ, data, err := c.c.Read(ctx)
	if err != nil {
		c.t.Fatalf("read: %v", err)
	}
	return typ, string(data)
}

// expect reads the next message and checks it is the text want.
func (c *testClient) expect(want string) {
	c.t.Helper()
	typ, got := c.read()
	if typ != websocket.MessageText || got != want {
		c.t.Fatalf("got %v %q, want text %q", typ, got, want)
	}
}

func (c *testClient) send(msg string) {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	if err := c.c.Write(ctx, websocket.MessageText, []byte(msg)); err != nil {
		c.t.Fatalf("send %q: %v", msg, err)
	}
}

// expectClose reads the next frame, which must be the server's close, and
// checks its code and reason.
func (c *testClient) expectClose(code websocket.StatusCode, reason string) {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	typ, data, err := c.c.Read(ctx)
	if err == nil {
		c.t.Fatalf("got %v %q, want close %d", typ, data, code)
	}
	var ce websocket.CloseError
	if !errors.As(err, &ce) {
		c.t.Fatalf("read: %v, want close %d", err, code)
	}
	if ce.Code != code || (reason != "" && ce.Reason != reason) {
		c.t.Fatalf("closed with %d %q, want %d %q", ce.Code, ce.Reason, code, reason)
	}
}

// close closes the client's side normally.
func (c *testClient) close() {
	c.c.Close(websocket.StatusNormalClosure, "")
}

// waitFor polls cond until it holds or the timeout passes.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for pause := time.Millisecond; !cond(); pause = min(2*pause, 50*time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(pause)
	}
}

// gone reports whether pid no longer exists, zombies included.
func gone(pid int) bool {
	return errors.Is(syscall.Kill(pid, 0), syscall.ESRCH)
}

// rawUpgrade opens a TCP connection to the server, completes a WebSocket
// handshake on path by hand, and returns the connection, for tests that
// must write exact bytes.
func (s *testServer) rawUpgrade(t testing.TB, path string) (net.Conn, *bufio.Reader) {
	t.Helper()
	conn, err := net.DialTimeout("tcp", s.addr, timeout)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	io.WriteString(conn, s.handshake(path))
	br := bufio.NewReader(conn)
	conn.SetReadDeadline(time.Now().Add(timeout))
	resp, err := http.ReadResponse(br, nil)
	if err != nil || resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("raw upgrade of %s: %v %v", path, resp, err)
	}
	conn.SetReadDeadline(time.Time{})
	return conn, br
}

// handshake is a client's WebSocket handshake request for path.
func (s *testServer) handshake(path string) string {
	return fmt.Sprintf("GET %s HTTP/1.1\r\nHost: %s\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"+
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n", path, s.addr)
}

// clientFrame encodes a client frame with opcode op and payload, masked
// with the key 0 (valid, and it leaves the payload as is).
func clientFrame(fin bool, op byte, payload []byte) []byte {
	b0 := op
	if fin {
		b0 |= 0x80
	}
	f := []byte{b0}
	switch n := len(payload); {
	case n < 126:
		f = append(f, 0x80|byte(n))
	case n < 1<<16:
		f = append(f, 0x80|126, byte(n>>8), byte(n))
	default:
		f = append(f, 0x80|127, 0, 0, 0, 0, byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
	}
	f = append(f, 0, 0, 0, 0) // mask key
	return append(f, payload...)
}

// readEnv reads the lines of an environment dump (testdata/env.sh, or the
// TCP backend's env mode) up to END.
func (c *testClient) readEnv() map[string]string {
	c.t.Helper()
	env := map[string]string{}
	for {
		_, line := c.read()
		if line == "END" {
			return env
		}
		k, v, _ := strings.Cut(line, "=")
		env[k] = v
	}
}

// admits reports whether a client may connect to room now; the test
// connection is closed at once.
func (s *testServer) admits(t *testing.T, room string) bool {
	c, _, err := websocket.Dial(t.Context(), s.url(room), nil)
	if err == nil {
		c.CloseNow()
	}
	return err == nil
}
