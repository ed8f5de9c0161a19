package server_test

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// readServerFrame reads one unfragmented frame from the server.
func readServerFrame(t *testing.T, conn net.Conn, br *bufio.Reader) (op byte, payload []byte, err error) {
	t.Helper()
	conn.SetReadDeadline(time.Now().Add(timeout))
	var h [2]byte
	if _, err := io.ReadFull(br, h[:]); err != nil {
		return 0, nil, err
	}
	n := uint64(h[1] & 0x7f)
	switch n {
	case 126:
		var ext [2]byte
		if _, err := io.ReadFull(br, ext[:]); err != nil {
			return 0, nil, err
		}
		n = uint64(binary.BigEndian.Uint16(ext[:]))
	case 127:
		var ext [8]byte
		if _, err := io.ReadFull(br, ext[:]); err != nil {
			return 0, nil, err
		}
		n = binary.BigEndian.Uint64(ext[:])
	}
	payload = make([]byte, n)
	_, err = io.ReadFull(br, payload)
	return h[0] & 0x0f, payload, err
}

// expectCloseFrame reads frames until the server's close frame and checks
// its code.
func expectCloseFrame(t *testing.T, conn net.Conn, br *bufio.Reader, code uint16) {
	t.Helper()
	for {
		op, payload, err := readServerFrame(t, conn, br)
		if err != nil {
			t.Fatalf("want close %d, got %v", code, err)
		}
		if op != 8 {
			continue
		}
		if len(payload) < 2 || binary.BigEndian.Uint16(payload) != code {
			t.Fatalf("close frame %q, want code %d", payload, code)
		}
		return
	}
}

// TestBadFramesGetACleanClose sends frames that break RFC 6455, each on a
// connection of its own: the server answers each with a close frame of the
// right code, and keeps serving a well-behaved client in another room.
func TestBadFramesGetACleanClose(t *testing.T) {
	t.Parallel()
	s := startServer(t, "--maxmsgsize", "1000", "cat")
	good := s.dial(t, "good")
	huge := []byte{0x81, 0x80 | 127, 0x40, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0} // 2^62 bytes
	flood := clientFrame(false, 1, []byte(strings.Repeat("a", 100)))
	for range 20 {
		flood = append(flood, clientFrame(false, 0, []byte(strings.Repeat("b", 100)))...)
	}
	tests := []struct {
		name  string
		bytes []byte
		code  uint16
	}{
		{"unmasked", []byte{0x81, 0x02, 'h', 'i'}, 1002},
		{"reserved bits", append([]byte{0xC1}, clientFrame(true, 1, []byte("hi"))[1:]...), 1002},
		{"unknown opcode", clientFrame(true, 3, []byte("hi")), 1002},
		{"control frame too long", clientFrame(true, 9, []byte(strings.Repeat("p", 126))), 1002},
		{"fragmented ping", clientFrame(false, 9, []byte("p")), 1002},
		{"continuation first", clientFrame(true, 0, []byte("hi")), 1002},
		{"invalid UTF-8", clientFrame(true, 1, []byte{0xff, 0xfe}), 1007},
		{"huge length", huge, 1009},
		{"fragment flood", flood, 1009},
	}
	for _, tc := range tests {
		conn, br := s.rawUpgrade(t, "/bad")
		if _, err := conn.Write(tc.bytes); err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		t.Run(tc.name, func(t *testing.T) { expectCloseFrame(t, conn, br, tc.code) })
	}
	good.send("still fine")
	good.expect("still fine")
}

// TestPingFloodIsAnswered sends many pings at once: each gets its pong,
// and the connection goes on working.
func TestPingFloodIsAnswered(t *testing.T) {
	t.Parallel()
	s := startServer(t, "cat")
	conn, br := s.rawUpgrade(t, "/pings")
	const n = 1000
	var pings []byte
	for i := range n {
		pings = append(pings, clientFrame(true, 9, []byte(fmt.Sprint(i)))...)
	}
	pings = append(pings, clientFrame(true, 1, []byte("after"))...)
	go conn.Write(pings)
	pongs := 0
	for {
		op, payload, err := readServerFrame(t, conn, br)
		if err != nil {
			t.Fatalf("after %d pongs: %v", pongs, err)
		}
		if op == 0xA {
			if string(payload) != fmt.Sprint(pongs) {
				t.Fatalf("pong %q, want %d", payload, pongs)
			}
			pongs++
			continue
		}
		if op != 1 || string(payload) != "after" {
			t.Fatalf("got frame %d %q", op, payload)
		}
		break
	}
	if pongs != n {
		t.Fatalf("%d pongs for %d pings", pongs, n)
	}
}

// TestHandshakeGarbage sends bytes that are not a WebSocket handshake.
func TestHandshakeGarbage(t *testing.T) {
	t.Parallel()
	s := startServer(t, "cat")
	tests := []struct {
		name, request string
		status        int
	}{
		{"not HTTP", "\x16\x03\x01garbage\r\n\r\n", 400},
		{"no key", "GET /r HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\n\r\n", 400},
		{"bad version", "GET /r HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 8\r\n\r\n", 400},
		{"POST upgrade", "POST /r HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nContent-Length: 0\r\n\r\n", 400},
	}
	for _, tc := range tests {
		conn, err := net.DialTimeout("tcp", s.addr, timeout)
		if err != nil {
			t.Fatal(err)
		}
		conn.SetDeadline(time.Now().Add(timeout))
		io.WriteString(conn, tc.request)
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
		} else if resp.StatusCode != tc.status {
			t.Errorf("%s: status %d, want %d", tc.name, resp.StatusCode, tc.status)
		}
		conn.Close()
	}
	if status, _ := s.get(t, "GET", "/health"); status != 200 {
		t.Fatalf("server unhealthy after garbage")
	}
}

// TestHalfClosedClientIsCleanedUp sends a message, then shuts down its
// side of the TCP connection without a close frame: the server must treat
// the client as gone and end its room.
func TestHalfClosedClientIsCleanedUp(t *testing.T) {
	t.Parallel()
	s := startServer(t, "testdata/echo.sh")
	conn, br := s.rawUpgrade(t, "/half")
	_, pidLine, err := readServerFrame(t, conn, br)
	if err != nil {
		t.Fatal(err)
	}
	var pid int
	if _, err := fmt.Sscanf(string(pidLine), "pid %d", &pid); err != nil {
		t.Fatalf("bad line %q", pidLine)
	}
	conn.Write(clientFrame(true, 1, []byte("bye")))
	conn.(*net.TCPConn).CloseWrite()
	waitFor(t, "the room's process to end", func() bool { return gone(pid) })
}

// TestSlowLorisIsDropped opens connections that send their request line and
// headers too slowly: the server drops them once the 10 s header timeout
// has passed, and serves others meanwhile.
func TestSlowLorisIsDropped(t *testing.T) {
	t.Parallel()
	s := startServer(t, "cat")
	conn, err := net.DialTimeout("tcp", s.addr, timeout)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	io.WriteString(conn, "GET /slow HTTP/1.1\r\nHost: x\r\n") // and never the end
	if status, _ := s.get(t, "GET", "/health"); status != 200 {
		t.Fatalf("server busy with a slow client")
	}
	conn.SetReadDeadline(time.Now().Add(2 * timeout))
	if _, err := io.ReadAll(conn); err != nil {
		t.Fatalf("the slow connection was not dropped: %v", err)
	}
}

// TestFrameSentWithTheHandshake: a client that sends its first message in
// the same write as its handshake, without waiting for the response, has
// it read all the same.
func TestFrameSentWithTheHandshake(t *testing.T) {
	t.Parallel()
	s := startServer(t, "cat")
	conn, err := net.DialTimeout("tcp", s.addr, timeout)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.Write(append([]byte(s.handshake("/early")), clientFrame(true, 1, []byte("early"))...)); err != nil {
		t.Fatal(err)
	}
	conn.SetReadDeadline(time.Now().Add(timeout))
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil || resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("upgrade: %v %v", resp, err)
	}
	got := make([]byte, 2+len("early"))
	if _, err := io.ReadFull(br, got); err != nil {
		t.Fatal(err)
	}
	if want := "\x81\x05early"; string(got) != want {
		t.Fatalf("got frame %q, want %q", got, want)
	}
}
