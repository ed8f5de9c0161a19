package process

import (
	"errors"
	"net"
	"strconv"
	"testing"
)

func TestPortsReserveReleaseAndSkipPortsInUse(t *testing.T) {
	t.Parallel()
	// A port that was free a moment ago: listen on :0 and close.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	ports := NewPorts(p, p+1)

	port, err := ports.Reserve()
	if err != nil || port.Number() != p {
		t.Fatalf("Reserve() = %v, %v; want port %d", port, err, p)
	}
	if _, err := ports.Reserve(); !errors.Is(err, ErrNoPorts) {
		t.Fatalf("Reserve() of an empty pool: %v, want ErrNoPorts", err)
	}
	port.Release()
	port.Release() // a second Release must not free the port again
	again, err := ports.Reserve()
	if err != nil || again.Number() != p {
		t.Fatalf("Reserve() after Release = %v, %v; want port %d", again, err, p)
	}
	port.Release()
	if _, err := ports.Reserve(); !errors.Is(err, ErrNoPorts) {
		t.Fatalf("Reserve() after a stale Release: %v, want ErrNoPorts", err)
	}

	// Someone else listens on the port: it is skipped.
	again.Release()
	other, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(p)))
	if err != nil {
		t.Skipf("port %d was taken meanwhile: %v", p, err)
	}
	defer other.Close()
	if _, err := ports.Reserve(); !errors.Is(err, ErrNoPorts) {
		t.Fatalf("Reserve() of a port in use elsewhere: %v, want ErrNoPorts", err)
	}
}
