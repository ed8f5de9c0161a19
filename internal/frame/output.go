package frame

// Output is one item of process output on its way to the room's clients.
type Output struct {
	// Frame is the item encoded once as a WebSocket frame for every
	// recipient; Data is its payload, a sub-slice of Frame.
	Frame []byte
	// Data is the payload, without delimiter or header.
	Data []byte
	// Binary is set when the item must go out as a binary frame: in binary
	// mode, for gwsocket type 2, and for text that is not valid UTF-8.
	Binary bool
	// To is the client a gwsocket header addresses; 0 means every client.
	To uint32
}

// NewOutput copies payload into a new WebSocket frame and returns the
// Output for it: one allocation and one copy per item, whatever the number
// of recipients.
func NewOutput(payload []byte, binary bool, to uint32) Output {
	f := AppendWSFrame(make([]byte, 0, WSHeaderLen(len(payload))+len(payload)), binary, payload)
	return Output{Frame: f, Data: f[len(f)-len(payload):], Binary: binary, To: to}
}

// Blocks of an Arena: frames of up to arenaMaxItem bytes are carved from
// blocks, the first of arenaFirstBlock bytes and each next one twice the
// size of the last, up to arenaBlock, so that a stream that carries little
// holds little; a larger frame gets an allocation of its own.
const (
	arenaFirstBlock = 4 << 10
	arenaBlock      = 32 << 10
	arenaMaxItem    = 2 << 10
)

// Arena builds the Outputs of one output stream. The frames of small
// items are carved one after another from shared blocks, so that a stream
// of short lines costs an allocation per block rather than one per line.
// A block stays in memory while any frame carved from it is queued or
// cached. The zero Arena is ready to use; it is not safe for concurrent
// use.
type Arena struct {
	block []byte
}

// NewOutput is the package's NewOutput, carving the frame from the arena.
func (a *Arena) NewOutput(payload []byte, binary bool, to uint32) Output {
	n := WSHeaderLen(len(payload)) + len(payload)
	if n > arenaMaxItem {
		return NewOutput(payload, binary, to)
	}
	if cap(a.block)-len(a.block) < n {
		a.block = make([]byte, 0, min(max(2*cap(a.block), arenaFirstBlock), arenaBlock))
	}
	start := len(a.block)
	a.block = AppendWSFrame(a.block, binary, payload)
	// Capped at its end, so that no append to the frame can reach the
	// next one.
	f := a.block[start:len(a.block):len(a.block)]
	return Output{Frame: f, Data: f[len(f)-len(payload):], Binary: binary, To: to}
}
