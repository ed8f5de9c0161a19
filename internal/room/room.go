package room

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"
)

// maxKeptInputBuffer is the largest input buffer a room keeps between
// messages; a larger one, grown for one big message, is let go.
const maxKeptInputBuffer = 64 << 10

// Room is one shared backend and the clients attached to it.
type Room struct {
	hub  *Hub
	name string
	log  *slog.Logger
	// refs counts clients between Acquire and Release/Leave; guarded by
	// hub.mu. The room ends when it drops to zero.
	refs int
	// reservation is what Options.Reserve gave the room; it is released
	// once the backend has ended, or at the end if it never started.
	reservation Reservation
	releaseOnce sync.Once

	startOnce sync.Once
	startErr  error

	// inputSem serialises writes to the backend so that messages of
	// different clients never mix; inBuf is only used while holding it.
	inputSem chan struct{}
	inBuf    []byte

	endOnce sync.Once
	ended   chan struct{}

	mu      sync.Mutex
	backend Backend
	clients map[uint32]*Client
	closed  bool
	// obs is set once the backend runs; nil before.
	obs RoomObserver
	// metadata is the room's JSON metadata for the lobby, or nil.
	metadata []byte
}

func newRoom(h *Hub, name string) *Room {
	return &Room{
		hub:      h,
		name:     name,
		log:      h.log.With("room", name),
		inputSem: make(chan struct{}, 1),
		ended:    make(chan struct{}),
		clients:  make(map[uint32]*Client),
	}
}

// Name returns the room's name.
func (r *Room) Name() string { return r.name }

// Info describes the room; ok is false unless its backend runs.
func (r *Room) Info() (info Info, ok bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.obs == nil || r.closed {
		return Info{}, false
	}
	return Info{Name: r.name, Connections: len(r.clients), Metadata: r.metadata}, true
}

// Release gives back a reference taken by Acquire for a client that never
// joined (its upgrade failed).
func (r *Room) Release() { r.hub.release(r) }

// Join attaches a new client to the room. The first client starts the
// backend with req and is attached before any output is read, so it misses
// none; clients that arrive meanwhile wait for the start. On error the
// reference taken by Acquire must still be given back with Release.
func (r *Room) Join(req StartRequest) (*Client, error) {
	c := newClient(r.hub.nextID(), r.hub.opts.SendQueue)
	starter := false
	r.startOnce.Do(func() {
		starter = true
		r.startErr = r.start(req, c)
	})
	if r.startErr != nil {
		return nil, r.startErr
	}
	if starter {
		return c, nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return nil, ErrRoomEnded
	}
	r.clients[c.ID] = c
	c.obs = r.obs
	c.obs.ClientJoined()
	return c, nil
}

// Leave detaches c, which has stopped reading and writing, and drops its
// reference.
func (r *Room) Leave(c *Client) {
	r.mu.Lock()
	delete(r.clients, c.ID)
	r.mu.Unlock()
	c.obs.ClientLeft()
	r.hub.release(r)
}

// Input writes one client message to the backend. It blocks while the
// backend does not read, which holds back the client's reader: that is the
// backpressure of SPEC §12.
func (r *Room) Input(c *Client, msg []byte) error {
	select {
	case r.inputSem <- struct{}{}:
	case <-r.ended:
		return ErrRoomEnded
	}
	defer func() { <-r.inputSem }()
	r.inBuf = append(r.inBuf[:0], msg...)
	if !r.hub.opts.Binary {
		r.inBuf = append(r.inBuf, '\n')
	}
	err := r.backend.Write(r.inBuf)
	if err == nil {
		r.hub.opts.Observer.Message(DirectionIn, len(msg))
	}
	if cap(r.inBuf) > maxKeptInputBuffer {
		r.inBuf = nil
	}
	if err != nil {
		return fmt.Errorf("write message of client %d to room %q: %w", c.ID, r.name, err)
	}
	return nil
}

// start runs the backend for the first client c and attaches c.
func (r *Room) start(req StartRequest, c *Client) error {
	req.Reservation = r.reservation
	b, err := r.hub.opts.Start(req)
	if err != nil {
		r.hub.opts.Observer.ProcessEnded(OutcomeFailedToStart)
		r.end(CloseInternalError, err.Error(), false)
		return err
	}
	if !r.hub.startPump() {
		b.Stop()
		b.Wait()
		return ErrShuttingDown
	}
	if d := r.hub.opts.Delay; d > 0 {
		timer := time.NewTimer(d)
		select {
		case <-timer.C:
		case <-r.ended:
			timer.Stop()
		}
	}
	r.mu.Lock()
	r.backend = b
	closed := r.closed
	if !closed {
		r.obs = r.hub.opts.Observer.RoomOpened(r.name)
		r.clients[c.ID] = c
		c.obs = r.obs
		c.obs.ClientJoined()
	}
	r.mu.Unlock()
	go r.pump(b)
	if closed {
		b.Stop()
		return ErrRoomEnded
	}
	return nil
}

// pump moves the backend's output to the clients until it ends, then closes
// them as the exit says (SPEC §3).
func (r *Room) pump(b Backend) {
	defer r.hub.pumps.Done()
	for {
		out, err := b.Next()
		if err != nil {
			if !errors.Is(err, io.EOF) {
				r.log.Error("read process output", "err", err)
			}
			break
		}
		r.hub.opts.Observer.Message(DirectionOut, len(out.Data))
		r.broadcast(&Message{Data: out.Data, Binary: out.Binary})
	}
	exit := b.Wait()
	r.log.Info("process ended", "exit", exit.Reason)
	outcome := OutcomeExited
	if exit.Signaled {
		outcome = OutcomeSignaled
	}
	r.hub.opts.Observer.ProcessEnded(outcome)
	r.release()
	code := CloseNormal
	if !exit.Success {
		code = CloseInternalError
	}
	r.end(code, exit.Reason, true)
}

// broadcast queues m for every client. A client whose queue is full gets up
// to SendTimeout to make room, during which the room reads no more output;
// after that it is closed as a slow consumer, so no client ever misses a
// message and then receives later ones.
func (r *Room) broadcast(m *Message) {
	var full []*Client
	r.mu.Lock()
	for _, c := range r.clients {
		if !c.offer(m) {
			full = append(full, c)
		}
	}
	r.mu.Unlock()
	if len(full) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), r.hub.opts.SendTimeout)
	defer cancel()
	for _, c := range full {
		if !c.offerUntil(m, ctx.Done()) {
			r.dropSlow(c)
		}
	}
}

func (r *Room) dropSlow(c *Client) {
	r.mu.Lock()
	delete(r.clients, c.ID)
	r.mu.Unlock()
	r.hub.opts.Observer.SlowConsumer()
	r.log.Warn("closing slow consumer", "conn", c.ID, "queue", cap(c.queue), "timeout", r.hub.opts.SendTimeout)
	c.finish(ClosePolicy, "slow consumer", false)
}

// end closes the room once: it leaves the hub, its clients are closed with
// code and reason (after what is queued for them when drain is set), and
// its backend is stopped.
func (r *Room) end(code int, reason string, drain bool) {
	r.endOnce.Do(func() {
		r.mu.Lock()
		r.closed = true
		clients := r.clients
		r.clients = map[uint32]*Client{}
		b := r.backend
		r.mu.Unlock()
		r.hub.remove(r)
		close(r.ended)
		for _, c := range clients {
			c.finish(code, reason, drain)
		}
		if b != nil {
			b.Stop()
		} else {
			r.release()
		}
	})
}

// release gives back the room's reservation once.
func (r *Room) release() {
	r.releaseOnce.Do(func() {
		if r.reservation != nil {
			r.reservation.Release()
		}
	})
}

// observerClosed tells the observer the room is over; hub.mu is held.
func (r *Room) observerClosed() {
	r.mu.Lock()
	obs := r.obs
	r.obs = nil
	r.mu.Unlock()
	if obs != nil {
		obs.Closed()
	}
}
