// Package cluster lets several ScaleSocket servers share rooms through NATS
// JetStream. Each room is owned by one node, which runs its process; the
// other nodes with clients of the room relay them to the owner.
//
// Ownership is a lease: a key per room in a JetStream key-value bucket,
// created if absent by the node that claims the room and renewed well
// within the bucket's TTL. The claim's revision is the room's epoch: every
// message from the owner carries it, and a relay drops messages of any
// other epoch. Messages in both directions are numbered, so a message lost
// by core NATS shows as a gap, which ends the affected clients with 1011
// rather than delivering past it.
//
// Subjects (room and node names are encoded with RoomToken):
//
//	scalesocket.node.<node>.attach      a relay asks the owner for a link
//	scalesocket.room.<room>.in.<id>     relays to the owner: input, joins, leaves
//	scalesocket.room.<room>.out.<id>    the owner to one relay: output
package cluster

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/scalesocket/scalesocket-go/internal/room"
)

// connectTimeout bounds the wait for NATS when a node starts (SPEC §15).
const connectTimeout = 10 * time.Second

// Placements say which node runs a new room.
const (
	// PlacementFirst runs a room on the node its first client reached.
	PlacementFirst = "first"
	// PlacementLeastLoaded runs it on the live node with the fewest rooms.
	PlacementLeastLoaded = "leastloaded"
)

// Bucket names and the subject prefix.
const (
	roomsBucket = "scalesocket_rooms"
	nodesBucket = "scalesocket_nodes"
	idsBucket   = "scalesocket_ids"
	prefix      = "scalesocket"
)

// Options configure a node.
type Options struct {
	// URLs are the NATS servers, with credentials in them if needed; a
	// tls:// URL makes the connection use TLS.
	URLs []string
	// Creds is a NATS credentials file, or "".
	Creds string
	// Name is this node's name, unique in the cluster.
	Name string
	// Placement is PlacementFirst or PlacementLeastLoaded.
	Placement string
	// TTL is the lease of a room's owner, renewed every third of it: a
	// node that dies is noticed, and its rooms can start elsewhere, within
	// about this long. Every node of a cluster must use the same.
	TTL time.Duration
	// MaxRooms caps the rooms of the whole cluster; 0 is no cap.
	MaxRooms int
	// MaxMessage is the largest client message or output item
	// (--maxmsgsize); larger ones cannot come from another node.
	MaxMessage int
	// Metrics receives the node's cluster events; nil for none.
	Metrics Metrics
	// Log is the server's logger.
	Log *slog.Logger
}

// Metrics receives what happens between nodes.
type Metrics interface {
	// Relayed counts messages this node sent to another: "to_owner" on
	// a relay, "from_owner" on an owner.
	Relayed(direction string, n int)
	// LeaseRenewal counts an owner's renewal of a room's lease.
	LeaseRenewal(ok bool)
	// LeaseLost counts a room ended because its lease could not be kept.
	LeaseLost()
	// Gap counts a numbered stream between nodes found with a message missing.
	Gap()
	// Stale counts a message dropped because it came from a stale owner.
	Stale()
}

// Directions of relayed messages.
const (
	ToOwner   = "to_owner"
	FromOwner = "from_owner"
)

// Errors that callers branch on.
var (
	// ErrOwnedElsewhere: the room is owned by another node than the one
	// asked.
	ErrOwnedElsewhere = errors.New("room is owned by another node")
	// ErrOwnerUnavailable: the node that holds the room's lease does not
	// answer; the room can start elsewhere once the lease has run out.
	ErrOwnerUnavailable = errors.New("room owner node unavailable, retry shortly")
)

// Node is this server's membership of a cluster.
type Node struct {
	opts Options
	log  *slog.Logger
	nc   *nats.Conn
	// closed is closed once the NATS connection is.
	closed chan struct{}
	rooms  jetstream.KeyValue
	nodes  jetstream.KeyValue
	ids    *IDs
	// beat is how often owners and relays show they are alive, and
	// renewEvery how often an owner renews its leases.
	beat       time.Duration
	renewEvery time.Duration

	// hub is the server's rooms, where other nodes' links attach.
	hub    *room.Hub
	attach *nats.Subscription

	lobby *lobby

	mu sync.Mutex
	// owned holds the rooms this node owns, by their local room.
	owned map[*room.Room]*owner

	// quit ends the node's goroutines, which wg counts.
	quit chan struct{}
	wg   sync.WaitGroup
}

// DefaultName is the node name used when none is given: host name and pid.
func DefaultName() string {
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "node"
	}
	return fmt.Sprintf("%s-%d", host, os.Getpid())
}

// Connect joins the cluster: it connects to NATS, makes sure the buckets
// exist and starts following the cluster's rooms and nodes. Rooms are
// served once Serve is called.
func Connect(ctx context.Context, opts Options) (*Node, error) {
	if opts.Metrics == nil {
		opts.Metrics = nopMetrics{}
	}
	n := &Node{
		opts:       opts,
		log:        opts.Log.With("node", opts.Name),
		beat:       opts.TTL / 5,
		renewEvery: opts.TTL / 3,
		owned:      make(map[*room.Room]*owner),
		quit:       make(chan struct{}),
	}
	closed, connected := make(chan struct{}), make(chan struct{}, 1)
	natsOpts := []nats.Option{
		nats.Name("scalesocket " + opts.Name),
		nats.ClosedHandler(func(*nats.Conn) { close(closed) }),
		// A node may start before NATS does (as on Kubernetes): it waits
		// for it, within bounds, rather than failing at once.
		nats.RetryOnFailedConnect(true),
		nats.ConnectHandler(func(*nats.Conn) { connected <- struct{}{} }),
		nats.MaxReconnects(-1),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			// A nil error is the node's own close.
			if err != nil {
				n.log.Warn("lost the NATS connection; rooms whose lease cannot be renewed will close", "err", err)
			}
		}),
		nats.ReconnectHandler(func(c *nats.Conn) {
			n.log.Info("NATS connection back", "server", c.ConnectedUrlRedacted())
		}),
		nats.ErrorHandler(func(_ *nats.Conn, sub *nats.Subscription, err error) {
			subject := ""
			if sub != nil {
				subject = sub.Subject
			}
			n.log.Warn("NATS error", "subject", subject, "err", err)
		}),
	}
	if opts.Creds != "" {
		natsOpts = append(natsOpts, nats.UserCredentials(opts.Creds))
	}
	nc, err := nats.Connect(strings.Join(opts.URLs, ","), natsOpts...)
	if err != nil {
		return nil, fmt.Errorf("connect to NATS: %w", err)
	}
	if !nc.IsConnected() {
		n.log.Info("waiting for NATS", "servers", len(opts.URLs), "timeout", connectTimeout)
		timer := time.NewTimer(connectTimeout)
		defer timer.Stop()
		select {
		case <-connected:
		case <-timer.C:
			err = fmt.Errorf("connect to NATS: no server answered within %v", connectTimeout)
		case <-ctx.Done():
			err = fmt.Errorf("connect to NATS: %w", ctx.Err())
		}
		if err != nil {
			nc.Close()
			return nil, err
		}
	}
	n.nc, n.closed = nc, closed
	if err := n.openBuckets(ctx); err != nil {
		nc.Close()
		return nil, err
	}
	lb, err := startLobby(ctx, n)
	if err != nil {
		nc.Close()
		return nil, err
	}
	n.lobby = lb
	n.log.Info("joined the cluster", "nats", nc.ConnectedUrlRedacted(), "placement", opts.Placement, "ttl", opts.TTL)
	return n, nil
}

// openBuckets creates or opens the key-value buckets. Leases and loads
// live in memory, since they mean nothing once expired; the ID counter is
// on disk, so that IDs stay unique when NATS restarts.
func (n *Node) openBuckets(ctx context.Context) error {
	js, err := jetstream.New(n.nc)
	if err != nil {
		return fmt.Errorf("JetStream: %w", err)
	}
	open := func(cfg jetstream.KeyValueConfig) (jetstream.KeyValue, error) {
		kv, err := js.CreateOrUpdateKeyValue(ctx, cfg)
		if err != nil {
			return nil, fmt.Errorf("open bucket %s (is JetStream enabled?): %w", cfg.Bucket, err)
		}
		return kv, nil
	}
	if n.rooms, err = open(jetstream.KeyValueConfig{Bucket: roomsBucket, TTL: n.opts.TTL, Storage: jetstream.MemoryStorage,
		Description: "ScaleSocket room leases: which node owns each room"}); err != nil {
		return err
	}
	if n.nodes, err = open(jetstream.KeyValueConfig{Bucket: nodesBucket, TTL: n.opts.TTL, Storage: jetstream.MemoryStorage,
		Description: "ScaleSocket nodes and their load"}); err != nil {
		return err
	}
	ids, err := open(jetstream.KeyValueConfig{Bucket: idsBucket, Storage: jetstream.FileStorage,
		Description: "ScaleSocket connection ID counter"})
	if err != nil {
		return err
	}
	n.ids = NewIDs(ids, DefaultIDBlock)
	return nil
}

// Serve starts answering other nodes' requests for links to the rooms of
// hub that this node owns.
func (n *Node) Serve(hub *room.Hub) error {
	n.hub = hub
	sub, err := n.nc.Subscribe(nodeSubject(n.opts.Name), n.handleAttach)
	if err != nil {
		return fmt.Errorf("subscribe to attach requests: %w", err)
	}
	n.attach = sub
	n.wg.Add(1)
	go n.publishLoad()
	return nil
}

// Close leaves the cluster. The hub must have been shut down first, so
// that this node owns no room any more.
func (n *Node) Close() {
	// Under mu, so that no attach starts a goroutine once wg is waited for.
	n.mu.Lock()
	close(n.quit)
	n.mu.Unlock()
	if n.attach != nil {
		if err := n.attach.Drain(); err != nil {
			n.log.Debug("drain attach subscription", "err", err)
		}
	}
	n.lobby.stop()
	n.wg.Wait()
	// Removing the node's load entry lets leastloaded placement skip it
	// at once rather than after the TTL.
	ctx, cancel := context.WithTimeout(context.Background(), n.opts.TTL/5)
	defer cancel()
	if err := n.nodes.Delete(ctx, NodeToken(n.opts.Name)); err != nil {
		n.log.Debug("remove node load entry", "err", err)
	}
	// Drain delivers what was published, then closes the connection in
	// the background; its goroutines are waited for, within bounds.
	if err := n.nc.Drain(); err != nil {
		n.nc.Close()
	}
	timer := time.NewTimer(n.opts.TTL)
	defer timer.Stop()
	select {
	case <-n.closed:
	case <-timer.C:
		n.nc.Close()
	}
}

// NextID gives a connection ID unique in the cluster.
func (n *Node) NextID() (uint32, error) {
	ctx, cancel := context.WithTimeout(context.Background(), n.opts.TTL)
	defer cancel()
	return n.ids.Next(ctx)
}

// Name is the node's name.
func (n *Node) Name() string { return n.opts.Name }

// maxPart bounds an item gathered from parts: a message of MaxMessage
// bytes, framed for the process (JSON's "_from", a gwsocket header) or
// expanded from a join template, with room to spare.
func (n *Node) maxPart() int { return 2*n.opts.MaxMessage + 64<<10 }

func nodeSubject(node string) string { return prefix + ".node." + NodeToken(node) + ".attach" }

// roomSubject returns a new subject of the room, for one direction of one
// link: unique, so that messages of an earlier link never reach a later one.
func (n *Node) roomSubject(name, dir string) string {
	return prefix + ".room." + RoomToken(name) + "." + dir + "." + nats.NewInbox()[len(nats.InboxPrefix):]
}

func (n *Node) ownerOf(r *room.Room) *owner {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.owned[r]
}

func (n *Node) ownedCount() int {
	n.mu.Lock()
	defer n.mu.Unlock()
	return len(n.owned)
}

type nopMetrics struct{}

func (nopMetrics) Relayed(string, int) {}
func (nopMetrics) LeaseRenewal(bool)   {}
func (nopMetrics) LeaseLost()          {}
func (nopMetrics) Gap()                {}
func (nopMetrics) Stale()              {}
