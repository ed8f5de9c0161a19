package server_test

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// dialFrom dials room from the local address ip, as a different client
// machine would.
func (s *testServer) dialFrom(t *testing.T, ip, room string) (*websocket.Conn, *http.Response, error) {
	t.Helper()
	dialer := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}}
	client := &http.Client{Transport: &http.Transport{DialContext: dialer.DialContext}}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	c, resp, err := websocket.Dial(ctx, s.url(room), &websocket.DialOptions{HTTPClient: client})
	if err == nil {
		t.Cleanup(func() { c.CloseNow() })
	}
	return c, resp, err
}

func TestMaxConns(t *testing.T) {
	t.Parallel()
	s := startServer(t, "--maxconns", "2", "cat")
	a := s.dial(t, "a")
	s.dial(t, "b")
	if got := s.refusal(t, "c"); got != 503 {
		t.Fatalf("third connection: %d, want 503", got)
	}
	a.close()
	waitFor(t, "a slot to free up", func() bool { return s.admits(t, "c") })
}

func TestMaxClientsPerRoom(t *testing.T) {
	t.Parallel()
	s := startServer(t, "--maxclients", "2", "cat")
	s.dial(t, "full")
	s.dial(t, "full")
	if got := s.refusal(t, "full"); got != 503 {
		t.Fatalf("third client of a room: %d, want 503", got)
	}
	other := s.dial(t, "other") // other rooms are not affected
	other.send("fine")
	other.expect("fine")
}

func TestMaxPerIP(t *testing.T) {
	t.Parallel()
	s := startServer(t, "--maxperip", "1", "cat")
	if _, _, err := s.dialFrom(t, "127.0.0.1", "r"); err != nil {
		t.Fatal(err)
	}
	_, resp, err := s.dialFrom(t, "127.0.0.1", "r")
	if err == nil || resp == nil || resp.StatusCode != 429 {
		t.Fatalf("second connection from one IP: %v, want 429", err)
	}
	if _, _, err := s.dialFrom(t, "127.0.0.2", "r"); err != nil {
		t.Fatalf("a connection from another IP was refused: %v", err)
	}
}

// TestPingDropsSilentPeers keeps two clients: one answers pings (it reads),
// the other never reads, so never answers; only that one is dropped.
func TestPingDropsSilentPeers(t *testing.T) {
	t.Parallel()
	s := startServer(t, "--ping", "50ms", "cat")
	alive := s.dial(t, "keep")
	silent := s.dial(t, "keep")
	_ = silent // never read: a half-open peer as far as the server knows
	readCtx := alive.c.CloseRead(context.Background())
	waitFor(t, "the silent client to be dropped", func() bool {
		return strings.Contains(s.logs.String(), "no pong before the next ping")
	})
	if readCtx.Err() != nil {
		t.Fatalf("the client that answers pings was dropped too")
	}
	if strings.Count(s.logs.String(), "no pong before the next ping") != 1 {
		t.Fatalf("more than one client dropped:\n%s", s.logs.String())
	}
}

// TestRateLimitSlowsButKeepsEverything sends a burst above the rate: every
// message still arrives, in order, and the burst takes at least as long as
// the token bucket allows (a lower bound the design guarantees).
func TestRateLimitSlowsButKeepsEverything(t *testing.T) {
	t.Parallel()
	const rate, n = 50, 100
	s := startServer(t, "--ratelimit", fmt.Sprint(rate), "cat")
	c := s.dial(t, "limited")
	start := time.Now()
	go func() {
		for i := range n {
			if err := c.c.Write(context.Background(), websocket.MessageText, []byte(fmt.Sprint(i))); err != nil {
				return
			}
		}
	}()
	for i := range n {
		c.expect(fmt.Sprint(i))
	}
	// A bucket of rate tokens lets rate through at once, then rate per
	// second: n messages take at least (n-rate)/rate seconds.
	if min := time.Duration(n-rate) * time.Second / rate; time.Since(start) < min {
		t.Fatalf("%d messages passed in %v, faster than the limit allows (%v)", n, time.Since(start), min)
	}
}

func TestOriginChecks(t *testing.T) {
	t.Parallel()
	list := startServer(t, "--origin", "https://good.test,https://*.games.test", "cat")
	same := startServer(t, "--sameorigin", "cat")
	tests := []struct {
		s      *testServer
		origin string
		want   int // 0: admitted
	}{
		{list, "", 0},
		{list, "https://good.test", 0},
		{list, "https://a.games.test", 0},
		{list, "https://games.test", 403},
		{list, "https://evil.test", 403},
		{list, "http://good.test", 403},
		{list, "null", 403},
		{same, "http://" + same.addr, 0},
		{same, "http://localhost:1", 403},
		{same, "null", 403},
		{same, "", 0},
	}
	for _, tc := range tests {
		h := http.Header{}
		if tc.origin != "" {
			h.Set("Origin", tc.origin)
		}
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		c, resp, err := websocket.Dial(ctx, tc.s.url("r"), &websocket.DialOptions{HTTPHeader: h})
		cancel()
		switch {
		case tc.want == 0 && err != nil:
			t.Errorf("origin %q refused: %v", tc.origin, err)
		case tc.want != 0 && (err == nil || resp == nil || resp.StatusCode != tc.want):
			t.Errorf("origin %q: %v, want %d", tc.origin, err, tc.want)
		}
		if err == nil {
			c.CloseNow()
		}
	}
}
