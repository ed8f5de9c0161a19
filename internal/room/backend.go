package room

import "github.com/scalesocket/scalesocket-go/internal/frame"

// Backend is what a room talks to: the wrapped process, over stdio or TCP,
// or (in cluster mode) a relay to a process on another node. It takes input
// items and delivers output items; the room does not know which it is.
type Backend interface {
	// Next returns the next output item. Its Data is owned by the caller.
	// It returns an error (io.EOF when the output simply ended) once no
	// more items will come; Wait then tells how the backend ended.
	Next() (frame.Output, error)
	// Write delivers one input item, already framed, to the process. It
	// blocks while the process is not reading. Calls are serialised by the
	// room.
	Write(p []byte) error
	// Stop ends the backend: input is closed and the process is terminated
	// after a grace period. It returns at once and may be called repeatedly.
	Stop()
	// Wait blocks until the backend has ended.
	Wait() Exit
}

// Exit says how a backend ended.
type Exit struct {
	// Success is true when the process exited by itself with status 0.
	Success bool
	// Signaled is true when the process was killed by a signal.
	Signaled bool
	// Reason describes the end for logs and close frames.
	Reason string
}

// StartRequest is what the first client of a room brings to the start of
// its backend.
type StartRequest struct {
	// Room is the room's name.
	Room string
	// Env builds the environment from the first client's request. It is
	// called only by the Starter, so that clients joining a running room
	// do not pay for an environment nobody uses.
	Env func() []string
	// Reservation is what Options.Reserve gave the room, or nil.
	Reservation Reservation
	// Ended is closed if the room ends while its backend starts (the server
	// shuts down); a start that waits, such as a TCP connect, gives up then.
	Ended <-chan struct{}
}

// Starter starts the backend of a new room.
type Starter func(req StartRequest) (Backend, error)

// Reservation is something a room holds while it lives, such as its TCP
// port; it is released when the room ends.
type Reservation interface {
	Release()
}
