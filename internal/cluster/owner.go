package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/scalesocket/scalesocket-go/internal/frame"
	"github.com/scalesocket/scalesocket-go/internal/room"
)

// roomEntry is the value of a room's lease: its owner, and what the lobby
// shows of it, refreshed at every renewal.
type roomEntry struct {
	Owner       string          `json:"owner"`
	Connections int             `json:"connections"`
	Metadata    json.RawMessage `json:"metadata,omitempty"`
}

// owner runs a room's process for the whole cluster. It is the room's
// backend here: it passes the process's output and input through, and
// beside it keeps the lease and serves the links of relay nodes.
type owner struct {
	n      *Node
	inner  room.Backend
	room   *room.Room
	name   string
	key    string
	epoch  uint64
	in     *nats.Subscription
	closed chan struct{}
	// lost is set when the lease could not be kept: the process is then
	// stopped and the room's clients get 1012.
	lost atomic.Bool
	// writing is set while input is being written to the process, which
	// may block: relays cannot be heard meanwhile, and are not timed out.
	writing atomic.Bool

	mu    sync.Mutex
	links map[uint32]*link

	stopOnce sync.Once
	waitOnce sync.Once
	exit     room.Exit
	// loops counts the lease and input goroutines.
	loops sync.WaitGroup
}

// own starts the room's process here, under the lease of revision epoch.
func (n *Node) own(req room.StartRequest, key string, epoch uint64, local room.Starter) (room.Backend, error) {
	inner, err := local(req)
	if err != nil {
		n.release(key, epoch)
		return nil, err
	}
	o := &owner{
		n: n, inner: inner, room: req.Self, name: req.Room, key: key, epoch: epoch,
		closed: make(chan struct{}),
		links:  make(map[uint32]*link),
	}
	o.in, err = n.nc.SubscribeSync(n.roomSubject(req.Room, "in"))
	if err != nil {
		inner.Stop()
		inner.Wait()
		n.release(key, epoch)
		return nil, err
	}
	n.mu.Lock()
	n.owned[req.Self] = o
	n.mu.Unlock()
	o.loops.Add(2)
	go o.keepLease()
	go o.serveInput()
	n.log.Info("room owned here", "room", req.Room, "epoch", epoch)
	return o, nil
}

func (o *owner) Next() (frame.Output, error) { return o.inner.Next() }
func (o *owner) Write(p []byte) error        { return o.inner.Write(p) }

// TryNext passes on the process's ready output (see room.ReadyOutput).
func (o *owner) TryNext() (frame.Output, bool, error) {
	if ready, ok := o.inner.(room.ReadyOutput); ok {
		return ready.TryNext()
	}
	return frame.Output{}, false, nil
}

// Stop stops the process; the lease is given up once it has ended.
func (o *owner) Stop() {
	o.stopOnce.Do(func() { close(o.closed) })
	o.inner.Stop()
}

// Wait waits for the process, then gives up the lease, so that the room
// can start again at once, here or on another node.
func (o *owner) Wait() room.Exit {
	o.waitOnce.Do(func() {
		o.exit = o.inner.Wait()
		o.stopOnce.Do(func() { close(o.closed) })
		if err := o.in.Unsubscribe(); err != nil {
			o.n.log.Debug("unsubscribe room input", "err", err)
		}
		o.loops.Wait()
		o.n.mu.Lock()
		delete(o.n.owned, o.room)
		o.n.mu.Unlock()
		if o.lost.Load() {
			o.exit.Code, o.exit.Reason = room.CloseServiceRestart, "room lease lost"
			return
		}
		o.n.release(o.key, o.epoch)
	})
	return o.exit
}

// release deletes the room's lease, unless someone else holds it by now.
func (n *Node) release(key string, rev uint64) {
	ctx, cancel := context.WithTimeout(context.Background(), n.beat)
	defer cancel()
	// The lease's revision changes at each renewal, so the delete is
	// conditional on the owner only, read back first.
	e, err := n.rooms.Get(ctx, key)
	if err != nil {
		return
	}
	var entry roomEntry
	if json.Unmarshal(e.Value(), &entry) != nil || entry.Owner != n.opts.Name || e.Revision() < rev {
		return
	}
	if err := n.rooms.Delete(ctx, key, jetstream.LastRevision(e.Revision())); err != nil {
		n.log.Debug("release room lease", "key", key, "err", err)
	}
}

// keepLease renews the lease every third of its TTL. The lease is known to last TTL
// from the moment a renewal was sent; the process is stopped before that
// runs out without a renewal, so that once another node can claim the
// room, this one is no longer heard.
func (o *owner) keepLease() {
	defer o.loops.Done()
	ttl := o.n.opts.TTL
	// margin covers the time between deciding to stop and the process
	// being silenced.
	margin := ttl / 5
	rev := o.epoch
	validUntil := time.Now().Add(ttl - margin)
	expiry := time.NewTimer(time.Until(validUntil))
	defer expiry.Stop()
	tick := time.NewTicker(o.n.renewEvery)
	defer tick.Stop()
	for {
		select {
		case <-o.closed:
			return
		case <-expiry.C:
			o.loseLease("lease not renewed in time")
			return
		case <-tick.C:
			sent := time.Now()
			newRev, err := o.renew(rev)
			o.n.opts.Metrics.LeaseRenewal(err == nil)
			if err != nil {
				if errors.Is(err, jetstream.ErrKeyExists) || errors.Is(err, jetstream.ErrKeyRevisionMismatch) {
					o.loseLease("lease taken over")
					return
				}
				o.n.log.Warn("room lease not renewed", "room", o.name, "err", err)
				continue
			}
			rev = newRev
			validUntil = sent.Add(ttl - margin)
			expiry.Reset(time.Until(validUntil))
		}
	}
}

// renew writes the lease again, with the room's current lobby figures.
func (o *owner) renew(rev uint64) (uint64, error) {
	entry := roomEntry{Owner: o.n.opts.Name}
	if info, ok := o.room.Info(); ok {
		entry.Connections = info.Connections
		entry.Metadata = info.Metadata
	}
	value, err := json.Marshal(entry)
	if err != nil {
		return 0, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), o.n.renewEvery)
	defer cancel()
	return o.n.rooms.Update(ctx, o.key, value, rev)
}

func (o *owner) loseLease(why string) {
	o.lost.Store(true)
	o.n.opts.Metrics.LeaseLost()
	o.n.log.Error("room lease lost, stopping its process", "room", o.name, "why", why)
	o.inner.Stop()
}

// serveInput handles what relays send, in order: joins, leaves, and
// input for the process, written in turn with local clients' messages.
func (o *owner) serveInput() {
	defer o.loops.Done()
	for {
		msg, err := o.in.NextMsg(o.n.beat)
		if errors.Is(err, nats.ErrTimeout) {
			continue
		}
		if err != nil {
			// Unsubscribed: the room has ended.
			return
		}
		o.handle(msg)
	}
}

func (o *owner) handle(msg *nats.Msg) {
	h, body, err := parseIn(msg.Data)
	if err != nil {
		o.n.log.Warn("bad message from a relay", "room", o.name, "err", err)
		return
	}
	o.mu.Lock()
	l := o.links[h.link]
	o.mu.Unlock()
	if l == nil {
		// A link that has ended; a join must still be answered.
		o.respond(msg, room.ErrRoomEnded.Error())
		return
	}
	l.seen.Store(time.Now().UnixNano())
	if h.seq != l.inSeq+1 {
		o.n.opts.Metrics.Gap()
		o.n.log.Error("messages from a relay were lost, closing its link", "room", o.name, "relay", l.node, "want", l.inSeq+1, "got", h.seq)
		l.client.Close(room.CloseInternalError, "messages lost between nodes")
		o.respond(msg, room.ErrRoomEnded.Error())
		return
	}
	l.inSeq = h.seq
	switch h.op {
	case opJoin:
		errText := ""
		if err := o.room.AddRemote(clientID(body), l.client); err != nil {
			errText = err.Error()
		}
		o.respond(msg, errText)
	case opLeave:
		o.room.RemoveRemote(clientID(body))
	case opInputPart:
		l.partial = append(l.partial, body...)
		if len(l.partial) > o.n.maxPart() {
			o.n.log.Error("relayed input too large, closing the link", "room", o.name, "relay", l.node, "bytes", len(l.partial))
			l.client.Close(room.CloseInternalError, "message too large between nodes")
			l.partial = nil
		}
	case opInput:
		if l.partial != nil {
			body, l.partial = append(l.partial, body...), nil
		}
		o.writing.Store(true)
		err := o.room.WriteRaw(body)
		o.writing.Store(false)
		l.seen.Store(time.Now().UnixNano())
		if err != nil {
			o.n.log.Debug("relayed input not written", "room", o.name, "err", err)
		}
		o.respond(msg, "")
	case opDetach:
		l.client.Close(room.CloseNormal, "relay left")
	case opPing:
	}
}

// respond answers a message sent as a request; others need no answer.
func (o *owner) respond(msg *nats.Msg, errText string) {
	if msg.Reply == "" {
		return
	}
	if err := msg.Respond([]byte(errText)); err != nil {
		o.n.log.Debug("reply to relay", "err", err)
	}
}

func (o *owner) addLink(l *link) {
	o.mu.Lock()
	o.links[l.client.ID] = l
	o.mu.Unlock()
}

func (o *owner) removeLink(l *link) {
	o.mu.Lock()
	delete(o.links, l.client.ID)
	o.mu.Unlock()
}
