package room

import (
	"log/slog"
	"sync"
	"time"
)

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
	// cache keeps the last messages for clients that join (SPEC §8).
	cache *cache
	// toBuf is reused by the pump to parse _to lists without allocating.
	toBuf []uint32
}

func newRoom(h *Hub, name string, c *cache) *Room {
	return &Room{
		hub:      h,
		name:     name,
		log:      h.log.With("room", name),
		inputSem: make(chan struct{}, 1),
		ended:    make(chan struct{}),
		clients:  make(map[uint32]*Client),
		cache:    c,
	}
}

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
// none; clients that arrive meanwhile wait for the start. The join message
// reaches the backend before Join returns, so before any message of the
// client. wake is called, outside any lock, whenever messages are queued
// for the client; it must not block. On error the reference taken by
// Acquire must still be given back with Release.
func (r *Room) Join(req StartRequest, info ClientInfo, wake func()) (*Client, error) {
	c := newClient(r.hub.nextID(), info, r.hub.opts.SendQueue, wake)
	starter := false
	r.startOnce.Do(func() {
		starter = true
		r.startErr = r.start(req, c)
	})
	if r.startErr != nil {
		return nil, r.startErr
	}
	if !starter {
		if err := r.attach(c); err != nil {
			return nil, err
		}
	}
	r.writeTemplate(c, r.hub.opts.JoinMsg)
	return c, nil
}

// attach adds c to the clients, first replaying the cache to it, under one
// lock with the pump's delivery so that c gets no gap and no duplicate.
func (r *Room) attach(c *Client) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed || r.obs == nil {
		return ErrRoomEnded
	}
	if r.cache != nil {
		c.replay(r.cache.all())
	}
	r.clients[c.ID] = c
	c.obs = r.obs
	c.obs.ClientJoined()
	return nil
}

// Leave detaches c, which has stopped reading and writing, writes its
// leave message, and drops its reference.
func (r *Room) Leave(c *Client) {
	r.mu.Lock()
	delete(r.clients, c.ID)
	r.mu.Unlock()
	c.obs.ClientLeft()
	r.leaveMessage(c)
	r.hub.release(r)
}

// start runs the backend for the first client c and attaches c.
func (r *Room) start(req StartRequest, c *Client) error {
	req.Reservation = r.reservation
	req.Ended = r.ended
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
	if !r.closed {
		r.obs = r.hub.opts.Observer.RoomOpened(r.name)
	}
	r.mu.Unlock()
	// Attached before the pump reads anything, so c misses no output.
	err = r.attach(c)
	go r.pump(b)
	if err != nil {
		b.Stop()
	}
	return err
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
		// Output still read while the process ends is not cached: the
		// cache may live on in the next room of this name.
		kept := r.cache
		r.cache = nil
		r.mu.Unlock()
		r.hub.remove(r, kept)
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
