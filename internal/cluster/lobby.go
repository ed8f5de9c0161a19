package cluster

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// RoomInfo is one room of the cluster as the lobby shows it.
type RoomInfo struct {
	Name  string
	Owner string
	// Connections counts the room's clients on every node, as of the
	// owner's last lease renewal (at most a third of the TTL ago).
	Connections int
	// Metadata is the room's JSON metadata, or nil.
	Metadata []byte
}

// nodeEntry is what a node publishes about itself, to show it is alive.
type nodeEntry struct {
	Rooms int `json:"rooms"`
}

// seen is a bucket entry with the time this node received it: an entry
// not rewritten for a TTL belongs to a node that is gone, and the bucket's
// expiry removes it without telling watchers. The local clock is used, not
// the server's timestamp, so that clocks need not agree; an entry seen in
// the initial values may be older than that, by at most a TTL.
type seen[T any] struct {
	value T
	at    time.Time
}

// lobby follows the rooms and nodes buckets, so that the lobby API,
// --maxrooms and placement read memory rather than NATS.
type lobby struct {
	ttl      time.Duration
	watchers []jetstream.KeyWatcher
	wg       sync.WaitGroup

	mu    sync.Mutex
	rooms map[string]seen[roomEntry]
	nodes map[string]seen[nodeEntry]
}

func startLobby(ctx context.Context, n *Node) (*lobby, error) {
	lb := &lobby{
		ttl:   n.opts.TTL,
		rooms: make(map[string]seen[roomEntry]),
		nodes: make(map[string]seen[nodeEntry]),
	}
	for _, w := range []struct {
		kv   jetstream.KeyValue
		keep func(key string, value []byte, at time.Time) error
		drop func(key string)
	}{
		{n.rooms, func(key string, value []byte, at time.Time) error { return keepEntry(&lb.mu, lb.rooms, key, value, at) },
			func(key string) { dropKey(&lb.mu, lb.rooms, key) }},
		{n.nodes, func(key string, value []byte, at time.Time) error { return keepEntry(&lb.mu, lb.nodes, key, value, at) },
			func(key string) { dropKey(&lb.mu, lb.nodes, key) }},
	} {
		watcher, err := w.kv.WatchAll(ctx)
		if err != nil {
			lb.stop()
			return nil, fmt.Errorf("watch bucket %s: %w", w.kv.Bucket(), err)
		}
		lb.watchers = append(lb.watchers, watcher)
		lb.wg.Add(1)
		go func() {
			defer lb.wg.Done()
			for e := range watcher.Updates() {
				if e == nil {
					// The end of the initial values.
					continue
				}
				if e.Operation() != jetstream.KeyValuePut {
					w.drop(e.Key())
					continue
				}
				if err := w.keep(e.Key(), e.Value(), time.Now()); err != nil {
					n.log.Warn("bad entry in bucket", "bucket", e.Bucket(), "key", e.Key(), "err", err)
				}
			}
		}()
	}
	return lb, nil
}

// stop ends the watches and waits for their goroutines.
func (lb *lobby) stop() {
	for _, w := range lb.watchers {
		// Stop fails only when the watcher's subscription or the
		// connection is gone already, which is what stopping wants.
		_ = w.Stop()
	}
	lb.wg.Wait()
}

// keepEntry records the entry written under key, as it reads as JSON.
func keepEntry[T any](mu *sync.Mutex, m map[string]seen[T], key string, value []byte, at time.Time) error {
	var e T
	if err := json.Unmarshal(value, &e); err != nil {
		return err
	}
	mu.Lock()
	m[key] = seen[T]{e, at}
	mu.Unlock()
	return nil
}

// dropKey forgets a deleted entry.
func dropKey[T any](mu *sync.Mutex, m map[string]seen[T], key string) {
	mu.Lock()
	delete(m, key)
	mu.Unlock()
}

// live reports whether an entry written at at is still current.
func (lb *lobby) live(at time.Time) bool { return time.Since(at) <= lb.ttl }

// list lists the cluster's rooms, sorted by name.
func (lb *lobby) list() []RoomInfo {
	lb.mu.Lock()
	defer lb.mu.Unlock()
	infos := make([]RoomInfo, 0, len(lb.rooms))
	for key, e := range lb.rooms {
		name, err := RoomName(key)
		if err != nil || !lb.live(e.at) {
			continue
		}
		infos = append(infos, RoomInfo{Name: name, Owner: e.value.Owner, Connections: e.value.Connections, Metadata: e.value.Metadata})
	}
	slices.SortFunc(infos, func(a, b RoomInfo) int { return strings.Compare(a.Name, b.Name) })
	return infos
}

// roomCount counts the cluster's live rooms.
func (lb *lobby) roomCount() int {
	lb.mu.Lock()
	defer lb.mu.Unlock()
	n := 0
	for _, e := range lb.rooms {
		if lb.live(e.at) {
			n++
		}
	}
	return n
}

// leastLoaded names the live node that owns the fewest rooms, self when
// it is one of them; ties go to the first name. Rooms are counted from
// their leases, which appear as soon as they are claimed, so a burst of
// new rooms spreads out instead of going to the node that published the
// lowest figure last.
func (lb *lobby) leastLoaded(self string) string {
	lb.mu.Lock()
	defer lb.mu.Unlock()
	load := map[string]int{self: 0}
	for key, e := range lb.nodes {
		if name, err := RoomName(key); err == nil && lb.live(e.at) {
			load[name] = 0
		}
	}
	for _, e := range lb.rooms {
		if _, ok := load[e.value.Owner]; ok && lb.live(e.at) {
			load[e.value.Owner]++
		}
	}
	best := self
	for name, n := range load {
		if n < load[best] || (n == load[best] && name < best) {
			best = name
		}
	}
	return best
}

// Rooms lists every room of the cluster, sorted by name.
func (n *Node) Rooms() []RoomInfo { return n.lobby.list() }

// Room describes one room of the cluster; ok is false when it does not run.
func (n *Node) Room(name string) (RoomInfo, bool) {
	lb := n.lobby
	lb.mu.Lock()
	defer lb.mu.Unlock()
	e, ok := lb.rooms[RoomToken(name)]
	if !ok || !lb.live(e.at) {
		return RoomInfo{}, false
	}
	return RoomInfo{Name: name, Owner: e.value.Owner, Connections: e.value.Connections, Metadata: e.value.Metadata}, true
}

// publishLoad writes this node's entry every beat, which shows other
// nodes that it is alive and can take rooms.
func (n *Node) publishLoad() {
	defer n.wg.Done()
	tick := time.NewTicker(n.beat)
	defer tick.Stop()
	for {
		value, err := json.Marshal(nodeEntry{Rooms: n.ownedCount()})
		if err == nil {
			ctx, cancel := context.WithTimeout(context.Background(), n.beat)
			_, err = n.nodes.Put(ctx, NodeToken(n.opts.Name), value)
			cancel()
		}
		if err != nil {
			n.log.Warn("node load not published", "err", err)
		}
		select {
		case <-n.quit:
			return
		case <-tick.C:
		}
	}
}
