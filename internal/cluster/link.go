package cluster

import (
	"sync/atomic"
	"time"

	"github.com/scalesocket/scalesocket-go/internal/room"
)

// batchBytes is the most payload a link packs into one NATS message; a
// burst of output crosses to the relay in a few large messages rather than
// one per item.
const batchBytes = 256 << 10

// initialBatch is the batch buffer a link starts with, and goes back to
// after one item grew it past twice batchBytes.
const initialBatch = 4 << 10

// link is the owner's side of one relay node's view of a room: a member of
// the room that receives what that node's clients must get, and sends it
// on, numbered, to the relay's subject.
type link struct {
	n    *Node
	node string
	out  string
	// wakeCh has a token when the room has queued messages for the link.
	wakeCh chan struct{}
	// seen is when the relay was last heard, in Unix nanoseconds.
	seen atomic.Int64

	// Set by start, before the link's goroutine runs.
	owner  *owner
	room   *room.Room
	client *room.Client
	// inSeq is the last number seen from the relay, and partial the
	// parts of an input sent in several messages; only the owner's input
	// goroutine uses them.
	inSeq   uint64
	partial []byte

	// Used only by the link's goroutine.
	seq     uint64
	buf     []byte
	spare   []*room.Message
	lastOut time.Time
}

func newLink(n *Node, node, out string) *link {
	l := &link{n: n, node: node, out: out, wakeCh: make(chan struct{}, 1), buf: make([]byte, 0, initialBatch)}
	l.seen.Store(time.Now().UnixNano())
	return l
}

// wake is the room's wake function for the link; it must not block.
func (l *link) wake() {
	select {
	case l.wakeCh <- struct{}{}:
	default:
	}
}

// start registers the link with its owner and runs its goroutine, which
// the node's wait group counts.
func (l *link) start(o *owner, rm *room.Room, c *room.Client) {
	l.owner, l.room, l.client = o, rm, c
	o.addLink(l)
	l.n.wg.Add(1)
	go l.run()
}

// run sends what is queued for the link until the room is done with it,
// with a heartbeat when there is nothing to send, and closes the link when
// the relay has not been heard for a TTL.
func (l *link) run() {
	defer l.n.wg.Done()
	tick := time.NewTicker(l.n.beat)
	defer tick.Stop()
	l.lastOut = time.Now()
	for {
		select {
		case <-l.wakeCh:
			l.flush()
		case now := <-tick.C:
			if now.Sub(l.lastOut) >= l.n.beat {
				l.send(opBeat, make([]byte, outHeaderLen))
			}
			silent := now.Sub(time.Unix(0, l.seen.Load()))
			if silent > l.n.opts.TTL && !l.owner.writing.Load() {
				l.n.log.Warn("relay node stopped answering, closing its link", "room", l.owner.name, "relay", l.node, "silent", silent)
				l.client.Close(room.CloseGoingAway, "relay node lost")
			}
		case <-l.client.Done():
			l.finish()
			return
		}
	}
}

// finish sends what the room left for the relay, then the close, and
// leaves the room.
func (l *link) finish() {
	code, reason, drain := l.client.CloseStatus()
	if drain {
		l.flush()
	}
	// A server shutting down is a restart for the clients of other nodes:
	// reconnecting starts the room on a live node.
	if code == room.CloseGoingAway {
		code = room.CloseServiceRestart
	}
	l.send(opClose, appendClose(make([]byte, outHeaderLen), code, reason))
	l.owner.removeLink(l)
	l.room.LeaveLink(l.client)
}

// flush sends every queued message, in batches of up to batchBytes, or
// NATS's largest message when that is smaller. A message too large for
// one batch starts a batch of its own and is sent in parts.
func (l *link) flush() {
	msgs := l.client.Take(l.spare)
	limit := min(batchBytes, int(l.n.nc.MaxPayload()))
	buf := l.buf[:outHeaderLen]
	for _, m := range msgs {
		data := m.Data
		if len(buf) > outHeaderLen && len(buf)+itemHeader+len(data) > limit {
			l.send(opData, buf)
			buf = buf[:outHeaderLen]
		}
		for {
			n := min(len(data), limit-len(buf)-itemHeader)
			more := n < len(data)
			buf = appendItem(buf, item{binary: m.Binary, more: more, to: m.To, data: data[:n]})
			data = data[n:]
			if !more {
				break
			}
			l.send(opData, buf)
			buf = buf[:outHeaderLen]
		}
	}
	if len(buf) > outHeaderLen {
		l.send(opData, buf)
	}
	l.n.opts.Metrics.Relayed(FromOwner, len(msgs))
	clear(msgs)
	l.spare = msgs[:0]
	if cap(buf) > 2*batchBytes {
		buf = make([]byte, 0, initialBatch)
	}
	l.buf = buf[:0]
}

// send numbers msg, whose first outHeaderLen bytes are left for the
// header, and sends it to the relay. Publishing only buffers; a connection
// that cannot send drops the message, which the relay sees as a gap.
func (l *link) send(op byte, msg []byte) {
	l.seq++
	appendOutHeader(msg[:0], outHeader{op: op, epoch: l.owner.epoch, seq: l.seq})
	if err := l.n.nc.Publish(l.out, msg); err != nil {
		l.n.log.Warn("message to relay not sent", "room", l.owner.name, "relay", l.node, "err", err)
	}
	l.lastOut = time.Now()
}
