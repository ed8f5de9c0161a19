package frame

// Output is one item of process output on its way to the room's clients.
type Output struct {
	// Data is the payload, without delimiter or header.
	Data []byte
	// Binary is set when the item must go out as a binary frame: in binary
	// mode, for gwsocket type 2, and for text that is not valid UTF-8.
	Binary bool
	// To is the client a gwsocket header addresses; 0 means every client.
	To uint32
}
