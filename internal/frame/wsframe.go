package frame

// WebSocket frames from server to client (RFC 6455 §5.2) are encoded here,
// once per message, so that a broadcast's bytes are shared by every
// recipient and a client's pending frames go out in one vectored write.
// The WebSocket library still does the handshake, reading, control frames
// and closing; the server never compresses, so a data frame is just a
// header and the unmasked payload.

// Opcodes of the data frames the server sends.
const (
	wsText   = 0x1
	wsBinary = 0x2
	wsFin    = 0x80
)

// WSHeaderLen returns the length of the header of an unmasked frame that
// carries n payload bytes.
func WSHeaderLen(n int) int {
	switch {
	case n < 126:
		return 2
	case n < 1<<16:
		return 4
	default:
		return 10
	}
}

// AppendWSFrame appends to dst one final, unmasked text or binary frame
// carrying payload.
func AppendWSFrame(dst []byte, binary bool, payload []byte) []byte {
	op := byte(wsText)
	if binary {
		op = wsBinary
	}
	n := len(payload)
	switch {
	case n < 126:
		dst = append(dst, wsFin|op, byte(n))
	case n < 1<<16:
		dst = append(dst, wsFin|op, 126, byte(n>>8), byte(n))
	default:
		dst = append(dst, wsFin|op, 127,
			byte(uint64(n)>>56), byte(uint64(n)>>48), byte(uint64(n)>>40), byte(uint64(n)>>32),
			byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
	}
	return append(dst, payload...)
}
