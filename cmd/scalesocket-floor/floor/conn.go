package floor

import (
	"bufio"
	"crypto/sha1"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

// Opcodes of RFC 6455.
const (
	opContinuation = 0x0
	opText         = 0x1
	opBinary       = 0x2
	opClose        = 0x8
	opPing         = 0x9
	opPong         = 0xA
)

const (
	// readBufferSize is small: an idle connection holds it.
	readBufferSize = 2048
	// maxMessageSize matches ScaleSocket's default --maxmsgsize.
	maxMessageSize = 1 << 20
	// closeWriteTimeout bounds the write of the last frames to a peer
	// that has stopped reading.
	closeWriteTimeout = time.Second
)

// handshake reads the upgrade request and answers it. It returns the room
// name, the first path segment, or false when the request was refused.
func handshake(nc net.Conn, br *bufio.Reader) (string, bool) {
	req, err := http.ReadRequest(br)
	if err != nil {
		return "", false
	}
	if !headerHas(req.Header, "Connection", "upgrade") || !headerHas(req.Header, "Upgrade", "websocket") {
		fmt.Fprint(nc, "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
		return "", false
	}
	key := req.Header.Get("Sec-WebSocket-Key")
	name := roomName(req.URL)
	if req.Method != http.MethodGet || key == "" || name == "" {
		fmt.Fprint(nc, "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
		return "", false
	}
	_, err = fmt.Fprintf(nc, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n\r\n", acceptKey(key))
	return name, err == nil
}

// acceptKey is the Sec-WebSocket-Accept of RFC 6455 §4.2.2.
func acceptKey(key string) string {
	h := sha1.Sum([]byte(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"))
	return base64.StdEncoding.EncodeToString(h[:])
}

func headerHas(h http.Header, name, token string) bool {
	for _, v := range h.Values(name) {
		for _, t := range strings.Split(v, ",") {
			if strings.EqualFold(strings.TrimSpace(t), token) {
				return true
			}
		}
	}
	return false
}

func roomName(u *url.URL) string {
	name, _, _ := strings.Cut(strings.TrimPrefix(u.Path, "/"), "/")
	return name
}

// appendFrame appends an unmasked, final frame (server to client).
func appendFrame(dst []byte, op byte, payload []byte) []byte {
	dst = append(dst, 0x80|op)
	switch n := len(payload); {
	case n < 126:
		dst = append(dst, byte(n))
	case n < 1<<16:
		dst = append(dst, 126)
		dst = binary.BigEndian.AppendUint16(dst, uint16(n))
	default:
		dst = append(dst, 127)
		dst = binary.BigEndian.AppendUint64(dst, uint64(n))
	}
	return append(dst, payload...)
}

// conn is one upgraded connection: a reader (the goroutine that served the
// upgrade) and a writer goroutine that drains the pending frames.
//
// Writing straight to the socket from the broadcasting goroutine (one
// non-blocking writev, the writer taking only what the socket refused) was
// tried and measured against this: the same burst throughput (the load
// client is the limit there) and a paced p99 within 5%, so the simpler
// design stayed.
type conn struct {
	nc net.Conn
	br *bufio.Reader

	mu         sync.Mutex
	pending    [][]byte
	closed     bool // nothing more is queued
	closeAfter bool // the writer closes the socket after the pending frames

	spare [][]byte      // owned by the writer
	wake  chan struct{} // capacity 1: "there is something pending"
	done  chan struct{} // closed by finish
}

func newConn(nc net.Conn, br *bufio.Reader) *conn {
	return &conn{nc: nc, br: br, wake: make(chan struct{}, 1), done: make(chan struct{})}
}

func (c *conn) signal() {
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// push queues frames unless the connection is closing.
func (c *conn) push(frames ...[]byte) {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	c.pending = append(c.pending, frames...)
	c.mu.Unlock()
	c.signal()
}

// pushLast queues a final frame after which the writer closes the socket.
func (c *conn) pushLast(frame []byte) {
	c.mu.Lock()
	if !c.closed {
		c.pending = append(c.pending, frame)
		c.closed, c.closeAfter = true, true
	}
	c.mu.Unlock()
	c.signal()
}

// finish ends the writer once the reader is done: at once, dropping what
// is pending, unless a close frame is queued, which is written first
// (within closeWriteTimeout) before the writer closes the socket.
func (c *conn) finish() {
	c.mu.Lock()
	c.closed = true
	last := c.closeAfter
	c.mu.Unlock()
	if last {
		_ = c.nc.SetWriteDeadline(time.Now().Add(closeWriteTimeout))
		return
	}
	close(c.done)
	_ = c.nc.Close()
}

// writeLoop writes everything pending with one writev per wake-up.
func (c *conn) writeLoop() {
	for {
		select {
		case <-c.wake:
		case <-c.done:
			return
		}
		c.mu.Lock()
		batch := c.pending
		c.pending = c.spare[:0]
		last := c.closeAfter
		c.mu.Unlock()
		if last {
			_ = c.nc.SetWriteDeadline(time.Now().Add(closeWriteTimeout))
		}
		bufs := net.Buffers(batch)
		_, err := bufs.WriteTo(c.nc)
		clear(batch)
		c.spare = batch[:0]
		if err != nil || last {
			_ = c.nc.Close()
			return
		}
	}
}

// readLoop reads client frames until the connection closes and hands each
// data message to handle; msg is only valid during the call. It answers
// pings and close frames itself.
func (c *conn) readLoop(handle func(op byte, msg []byte)) {
	var hdr [14]byte
	var ctlBuf [125]byte
	var msg []byte
	var msgOp byte // opcode of the message being read, 0 between messages
	for {
		if _, err := io.ReadFull(c.br, hdr[:2]); err != nil {
			return
		}
		fin, op := hdr[0]&0x80 != 0, hdr[0]&0x0f
		masked, n := hdr[1]&0x80 != 0, uint64(hdr[1]&0x7f)
		if !masked || hdr[0]&0x70 != 0 {
			c.fail(1002)
			return
		}
		switch n {
		case 126:
			if _, err := io.ReadFull(c.br, hdr[2:4]); err != nil {
				return
			}
			n = uint64(binary.BigEndian.Uint16(hdr[2:4]))
		case 127:
			if _, err := io.ReadFull(c.br, hdr[2:10]); err != nil {
				return
			}
			n = binary.BigEndian.Uint64(hdr[2:10])
		}
		var key [4]byte
		if _, err := io.ReadFull(c.br, key[:]); err != nil {
			return
		}
		if op >= opClose {
			if !fin || n > 125 {
				c.fail(1002)
				return
			}
			ctl, err := readPayload(c.br, ctlBuf[:0], 0, int(n), key)
			if err != nil {
				return
			}
			switch op {
			case opClose:
				if len(ctl) > 2 {
					ctl = ctl[:2]
				}
				c.pushLast(appendFrame(nil, opClose, ctl))
				return
			case opPing:
				c.push(appendFrame(nil, opPong, ctl))
			case opPong:
			default:
				c.fail(1002)
				return
			}
			continue
		}
		if uint64(len(msg))+n > maxMessageSize {
			c.fail(1009)
			return
		}
		switch {
		case op == opContinuation && msgOp == 0, op != opContinuation && msgOp != 0:
			c.fail(1002)
			return
		case op == opText || op == opBinary:
			msgOp = op
		case op != opContinuation:
			c.fail(1002)
			return
		}
		payload, err := readPayload(c.br, msg, len(msg), int(n), key)
		if err != nil {
			return
		}
		msg = payload
		if fin {
			handle(msgOp, msg)
			msg, msgOp = msg[:0], 0
		}
	}
}

// readPayload reads n masked bytes into buf[start:start+n], unmasks them
// and returns buf[:start+n], growing buf as needed.
func readPayload(r io.Reader, buf []byte, start, n int, key [4]byte) ([]byte, error) {
	if cap(buf) < start+n {
		grown := make([]byte, start+n, max(start+n, 2*cap(buf)))
		copy(grown, buf[:start])
		buf = grown
	}
	buf = buf[:start+n]
	p := buf[start:]
	if _, err := io.ReadFull(r, p); err != nil {
		return nil, err
	}
	for i := range p {
		p[i] ^= key[i&3]
	}
	return buf, nil
}

// fail closes the connection with code after a protocol violation.
func (c *conn) fail(code uint16) {
	c.pushLast(appendFrame(nil, opClose, binary.BigEndian.AppendUint16(nil, code)))
}
