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

// ReadyOutput is implemented by a backend that can tell whether an output
// item is ready without waiting for the process. The pump then gathers
// the items that are ready together (a read of many lines) and queues them
// for each client at once, one lock and one wake-up per client for all of
// them, before it waits for more: the writers get larger batches, and
// nothing ready waits for output that is not.
type ReadyOutput interface {
	// TryNext returns the next output item as Next does when one is
	// ready, or the end when it has come; otherwise it returns false at
	// once.
	TryNext() (out frame.Output, ok bool, err error)
}

// Exit says how a backend ended.
type Exit struct {
	// Success is true when the process exited by itself with status 0.
	Success bool
	// Signaled is true when the process was killed by a signal.
	Signaled bool
	// Reason describes the end for logs and close frames.
	Reason string
	// Code, when not 0, is the close code the room's clients get: a relay
	// passes on the one its owner node gave, and a room whose cluster lease
	// is lost gives 1012. When 0 it follows from Success.
	Code int
}

// Relay is implemented by a backend that relays a room whose process runs
// on another node of a cluster. The room tells it who joins and leaves,
// so that the owner node can route "_to", count the room's clients and
// apply --maxclients across the cluster. A relayed room's cache is filled
// from the owner's, so it neither inherits nor keeps one of its own.
type Relay interface {
	// Joined registers a client before its join message is written; an
	// error (ErrMaxClients when the room is full cluster-wide) refuses it.
	Joined(id uint32) error
	// Left unregisters a client after its leave message.
	Left(id uint32)
}

// StartRequest is what the first client of a room brings to the start of
// its backend.
type StartRequest struct {
	// Room is the room's name.
	Room string
	// Self is the room being started, for a backend that also serves
	// other nodes' clients of it.
	Self *Room
	// Link is set when the room starts for another node's clients rather
	// than for a local one: the backend must then run the process here,
	// never relay it elsewhere.
	Link bool
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
