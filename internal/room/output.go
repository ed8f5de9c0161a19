package room

import (
	"context"
	"errors"
	"io"
	"slices"

	"github.com/scalesocket/scalesocket-go/internal/config"
	"github.com/scalesocket/scalesocket-go/internal/frame"
)

// DropBadTo is the reason for a process message whose "_to" names no
// client ID (a string, a float, zero, ...): it is delivered to nobody.
const DropBadTo = "bad_to"

// pump moves the backend's output to the clients until it ends, then closes
// them as the exit says (SPEC §3). An output stream the backend's framing
// cannot parse is a protocol error: the process is stopped and the room
// closed with 1011 and the error.
func (r *Room) pump(b Backend) {
	defer r.hub.pumps.Done()
	ready, _ := b.(ReadyOutput)
	var protocolErr error
	for {
		var (
			out frame.Output
			ok  bool
			err error
		)
		if ready != nil && len(r.gathered) < maxGathered {
			out, ok, err = ready.TryNext()
		}
		if !ok && err == nil {
			// Nothing more is ready: what was gathered goes out before
			// the pump waits for the process.
			r.deliverGathered()
			out, err = b.Next()
		}
		if err != nil {
			r.deliverGathered()
			if !errors.Is(err, io.EOF) {
				protocolErr = err
				r.log.Error("bad process output, closing the room", "err", err)
				b.Stop()
			}
			break
		}
		r.route(out)
	}
	exit := b.Wait()
	r.log.Info("process ended", "exit", exit.Reason)
	outcome := OutcomeExited
	if exit.Signaled {
		outcome = OutcomeSignaled
	}
	r.hub.opts.Observer.ProcessEnded(outcome)
	r.release()
	code, reason := CloseNormal, exit.Reason
	switch {
	case protocolErr != nil:
		code, reason = CloseInternalError, protocolErr.Error()
	case exit.Code != 0:
		code = exit.Code
	case !exit.Success:
		code = CloseInternalError
	}
	r.end(code, reason, true)
}

// route delivers one output item as the server direction's framing says
// (SPEC §4): to every client, to the clients it addresses, or, for
// "_meta", to nobody but the room's metadata. Delivered messages are
// counted once, however many clients receive them.
func (r *Room) route(out frame.Output) {
	m := r.newMessage(out)
	switch r.hub.opts.ServerFrame {
	case config.FrameGWSocket:
		if out.To != 0 {
			r.toBuf = append(r.toBuf[:0], out.To)
			r.toIDs(m, r.toBuf)
			return
		}
		r.broadcast(m, !r.hub.opts.CacheTagged)
	case config.FrameJSON:
		route := frame.ParseServerLine(r.toBuf, out.Data)
		r.toBuf = route.To[:0]
		if route.BadTo {
			r.hub.opts.Observer.MessageDropped(DropBadTo)
			r.log.Debug("process message with a bad _to", "line", string(out.Data))
		}
		switch {
		case route.Meta != nil:
			r.mu.Lock()
			r.metadata = route.Meta
			r.mu.Unlock()
			return
		case route.Broadcast:
			r.broadcast(m, !r.hub.opts.CacheTagged || route.Cache)
		default:
			r.toIDs(m, route.To)
		}
	default:
		// Without framing the line is delivered as is, but a tagged cache
		// still honours "_cache": true.
		tagged := r.hub.opts.CacheTagged && r.hub.opts.CacheSize > 0 && frame.ParseServerLine(r.toBuf, out.Data).Cache
		r.broadcast(m, !r.hub.opts.CacheTagged || tagged)
	}
}

// The pump allocates Messages in blocks, one allocation per block rather
// than per message: the first of firstMessageBlock, each next one twice the
// last, up to messageBlock, so that a room that prints little holds
// little. A block stays in memory while any of its messages is queued.
const (
	firstMessageBlock = 8
	messageBlock      = 64
)

// newMessage returns the Message of one output item; only the pump calls
// it.
func (r *Room) newMessage(out frame.Output) *Message {
	if len(r.msgBlock) == 0 {
		r.msgBlockSize = min(max(2*r.msgBlockSize, firstMessageBlock), messageBlock)
		r.msgBlock = make([]Message, r.msgBlockSize)
	}
	m := &r.msgBlock[0]
	r.msgBlock = r.msgBlock[1:]
	*m = Message{Frame: out.Frame, Data: out.Data, Binary: out.Binary, To: out.To}
	return m
}

// maxGathered bounds the messages the pump gathers before it delivers
// them, so that the first of a long run of ready output does not wait for
// the last.
const maxGathered = 64

// broadcast gathers m for every client; deliverGathered queues it.
func (r *Room) broadcast(m *Message, cacheIt bool) {
	r.hub.opts.Observer.Message(DirectionOut, len(m.Data))
	r.gathered = append(r.gathered, m)
	r.gatheredCache = append(r.gatheredCache, cacheIt)
}

// deliverGathered queues the gathered messages for every client, and keeps
// those marked in the cache, under the same lock as a join's replay, so
// that a client gets each message exactly once: from the cache or live.
func (r *Room) deliverGathered() {
	ms := r.gathered
	if len(ms) == 0 {
		return
	}
	var full []fullClient
	r.mu.Lock()
	if r.cache != nil {
		for i, m := range ms {
			if r.gatheredCache[i] {
				r.cache.add(m)
			}
		}
	}
	for _, c := range r.clients {
		if n := c.offerAll(ms); n < len(ms) {
			full = append(full, fullClient{c, n})
		}
	}
	r.mu.Unlock()
	r.waitForFull(ms, full)
	clear(ms)
	r.gathered, r.gatheredCache = ms[:0], r.gatheredCache[:0]
}

// fullClient is a client whose queue took only the first taken of the
// messages offered to it.
type fullClient struct {
	c     *Client
	taken int
}

// toIDs queues m for the listed clients that are in the room; a _to of a
// client elsewhere reaches nobody. A client of another node is reached
// through that node's link, which gets m once however many of its clients
// are listed. Addressed messages are never cached.
func (r *Room) toIDs(m *Message, ids []uint32) {
	// Gathered messages came first.
	r.deliverGathered()
	r.hub.opts.Observer.Message(DirectionOut, len(m.Data))
	var full []fullClient
	r.mu.Lock()
	links := r.linksBuf[:0]
	for _, id := range ids {
		c := r.clients[id]
		if c == nil {
			c = r.remote[id]
			if c == nil || slices.Contains(links, c) {
				continue
			}
			links = append(links, c)
		} else if c.link {
			continue
		}
		if !c.offer(m) {
			full = append(full, fullClient{c, 0})
		}
	}
	clear(links)
	r.linksBuf = links[:0]
	r.mu.Unlock()
	r.waitForFull([]*Message{m}, full)
}

// waitForFull gives the clients whose queue was full the rest of ms, one
// message after the other as if each came alone: for each message, the
// clients still waiting for it get up to SendTimeout together to make
// room, during which the room reads no more output; a client still full
// after that is closed as a slow consumer, so no client ever misses a
// message and then receives later ones (SPEC §12).
func (r *Room) waitForFull(ms []*Message, full []fullClient) {
	for i := 0; len(full) > 0 && i < len(ms); i++ {
		var expired <-chan struct{}
		cancel := func() {}
		waiting := full[:0]
		for _, f := range full {
			if f.taken > i { // it has this one already
				waiting = append(waiting, f)
				continue
			}
			if expired == nil {
				var ctx context.Context
				ctx, cancel = context.WithTimeout(context.Background(), r.hub.opts.SendTimeout)
				expired = ctx.Done()
			}
			if f.c.offerUntil(ms[i], expired) {
				waiting = append(waiting, f)
			} else {
				r.dropSlow(f.c)
			}
		}
		cancel()
		full = waiting
	}
}

func (r *Room) dropSlow(c *Client) {
	r.mu.Lock()
	delete(r.clients, c.ID)
	r.mu.Unlock()
	r.hub.opts.Observer.SlowConsumer()
	r.log.Warn("closing slow consumer", "conn", c.ID, "queue", r.hub.opts.SendQueue, "timeout", r.hub.opts.SendTimeout)
	c.finish(ClosePolicy, "slow consumer", false)
}
