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
	// refs counts clients and links between Acquire and Release/Leave;
	// linkRefs counts the links among them, and remoteRefs the clients of
	// other nodes, behind links. All three are guarded by hub.mu. The room
	// ends when refs drops to zero.
	refs       int
	linkRefs   int
	remoteRefs int
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
	// relay is the backend when it relays another node's process.
	relay   Relay
	clients map[uint32]*Client
	// links counts the links among clients; remote maps each client of
	// another node to the link that reaches it.
	links  int
	remote map[uint32]*Client
	closed bool
	// obs is set once the backend runs; nil before.
	obs RoomObserver
	// metadata is the room's JSON metadata for the lobby, or nil.
	metadata []byte
	// cache keeps the last messages for clients that join (SPEC §8).
	cache *cache
	// toBuf is reused by the pump to parse _to lists without allocating,
	// and linksBuf to send an addressed message once per link.
	toBuf    []uint32
	linksBuf []*Client
	// msgBlock is where the pump takes its next Messages from, and
	// msgBlockSize the length it was made with.
	msgBlock     []Message
	msgBlockSize int
	// gathered are the broadcast messages the pump has routed and not yet
	// queued for the clients, and gatheredCache says which of them the
	// cache keeps (see ReadyOutput).
	gathered      []*Message
	gatheredCache []bool
}

func newRoom(h *Hub, name string, c *cache) *Room {
	return &Room{
		hub:      h,
		name:     name,
		log:      h.log.With("room", name),
		inputSem: make(chan struct{}, 1),
		ended:    make(chan struct{}),
		clients:  make(map[uint32]*Client),
		remote:   make(map[uint32]*Client),
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
	n := len(r.clients) - r.links + len(r.remote)
	return Info{Name: r.name, Connections: n, Metadata: r.metadata}, true
}

// Release gives back a reference taken by Acquire for a client that never
// joined (its upgrade failed).
func (r *Room) Release() { r.hub.release(r, false, 0) }

// ReleaseLink gives back a reference taken by AcquireLink for a link that
// never joined.
func (r *Room) ReleaseLink() { r.hub.release(r, true, 0) }

// Join attaches a new client to the room. The first client starts the
// backend with req and is attached before any output is read, so it misses
// none; clients that arrive meanwhile wait for the start. The join message
// reaches the backend before Join returns, so before any message of the
// client. wake is called, outside any lock, whenever messages are queued
// for the client; it must not block. On error the reference taken by
// Acquire must still be given back with Release.
func (r *Room) Join(req StartRequest, info ClientInfo, wake func()) (*Client, error) {
	c, err := r.join(req, info, wake, false)
	if err != nil {
		return nil, err
	}
	if err := r.joinRelay(c); err != nil {
		return nil, err
	}
	r.writeTemplate(c, r.hub.opts.JoinMsg)
	return c, nil
}

// JoinLink attaches another node's link to the room, as Join does a
// client, after AcquireLink: the link gets the cache and then every
// broadcast, and what is addressed to the clients it carries (AddRemote).
// It writes no join message: the other node writes its clients' own.
func (r *Room) JoinLink(req StartRequest, wake func()) (*Client, error) {
	req.Link = true
	return r.join(req, ClientInfo{}, wake, true)
}

// join creates a client or link and attaches it, starting the backend for
// the first one.
func (r *Room) join(req StartRequest, info ClientInfo, wake func(), link bool) (*Client, error) {
	id, err := r.hub.nextID()
	if err != nil {
		return nil, err
	}
	c := newClient(id, info, r.hub.opts.SendQueue, wake)
	c.link = link
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
	return c, nil
}

// joinRelay registers c with the owner node when the room is relayed,
// and detaches it again if the owner refuses it.
func (r *Room) joinRelay(c *Client) error {
	r.mu.Lock()
	relay := r.relay
	r.mu.Unlock()
	if relay == nil {
		return nil
	}
	err := relay.Joined(c.ID)
	if err != nil {
		r.mu.Lock()
		delete(r.clients, c.ID)
		r.mu.Unlock()
		c.obs.ClientLeft()
	}
	return err
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
	if c.link {
		r.links++
		c.obs = nopObserver{}
		return nil
	}
	c.obs = r.obs
	c.obs.ClientJoined()
	return nil
}

// Leave detaches c, which has stopped reading and writing, writes its
// leave message, and drops its reference.
func (r *Room) Leave(c *Client) {
	r.mu.Lock()
	delete(r.clients, c.ID)
	relay := r.relay
	r.mu.Unlock()
	c.obs.ClientLeft()
	r.leaveMessage(c)
	if relay != nil {
		relay.Left(c.ID)
	}
	r.hub.release(r, false, 0)
}

// LeaveLink detaches a link, and with it the clients it carried, and
// drops its reference.
func (r *Room) LeaveLink(c *Client) {
	r.mu.Lock()
	if _, ok := r.clients[c.ID]; ok {
		delete(r.clients, c.ID)
		r.links--
	}
	removed := 0
	for id, l := range r.remote {
		if l == c {
			delete(r.remote, id)
			removed++
		}
	}
	r.mu.Unlock()
	r.hub.release(r, true, removed)
}

// AddRemote records that client id of another node is in the room,
// reached through link. It fails with ErrMaxClients when the room is full
// cluster-wide, and with ErrRoomEnded when the room or link is over.
func (r *Room) AddRemote(id uint32, link *Client) error {
	h := r.hub
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.full(r) {
		return ErrMaxClients
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed || r.clients[link.ID] != link {
		return ErrRoomEnded
	}
	if _, ok := r.remote[id]; !ok {
		r.remote[id] = link
		r.remoteRefs++
	}
	return nil
}

// RemoveRemote records that client id of another node has left.
func (r *Room) RemoveRemote(id uint32) {
	h := r.hub
	h.mu.Lock()
	defer h.mu.Unlock()
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.remote[id]; ok {
		delete(r.remote, id)
		r.remoteRefs--
	}
}

// WriteRaw writes input that another node has already framed (a client
// message or a join or leave line) to the backend, in turn with local
// clients' messages. It blocks while the process does not read.
func (r *Room) WriteRaw(p []byte) error {
	if !r.lockInput() {
		return ErrRoomEnded
	}
	defer r.unlockInput()
	return r.backend.Write(p)
}

// start runs the backend for the first client c and attaches c.
func (r *Room) start(req StartRequest, c *Client) error {
	req.Reservation = r.reservation
	req.Ended = r.ended
	req.Self = r
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
	if relay, ok := b.(Relay); ok {
		r.relay = relay
		// The owner's cache reaches this node through the relay.
		r.cache = nil
		if r.hub.opts.CacheSize > 0 {
			r.cache = r.hub.newCache()
		}
	}
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
		if r.relay != nil {
			kept = nil
		}
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
