package cluster

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/scalesocket/scalesocket-go/internal/frame"
	"github.com/scalesocket/scalesocket-go/internal/room"
)

// ackEvery is how many inputs a relay sends before it waits for the owner
// to have written them: at most that many are in flight per relay, so a
// process that does not read holds back the relay's clients, as it holds
// back local ones, instead of filling NATS buffers until messages drop.
const ackEvery = 64

// relay is the backend of a room whose process runs on another node: its
// output arrives from the owner and its input goes there.
type relay struct {
	n      *Node
	name   string
	owner  string
	epoch  uint64
	link   uint32
	in     string
	sub    *nats.Subscription
	ctx    context.Context
	cancel context.CancelFunc

	// Used only by Next, from the room's pump.
	lastSeq uint64
	items   []frame.Output
	next    int
	arena   frame.Arena
	// partial gathers the parts of an item sent in several messages.
	partial []byte

	// mu numbers and sends the messages to the owner in order.
	mu      sync.Mutex
	outSeq  uint64
	unacked int
	outBuf  []byte

	// ownerClosed is set when the owner closed the link itself, and
	// needs no detach.
	ownerClosed atomic.Bool
	endOnce     sync.Once
	finished    chan struct{}
	exit        room.Exit
	pinger      sync.WaitGroup
}

// relay attaches to the room on node target, which owns it or will own it
// by the time it answers.
func (n *Node) relay(req room.StartRequest, target string) (room.Backend, error) {
	out := n.roomSubject(req.Room, "out")
	sub, err := n.nc.SubscribeSync(out)
	if err != nil {
		return nil, fmt.Errorf("subscribe to room output: %w", err)
	}
	data, err := json.Marshal(attachRequest{Room: req.Room, Node: n.opts.Name, Out: out, Env: req.Env()})
	if err != nil {
		return nil, errors.Join(err, sub.Unsubscribe())
	}
	ctx, cancel := context.WithTimeout(context.Background(), n.opts.TTL)
	msg, err := n.nc.RequestWithContext(ctx, nodeSubject(target), data)
	cancel()
	var rep attachReply
	if err == nil {
		err = json.Unmarshal(msg.Data, &rep)
	}
	if err == nil && rep.Error != "" {
		err = errors.New(rep.Error)
		if rep.Refusal == refusalMaxRooms {
			err = room.ErrMaxRooms
		}
	}
	if err != nil {
		if uerr := sub.Unsubscribe(); uerr != nil {
			n.log.Debug("unsubscribe room output", "err", uerr)
		}
		return nil, fmt.Errorf("attach to room %q on node %s: %w", req.Room, target, err)
	}
	b := newRelay(n, req.Room, target, rep, sub)
	n.log.Info("room relayed", "room", req.Room, "owner", target, "epoch", rep.Epoch)
	return b, nil
}

// newRelay returns the relay of a room whose owner answered an attach
// with rep, reading the owner's messages from sub.
func newRelay(n *Node, name, owner string, rep attachReply, sub *nats.Subscription) *relay {
	b := &relay{
		n: n, name: name, owner: owner, epoch: rep.Epoch, link: rep.Link, in: rep.In, sub: sub,
		finished: make(chan struct{}),
	}
	b.ctx, b.cancel = context.WithCancel(context.Background())
	b.pinger.Add(1)
	go b.ping()
	return b
}

// Next returns the owner's next output item. The stream ends when the
// owner closes the link, when a message is missing (1011), and when the
// owner has not been heard for a TTL (1012).
func (b *relay) Next() (frame.Output, error) {
	for b.next == len(b.items) {
		clear(b.items)
		b.items, b.next = b.items[:0], 0
		if err := b.receive(); err != nil {
			return frame.Output{}, err
		}
	}
	out := b.items[b.next]
	b.next++
	return out, nil
}

// receive reads one message from the owner into items.
func (b *relay) receive() error {
	msg, err := b.sub.NextMsg(b.n.opts.TTL)
	switch {
	case errors.Is(err, nats.ErrTimeout):
		b.n.log.Error("room owner node not heard, closing the room's clients", "room", b.name, "owner", b.owner, "timeout", b.n.opts.TTL)
		return b.end(room.Exit{Code: room.CloseServiceRestart, Reason: "room owner node lost"})
	case err != nil:
		// Unsubscribed by Stop.
		return b.end(room.Exit{Success: true, Reason: "room closed"})
	}
	h, body, err := parseOut(msg.Data)
	if err != nil {
		b.n.log.Error("bad message from the room owner", "room", b.name, "owner", b.owner, "err", err)
		return b.end(room.Exit{Code: room.CloseInternalError, Reason: "bad message between nodes"})
	}
	if h.epoch != b.epoch {
		b.n.opts.Metrics.Stale()
		b.n.log.Warn("dropped a message from a stale room owner", "room", b.name, "epoch", h.epoch, "want", b.epoch)
		return nil
	}
	if h.seq != b.lastSeq+1 {
		b.n.opts.Metrics.Gap()
		b.n.log.Error("messages from the room owner were lost, closing the room's clients", "room", b.name, "owner", b.owner, "want", b.lastSeq+1, "got", h.seq)
		return b.end(room.Exit{Code: room.CloseInternalError, Reason: "messages lost between nodes"})
	}
	b.lastSeq = h.seq
	switch h.op {
	case opClose:
		b.ownerClosed.Store(true)
		code, reason, err := parseClose(body)
		if err != nil {
			code, reason = room.CloseInternalError, err.Error()
		}
		return b.end(room.Exit{Success: code == room.CloseNormal, Code: code, Reason: reason})
	case opData:
		var tooLarge bool
		err := parseItems(body, func(it item) {
			if it.more || b.partial != nil {
				b.partial = append(b.partial, it.data...)
				if len(b.partial) > b.n.maxPart() {
					tooLarge = true
				}
				if it.more || tooLarge {
					return
				}
				it.data, b.partial = b.partial, nil
			}
			b.items = append(b.items, b.arena.NewOutput(it.data, it.binary, it.to))
		})
		if err == nil && tooLarge {
			err = fmt.Errorf("%w: an item of more than %d bytes", errMalformed, b.n.maxPart())
		}
		if err != nil {
			b.n.log.Error("bad message from the room owner", "room", b.name, "owner", b.owner, "err", err)
			return b.end(room.Exit{Code: room.CloseInternalError, Reason: "bad message between nodes"})
		}
	}
	return nil
}

// end records how the relay ended, once, and stops it; it returns io.EOF
// for Next to pass on.
func (b *relay) end(exit room.Exit) error {
	b.endOnce.Do(func() {
		b.exit = exit
		b.cancel()
		close(b.finished)
		if err := b.sub.Unsubscribe(); err != nil && !errors.Is(err, nats.ErrBadSubscription) {
			b.n.log.Debug("unsubscribe room output", "err", err)
		}
	})
	return io.EOF
}

// Write sends one framed input to the owner, in parts if it is larger
// than a NATS message may be; every ackEvery-th waits until the owner has
// written it.
func (b *relay) Write(p []byte) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	for part := int(b.n.nc.MaxPayload()) - inHeaderLen; len(p) > part; p = p[part:] {
		if err := b.send(opInputPart, p[:part]); err != nil {
			return err
		}
	}
	b.unacked++
	if b.unacked < ackEvery {
		return b.send(opInput, p)
	}
	b.unacked = 0
	_, err := b.request(opInput, p)
	return err
}

// Joined registers a client with the owner, which may refuse it when the
// room is full cluster-wide.
func (b *relay) Joined(id uint32) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	answer, err := b.request(opJoin, binary.BigEndian.AppendUint32(nil, id))
	switch {
	case err != nil:
		return err
	case answer == room.ErrMaxClients.Error():
		return room.ErrMaxClients
	case answer != "":
		return errors.New(answer)
	}
	return nil
}

// Left unregisters a client with the owner.
func (b *relay) Left(id uint32) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if err := b.send(opLeave, binary.BigEndian.AppendUint32(nil, id)); err != nil {
		b.n.log.Debug("leave not relayed", "room", b.name, "conn", id, "err", err)
	}
}

// Stop detaches from the owner, which drops this node's clients from the
// room at once, also when this side ended the link (a gap): the owner
// would otherwise count them until the link times out.
func (b *relay) Stop() {
	b.mu.Lock()
	if !b.ownerClosed.Load() {
		if err := b.send(opDetach, nil); err != nil {
			b.n.log.Debug("detach not sent", "room", b.name, "err", err)
		}
	}
	b.mu.Unlock()
	b.end(room.Exit{Success: true, Reason: "room closed"})
}

// Wait waits until the relay has ended.
func (b *relay) Wait() room.Exit {
	<-b.finished
	b.pinger.Wait()
	return b.exit
}

// ping shows the owner that this node still holds the link.
func (b *relay) ping() {
	defer b.pinger.Done()
	tick := time.NewTicker(b.n.beat)
	defer tick.Stop()
	for {
		select {
		case <-b.finished:
			return
		case <-tick.C:
			b.mu.Lock()
			err := b.send(opPing, nil)
			b.mu.Unlock()
			if err != nil {
				b.n.log.Debug("ping to room owner not sent", "room", b.name, "err", err)
			}
		}
	}
}

// message numbers one message to the owner; b.mu is held.
func (b *relay) message(op byte, body []byte) []byte {
	b.outSeq++
	if op == opInput {
		// Counted once, at its last part.
		b.n.opts.Metrics.Relayed(ToOwner, 1)
	}
	// The buffer is reused: publishing copies the message.
	msg := append(appendInHeader(b.outBuf[:0], inHeader{op: op, link: b.link, seq: b.outSeq}), body...)
	if cap(msg) <= maxKeptOutBuf {
		b.outBuf = msg
	}
	return msg
}

// maxKeptOutBuf is the largest message buffer a relay keeps between
// messages; one grown for a large input is let go.
const maxKeptOutBuf = 64 << 10

// send publishes one message to the owner; b.mu is held.
func (b *relay) send(op byte, body []byte) error {
	return b.n.nc.Publish(b.in, b.message(op, body))
}

// request is send, waiting for the owner's answer until the relay ends;
// b.mu is held.
func (b *relay) request(op byte, body []byte) (string, error) {
	reply, err := b.n.nc.RequestWithContext(b.ctx, b.in, b.message(op, body))
	if err != nil {
		return "", fmt.Errorf("room %q on node %s: %w", b.name, b.owner, err)
	}
	return string(reply.Data), nil
}
