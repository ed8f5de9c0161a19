package room

import "slices"

// cache keeps a room's last messages, replayed to clients that join
// (SPEC §8). It holds at most size messages and, beyond the newest one,
// at most maxBytes of payload: the oldest go first. It is guarded by the
// room's mu.
type cache struct {
	msgs     []*Message // oldest first
	size     int
	bytes    int
	maxBytes int
	// own makes the cache keep copies: messages share their memory with
	// those read around them (frame.Arena, the pump's message blocks), so
	// a sparse cache, as a tagged one is, would otherwise hold whole
	// blocks for a few bytes each.
	own bool
}

func newCache(size, maxBytes int, own bool) *cache {
	return &cache{size: size, maxBytes: maxBytes, own: own}
}

func (c *cache) add(m *Message) {
	if c.own {
		f := slices.Clone(m.Frame)
		m = &Message{Frame: f, Data: f[len(f)-len(m.Data):], Binary: m.Binary, To: m.To}
	}
	c.msgs = append(c.msgs, m)
	c.bytes += len(m.Data)
	drop := 0
	for len(c.msgs)-drop > c.size || (c.bytes > c.maxBytes && len(c.msgs)-drop > 1) {
		c.bytes -= len(c.msgs[drop].Data)
		drop++
	}
	if drop > 0 {
		clear(c.msgs[:drop])
		c.msgs = c.msgs[drop:]
	}
}

// all returns the cached messages, oldest first.
func (c *cache) all() []*Message { return slices.Clone(c.msgs) }
