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
