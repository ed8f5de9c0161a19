package server_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// heapWatch samples the heap of this process (server and test clients)
// every few milliseconds until stopped, and remembers the peak.
type heapWatch struct {
	peak atomic.Uint64
	stop chan struct{}
	done chan struct{}
}

func watchHeap() *heapWatch {
	h := &heapWatch{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(h.done)
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for {
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			if ms.HeapInuse > h.peak.Load() {
				h.peak.Store(ms.HeapInuse)
			}
			select {
			case <-h.stop:
				return
			case <-tick.C:
			}
		}
	}()
	return h
}

func (h *heapWatch) end() uint64 {
	close(h.stop)
	<-h.done
	return h.peak.Load()
}

// TestSlowConsumerIsClosedOthersGetEverything has a fast process and 50
// clients, one of which stops reading. That one is closed as a slow
// consumer; every other client gets every message exactly once, in order.
//
// It does not run in parallel with the other tests: the 49 readers must
// each drain a full queue within the send timeout, which takes CPU time.
func TestSlowConsumerIsClosedOthersGetEverything(t *testing.T) {
	// 2000 lines of 2 KB: more than the kernel buffers of the slow
	// client's connection hold (the server's send buffer grows up to
	// 4 MB), so it falls behind for real, while the others drain a full
	// queue well within the send timeout, even on a loaded machine.
	const clients, last = 50, 2000
	s := startServer(t, "--sendqueue", "128", "--sendtimeout", "10s", "sh", "--", "-c",
		`read go; seq -f "%.0f $(printf '%2000s')" 1 `+strconv.Itoa(last)+`; exec cat >/dev/null`)
	watch := watchHeap()
	slow := s.dialSmallBuffer(t, "fast")
	conns := make([]*testClient, clients-1)
	for i := range conns {
		conns[i] = s.dial(t, "fast")
	}
	// The last client joined after all others: once the trigger goes, all
	// of them are in the room.
	conns[len(conns)-1].send("go")

	var wg sync.WaitGroup
	errs := make(chan error, clients)
	for _, c := range conns {
		wg.Go(func() {
			// Bounded, but generous: 200 MB go through 49 readers under
			// the race detector on two shared cores.
			ctx, cancel := context.WithTimeout(context.Background(), 10*timeout)
			defer cancel()
			for want := 1; want <= last; want++ {
				_, data, err := c.c.Read(ctx)
				if err != nil {
					errs <- fmt.Errorf("after %d: %w", want-1, err)
					return
				}
				if got := seqOf(data); got != want {
					errs <- fmt.Errorf("got %d, want %d", got, want)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	waitFor(t, "the slow consumer to be closed", func() bool {
		return strings.Contains(s.logs.String(), "closing slow consumer")
	})
	// What the slow client did get is a gap-free prefix, then the end of
	// the connection: never a message after a missed one.
	next := 1
	for {
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		_, data, err := slow.Read(ctx)
		cancel()
		if err != nil {
			if code := websocket.CloseStatus(err); code != -1 && code != websocket.StatusPolicyViolation {
				t.Fatalf("slow consumer closed with %d, want 1008", code)
			}
			break
		}
		if got := seqOf(data); got != next {
			t.Fatalf("slow consumer got %d after %d", got, next-1)
		}
		next++
	}
	if next > last {
		t.Fatalf("the slow consumer got everything; it was not slow")
	}
	// 49 clients × 4 MB went through; queues are bounded, so the heap
	// stays far below what buffering the stream per client would take.
	if peak := watch.end(); peak > 256<<20 {
		t.Errorf("heap peaked at %d MiB", peak>>20)
	}
}

// seqOf returns the number a line of the test stream starts with.
func seqOf(line []byte) int {
	f := strings.Fields(string(line))
	if len(f) == 0 {
		return -1
	}
	n, err := strconv.Atoi(f[0])
	if err != nil {
		return -1
	}
	return n
}

// dialSmallBuffer connects a client whose socket receive buffer is 4 KB,
// so that not reading soon stalls the server's writes to it.
func (s *testServer) dialSmallBuffer(t *testing.T, room string) *websocket.Conn {
	t.Helper()
	dialer := &net.Dialer{Control: func(_, _ string, rc syscall.RawConn) error {
		var serr error
		err := rc.Control(func(fd uintptr) {
			serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096)
		})
		return errors.Join(err, serr)
	}}
	client := &http.Client{Transport: &http.Transport{DialContext: dialer.DialContext}}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	c, _, err := websocket.Dial(ctx, s.url(room), &websocket.DialOptions{HTTPClient: client})
	if err != nil {
		t.Fatal(err)
	}
	c.SetReadLimit(-1)
	t.Cleanup(func() { c.CloseNow() })
	return c
}

// TestStdinBackpressure sends 200 MiB to a process that does not read its
// stdin yet: the server does not buffer it (memory stays bounded) and,
// once the process reads, everything arrives.
func TestStdinBackpressure(t *testing.T) {
	t.Parallel()
	const msgs, size = 200, 1 << 20 // each message plus its newline is 1 MiB
	script := fmt.Sprintf(`trap 'head -c %d | wc -c; exec cat >/dev/null' USR1; echo "pid $$"; while :; do sleep 0.05; done`, msgs*size)
	s := startServer(t, "sh", "--", "-c", script)
	c := s.dial(t, "stuffed")
	_, line := c.read()
	pid, err := strconv.Atoi(strings.TrimPrefix(line, "pid "))
	if err != nil {
		t.Fatalf("bad line %q", line)
	}
	// The raw connection sends pre-built frames (masked with the zero key),
	// so the client costs nothing and what is measured is the server.
	conn, _ := s.rawUpgrade(t, "/stuffed")
	watch := watchHeap()
	var sent atomic.Int64
	writerDone := make(chan error, 1)
	go func() {
		frame := clientFrame(true, 1, []byte(strings.Repeat("x", size-1)))
		for range msgs {
			if _, err := conn.Write(frame); err != nil {
				writerDone <- err
				return
			}
			sent.Add(1)
		}
		writerDone <- nil
	}()
	// The process reads nothing yet: the writer must come to a stop after
	// the pipe and the socket buffers are full, a few MiB, instead of
	// the server taking all 200 MiB in.
	waitFor(t, "the writer to block", stalled(&sent))
	if n := sent.Load(); n > 20 {
		t.Fatalf("%d MiB were accepted while the process read nothing", n)
	}
	if err := syscall.Kill(pid, syscall.SIGUSR1); err != nil {
		t.Fatal(err)
	}
	if err := <-writerDone; err != nil {
		t.Fatalf("writing: %v", err)
	}
	_, got := c.read()
	if strings.TrimSpace(got) != strconv.Itoa(msgs*size) {
		t.Fatalf("process read %q bytes, want %d", got, msgs*size)
	}
	if peak := watch.end(); peak > 128<<20 {
		t.Errorf("heap peaked at %d MiB while 200 MiB went through", peak>>20)
	}
}

// stalled reports true once n has not changed for 200 ms; it is a condition
// for waitFor, which bounds the wait. A slow machine can only make n grow
// less, so an assertion on n after it cannot fail for being slow.
func stalled(n *atomic.Int64) func() bool {
	last, since := n.Load(), time.Now()
	return func() bool {
		if cur := n.Load(); cur != last {
			last, since = cur, time.Now()
		}
		return time.Since(since) > 200*time.Millisecond
	}
}
