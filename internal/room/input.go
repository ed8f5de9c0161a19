package room

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"time"

	"github.com/scalesocket/scalesocket-go/internal/config"
	"github.com/scalesocket/scalesocket-go/internal/frame"
)

// maxKeptInputBuffer is the largest input buffer a room keeps between
// messages; a larger one, grown for one big message, is let go.
const maxKeptInputBuffer = 64 << 10

// Reasons a client message is dropped instead of reaching the backend.
const (
	DropNotJSON   = "not_json"
	DropNotObject = "not_object"
)

// Input writes one client message to the backend, framed as the client
// direction's framing says (SPEC §4). It blocks while the backend does not
// read, which holds back the client's reader: that is the backpressure of
// SPEC §12. A message that JSON framing refuses is dropped, logged and
// counted, and is not an error of the connection.
func (r *Room) Input(c *Client, binary bool, msg []byte) error {
	if !r.lockInput() {
		return ErrRoomEnded
	}
	defer r.unlockInput()
	buf, err := r.frameInput(r.inBuf[:0], c, binary, msg)
	if err != nil {
		reason := DropNotObject
		if errors.Is(err, frame.ErrNotJSON) {
			reason = DropNotJSON
		}
		r.hub.opts.Observer.MessageDropped(reason)
		r.log.Debug("dropped client message", "conn", c.ID, "reason", reason)
		return nil
	}
	return r.write(c, buf, len(msg))
}

// frameInput appends msg of client c to dst as the backend must receive it.
func (r *Room) frameInput(dst []byte, c *Client, binary bool, msg []byte) ([]byte, error) {
	switch r.hub.opts.ClientFrame {
	case config.FrameJSON:
		stamped, err := frame.StampFrom(msg, c.ID)
		if err != nil {
			return nil, err
		}
		return append(append(dst, stamped...), '\n'), nil
	case config.FrameGWSocket:
		typ := frame.GWText
		if binary {
			typ = frame.GWBinary
		}
		return frame.AppendGW(dst, c.ID, typ, msg), nil
	}
	dst = append(dst, msg...)
	if !r.hub.opts.Binary {
		dst = append(dst, '\n')
	}
	return dst, nil
}

// writeTemplate writes t, expanded for client c, as the client's join or
// leave line. In gwsocket framing the line is a text message from c, so
// that the stream stays parseable.
func (r *Room) writeTemplate(c *Client, t *frame.Template) {
	if t == nil || !r.lockInput() {
		return
	}
	defer r.unlockInput()
	line := t.Expand(nil, frame.TemplateVars{
		ID:          c.ID,
		Room:        r.name,
		RemoteAddr:  c.info.RemoteAddr,
		QueryString: c.info.QueryString,
		// Parsed here rather than kept parsed for the life of every
		// connection; errors are ignored, as url.URL.Query does.
		Query: parseQuery(c.info.QueryString),
	})
	var buf []byte
	if r.hub.opts.ClientFrame == config.FrameGWSocket {
		buf = frame.AppendGW(r.inBuf[:0], c.ID, frame.GWText, line)
	} else {
		buf = append(append(r.inBuf[:0], line...), '\n')
	}
	if err := r.write(c, buf, -1); err != nil {
		// A room that is ending has closed its process's input: that is
		// not worth a warning.
		level := slog.LevelWarn
		if r.isEnding() {
			level = slog.LevelDebug
		}
		r.log.Log(context.Background(), level, "join/leave message not delivered", "conn", c.ID, "err", err)
	}
}

func parseQuery(raw string) url.Values {
	q, _ := url.ParseQuery(raw)
	return q
}

// leaveMessage writes c's leave line. When c is the last client, the room
// ends right after; a process that does not read its stdin must not keep
// it alive, so after the grace period the backend is stopped, which fails
// the blocked write.
func (r *Room) leaveMessage(c *Client) {
	if r.hub.opts.LeaveMsg == nil {
		return
	}
	giveUp := time.AfterFunc(r.hub.opts.Grace, func() {
		if r.hub.lastRef(r) {
			r.mu.Lock()
			b := r.backend
			r.mu.Unlock()
			b.Stop()
		}
	})
	defer giveUp.Stop()
	r.writeTemplate(c, r.hub.opts.LeaveMsg)
}

// write sends buf, holding the input lock, and keeps inBuf for reuse.
// n is the payload size to count, or -1 for join and leave lines.
func (r *Room) write(c *Client, buf []byte, n int) error {
	err := r.backend.Write(buf)
	if cap(buf) <= maxKeptInputBuffer {
		r.inBuf = buf[:0]
	} else {
		r.inBuf = nil
	}
	if err != nil {
		return fmt.Errorf("write to room %q for client %d: %w", r.name, c.ID, err)
	}
	if n >= 0 {
		r.hub.opts.Observer.Message(DirectionIn, n)
	}
	return nil
}

// lockInput takes the input lock, unless the room ends first.
func (r *Room) lockInput() bool {
	select {
	case r.inputSem <- struct{}{}:
		return true
	case <-r.ended:
		return false
	}
}

func (r *Room) unlockInput() { <-r.inputSem }

// isEnding reports whether the room has ended or its backend is being
// stopped because its last client left.
func (r *Room) isEnding() bool {
	select {
	case <-r.ended:
		return true
	default:
		return r.hub.lastRef(r)
	}
}
