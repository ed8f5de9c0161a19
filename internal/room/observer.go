package room

// Observer receives what happens in rooms, for metrics. Its methods are
// called on hot paths and from many goroutines: they must be cheap and safe
// for concurrent use.
type Observer interface {
	// RoomOpened is called when a room's backend has started. The returned
	// RoomObserver is used for that room, and only that room, until its
	// Closed.
	RoomOpened(room string) RoomObserver
	// ProcessEnded counts how a backend ended: "exited", "signaled" or
	// "failed_to_start".
	ProcessEnded(outcome string)
	// Message counts one message and its payload bytes in a direction:
	// "in" (client to process) or "out" (process to clients, once however
	// many clients receive it).
	Message(direction string, bytes int)
	// MessageDropped counts a message that was not delivered, by reason.
	MessageDropped(reason string)
	// SlowConsumer counts a client closed for not keeping up.
	SlowConsumer()
}

// RoomObserver receives the events of one room.
type RoomObserver interface {
	ClientJoined()
	ClientLeft()
	// Closed is called once when the room ends, before a room of the same
	// name can open, so per-room series can be removed safely.
	Closed()
}

// Outcomes of a backend, for Observer.ProcessEnded.
const (
	OutcomeExited        = "exited"
	OutcomeSignaled      = "signaled"
	OutcomeFailedToStart = "failed_to_start"
)

// Directions of a message, for Observer.Message.
const (
	DirectionIn  = "in"
	DirectionOut = "out"
)

// nopObserver is the Observer of a hub without metrics.
type nopObserver struct{}

func (nopObserver) RoomOpened(string) RoomObserver { return nopObserver{} }
func (nopObserver) ProcessEnded(string)            {}
func (nopObserver) Message(string, int)            {}
func (nopObserver) MessageDropped(string)          {}
func (nopObserver) SlowConsumer()                  {}
func (nopObserver) ClientJoined()                  {}
func (nopObserver) ClientLeft()                    {}
func (nopObserver) Closed()                        {}
