package server

import (
	"errors"
	"net"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/scalesocket/scalesocket-go/internal/room"
	"github.com/scalesocket/scalesocket-go/internal/wsconn"
)

// relay runs the connection's reader here until the connection is gone. The
// reader hands each message to the room and waits while the process does
// not read, so a slow process slows its senders down rather than filling
// memory. The writer runs only while there is something to send (see
// writer), so an idle connection has one goroutine.
func (s *Server) relay(attrs []any, conn *wsconn.Conn, rm *room.Room, client *room.Client, w *writer) {
	// A writer blocked on a peer that stopped reading must still notice
	// when the room drops the client, and a client the room is done with
	// needs a writer to close it.
	stopAbort := client.AfterDone(func() {
		if _, _, drain := client.CloseStatus(); drain {
			conn.Abort(drainTimeout)
		} else {
			conn.Abort(abortTimeout)
		}
		w.wake()
	})
	defer stopAbort()

	var limit *bucket
	if s.cfg.RateLimit > 0 {
		limit = newBucket(s.cfg.RateLimit)
	}
	cause := conn.Serve(func(binary bool, data []byte) {
		if limit != nil && !limit.take(client.Done()) {
			return
		}
		if err := rm.Input(client, binary, data); err != nil && !errors.Is(err, room.ErrRoomEnded) {
			s.log.Warn("client message not delivered to process", append(attrs[:len(attrs):len(attrs)], "err", err)...)
		}
	})
	rm.Leave(client)
	w.stop()
	s.log.Info("client disconnected", append(attrs[:len(attrs):len(attrs)], "cause", cause.Error())...)
}

// writer sends a client's queued messages. A lone message is written at
// once by whoever queues it (see wake); anything more by a goroutine that
// wake starts and that ends when the queue is empty, so an idle connection
// costs no goroutine for writing. At most one of them writes at a time.
type writer struct {
	// conn and client are set once, by start, under mu.
	conn   *wsconn.Conn
	client *room.Client

	// running is set while a goroutine owns the writing; mu orders its
	// start against stop, so that none starts after stop has waited.
	running atomic.Bool
	mu      sync.Mutex
	stopped bool
	done    chan struct{} // closed by stop: the reader has seen the end
	wg      sync.WaitGroup

	// Only the goroutine that set running touches these.
	batch  []*room.Message
	frames net.Buffers
	// idleSince is when the writing last went idle (monoNow).
	idleSince int64
}

// start attaches the writer to its connection and client, which it wakes
// for anything queued since the client joined.
func (w *writer) start(conn *wsconn.Conn, client *room.Client) {
	w.mu.Lock()
	w.conn, w.client = conn, client
	w.mu.Unlock()
	w.wake()
}

// wake makes sure what is queued gets written. It is called by the room
// after every queued message, so its usual path is one atomic load. When
// no writer runs, the caller (the room's pump) first tries to send a lone
// message itself (see writeNow), and starts a writer goroutine for
// anything more.
func (w *writer) wake() {
	if w.running.Load() {
		return
	}
	w.mu.Lock()
	if w.stopped || w.client == nil || !w.running.CompareAndSwap(false, true) {
		w.mu.Unlock()
		return
	}
	w.wg.Add(1)
	w.mu.Unlock()
	if w.writeNow() {
		w.wg.Done()
		return
	}
	go w.run()
}

// writeNow sends what is queued from wake's goroutine, when that is one
// message, the socket takes it at once, and writing now is allowed (see
// writeNowAllowed). A reply then goes out without a goroutine hand-off,
// which wakes another thread and costs about a tenth of the echo round
// trip here. It reports whether the writing is over and given up;
// otherwise the writer goroutine sends what it took (batch and frames)
// and carries on.
func (w *writer) writeNow() bool {
	c := w.client
	if isDone(c) || !writeNowAllowed(w.idleSince) {
		return false
	}
	w.batch = c.Take(w.batch)
	for _, m := range w.batch {
		w.frames = append(w.frames, m.Frame)
	}
	if len(w.batch) != 1 {
		return false
	}
	if !w.conn.TryWriteFrames(&w.frames) {
		return false
	}
	clear(w.batch)
	w.batch, w.frames = w.batch[:0], w.frames[:0]
	return w.idle()
}

// writeNowGap spaces the writes wake does itself. They are system calls
// in the room's pump, which cannot go on to the next message or client
// meanwhile; in a broadcast or a burst the writer goroutines, spread over
// the cores and batching, do better. So a connection that went idle less
// than a gap ago gets a writer goroutine (it is in a burst), and the
// pumps of all rooms together write at most one message per gap. A
// request and its reply are further apart than this.
const writeNowGap = 20 * time.Microsecond

// lastWriteNow is when wake last wrote itself (monoNow).
var lastWriteNow atomic.Int64

// writeNowAllowed reports whether wake may write itself to a connection
// whose writing went idle at idleSince, and if so counts the write.
func writeNowAllowed(idleSince int64) bool {
	now := monoNow()
	if now-idleSince < int64(writeNowGap) {
		return false
	}
	last := lastWriteNow.Load()
	return now-last >= int64(writeNowGap) && lastWriteNow.CompareAndSwap(last, now)
}

// monoStart is the origin of monoNow.
var monoStart = time.Now()

// monoNow is the monotonic time in nanoseconds since the process started.
func monoNow() int64 { return int64(time.Since(monoStart)) }

// stop ends the writing once the reader has seen the connection go, and
// waits for a running writer.
func (w *writer) stop() {
	w.mu.Lock()
	w.stopped = true
	close(w.done)
	w.mu.Unlock()
	w.wg.Wait()
}

// run writes until the queue is empty, then gives the writing up; or
// closes the connection as the room says once it is done with the client.
func (w *writer) run() {
	defer w.wg.Done()
	c := w.client
	// What writeNow took and did not send goes first, and whole: a close
	// frame must not follow a frame cut short.
	if len(w.frames) > 0 {
		if err := w.flush(); err != nil {
			w.fail()
			return
		}
	}
	for {
		select {
		case <-c.Done():
			closeAsRoomSays(w.conn, c, w.batch, &w.frames)
			return // running stays set: nothing is written after the close
		case <-w.done:
			return
		default:
		}
		w.batch = c.Take(w.batch)
		// In a burst the room is about to queue more: yielding a little
		// before giving up keeps one writer for the burst instead of a
		// new goroutine per message.
		for tries := 0; len(w.batch) == 0 && tries < lingerYields; tries++ {
			runtime.Gosched()
			w.batch = c.Take(w.batch)
		}
		if len(w.batch) == 0 {
			if w.idle() {
				return
			}
			continue
		}
		err := writeAll(w.conn, w.batch, &w.frames)
		w.batch = keepBatch(w.batch)
		if err != nil {
			w.fail()
			return
		}
	}
}

// flush sends the frames writeNow left, and lets go of its batch.
func (w *writer) flush() error {
	bufs := w.frames
	err := w.conn.WriteFrames(&bufs)
	clear(w.frames)
	clear(w.batch)
	w.batch, w.frames = w.batch[:0], w.frames[:0]
	return err
}

// fail closes the connection after a failed write: with the room's code
// when the write was cut short because the room dropped the client.
func (w *writer) fail() {
	select {
	case <-w.client.Done():
		closeAsRoomSays(w.conn, w.client, w.batch, &w.frames)
	default:
		w.conn.Close(room.CloseGoingAway, "write failed")
	}
}

// idle gives the writing up once the queue is empty and reports whether
// it did; false means more came meanwhile and the caller writes on.
func (w *writer) idle() bool {
	c := w.client
	// Hold no buffers until there is more to send. They are let go
	// before running is cleared, after which another goroutine may own
	// them.
	w.batch, w.frames = nil, nil
	w.idleSince = monoNow()
	w.running.Store(false)
	// A message queued, or the room's end of the client, before the store
	// found running set and left it to us; one after it starts a writer
	// itself.
	return !(c.Pending() || isDone(c)) || !w.running.CompareAndSwap(false, true)
}

// writeAll sends batch in order, in one vectored write, and lets go of
// the messages. frames is scratch space kept between calls.
func writeAll(conn *wsconn.Conn, batch []*room.Message, frames *net.Buffers) error {
	defer clear(batch)
	bufs := (*frames)[:0]
	for _, m := range batch {
		bufs = append(bufs, m.Frame)
	}
	*frames = bufs
	err := conn.WriteFrames(&bufs)
	clear(*frames)
	return err
}

// isDone reports whether the room is done with c.
func isDone(c *room.Client) bool {
	select {
	case <-c.Done():
		return true
	default:
		return false
	}
}

// lingerYields is how many times an idle writer yields to the room before
// its goroutine ends.
const lingerYields = 2

// keptBatch is the capacity of a batch the writer keeps however little
// it carried; a larger one is kept only while it is a quarter full, so a
// busy client reuses its storage and one that went quiet lets it go.
const keptBatch = 64

func keepBatch(batch []*room.Message) []*room.Message {
	if cap(batch) > keptBatch && len(batch) < cap(batch)/4 {
		return nil
	}
	return batch[:0]
}

// closeAsRoomSays closes the connection of a client the room is done with,
// after sending what is still queued when the room asks for it.
func closeAsRoomSays(conn *wsconn.Conn, c *room.Client, batch []*room.Message, frames *net.Buffers) {
	code, reason, drain := c.CloseStatus()
	if drain {
		_ = writeAll(conn, c.Take(batch), frames)
	}
	conn.Close(code, closeReason(reason))
}
