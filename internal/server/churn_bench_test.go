package server_test

import (
	"bytes"
	"fmt"
	"io"
	"testing"
	"time"
)

// BenchmarkServerChurn measures what a short-lived room costs the server:
// one iteration connects to a new room (which starts a `cat`), sends one
// line, waits for its echo and closes, as the load tool's churn case does.
//
//	go test -run '^$' -bench BenchmarkServerChurn -benchmem -cpuprofile /tmp/churn.prof ./internal/server/
func BenchmarkServerChurn(b *testing.B) {
	s := startServer(b, "cat")
	line := []byte("hello")
	echo := append([]byte{0x81, byte(len(line))}, line...)
	got := make([]byte, len(echo))
	i := 0
	for b.Loop() {
		i++
		conn, br := s.rawUpgrade(b, fmt.Sprintf("/churn-%d", i))
		send(b, conn, clientFrame(true, 0x1, line))
		conn.SetReadDeadline(time.Now().Add(timeout))
		if _, err := io.ReadFull(br, got); err != nil || !bytes.Equal(got, echo) {
			b.Fatalf("echo: got %q, %v", got, err)
		}
		send(b, conn, clientFrame(true, 0x8, []byte{0x03, 0xe8}))
		conn.Close()
	}
}
