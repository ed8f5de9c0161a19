package room

import (
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/scalesocket/scalesocket-go/internal/config"
	"github.com/scalesocket/scalesocket-go/internal/frame"
)

// fakeBackend is a Backend fed from a channel, for tests of the room alone.
type fakeBackend struct {
	out     chan frame.Output
	stopped chan struct{}
	once    sync.Once
	mu      sync.Mutex
	input   [][]byte
}

func newFakeBackend() *fakeBackend {
	return &fakeBackend{out: make(chan frame.Output, 1024), stopped: make(chan struct{})}
}

func (b *fakeBackend) Next() (frame.Output, error) {
	select {
	case o, ok := <-b.out:
		if !ok {
			return frame.Output{}, io.EOF
		}
		return o, nil
	case <-b.stopped:
		return frame.Output{}, io.EOF
	}
}

func (b *fakeBackend) Write(p []byte) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.input = append(b.input, slices.Clone(p))
	return nil
}

func (b *fakeBackend) Stop()      { b.once.Do(func() { close(b.stopped) }) }
func (b *fakeBackend) Wait() Exit { <-b.stopped; return Exit{Success: true, Reason: "stopped"} }

// readyBackend is a fakeBackend that also tells when output is ready
// (ReadyOutput), so that the pump gathers what is queued in its channel.
// Its first Next waits until hold is closed, so that a test can queue a
// run of output that the pump then finds ready all at once.
type readyBackend struct {
	*fakeBackend
	hold chan struct{}
}

func (b readyBackend) Next() (frame.Output, error) {
	<-b.hold
	return b.fakeBackend.Next()
}

func (b readyBackend) TryNext() (frame.Output, bool, error) {
	select {
	case o, ok := <-b.out:
		if !ok {
			return frame.Output{}, true, io.EOF
		}
		return o, true, nil
	default:
		return frame.Output{}, false, nil
	}
}

func newTestHub(b *fakeBackend, opts Options) *Hub {
	return newHubOf(b, opts)
}

func newHubOf(b Backend, opts Options) *Hub {
	opts.Start = func(StartRequest) (Backend, error) { return b, nil }
	opts.Log = slog.New(slog.DiscardHandler)
	if opts.SendQueue == 0 {
		opts.SendQueue = 4096
	}
	if opts.SendTimeout == 0 {
		opts.SendTimeout = time.Second
	}
	return NewHub(opts)
}

// testClient is a client whose wake function signals ready, as a
// connection's writer is woken.
type testClient struct {
	*Client
	ready chan struct{}
}

func join(t testing.TB, h *Hub, name string) (*Room, testClient) {
	t.Helper()
	r, err := h.Acquire(name)
	if err != nil {
		t.Fatal(err)
	}
	ready := make(chan struct{}, 1)
	c, err := r.Join(StartRequest{Room: name}, ClientInfo{}, func() {
		select {
		case ready <- struct{}{}:
		default:
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	return r, testClient{c, ready}
}

// drain collects what c is sent until want messages arrived.
func drain(c testClient, want int) []string {
	var got []string
	var batch []*Message
	for len(got) < want {
		select {
		case <-c.ready:
		case <-c.Done():
			return got
		}
		batch = c.Take(batch[:0])
		for _, m := range batch {
			got = append(got, string(m.Data))
		}
	}
	return got
}

// count takes what c is sent, as a connection writer does, until want
// messages arrived.
func count(c testClient, want int) {
	var batch []*Message
	for n := 0; n < want; n += len(batch) {
		<-c.ready
		batch = c.Take(batch[:0])
	}
}

func TestCacheReplaysOldestFirst(t *testing.T) {
	t.Parallel()
	b := newFakeBackend()
	h := newTestHub(b, Options{CacheSize: 3, CacheBytes: 1 << 20})
	_, first := join(t, h, "r")
	for i := range 5 {
		b.out <- frame.NewOutput([]byte(strconv.Itoa(i)), false, 0)
	}
	if got := drain(first, 5); len(got) != 5 {
		t.Fatalf("first client got %q", got)
	}
	_, late := join(t, h, "r")
	if got := drain(late, 3); !slices.Equal(got, []string{"2", "3", "4"}) {
		t.Fatalf("late joiner got %q, want the last three, oldest first", got)
	}
	h.Shutdown()
}

func TestCacheKeepsWithinItsBytes(t *testing.T) {
	t.Parallel()
	c := newCache(10, 10, false)
	for _, m := range []string{"aaaa", "bbbb"} {
		c.add(&Message{Data: []byte(m)})
	}
	if got := c.all(); len(got) != 2 {
		t.Fatalf("cache holds %d messages of 8 bytes, want 2", len(got))
	}
	c.add(&Message{Data: []byte("cccc")}) // 12 bytes: the oldest goes
	if got := c.all(); len(got) != 2 || string(got[0].Data) != "bbbb" {
		t.Fatalf("cache holds %d messages, oldest %q; want bbbb, cccc", len(got), got[0].Data)
	}
	c.add(&Message{Data: []byte("0123456789ab")})
	if got := c.all(); len(got) != 1 || string(got[0].Data) != "0123456789ab" || c.bytes != 12 {
		t.Fatalf("cache holds %d messages, %d bytes; want only the newest, larger than the limit", len(got), c.bytes)
	}
	c.add(&Message{Data: []byte("x")})
	if got := c.all(); len(got) != 1 || string(got[0].Data) != "x" {
		t.Fatalf("cache holds %d messages after a small one", len(got))
	}
}

// TestOwningCacheKeepsCopies: a tagged cache keeps its own copy of each
// message, not the block of output it was carved from.
func TestOwningCacheKeepsCopies(t *testing.T) {
	t.Parallel()
	var arena frame.Arena
	out := arena.NewOutput([]byte("tagged"), false, 0)
	c := newCache(10, 100, true)
	c.add(&Message{Frame: out.Frame, Data: out.Data})
	got := c.all()[0]
	if string(got.Data) != "tagged" || string(got.Frame) != string(out.Frame) {
		t.Fatalf("cached %q (frame %q), want a copy of %q", got.Data, got.Frame, out.Frame)
	}
	if &got.Frame[0] == &out.Frame[0] || cap(got.Frame) != len(out.Frame) {
		t.Fatalf("the cache keeps the arena's block, not a copy of the frame")
	}
}

// TestSlowClientNeverSkips fills one client's queue: it is dropped rather
// than sent a later message after missing one, and the other client gets
// everything.
func TestSlowClientNeverSkips(t *testing.T) {
	t.Parallel()
	b := newFakeBackend()
	h := newTestHub(b, Options{SendQueue: 2, SendTimeout: 10 * time.Millisecond})
	_, slow := join(t, h, "r")
	_, fast := join(t, h, "r")
	got := make(chan []string)
	go func() { got <- drain(fast, 10) }()
	for i := range 10 {
		b.out <- frame.NewOutput([]byte(strconv.Itoa(i)), false, 0)
	}
	if fastGot := <-got; len(fastGot) != 10 {
		t.Fatalf("fast client got %q", fastGot)
	}
	<-slow.Done()
	if code, reason, _ := slow.CloseStatus(); code != ClosePolicy || reason != "slow consumer" {
		t.Fatalf("slow client closed with %d %q", code, reason)
	}
	var slowGot []string
	for _, m := range slow.Take(nil) {
		slowGot = append(slowGot, string(m.Data))
	}
	if !slices.Equal(slowGot, []string{"0", "1"}) {
		t.Fatalf("slow client has %q queued, want the first two only", slowGot)
	}
	h.Shutdown()
}

// TestGatheredOutput queues a run of output that the pump finds ready all
// at once, and so delivers to each client in one go: the slow-consumer
// rule, the cache and a "_to" in the middle of the run hold as when each
// item is delivered alone.
func TestGatheredOutput(t *testing.T) {
	t.Parallel()
	start := func(opts Options) (*fakeBackend, chan struct{}, *Hub) {
		b := newFakeBackend()
		hold := make(chan struct{})
		return b, hold, newHubOf(readyBackend{b, hold}, opts)
	}
	queue := func(b *fakeBackend, lines ...string) {
		for _, l := range lines {
			b.out <- frame.NewOutput([]byte(l), false, 0)
		}
	}
	t.Run("a slow client never skips", func(t *testing.T) {
		t.Parallel()
		b, hold, h := start(Options{SendQueue: 2, SendTimeout: 10 * time.Millisecond})
		defer h.Shutdown()
		_, slow := join(t, h, "r")
		_, fast := join(t, h, "r")
		got := make(chan []string)
		go func() { got <- drain(fast, 10) }()
		queue(b, "0", "1", "2", "3", "4", "5", "6", "7", "8", "9")
		close(hold)
		if fastGot := <-got; !slices.Equal(fastGot, []string{"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"}) {
			t.Fatalf("fast client got %q", fastGot)
		}
		<-slow.Done()
		var slowGot []string
		for _, m := range slow.Take(nil) {
			slowGot = append(slowGot, string(m.Data))
		}
		if !slices.Equal(slowGot, []string{"0", "1"}) {
			t.Fatalf("slow client has %q queued, want the first two only", slowGot)
		}
	})
	t.Run("the cache keeps the run", func(t *testing.T) {
		t.Parallel()
		b, hold, h := start(Options{CacheSize: 3, CacheBytes: 1 << 20})
		defer h.Shutdown()
		_, first := join(t, h, "r")
		queue(b, "0", "1", "2", "3", "4")
		close(hold)
		if got := drain(first, 5); len(got) != 5 {
			t.Fatalf("first client got %q", got)
		}
		_, late := join(t, h, "r")
		if got := drain(late, 3); !slices.Equal(got, []string{"2", "3", "4"}) {
			t.Fatalf("late joiner got %q, want the last three, oldest first", got)
		}
	})
	t.Run("a _to keeps its place", func(t *testing.T) {
		t.Parallel()
		b, hold, h := start(Options{ServerFrame: config.FrameJSON})
		defer h.Shutdown()
		_, a := join(t, h, "r")
		_, other := join(t, h, "r")
		to := fmt.Sprintf(`{"n":2,"_to":%d}`, a.ID)
		queue(b, `{"n":1}`, to, `{"n":3}`)
		close(hold)
		if got := drain(a, 3); !slices.Equal(got, []string{`{"n":1}`, to, `{"n":3}`}) {
			t.Fatalf("addressed client got %q", got)
		}
		if got := drain(other, 2); !slices.Equal(got, []string{`{"n":1}`, `{"n":3}`}) {
			t.Fatalf("other client got %q", got)
		}
	})
}

// BenchmarkFanout measures the broadcast path: one output item to 100
// clients that drain their queues. Allocations per op are per message,
// whatever the number of clients. With ready, the backend tells the pump
// when more output is ready (ReadyOutput, as the process's output reader
// does), so that it gathers what is queued and delivers it at once.
func BenchmarkFanout(b *testing.B) {
	for _, clients := range []int{1, 100} {
		for _, ready := range []bool{false, true} {
			b.Run(fmt.Sprintf("clients=%d/ready=%v", clients, ready), func(b *testing.B) {
				back := newFakeBackend()
				var h *Hub
				if ready {
					hold := make(chan struct{})
					close(hold)
					h = newHubOf(readyBackend{back, hold}, Options{})
				} else {
					h = newTestHub(back, Options{})
				}
				var wg sync.WaitGroup
				for range clients {
					_, c := join(b, h, "bench")
					wg.Go(func() { count(c, b.N) })
				}
				payload := []byte("a line of output of about sixty bytes, like a game state...")
				// As the process's output reader does.
				var arena frame.Arena
				b.ReportAllocs()
				b.ResetTimer()
				for range b.N {
					back.out <- arena.NewOutput(payload, false, 0)
				}
				wg.Wait()
				b.StopTimer()
				h.Shutdown()
			})
		}
	}
}

func TestKeptCachesAreBounded(t *testing.T) {
	t.Parallel()
	h := newTestHub(newFakeBackend(), Options{CacheSize: 1, CacheBytes: 1 << 20, CachePersist: true})
	h.mu.Lock()
	defer h.mu.Unlock()
	for i := range maxKeptCaches + 1 {
		c := newCache(1, 1<<20, false)
		c.add(&Message{Data: []byte(strconv.Itoa(i))})
		h.keepCache(strconv.Itoa(i), c)
	}
	if len(h.caches) != maxKeptCaches || len(h.kept) != maxKeptCaches {
		t.Fatalf("%d caches kept (%d names), want %d", len(h.caches), len(h.kept), maxKeptCaches)
	}
	if got := h.takeCache("0"); len(got.msgs) != 0 {
		t.Fatalf("the oldest kept cache was not the one let go")
	}
	if got := h.takeCache("1"); len(got.msgs) != 1 || len(h.kept) != maxKeptCaches-1 {
		t.Fatalf("cache of room 1 not handed on, or its name still listed")
	}
}
