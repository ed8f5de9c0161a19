package process

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"unicode/utf8"

	"github.com/scalesocket/scalesocket-go/internal/frame"
)

// Output is read in large reads and split in place. The read buffer starts
// at firstRead bytes, so that a room that prints little (or a short-lived
// one) costs little, and doubles whenever a read fills it, up to
// readChunk; beyond that it grows only for items longer than the buffer,
// up to the item limit.
const (
	firstRead = 4 << 10
	readChunk = 64 << 10
)

// OutputOptions say how a process's output is cut into items.
type OutputOptions struct {
	// Binary sends each read as it comes, as a binary item.
	Binary bool
	// GWSocket reads gwsocket strict-mode messages (a 12-byte header, then
	// exactly its length of payload) instead of splitting at delimiters.
	GWSocket bool
	// Delimiters is the set of bytes that end an item.
	Delimiters string
	// MaxItem is the largest item in bytes; longer ones are dropped whole.
	MaxItem int
	// Log receives a line for every dropped item.
	Log *slog.Logger
	// OnDrop, when set, is called with DropTooLarge for every dropped
	// item, so that drops are counted and not only logged.
	OnDrop func(reason string)
}

// DropTooLarge is the reason an output item over MaxItem is dropped.
const DropTooLarge = "too_large"

// OutputReader cuts a process's output stream into items.
type OutputReader struct {
	r     io.Reader
	opts  OutputOptions
	split *frame.Splitter
	buf   []byte
	start int // buf[start:end] is read but not yet consumed
	end   int
	eof   bool
	// filled is set when the last read filled the buffer: more output is
	// likely waiting, so the next read gets a larger buffer.
	filled bool
	// arena holds the frames of the items, shared by every recipient.
	arena frame.Arena
}

// NewOutputReader reads items from r.
func NewOutputReader(r io.Reader, opts OutputOptions) *OutputReader {
	o := &OutputReader{r: r, opts: opts}
	if !opts.Binary {
		o.split = frame.NewSplitter(opts.Delimiters, opts.MaxItem)
	}
	return o
}

// Next returns the next item, with Data owned by the caller, or io.EOF when
// the stream has ended and every item has been returned.
func (o *OutputReader) Next() (frame.Output, error) {
	out, _, err := o.next(true)
	return out, err
}

// TryNext is Next when an item (or the end) is already read; otherwise it
// returns false at once instead of reading.
func (o *OutputReader) TryNext() (frame.Output, bool, error) {
	return o.next(false)
}

// next returns the next item, reading more when it needs to only if read
// is set; ok is false when it would have read.
func (o *OutputReader) next(read bool) (out frame.Output, ok bool, err error) {
	switch {
	case o.opts.GWSocket:
		return o.nextGW(read)
	case o.opts.Binary:
		if !read && !o.eof {
			return frame.Output{}, false, nil // every item is a read of its own
		}
		out, err := o.nextChunk()
		return out, true, err
	}
	for {
		item, n, res := o.split.Next(o.buf[o.start:o.end])
		o.start += n
		switch res {
		case frame.Item:
			return o.textOrBinary(item), true, nil
		case frame.Dropped:
			o.dropped()
			continue
		}
		if o.eof {
			item, res := o.split.Last(o.buf[o.start:o.end])
			o.start = o.end
			switch res {
			case frame.Item:
				return o.textOrBinary(item), true, nil
			case frame.Dropped:
				o.dropped()
			}
			o.release()
			return frame.Output{}, true, io.EOF
		}
		if !read {
			return frame.Output{}, false, nil
		}
		o.fill(o.split.BufferSize())
	}
}

// nextGW returns the next gwsocket message. A header that cannot be right,
// or a stream that ends inside a message, is an error the room closes on.
func (o *OutputReader) nextGW(read bool) (frame.Output, bool, error) {
	for {
		msg, n, err := frame.ParseGW(o.buf[o.start:o.end], o.opts.MaxItem)
		if err != nil {
			return frame.Output{}, true, fmt.Errorf("gwsocket framing: %w", err)
		}
		if n > 0 {
			o.start += n
			binary := msg.Type == frame.GWBinary || !utf8.Valid(msg.Payload)
			return o.arena.NewOutput(msg.Payload, binary, msg.ID), true, nil
		}
		if o.eof {
			if left := o.end - o.start; left > 0 {
				return frame.Output{}, true, fmt.Errorf("gwsocket framing: output ended inside a message, %d bytes left", left)
			}
			o.release()
			return frame.Output{}, true, io.EOF
		}
		if !read {
			return frame.Output{}, false, nil
		}
		o.fill(frame.GWHeaderLen + o.opts.MaxItem)
	}
}

// nextChunk returns one read as one binary item.
func (o *OutputReader) nextChunk() (frame.Output, error) {
	for !o.eof {
		o.start, o.end = 0, 0
		o.fill(min(readChunk, o.opts.MaxItem))
		if o.end > 0 {
			return o.arena.NewOutput(o.buf[:o.end], true, 0), nil
		}
	}
	o.release()
	return frame.Output{}, io.EOF
}

// fill reads more into the buffer, first moving the unconsumed bytes to
// its front, and doubling it, up to limit, when it is full or the last
// read filled it.
func (o *OutputReader) fill(limit int) {
	if o.start > 0 {
		o.end = copy(o.buf, o.buf[o.start:o.end])
		o.start = 0
	}
	if o.end == len(o.buf) || o.filled && len(o.buf) < readChunk {
		size := min(max(2*len(o.buf), firstRead), limit)
		grown := make([]byte, size)
		copy(grown, o.buf[:o.end])
		o.buf = grown
	}
	n, err := o.r.Read(o.buf[o.end:])
	o.end += n
	o.filled = n > 0 && o.end == len(o.buf)
	if err != nil {
		if !errors.Is(err, io.EOF) {
			o.opts.Log.Warn("read process output", "err", err)
		}
		o.eof = true
	}
}

// release lets go of the buffer once the stream is over.
func (o *OutputReader) release() { o.buf, o.start, o.end = nil, 0, 0 }

func (o *OutputReader) dropped() {
	o.opts.Log.Warn("dropped process output item over the size limit", "limit", o.opts.MaxItem)
	if o.opts.OnDrop != nil {
		o.opts.OnDrop(DropTooLarge)
	}
}

// textOrBinary copies item out of the read buffer into its frame. Text
// frames must be valid UTF-8, so output that is not goes out as a binary
// frame rather than being dropped or mangled.
func (o *OutputReader) textOrBinary(item []byte) frame.Output {
	return o.arena.NewOutput(item, !utf8.Valid(item), 0)
}
