package floor

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestAcceptKey(t *testing.T) {
	t.Parallel()
	// The example of RFC 6455 §1.3.
	if got := acceptKey("dGhlIHNhbXBsZSBub25jZQ=="); got != "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=" {
		t.Errorf("acceptKey = %q", got)
	}
}

func TestAppendFrameLengths(t *testing.T) {
	t.Parallel()
	tests := []struct {
		n      int
		header []byte
	}{
		{0, []byte{0x81, 0}},
		{125, []byte{0x81, 125}},
		{126, []byte{0x81, 126, 0, 126}},
		{65535, []byte{0x81, 126, 0xff, 0xff}},
		{65536, []byte{0x81, 127, 0, 0, 0, 0, 0, 1, 0, 0}},
	}
	for _, tt := range tests {
		f := appendFrame(nil, opText, bytes.Repeat([]byte("x"), tt.n))
		if !bytes.Equal(f[:len(tt.header)], tt.header) || len(f) != len(tt.header)+tt.n {
			t.Errorf("frame of %d bytes starts % x, %d bytes long", tt.n, f[:min(len(f), 10)], len(f))
		}
	}
}

// client is a hand-written WebSocket client, so that the floor is tested
// against frames built here and not by the library it is compared with.
type client struct {
	nc net.Conn
	br *bufio.Reader
}

func startServer(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- New().Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	})
	return ln.Addr().String()
}

func dial(t *testing.T, addr, path string) *client {
	t.Helper()
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	_ = nc.SetDeadline(time.Now().Add(10 * time.Second))
	fmt.Fprintf(nc, "GET %s HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: keep-alive, Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n", path)
	br := bufio.NewReader(nc)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 101 || resp.Header.Get("Sec-WebSocket-Accept") != "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=" {
		t.Fatalf("upgrade answered %s %v", resp.Status, resp.Header)
	}
	return &client{nc: nc, br: br}
}

// send writes one masked frame.
func (c *client) send(t *testing.T, fin bool, op byte, payload []byte) {
	t.Helper()
	b := []byte{op}
	if fin {
		b[0] |= 0x80
	}
	b = append(b, 0x80|byte(len(payload)))
	key := [4]byte{1, 2, 3, 4}
	b = append(b, key[:]...)
	for i, x := range payload {
		b = append(b, x^key[i&3])
	}
	if _, err := c.nc.Write(b); err != nil {
		t.Fatal(err)
	}
}

// read returns the next frame's opcode and payload.
func (c *client) read(t *testing.T) (byte, []byte) {
	t.Helper()
	var h [2]byte
	if _, err := io.ReadFull(c.br, h[:]); err != nil {
		t.Fatal(err)
	}
	n := int(h[1] & 0x7f)
	if n == 126 {
		var l [2]byte
		io.ReadFull(c.br, l[:])
		n = int(binary.BigEndian.Uint16(l[:]))
	}
	p := make([]byte, n)
	if _, err := io.ReadFull(c.br, p); err != nil {
		t.Fatal(err)
	}
	return h[0] & 0x0f, p
}

func TestFragmentsPingsAndClose(t *testing.T) {
	t.Parallel()
	addr := startServer(t)
	c := dial(t, addr, "/room")
	c.send(t, false, opText, []byte("hel"))
	c.send(t, true, opPing, []byte("p"))
	c.send(t, true, opContinuation, []byte("lo"))
	if op, p := c.read(t); op != opPong || string(p) != "p" {
		t.Errorf("got %x %q, want the pong", op, p)
	}
	if op, p := c.read(t); op != opText || string(p) != "hello" {
		t.Errorf("got %x %q, want the echo of the joined fragments", op, p)
	}
	c.send(t, true, opClose, []byte{0x03, 0xe8})
	if op, p := c.read(t); op != opClose || !bytes.Equal(p, []byte{0x03, 0xe8}) {
		t.Errorf("got %x % x, want close 1000", op, p)
	}
	if _, err := c.br.ReadByte(); err != io.EOF {
		t.Errorf("after the close frame: %v, want EOF", err)
	}
}

func TestRoomSharesEchoAndTrigger(t *testing.T) {
	t.Parallel()
	addr := startServer(t)
	a, b := dial(t, addr, "/shared"), dial(t, addr, "/shared/more")
	other := dial(t, addr, "/other")
	// b is in the room once its own echo comes back to it.
	b.send(t, true, opText, []byte("sync"))
	for _, c := range []*client{a, b} {
		if _, p := c.read(t); string(p) != "sync" {
			t.Fatalf("got %q, want the sync echo", p)
		}
	}
	a.send(t, true, opText, []byte("fanout 3 0 40"))
	for _, c := range []*client{a, b} {
		for i := range 3 {
			if _, p := c.read(t); !strings.HasPrefix(string(p), fmt.Sprintf("%d ", i)) || len(p) != 40 {
				t.Errorf("line %d = %q", i, p)
			}
		}
	}
	// The other room got nothing: its own echo is the first frame it sees.
	other.send(t, true, opText, []byte("mine"))
	if _, p := other.read(t); string(p) != "mine" {
		t.Errorf("other room got %q", p)
	}
}

func TestRefusals(t *testing.T) {
	t.Parallel()
	addr := startServer(t)
	resp, err := http.Get("http://" + addr + "/room")
	if err != nil || resp.StatusCode != http.StatusNotFound {
		t.Errorf("plain GET: %v %v", resp, err)
	}
	c := dial(t, addr, "/room")
	// An unmasked frame from a client is a protocol error.
	c.nc.Write([]byte{0x81, 1, 'x'})
	if op, p := c.read(t); op != opClose || binary.BigEndian.Uint16(p) != 1002 {
		t.Errorf("got %x % x, want close 1002", op, p)
	}
}

func TestBurstLargerThanSocketBuffersArrivesInOrder(t *testing.T) {
	t.Parallel()
	addr := startServer(t)
	c := dial(t, addr, "/big")
	// 20 MB: far more than the socket buffers take while nobody reads,
	// so the writer goes through many partial writes.
	c.send(t, true, opText, []byte("fanout 20000 0 1000"))
	for i := range 20000 {
		_, p := c.read(t)
		if !strings.HasPrefix(string(p), fmt.Sprintf("%d ", i)) || len(p) != 1000 {
			t.Fatalf("line %d = %.30q… (%d bytes)", i, p, len(p))
		}
	}
}
