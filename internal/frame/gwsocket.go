package frame

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
)

// gwsocket strict-mode framing (SPEC §4): a 12-byte header of three
// big-endian uint32s — client ID, message type, payload length — followed
// by exactly that many payload bytes, in both directions. The original
// ScaleSocket read the header little-endian; that was a bug, not a contract.

// GWHeaderLen is the length of a gwsocket header.
const GWHeaderLen = 12

// gwsocket message types; they pick the WebSocket frame type.
const (
	GWText   uint32 = 1
	GWBinary uint32 = 2
)

// Protocol errors in the process's gwsocket stream. Neither can be
// recovered from, since the stream has lost its framing: the caller closes
// the room with 1011.
var (
	// ErrGWType means a header carries a type other than GWText or GWBinary.
	ErrGWType = errors.New("frame: gwsocket header has an unknown message type")
	// ErrGWTooLarge means a header announces a payload above the limit.
	ErrGWTooLarge = errors.New("frame: gwsocket message is larger than the limit")
)

// GWMessage is one decoded gwsocket message.
type GWMessage struct {
	// ID is the client: the sender for client→process messages, the
	// recipient for process→client ones, where 0 means every client.
	ID uint32
	// Type is GWText or GWBinary.
	Type uint32
	// Payload aliases the buffer given to ParseGW.
	Payload []byte
}

// AppendGW appends a gwsocket message — header and payload — to dst. It is
// how client messages are framed for the process. The payload must be
// shorter than 4 GiB, which the message size limit guarantees; a longer one
// is a bug in the caller and panics rather than writing a corrupt header.
func AppendGW(dst []byte, id, typ uint32, payload []byte) []byte {
	if uint64(len(payload)) > math.MaxUint32 {
		panic("frame: gwsocket payload does not fit a uint32 length")
	}
	dst = binary.BigEndian.AppendUint32(dst, id)
	dst = binary.BigEndian.AppendUint32(dst, typ)
	dst = binary.BigEndian.AppendUint32(dst, uint32(len(payload)))
	return append(dst, payload...)
}

// ParseGW decodes the gwsocket message at the start of buf, the bytes read
// so far from the process. It returns the message and n, the number of
// bytes it takes up; n is 0 with a nil error when buf does not yet hold a
// whole message, so the caller reads more, appends, and calls again.
//
// The header is checked as soon as its 12 bytes are there, before the
// payload arrives: a type other than GWText and GWBinary is ErrGWType, and
// a length above maxLen (inclusive limit; a negative maxLen refuses every
// message) is ErrGWTooLarge, so the caller never buffers more than
// GWHeaderLen+maxLen bytes. Errors wrap the sentinels with the offending
// value and return n == 0.
//
// ParseGW does not allocate on success: the payload is a sub-slice of buf,
// with its capacity cut at its end so that appending to it cannot overwrite
// the next message.
func ParseGW(buf []byte, maxLen int) (msg GWMessage, n int, err error) {
	if len(buf) < GWHeaderLen {
		return GWMessage{}, 0, nil
	}
	id := binary.BigEndian.Uint32(buf[0:4])
	typ := binary.BigEndian.Uint32(buf[4:8])
	size := binary.BigEndian.Uint32(buf[8:12])
	if typ != GWText && typ != GWBinary {
		return GWMessage{}, 0, fmt.Errorf("%w: %d", ErrGWType, typ)
	}
	// Compared in 64 bits so that neither a 32-bit int nor a negative
	// maxLen can wrap.
	if int64(size) > int64(maxLen) {
		return GWMessage{}, 0, fmt.Errorf("%w: %d bytes, limit %d", ErrGWTooLarge, size, maxLen)
	}
	end := uint64(GWHeaderLen) + uint64(size)
	if uint64(len(buf)) < end {
		return GWMessage{}, 0, nil
	}
	n = int(end)
	return GWMessage{ID: id, Type: typ, Payload: buf[GWHeaderLen:n:n]}, n, nil
}
