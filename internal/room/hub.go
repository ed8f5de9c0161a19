// Package room is the centre of ScaleSocket: rooms, their members, and the
// path of messages between a room's clients and its backend. It knows
// nothing of HTTP or of how a backend runs.
//
// Lock order: Hub.mu before Room.mu. Neither is held while writing to a
// backend or waiting on a client's queue.
package room

import (
	"errors"
	"log/slog"

	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/scalesocket/scalesocket-go/internal/config"
	"github.com/scalesocket/scalesocket-go/internal/frame"
)

// Errors that callers branch on.
var (
	// ErrMaxRooms: the room would be one room too many.
	ErrMaxRooms = errors.New("too many rooms")
	// ErrShuttingDown: the server is shutting down.
	ErrShuttingDown = errors.New("server shutting down")
	// ErrMaxClients: the room has as many clients as it may.
	ErrMaxClients = errors.New("room is full")
	// ErrRoomEnded: the room ended before the client could join it.
	ErrRoomEnded = errors.New("room ended")
)

// Options configure every room of a hub.
type Options struct {
	// Start starts the backend of a new room.
	Start Starter
	// MaxRooms caps the number of rooms and MaxClients the clients of one
	// room; 0 is no cap.
	MaxRooms   int
	MaxClients int
	// Binary: client messages are written without a trailing newline.
	Binary bool
	// ClientFrame and ServerFrame are the framing of each direction.
	ClientFrame config.Framing
	ServerFrame config.Framing
	// JoinMsg and LeaveMsg are written to the backend when a client joins
	// and leaves; nil for none.
	JoinMsg  *frame.Template
	LeaveMsg *frame.Template
	// CacheSize is how many messages each room keeps for clients that
	// join, 0 for none, and CacheBytes how many payload bytes at most. CacheTagged keeps only "_cache": true messages;
	// CachePersist keeps a room's cache after the room ends.
	CacheSize    int
	CacheBytes   int
	CacheTagged  bool
	CachePersist bool
	// Grace is how long a leave message may wait for a process that does
	// not read, when the room is about to end.
	Grace time.Duration
	// Delay is waited after a backend starts, before it is attached.
	Delay time.Duration
	// SendQueue is each client's queue length in messages, and SendTimeout
	// how long the room waits for a full queue before the client is closed
	// as a slow consumer (SPEC §12).
	SendQueue   int
	SendTimeout time.Duration
	// Reserve, when set, is called as a new room is created, before its
	// first client is upgraded; an error refuses that client. What it
	// returns is handed to Start and released when the room ends.
	Reserve func(room string) (Reservation, error)
	// NextID, when set, gives connection IDs instead of the hub's own
	// counter: in a cluster they must be unique across nodes.
	NextID func() (uint32, error)
	// Observer receives the rooms' events; nil means none.
	Observer Observer
	// Log is the server's logger.
	Log *slog.Logger
}

// Hub holds the live rooms by name.
type Hub struct {
	opts   Options
	log    *slog.Logger
	lastID atomic.Uint32

	mu      sync.Mutex
	rooms   map[string]*Room
	closing bool
	// caches holds the caches of ended rooms with --cachepersist, at most
	// maxKeptCaches of them; kept lists their names, oldest first.
	caches map[string]*cache
	kept   []string
	// pumps counts the rooms whose backend runs; Shutdown waits for them.
	pumps sync.WaitGroup
}

// NewHub returns an empty hub.
func NewHub(opts Options) *Hub {
	if opts.Observer == nil {
		opts.Observer = nopObserver{}
	}
	return &Hub{opts: opts, log: opts.Log, rooms: make(map[string]*Room)}
}

// Acquire returns the room called name, creating it if needed, and holds a
// reference to it for one client. Every Acquire must be followed by exactly
// one Release or one Join/Leave pair. Refusals (ErrMaxRooms,
// ErrShuttingDown) happen here, before the client's upgrade.
func (h *Hub) Acquire(name string) (*Room, error) { return h.acquire(name, false) }

// AcquireLink is Acquire for another node's link to the room: the room is
// created if needed, and --maxclients does not count the link, since the
// clients behind it are counted one by one with AddRemote. It is given
// back with Release or LeaveLink.
func (h *Hub) AcquireLink(name string) (*Room, error) { return h.acquire(name, true) }

func (h *Hub) acquire(name string, link bool) (*Room, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closing {
		return nil, ErrShuttingDown
	}
	r := h.rooms[name]
	if r == nil {
		if h.opts.MaxRooms > 0 && len(h.rooms) >= h.opts.MaxRooms {
			return nil, ErrMaxRooms
		}
		r = newRoom(h, name, h.takeCache(name))
		if h.opts.Reserve != nil {
			res, err := h.opts.Reserve(name)
			if err != nil {
				return nil, err
			}
			r.reservation = res
		}
		h.rooms[name] = r
	}
	if link {
		r.linkRefs++
	} else if h.full(r) {
		return nil, ErrMaxClients
	}
	r.refs++
	return r, nil
}

// full reports whether r has as many clients as --maxclients allows,
// counting those of other nodes. h.mu is held.
func (h *Hub) full(r *Room) bool {
	return h.opts.MaxClients > 0 && r.refs-r.linkRefs+r.remoteRefs >= h.opts.MaxClients
}

// Info describes a live room for the lobby API.
type Info struct {
	Name        string
	Connections int
	// Metadata is the room's JSON metadata, or nil.
	Metadata []byte
}

// Rooms lists the rooms whose backend runs, sorted by name.
func (h *Hub) Rooms() []Info {
	h.mu.Lock()
	rooms := make([]*Room, 0, len(h.rooms))
	for _, r := range h.rooms {
		rooms = append(rooms, r)
	}
	h.mu.Unlock()
	infos := make([]Info, 0, len(rooms))
	for _, r := range rooms {
		if info, ok := r.Info(); ok {
			infos = append(infos, info)
		}
	}
	slices.SortFunc(infos, func(a, b Info) int { return strings.Compare(a.Name, b.Name) })
	return infos
}

// Room describes the live room called name; ok is false when there is no
// such room or its backend does not run.
func (h *Hub) Room(name string) (info Info, ok bool) {
	h.mu.Lock()
	r := h.rooms[name]
	h.mu.Unlock()
	if r == nil {
		return Info{}, false
	}
	return r.Info()
}

// Shutdown closes every client with 1001 and ends every backend, and waits
// until all of them have ended. No room can be created afterwards.
func (h *Hub) Shutdown() {
	h.mu.Lock()
	h.closing = true
	rooms := make([]*Room, 0, len(h.rooms))
	for _, r := range h.rooms {
		rooms = append(rooms, r)
	}
	h.mu.Unlock()
	for _, r := range rooms {
		r.end(CloseGoingAway, "server shutting down", false)
	}
	h.pumps.Wait()
}

// release drops one reference to r, a link's when link is set, and
// forgets removed clients of other nodes; the last reference ends the room.
func (h *Hub) release(r *Room, link bool, removed int) {
	h.mu.Lock()
	r.refs--
	if link {
		r.linkRefs--
	}
	r.remoteRefs -= removed
	last := r.refs == 0
	h.mu.Unlock()
	if last {
		r.end(CloseNormal, "room closed", false)
	}
}

// remove takes r out of the map so that the next client of its name starts
// a new room, which inherits kept, r's cache, with --cachepersist.
func (h *Hub) remove(r *Room, kept *cache) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.rooms[r.name] == r {
		delete(h.rooms, r.name)
	}
	if kept != nil && len(kept.msgs) > 0 && h.opts.CachePersist {
		h.keepCache(r.name, kept)
	}
	// Under h.mu, so that a new room of the same name opens after this.
	r.observerClosed()
}

// startPump registers a running backend, unless the hub is shutting down.
func (h *Hub) startPump() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closing {
		return false
	}
	h.pumps.Add(1)
	return true
}

// nextID gives a new connection ID.
func (h *Hub) nextID() (uint32, error) {
	if h.opts.NextID != nil {
		return h.opts.NextID()
	}
	return h.lastID.Add(1), nil
}

// lastRef reports whether r has just one reference left.
func (h *Hub) lastRef(r *Room) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return r.refs == 1
}

// takeCache returns the cache for a new room called name: the one kept
// from its previous life, or a new one. h.mu is held.
func (h *Hub) takeCache(name string) *cache {
	if h.opts.CacheSize == 0 {
		return nil
	}
	if c := h.caches[name]; c != nil {
		delete(h.caches, name)
		h.kept = slices.DeleteFunc(h.kept, func(n string) bool { return n == name })
		return c
	}
	return h.newCache()
}

// newCache returns an empty cache for a room. A tagged cache keeps
// copies, since it keeps few of the messages it sees.
func (h *Hub) newCache() *cache {
	return newCache(h.opts.CacheSize, h.opts.CacheBytes, h.opts.CacheTagged)
}

// maxKeptCaches bounds the caches kept for ended rooms: room names come
// from clients, so without a bound a client could make the server keep a
// cache for every name it can think of. The oldest goes first.
const maxKeptCaches = 1024

// keepCache keeps c for the next room called name. h.mu is held.
func (h *Hub) keepCache(name string, c *cache) {
	if h.caches == nil {
		h.caches = make(map[string]*cache)
	}
	if _, ok := h.caches[name]; ok {
		h.kept = slices.DeleteFunc(h.kept, func(n string) bool { return n == name })
	}
	if len(h.kept) == maxKeptCaches {
		delete(h.caches, h.kept[0])
		h.kept = slices.Delete(h.kept, 0, 1)
	}
	h.caches[name] = c
	h.kept = append(h.kept, name)
}
