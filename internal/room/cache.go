package room

// cache is a ring of a room's last messages, replayed to clients that join
// (SPEC §8). It is guarded by the room's mu.
type cache struct {
	// ring grows up to size, then wraps; next is where the next message
	// goes once it has wrapped.
	ring []*Message
	size int
	next int
	full bool
}

func newCache(size int) *cache { return &cache{size: size} }

func (c *cache) add(m *Message) {
	if !c.full {
		c.ring = append(c.ring, m)
		c.full = len(c.ring) == c.size
		return
	}
	c.ring[c.next] = m
	c.next = (c.next + 1) % c.size
}

// all returns the cached messages, oldest first.
func (c *cache) all() []*Message {
	out := make([]*Message, 0, len(c.ring))
	out = append(out, c.ring[c.next:]...)
	return append(out, c.ring[:c.next]...)
}
