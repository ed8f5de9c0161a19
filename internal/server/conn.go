package server

import (
	"context"
	"errors"
	"net"
	"runtime"
	"sync"
	"sync/atomic"

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
	stopAbort := context.AfterFunc(client.Context(), func() {
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

// writer sends a client's queued messages. Its goroutine is started by
// wake when messages arrive and ends when the queue is empty, so an idle
// connection costs no goroutine for writing. At most one runs at a time.
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

	// Only the running goroutine touches these.
	batch  []*room.Message
	frames net.Buffers
}

// start attaches the writer to its connection and client, which it wakes
// for anything queued since the client joined.
func (w *writer) start(conn *wsconn.Conn, client *room.Client) {
	w.mu.Lock()
	w.conn, w.client = conn, client
	w.mu.Unlock()
	w.wake()
}

// wake makes sure a goroutine will write what is queued. It is called by
// the room after every queued message, so its usual path is one atomic
// load.
func (w *writer) wake() {
	if w.running.Load() {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.stopped || w.client == nil || !w.running.CompareAndSwap(false, true) {
		return
	}
	w.wg.Add(1)
	go w.run()
}

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
			// Idle: hold no buffers until there is more to send. They are
			// let go before running is cleared, after which another
			// goroutine may own them.
			w.batch, w.frames = nil, nil
			w.running.Store(false)
			// A message queued, or the room's end of the client, before
			// the store found running set and left it to us; one after it
			// starts a writer itself.
			if !(c.Pending() || isDone(c)) || !w.running.CompareAndSwap(false, true) {
				return
			}
			continue
		}
		err := writeAll(w.conn, w.batch, &w.frames)
		w.batch = keepBatch(w.batch)
		if err != nil {
			// A write cut short because the room dropped the client
			// still closes with the room's code.
			select {
			case <-c.Done():
				closeAsRoomSays(w.conn, c, w.batch, &w.frames)
			default:
				w.conn.Close(room.CloseGoingAway, "write failed")
			}
			return
		}
	}
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
