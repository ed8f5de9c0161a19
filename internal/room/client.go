package room

import (
	"sync"
)

// Close codes a room gives its clients (RFC 6455 §7.4.1).
const (
	CloseNormal        = 1000
	CloseGoingAway     = 1001
	ClosePolicy        = 1008
	CloseInternalError = 1011
	// CloseServiceRestart tells clients of a cluster room that its owner
	// node is gone; reconnecting starts the room again on a live node.
	CloseServiceRestart = 1012
)

// Message is one frame for clients. A broadcast message is created once and
// the same *Message is queued for every recipient, so a queue holds
// references, not copies.
type Message struct {
	// Frame is the message encoded as a WebSocket frame; writers send these
	// bytes as they are.
	Frame []byte
	// Data is the payload (a sub-slice of Frame) and Binary its type.
	Data   []byte
	Binary bool
	// To is the client a gwsocket header addressed, 0 for every client;
	// a cluster link passes it on to the node that holds that client.
	To uint32
}

// ClientInfo is what a room knows of a client's request, for the join and
// leave templates (SPEC §5).
type ClientInfo struct {
	RemoteAddr  string
	QueryString string
}

// Client is one WebSocket connection as its room sees it: an ID and a
// bounded queue of messages to send. The room calls the connection's wake
// function when messages are queued; the connection takes them with Take,
// and once Done is closed it closes as CloseStatus says.
type Client struct {
	// ID is unique for the life of the server (SPEC §3).
	ID   uint32
	info ClientInfo
	// obs is the observer of the room the client joined.
	obs RoomObserver
	// link is set for another node's relay of the room: it receives what
	// its node's clients must get and is not itself a client.
	link bool

	// mu guards the queue: the messages not yet taken, at most limit
	// (SPEC §12). Its storage is swapped with the writer's at each Take.
	mu    sync.Mutex
	queue []*Message
	limit int
	// wake is called, outside any lock, after messages are queued; space
	// has a token when the writer has taken some. space is made only when
	// the room first waits for the client, since most never make it wait.
	wake  func()
	space chan struct{}

	// done is closed when the room is done with the client; code, reason
	// and drain are set before. A channel and one callback rather than a
	// context: an idle connection pays for each byte it holds.
	done   chan struct{}
	once   sync.Once
	code   int
	reason string
	drain  bool
	// onDone is run, in a goroutine of its own, once done is closed;
	// guarded by mu.
	onDone func()
}

func newClient(id uint32, info ClientInfo, limit int, wake func()) *Client {
	return &Client{
		ID:    id,
		info:  info,
		limit: limit,
		wake:  wake,
		done:  make(chan struct{}),
	}
}

// Pending reports whether messages are waiting to be taken.
func (c *Client) Pending() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.queue) > 0
}

// Take returns every waiting message, oldest first, for the writer to send
// in one go. The writer hands back the slice it took last time, emptied
// (or nil), and it becomes the queue's storage: a busy client swaps two
// slices and allocates nothing, an idle one holds what the writer keeps.
func (c *Client) Take(spare []*Message) []*Message {
	c.mu.Lock()
	taken := c.queue
	c.queue = spare[:0]
	space := c.space
	c.mu.Unlock()
	if space != nil {
		signal(space)
	}
	return taken
}

// Done is closed when the room is done with this client.
func (c *Client) Done() <-chan struct{} { return c.done }

// AfterDone arranges for f to run in a goroutine of its own once the room
// is done with this client (at once if it already is), as
// context.AfterFunc does: it lets a writer blocked on the connection be
// interrupted. Calling stop before then cancels it. Only one f may be
// set.
func (c *Client) AfterDone(f func()) (stop func()) {
	c.mu.Lock()
	defer c.mu.Unlock()
	select {
	case <-c.done:
		go f()
		return func() {}
	default:
	}
	c.onDone = f
	return func() {
		c.mu.Lock()
		c.onDone = nil
		c.mu.Unlock()
	}
}

// CloseStatus says how to close the connection once Done is closed. When
// drain is set, what is still queued must be sent before the close frame.
func (c *Client) CloseStatus() (code int, reason string, drain bool) {
	return c.code, c.reason, c.drain
}

// Close ends the client from outside its room, as the room itself would:
// for a cluster link whose node stopped answering or whose stream has a
// gap.
func (c *Client) Close(code int, reason string) { c.finish(code, reason, false) }

// finish ends the client once; later calls change nothing.
func (c *Client) finish(code int, reason string, drain bool) {
	c.once.Do(func() {
		c.code, c.reason, c.drain = code, reason, drain
		c.mu.Lock()
		close(c.done)
		f := c.onDone
		c.onDone = nil
		c.mu.Unlock()
		if f != nil {
			go f()
		}
	})
}

// offer queues m if the queue has room right now.
func (c *Client) offer(m *Message) bool {
	return c.offerAll([]*Message{m}) == 1
}

// offerAll queues as many of ms, in order, as the queue has room for, and
// tells how many: one lock and one wake-up for all of them.
func (c *Client) offerAll(ms []*Message) int {
	c.mu.Lock()
	n := min(len(ms), max(c.limit-len(c.queue), 0))
	c.queue = append(c.queue, ms[:n]...)
	c.mu.Unlock()
	if n > 0 {
		c.wake()
	}
	return n
}

// offerUntil waits for room in the queue until expired is closed.
func (c *Client) offerUntil(m *Message, expired <-chan struct{}) bool {
	c.mu.Lock()
	if c.space == nil {
		c.space = make(chan struct{}, 1)
	}
	space := c.space
	c.mu.Unlock()
	for !c.offer(m) {
		select {
		case <-space:
		case <-c.done:
			return false
		case <-expired:
			return false
		}
	}
	return true
}

// replay queues the cached messages for a client that joins, beyond the
// limit, which grows by as many: a late joiner gets the whole cache and
// still its full queue for live messages.
func (c *Client) replay(ms []*Message) {
	if len(ms) == 0 {
		return
	}
	c.mu.Lock()
	c.queue = append(c.queue, ms...)
	c.limit += len(ms)
	c.mu.Unlock()
	c.wake()
}

// signal leaves a token in ch unless one is there already.
func signal(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}
