package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/scalesocket/scalesocket-go/internal/room"
)

// startAttempts bounds how often a start looks the room up again after a
// race: another node claimed it first, or its owner was just letting go.
const startAttempts = 12

// Start is the hub's Starter in a cluster: a room this node is to own
// starts its process with local; a room owned elsewhere is relayed.
func (n *Node) Start(req room.StartRequest, local room.Starter) (room.Backend, error) {
	key := RoomToken(req.Room)
	backoff := 10 * time.Millisecond
	var lastErr error
	for attempt := range startAttempts {
		if attempt > 0 {
			timer := time.NewTimer(backoff)
			select {
			case <-timer.C:
			case <-req.Ended:
				timer.Stop()
				return nil, room.ErrRoomEnded
			}
			backoff = min(2*backoff, n.beat)
		}
		owner, err := n.currentOwner(key)
		if err != nil {
			lastErr = err
			continue
		}
		switch {
		case owner == "":
			target := n.opts.Name
			if n.opts.Placement == PlacementLeastLoaded && !req.Link {
				target = n.lobby.leastLoaded(n.opts.Name)
			}
			if target != n.opts.Name {
				// The target claims the room when it gets the attach.
				b, err := n.relay(req, target)
				if err == nil {
					return b, nil
				}
				lastErr = err
				continue
			}
			epoch, err := n.claim(key)
			if err == nil {
				return n.own(req, key, epoch, local)
			}
			if !errors.Is(err, jetstream.ErrKeyExists) {
				return nil, err
			}
			lastErr = err
		case owner == n.opts.Name:
			// This node's previous room of the name is still ending.
			lastErr = fmt.Errorf("room %q is still ending here", req.Room)
		case req.Link:
			return nil, ErrOwnedElsewhere
		default:
			b, err := n.relay(req, owner)
			switch {
			case err == nil:
				return b, nil
			case errors.Is(err, nats.ErrNoResponders):
				// The owner is gone and its lease still runs: the
				// client is better told to retry than kept waiting.
				return nil, fmt.Errorf("%w: %w", ErrOwnerUnavailable, err)
			case errors.Is(err, room.ErrMaxRooms) || errors.Is(err, room.ErrMaxClients):
				return nil, err
			}
			lastErr = err
		}
	}
	return nil, fmt.Errorf("start room %q in the cluster: %w", req.Room, lastErr)
}

// currentOwner returns the node that holds the room's lease, or "".
func (n *Node) currentOwner(key string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), n.beat)
	defer cancel()
	e, err := n.rooms.Get(ctx, key)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("look up room owner: %w", err)
	}
	var entry roomEntry
	if err := json.Unmarshal(e.Value(), &entry); err != nil || entry.Owner == "" {
		return "", fmt.Errorf("room entry %q is not valid: %v", key, err)
	}
	return entry.Owner, nil
}

// claim creates the room's lease for this node; the revision it gets is
// the room's epoch. It fails with ErrMaxRooms when the cluster has as many
// rooms as it may, and jetstream.ErrKeyExists when another node was first.
func (n *Node) claim(key string) (uint64, error) {
	if n.opts.MaxRooms > 0 && n.lobby.roomCount() >= n.opts.MaxRooms {
		return 0, room.ErrMaxRooms
	}
	value, err := json.Marshal(roomEntry{Owner: n.opts.Name})
	if err != nil {
		return 0, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), n.beat)
	defer cancel()
	rev, err := n.rooms.Create(ctx, key, value)
	if err != nil {
		if errors.Is(err, jetstream.ErrKeyExists) {
			return 0, err
		}
		return 0, fmt.Errorf("claim room: %w", err)
	}
	return rev, nil
}

// attachRequest asks a node for a link to one of its rooms, starting the
// room there if it does not run yet.
type attachRequest struct {
	Room string `json:"room"`
	Node string `json:"node"`
	// Out is the subject the owner sends the room's output to.
	Out string `json:"out"`
	// Env is the process environment, from the relay's first client.
	Env []string `json:"env,omitempty"`
}

// attachReply answers an attachRequest: the link, or why there is none.
type attachReply struct {
	Epoch uint64 `json:"epoch,omitempty"`
	Link  uint32 `json:"link,omitempty"`
	// In is the subject of the owner's input.
	In    string `json:"in,omitempty"`
	Error string `json:"error,omitempty"`
	// Refusal names an error the relay passes on: "maxrooms".
	Refusal string `json:"refusal,omitempty"`
}

const refusalMaxRooms = "maxrooms"

// handleAttach answers a relay's attach request in a goroutine of its
// own, since it may start the room's process.
func (n *Node) handleAttach(msg *nats.Msg) {
	n.mu.Lock()
	if n.hub == nil || isClosed(n.quit) {
		n.mu.Unlock()
		n.reply(msg, attachReply{Error: "node is shutting down"})
		return
	}
	n.wg.Add(1)
	n.mu.Unlock()
	go func() {
		defer n.wg.Done()
		var req attachRequest
		if err := json.Unmarshal(msg.Data, &req); err != nil || req.Out == "" {
			n.log.Warn("bad attach request", "err", err)
			n.reply(msg, attachReply{Error: "bad attach request"})
			return
		}
		n.reply(msg, n.attachLink(req))
	}()
}

// attachLink joins a link for the relay of req to the room here.
func (n *Node) attachLink(req attachRequest) attachReply {
	for {
		rm, err := n.hub.AcquireLink(req.Room)
		if err != nil {
			return refusal(err)
		}
		l := newLink(n, req.Node, req.Out)
		c, err := rm.JoinLink(room.StartRequest{Room: req.Room, Env: func() []string { return req.Env }}, l.wake)
		if err != nil {
			rm.ReleaseLink()
			if errors.Is(err, room.ErrRoomEnded) {
				continue
			}
			return refusal(err)
		}
		o := n.ownerOf(rm)
		if o == nil {
			// The room runs here as a relay of a third node.
			rm.LeaveLink(c)
			return attachReply{Error: ErrOwnedElsewhere.Error()}
		}
		l.start(o, rm, c)
		return attachReply{Epoch: o.epoch, Link: c.ID, In: o.in.Subject}
	}
}

func refusal(err error) attachReply {
	r := attachReply{Error: err.Error()}
	if errors.Is(err, room.ErrMaxRooms) {
		r.Refusal = refusalMaxRooms
	}
	return r
}

func (n *Node) reply(msg *nats.Msg, r attachReply) {
	data, err := json.Marshal(r)
	if err == nil {
		err = msg.Respond(data)
	}
	if err != nil {
		n.log.Warn("attach reply not sent", "err", err)
	}
}

func isClosed(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}
