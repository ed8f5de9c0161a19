package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"maps"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/scalesocket/scalesocket-go/cmd/scalesocket-bench/wire"
	"github.com/scalesocket/scalesocket-go/cmd/scalesocket-floor/floor"
	"github.com/scalesocket/scalesocket-go/internal/testutil"
)

// startFloor serves the floor in-process on a free loopback port until the
// test ends, and returns its URL.
func startFloor(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- floor.New().Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("floor: %v", err)
		}
	})
	return "ws://" + ln.Addr().String()
}

// runJSON runs the command with args and decodes its JSON line.
func runJSON(t *testing.T, args ...string) (*Report, int, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := Run(context.Background(), args, strings.NewReader(""), &stdout, &stderr)
	if code == exitUsage {
		return nil, code, stderr.String()
	}
	var r Report
	if err := json.Unmarshal(stdout.Bytes(), &r); err != nil || strings.Count(stdout.String(), "\n") != 1 {
		t.Fatalf("stdout is not one JSON line (%v): %q\nstderr: %s", err, stdout.String(), stderr.String())
	}
	return &r, code, stderr.String()
}

func TestFanoutAgainstFloorHasNoGaps(t *testing.T) {
	t.Parallel()
	url := startFloor(t)
	for _, client := range []string{"gws", "coder"} {
		r, code, stderr := runJSON(t, "fanout", "-url", url, "-c", "20", "-m", "500", "-timeout", "30s", "-progress", "0", "-client", client)
		d := r.Delivery
		if code != exitOK || !r.OK || d == nil || d.Frames != 20*500 || d.Missing+d.Gaps+d.Dups+d.Reordered != 0 || r.FramesPerS <= 0 || r.LatencyUS == nil {
			t.Errorf("%s client: exit %d, report %+v, delivery %+v\n%s", client, code, r, d, stderr)
		}
	}
}

func TestEchoStreamChurnStormAgainstFloor(t *testing.T) {
	t.Parallel()
	url := startFloor(t)
	tests := []struct {
		args []string
		ok   func(r *Report) bool
	}{
		{[]string{"echo", "-n", "50", "-warmup", "5"}, func(r *Report) bool { return r.LatencyUS != nil && r.LatencyUS.Count == 50 }},
		{[]string{"stream", "-n", "2000", "-inflight", "50"}, func(r *Report) bool { return r.MsgsPerS > 0 && r.Delivery.OK() }},
		{[]string{"churn", "-n", "20", "-c", "2"}, func(r *Report) bool { return r.CyclesPerS > 0 }},
		{[]string{"storm", "-c", "50"}, func(r *Report) bool { return r.HandshakesPerS > 0 }},
		{[]string{"fanout", "-c", "3", "-m", "20", "-rate", "2000", "-trigger", "each"}, func(r *Report) bool {
			// Every client triggers: the shared room gets each line three
			// times, and the check must see duplicates.
			return r.Delivery != nil && r.Delivery.Dups > 0
		}},
	}
	for _, tt := range tests {
		args := append(tt.args, "-url", url, "-timeout", "30s", "-progress", "0")
		r, code, stderr := runJSON(t, args...)
		wantOK := tt.args[0] != "fanout"
		if r.OK != wantOK || (code == exitOK) != wantOK || !tt.ok(r) {
			t.Errorf("%v: exit %d, report %+v\n%s", tt.args, code, r, stderr)
		}
	}
}

func TestRunRefusesBadUsage(t *testing.T) {
	t.Parallel()
	tests := []struct {
		args []string
		want string
	}{
		{nil, "Usage:"},
		{[]string{"nosuch"}, "unknown scenario"},
		{[]string{"echo", "-url", "ws://192.0.2.1:9000"}, "not a loopback address"},
		{[]string{"echo", "-url", "ws://example.com:9000"}, "not a loopback address"},
		{[]string{"echo", "-url", "wss://127.0.0.1:9000"}, "only ws://"},
		{[]string{"stream", "-inflight", "1001"}, "-inflight"},
		{[]string{"fanout", "-trigger", "all"}, "-trigger"},
		{[]string{"echo", "-client", "other"}, "-client"},
		{[]string{"idle", "-sources", "300"}, "at most 254"},
		{[]string{"echo", "extra"}, "unexpected argument"},
	}
	for _, tt := range tests {
		_, code, stderr := runJSON(t, tt.args...)
		if code != exitUsage || !strings.Contains(stderr, tt.want) {
			t.Errorf("%v: exit %d, stderr %q; want exit 2 and %q", tt.args, code, stderr, tt.want)
		}
	}
}

func TestIdleNeedsThePid(t *testing.T) {
	t.Parallel()
	r, code, _ := runJSON(t, "idle", "-url", startFloor(t), "-c", "2", "-progress", "0")
	if code != exitFailed || r.OK || !strings.Contains(strings.Join(r.Errors, ""), "pid") {
		t.Errorf("idle without a pid: exit %d, %+v", code, r)
	}
}

// signalOnHold sends SIGUSR1 to this process once the idle scenario says
// it holds its connections, as scripts/bench-idle-cluster.sh does.
type signalOnHold struct{ testutil.Buffer }

func (w *signalOnHold) Write(p []byte) (int, error) {
	if bytes.Contains(p, []byte("holding")) {
		_ = syscall.Kill(os.Getpid(), syscall.SIGUSR1)
	}
	return w.Buffer.Write(p)
}

func TestIdleRoomPrefixNamesTheSameRoomsAndSIGUSR1EndsTheHold(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	rooms := map[string]int{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := websocket.Accept(w, r, nil)
		if err != nil {
			return
		}
		mu.Lock()
		rooms[r.URL.Path]++
		mu.Unlock()
		<-c.CloseRead(context.Background()).Done()
	}))
	defer srv.Close()
	url := "ws://" + strings.TrimPrefix(srv.URL, "http://")
	for range 2 { // two runs, as two load tools on two nodes
		var stderr signalOnHold
		var stdout bytes.Buffer
		start := time.Now()
		code := Run(context.Background(), []string{"idle", "-url", url, "-pid", strconv.Itoa(os.Getpid()),
			"-c", "6", "-rooms", "3", "-roomprefix", "shared", "-settle", "0", "-hold", "1m", "-progress", "0"},
			strings.NewReader(""), &stdout, &stderr)
		if code != exitOK || time.Since(start) > 30*time.Second {
			t.Fatalf("exit %d after %s\n%s%s", code, time.Since(start), stdout.String(), stderr.String())
		}
	}
	mu.Lock()
	defer mu.Unlock()
	want := map[string]int{"/shared-0": 4, "/shared-1": 4, "/shared-2": 4}
	if !maps.Equal(rooms, want) {
		t.Errorf("connections per room %v, want %v", rooms, want)
	}
}

func TestUnreachableServerFailsWithinTheDeadline(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	url := "ws://" + ln.Addr().String()
	ln.Close() // nothing listens there now
	start := time.Now()
	r, code, _ := runJSON(t, "echo", "-url", url, "-timeout", "5s", "-progress", "0")
	if code != exitFailed || r.OK || time.Since(start) > 5*time.Second {
		t.Errorf("exit %d after %s: %+v", code, time.Since(start), r)
	}
}

func TestBackendEchoesAndAnswersTriggers(t *testing.T) {
	t.Parallel()
	in := "hello\n" + wire.Trigger{Lines: 5, Size: 40}.String() + "\nsync 1\nno newline at the end"
	var out bytes.Buffer
	if err := serveBackend(context.Background(), strings.NewReader(in), &out); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	if len(lines) != 8 || lines[0] != "hello" || lines[6] != "sync 1" || lines[7] != "no newline at the end" {
		t.Fatalf("backend wrote %q", lines)
	}
	for i, l := range lines[1:6] {
		seq, ts, ok := wire.ParseLine([]byte(l))
		if !ok || seq != uint64(i) || len(l) != 40 || time.Since(time.Unix(0, ts)) > time.Minute {
			t.Errorf("line %d = %q", i, l)
		}
	}
}

func TestBackendFlushesEachEcho(t *testing.T) {
	t.Parallel()
	// An echo must come out while the input stays open: a backend that
	// waited for more input would stall every round trip.
	inR, inW := io.Pipe()
	outR, outW := io.Pipe()
	done := make(chan error, 1)
	go func() { done <- serveBackend(context.Background(), inR, outW) }()
	buf := make([]byte, 64)
	for _, msg := range []string{"one\n", "two\n"} {
		if _, err := inW.Write([]byte(msg)); err != nil {
			t.Fatal(err)
		}
		n, err := outR.Read(buf)
		if err != nil || string(buf[:n]) != msg {
			t.Fatalf("echo of %q = %q, %v", msg, buf[:n], err)
		}
	}
	inW.Close()
	if err := <-done; err != nil {
		t.Error(err)
	}
}
