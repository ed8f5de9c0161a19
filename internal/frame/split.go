// Package frame holds the pure byte-level codecs of ScaleSocket: splitting
// process output into items, JSON and gwsocket framing, and join/leave
// templates. Nothing here does I/O, so every codec can be tested and fuzzed
// on its own.
package frame

import (
	"bytes"
	"strings"
)

// Result says what Splitter.Next found.
type Result int

const (
	// NeedMore means buf holds no complete item; read more and call again.
	NeedMore Result = iota
	// Item means an item was found.
	Item
	// Dropped means an item longer than the limit was consumed and dropped
	// whole; it is reported once, when the limit is first exceeded.
	Dropped
)

// Splitter cuts a byte stream into items at any of a set of delimiter
// bytes. It keeps only the state needed to drop an oversized item whole
// across calls, so the caller owns and reuses the buffer.
type Splitter struct {
	delims  [256]bool
	single  int // the delimiter when there is exactly one, else -1
	newline bool
	max     int
	// pending is the longest run without a delimiter that may still become
	// an item: max, plus one for the '\r' of a CRLF ending.
	pending int
	// discarding is set while the rest of an oversized item is skipped.
	discarding bool
}

// NewSplitter returns a Splitter that splits at every byte of delims and
// drops items longer than max bytes (not counting the delimiter).
// A "\r" before a "\n" delimiter is removed with it, so CRLF output reads
// like LF output.
func NewSplitter(delims string, max int) *Splitter {
	s := &Splitter{max: max, single: -1}
	for i := 0; i < len(delims); i++ {
		s.delims[delims[i]] = true
	}
	if len(delims) > 0 && strings.Count(delims, delims[:1]) == len(delims) {
		s.single = int(delims[0])
	}
	s.newline = s.delims['\n']
	s.pending = max
	if s.newline {
		s.pending++
	}
	return s
}

// Next finds the next item in buf. It returns the item (a sub-slice of buf,
// without its delimiter), how many bytes of buf were consumed, and what was
// found. On NeedMore, n may still be positive when bytes of a dropped item
// were skipped; the caller must discard buf[:n] in every case.
func (s *Splitter) Next(buf []byte) (item []byte, n int, res Result) {
	i := s.index(buf)
	if s.discarding {
		if i < 0 {
			return nil, len(buf), NeedMore
		}
		s.discarding = false
		buf = buf[i+1:]
		n = i + 1
		i = s.index(buf)
	}
	if i < 0 {
		if len(buf) > s.pending {
			s.discarding = true
			return nil, n + len(buf), Dropped
		}
		return nil, n, NeedMore
	}
	item = buf[:i]
	if s.newline && buf[i] == '\n' && len(item) > 0 && item[len(item)-1] == '\r' {
		item = item[:len(item)-1]
	}
	if len(item) > s.max {
		return nil, n + i + 1, Dropped
	}
	return item, n + i + 1, Item
}

// BufferSize is the buffer a reader needs so that Next can always decide:
// the longest pending run plus one byte.
func (s *Splitter) BufferSize() int { return s.pending + 1 }

// Last returns what remains in buf when the stream has ended: a final item
// that had no delimiter after it (Item), a final item over the limit
// (Dropped), or nothing (NeedMore: empty, or the tail of an item that was
// already reported as dropped).
func (s *Splitter) Last(buf []byte) (item []byte, res Result) {
	switch {
	case s.discarding:
		s.discarding = false
		return nil, NeedMore
	case len(buf) == 0:
		return nil, NeedMore
	case len(buf) > s.max:
		return nil, Dropped
	}
	return buf, Item
}

func (s *Splitter) index(buf []byte) int {
	if s.single >= 0 {
		return bytes.IndexByte(buf, byte(s.single))
	}
	for i, b := range buf {
		if s.delims[b] {
			return i
		}
	}
	return -1
}
