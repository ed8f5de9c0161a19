package cluster

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// The wire format of the messages between an owner node and its relays.
// Both directions start with an op byte and a sequence number, so that a
// message lost by core NATS is noticed as a gap rather than skipped over.
//
// Owner to relay, on the relay's own subject:
//
//	op(1) epoch(8) seq(8) body
//
// where the body of opData is items, each flags(1) to(4) len(4) payload;
// of opClose, code(2) reason; of opBeat, nothing. An item too large for
// one NATS message is sent in parts, each but the last flagged flagMore.
//
// Relay to owner, on the owner's input subject:
//
//	op(1) link(4) seq(8) body
//
// where the body of opInput is framed input for the process, or its last
// part after opInputPart ones; of opJoin and opLeave, a client ID(4); of
// opPing and opDetach, nothing.
const (
	opData byte = 1 + iota
	opBeat
	opClose
	opJoin
	opInput
	opLeave
	opPing
	opDetach
	opInputPart
)

const (
	outHeaderLen = 1 + 8 + 8
	inHeaderLen  = 1 + 4 + 8
	itemHeader   = 1 + 4 + 4
	flagBinary   = 1
	flagMore     = 2
)

// errMalformed is what a message that cannot be parsed gives.
var errMalformed = errors.New("malformed cluster message")

// outHeader is the head of a message from the owner.
type outHeader struct {
	op    byte
	epoch uint64
	seq   uint64
}

func appendOutHeader(dst []byte, h outHeader) []byte {
	dst = append(dst, h.op)
	dst = binary.BigEndian.AppendUint64(dst, h.epoch)
	return binary.BigEndian.AppendUint64(dst, h.seq)
}

// parseOut splits a message from the owner into its header and body.
func parseOut(msg []byte) (outHeader, []byte, error) {
	if len(msg) < outHeaderLen {
		return outHeader{}, nil, fmt.Errorf("%w: %d bytes", errMalformed, len(msg))
	}
	h := outHeader{
		op:    msg[0],
		epoch: binary.BigEndian.Uint64(msg[1:]),
		seq:   binary.BigEndian.Uint64(msg[9:]),
	}
	if h.op != opData && h.op != opBeat && h.op != opClose {
		return outHeader{}, nil, fmt.Errorf("%w: op %d from owner", errMalformed, h.op)
	}
	return h, msg[outHeaderLen:], nil
}

// item is one output item of an opData body, or a part of one when more
// is set.
type item struct {
	binary bool
	more   bool
	to     uint32
	data   []byte
}

func appendItem(dst []byte, it item) []byte {
	var flags byte
	if it.binary {
		flags = flagBinary
	}
	if it.more {
		flags |= flagMore
	}
	dst = append(dst, flags)
	dst = binary.BigEndian.AppendUint32(dst, it.to)
	dst = binary.BigEndian.AppendUint32(dst, uint32(len(it.data)))
	return append(dst, it.data...)
}

// parseItems calls fn for each item of an opData body; the items' data
// alias body. A body that does not parse to the end is an error, and fn
// has then seen none of it.
func parseItems(body []byte, fn func(item)) error {
	for rest := body; len(rest) > 0; {
		if len(rest) < itemHeader {
			return fmt.Errorf("%w: truncated item header", errMalformed)
		}
		if rest[0]&^(flagBinary|flagMore) != 0 {
			return fmt.Errorf("%w: unknown item flags %#x", errMalformed, rest[0])
		}
		n := binary.BigEndian.Uint32(rest[5:])
		if uint64(n) > uint64(len(rest)-itemHeader) {
			return fmt.Errorf("%w: item of %d bytes in %d", errMalformed, n, len(rest)-itemHeader)
		}
		rest = rest[itemHeader+int(n):]
	}
	for len(body) > 0 {
		n := int(binary.BigEndian.Uint32(body[5:]))
		fn(item{
			binary: body[0]&flagBinary != 0,
			more:   body[0]&flagMore != 0,
			to:     binary.BigEndian.Uint32(body[1:]),
			data:   body[itemHeader : itemHeader+n],
		})
		body = body[itemHeader+n:]
	}
	return nil
}

func appendClose(dst []byte, code int, reason string) []byte {
	dst = binary.BigEndian.AppendUint16(dst, uint16(code))
	return append(dst, reason...)
}

// parseClose reads an opClose body. A code outside the range clients may
// be sent (RFC 6455 §7.4) becomes 1011.
func parseClose(body []byte) (code int, reason string, err error) {
	if len(body) < 2 {
		return 0, "", fmt.Errorf("%w: close without a code", errMalformed)
	}
	code = int(binary.BigEndian.Uint16(body))
	if code < 1000 || code >= 5000 || code == 1005 || code == 1006 || code == 1015 {
		code = 1011
	}
	return code, string(body[2:]), nil
}

// inHeader is the head of a message from a relay.
type inHeader struct {
	op   byte
	link uint32
	seq  uint64
}

func appendInHeader(dst []byte, h inHeader) []byte {
	dst = append(dst, h.op)
	dst = binary.BigEndian.AppendUint32(dst, h.link)
	return binary.BigEndian.AppendUint64(dst, h.seq)
}

// parseIn splits a message from a relay into its header and body, and
// checks that a join or leave carries a client ID.
func parseIn(msg []byte) (inHeader, []byte, error) {
	if len(msg) < inHeaderLen {
		return inHeader{}, nil, fmt.Errorf("%w: %d bytes", errMalformed, len(msg))
	}
	h := inHeader{
		op:   msg[0],
		link: binary.BigEndian.Uint32(msg[1:]),
		seq:  binary.BigEndian.Uint64(msg[5:]),
	}
	body := msg[inHeaderLen:]
	switch h.op {
	case opJoin, opLeave:
		if len(body) != 4 {
			return inHeader{}, nil, fmt.Errorf("%w: client ID of %d bytes", errMalformed, len(body))
		}
	case opInput, opInputPart, opPing, opDetach:
	default:
		return inHeader{}, nil, fmt.Errorf("%w: op %d from relay", errMalformed, h.op)
	}
	return h, body, nil
}

func clientID(body []byte) uint32 { return binary.BigEndian.Uint32(body) }
