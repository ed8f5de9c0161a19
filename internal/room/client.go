package room

import (
	"context"
	"sync"
)

// Close codes a room gives its clients (RFC 6455 §7.4.1).
const (
	CloseNormal        = 1000
	CloseGoingAway     = 1001
	ClosePolicy        = 1008
	CloseInternalError = 1011
)

// Message is one frame for clients. A broadcast message is created once and
// the same *Message is queued for every recipient, so a queue holds
// references, not copies.
type Message struct {
	Data   []byte
	Binary bool
}

// Client is one WebSocket connection as its room sees it: an ID and a
// bounded queue of messages to send. The connection's writer drains Queue
// until Done is closed, then closes the connection as CloseStatus says.
type Client struct {
	// ID is unique for the life of the server (SPEC §3).
	ID uint32

	queue chan *Message
	// obs is the observer of the room the client joined.
	obs RoomObserver

	// ctx is cancelled when the room is done with the client; code, reason
	// and drain are set before.
	ctx    context.Context
	cancel context.CancelFunc
	once   sync.Once
	code   int
	reason string
	drain  bool
}

func newClient(id uint32, queueLen int) *Client {
	ctx, cancel := context.WithCancel(context.Background())
	return &Client{ID: id, queue: make(chan *Message, queueLen), ctx: ctx, cancel: cancel}
}

// Queue delivers the messages to send, in order.
func (c *Client) Queue() <-chan *Message { return c.queue }

// Done is closed when the room is done with this client.
func (c *Client) Done() <-chan struct{} { return c.ctx.Done() }

// Context is cancelled when the room is done with this client, so that
// context.AfterFunc can interrupt a writer blocked on the connection.
func (c *Client) Context() context.Context { return c.ctx }

// CloseStatus says how to close the connection once Done is closed. When
// drain is set, what is still queued must be sent before the close frame.
func (c *Client) CloseStatus() (code int, reason string, drain bool) {
	return c.code, c.reason, c.drain
}

// finish ends the client once; later calls change nothing.
func (c *Client) finish(code int, reason string, drain bool) {
	c.once.Do(func() {
		c.code, c.reason, c.drain = code, reason, drain
		c.cancel()
	})
}

// offer queues m if there is room right now.
func (c *Client) offer(m *Message) bool {
	select {
	case c.queue <- m:
		return true
	default:
		return false
	}
}

// offerUntil waits for room in the queue until expired is closed.
func (c *Client) offerUntil(m *Message, expired <-chan struct{}) bool {
	select {
	case c.queue <- m:
		return true
	case <-c.ctx.Done():
		return false
	case <-expired:
		return false
	}
}
