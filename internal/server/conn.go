package server

import (
	"context"
	"errors"
	"log/slog"
	"net"

	"github.com/scalesocket/scalesocket-go/internal/room"
	"github.com/scalesocket/scalesocket-go/internal/wsconn"
)

// relay runs the client's writer in a goroutine of its own and its reader
// here, until the connection is gone. The reader hands each message to the
// room and waits while the process does not read, so a slow process slows
// its senders down rather than filling memory.
func (s *Server) relay(log *slog.Logger, conn *wsconn.Conn, rm *room.Room, client *room.Client) {
	readerDone := make(chan struct{})
	writerDone := make(chan struct{})
	go func() {
		defer close(writerDone)
		writeLoop(conn, client, readerDone)
	}()
	// A writer blocked on a peer that stopped reading must still notice
	// when the room drops the client.
	stopAbort := context.AfterFunc(client.Context(), func() {
		if _, _, drain := client.CloseStatus(); drain {
			conn.Abort(drainTimeout)
		} else {
			conn.Abort(abortTimeout)
		}
	})
	defer stopAbort()

	var limit *bucket
	if s.cfg.RateLimit > 0 {
		limit = newBucket(s.cfg.RateLimit)
	}
	cause := conn.Serve(func(binary bool, data []byte) {
		if limit != nil && !limit.take(client.Done()) {
			return
		}
		if err := rm.Input(client, binary, data); err != nil && !errors.Is(err, room.ErrRoomEnded) {
			log.Warn("client message not delivered to process", "err", err)
		}
	})
	rm.Leave(client)
	close(readerDone)
	<-writerDone
	log.Info("client disconnected", "cause", cause.Error())
}

// writeLoop sends the client's queued messages until the room is done with
// it, then closes the connection as the room says; or it stops when the
// reader has seen the connection go.
func writeLoop(conn *wsconn.Conn, c *room.Client, readerDone <-chan struct{}) {
	var batch []*room.Message
	var frames net.Buffers
	for {
		select {
		case <-c.Ready():
			batch = c.Take(batch)
			err := writeAll(conn, batch, &frames)
			batch = keepBatch(batch)
			if err != nil {
				// A write cut short because the room dropped the client
				// still closes with the room's code.
				select {
				case <-c.Done():
					closeAsRoomSays(conn, c, batch, &frames)
				default:
					conn.Close(room.CloseGoingAway, "write failed")
				}
				return
			}
		case <-c.Done():
			closeAsRoomSays(conn, c, batch, &frames)
			return
		case <-readerDone:
			return
		}
	}
}

// keptBatch is the capacity of a batch the writer keeps however little
// it carried; a larger one is kept only while it is a quarter full, so a
// busy client reuses its storage and one that went quiet lets it go.
const keptBatch = 64

func keepBatch(batch []*room.Message) []*room.Message {
	if cap(batch) > keptBatch && len(batch) < cap(batch)/4 {
		return nil
	}
	return batch[:0]
}

// closeAsRoomSays closes the connection of a client the room is done with,
// after sending what is still queued when the room asks for it.
func closeAsRoomSays(conn *wsconn.Conn, c *room.Client, batch []*room.Message, frames *net.Buffers) {
	code, reason, drain := c.CloseStatus()
	if drain {
		_ = writeAll(conn, c.Take(batch), frames)
	}
	conn.Close(code, closeReason(reason))
}

// writeAll sends batch in order, in one vectored write, and lets go of
// the messages. frames is scratch space kept between calls.
func writeAll(conn *wsconn.Conn, batch []*room.Message, frames *net.Buffers) error {
	defer clear(batch)
	bufs := (*frames)[:0]
	for _, m := range batch {
		bufs = append(bufs, m.Frame)
	}
	*frames = bufs
	err := conn.WriteFrames(&bufs)
	clear(*frames)
	return err
}
