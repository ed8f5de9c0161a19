package server_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// chaosDuration is how long TestChaos runs: 30 s, or less with -short.
func chaosDuration() time.Duration {
	if testing.Short() {
		return 3 * time.Second
	}
	return 30 * time.Second
}

// TestChaos lets clients join, send, leave and vanish at random while room
// processes are killed with SIGKILL at random. Every client must see the
// numbered output of its room without a gap while it stays; at the end no
// room process is left, reaped or not. (goleak in TestMain checks that no
// goroutine is left.) It does not run in parallel, so that every child of
// this process at the end would be a leak of this test.
func TestChaos(t *testing.T) {
	// The process numbers its answers and prints its PID first.
	script := `echo "pid $$"; i=0; while read -r line; do i=$((i+1)); echo "$i $line"; done`
	s := startServer(t, "--grace", "200ms", "--sendtimeout", "500ms", "sh", "--", "-c", script)
	ctx, cancel := context.WithTimeout(context.Background(), chaosDuration())
	defer cancel()

	var mu sync.Mutex
	pids := map[int]bool{}
	addPID := func(pid int) {
		mu.Lock()
		pids[pid] = true
		mu.Unlock()
	}
	var wg sync.WaitGroup
	errs := make(chan error, 100)
	for w := range 8 {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(w), 1))
			for ctx.Err() == nil {
				if err := chaosClient(ctx, s, rng, addPID); err != nil {
					errs <- fmt.Errorf("worker %d: %w", w, err)
					return
				}
			}
		})
	}
	wg.Go(func() { killRandomly(ctx, &mu, pids) })
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(pids) == 0 {
		t.Fatal("no room process ever started")
	}
	for pid := range pids {
		waitFor(t, fmt.Sprintf("process %d to be gone", pid), func() bool { return gone(pid) })
	}
	waitFor(t, "no child process to be left", func() bool { return len(children()) == 0 })
}

// chaosClient is one client's life: join a random room, talk for a while,
// then leave politely or vanish.
func chaosClient(ctx context.Context, s *testServer, rng *rand.Rand, addPID func(int)) error {
	room := fmt.Sprintf("chaos%d", rng.IntN(3))
	c, _, err := websocket.Dial(ctx, s.url(room), nil)
	if err != nil {
		return nil // refused while shutting down, or the context ended
	}
	defer c.CloseNow()
	readCtx, stopReading := context.WithCancel(ctx)
	defer stopReading()
	gap := make(chan error, 1)
	go func() { gap <- readNumbered(readCtx, c, addPID) }()

	for range rng.IntN(20) {
		msg := strconv.Itoa(rng.IntN(1000))
		if err := c.Write(ctx, websocket.MessageText, []byte(msg)); err != nil {
			break // the room ended under us
		}
		time.Sleep(time.Duration(rng.IntN(20)) * time.Millisecond) // pacing, not waiting for a condition
	}
	switch rng.IntN(3) {
	case 0:
		c.Close(websocket.StatusNormalClosure, "")
	case 1:
		c.CloseNow() // vanish without a close frame
	}
	stopReading()
	c.CloseNow()
	return <-gap
}

// readNumbered reads until the connection ends and reports a gap or a
// repeat in the numbered answers.
func readNumbered(ctx context.Context, c *websocket.Conn, addPID func(int)) error {
	last := -1
	for {
		_, data, err := c.Read(ctx)
		if err != nil {
			return nil
		}
		line := string(data)
		if p, ok := strings.CutPrefix(line, "pid "); ok {
			pid, err := strconv.Atoi(p)
			if err != nil {
				return fmt.Errorf("bad pid line %q", line)
			}
			addPID(pid)
			continue
		}
		n, err := strconv.Atoi(strings.Fields(line)[0])
		if err != nil {
			return fmt.Errorf("bad line %q", line)
		}
		if last >= 0 && n != last+1 {
			return fmt.Errorf("got %d after %d", n, last)
		}
		last = n
	}
}

// killRandomly SIGKILLs a random room process every so often, checking
// that it is still our child so that a reused PID is never hit.
func killRandomly(ctx context.Context, mu *sync.Mutex, pids map[int]bool) {
	tick := time.NewTicker(300 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		mine := children()
		mu.Lock()
		for pid := range pids {
			if mine[pid] && rand.IntN(3) == 0 {
				syscall.Kill(pid, syscall.SIGKILL)
				break
			}
		}
		mu.Unlock()
	}
}

// children returns the PIDs whose parent is this process.
func children() map[int]bool {
	out := map[int]bool{}
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return out
	}
	me := os.Getpid()
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		// The fields after the command, which is in parentheses, start with
		// the state and the parent PID.
		fields := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+1:]))
		if len(fields) > 1 && fields[1] == strconv.Itoa(me) {
			out[pid] = true
		}
	}
	return out
}
