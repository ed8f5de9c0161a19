package server

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/scalesocket/scalesocket-go/internal/cluster"
	"github.com/scalesocket/scalesocket-go/internal/room"
)

// lobbyRoom is one room as the lobby API shows it (SPEC §9).
type lobbyRoom struct {
	Name        string `json:"name"`
	Connections int    `json:"connections"`
	// Metadata is the room's last "_meta" object, or null.
	Metadata json.RawMessage `json:"metadata"`
	// Node is the node that runs the room's process, in a cluster.
	Node string `json:"node,omitempty"`
}

func newLobbyRoom(info room.Info) lobbyRoom {
	return lobbyRoom{Name: info.Name, Connections: info.Connections, Metadata: validJSON(info.Metadata)}
}

func newClusterLobbyRoom(info cluster.RoomInfo) lobbyRoom {
	return lobbyRoom{Name: info.Name, Connections: info.Connections, Metadata: validJSON(info.Metadata), Node: info.Owner}
}

// validJSON returns meta, or nil if it is not valid JSON. The framing hands
// over valid JSON; should it ever not, the room is still listed, without
// metadata, rather than failing the whole list.
func validJSON(meta []byte) json.RawMessage {
	if len(meta) > 0 && !json.Valid(meta) {
		return nil
	}
	return meta
}

// lobbyRooms lists the live rooms: of the whole cluster in cluster mode.
func (s *Server) lobbyRooms() []lobbyRoom {
	if s.node != nil {
		infos := s.node.Rooms()
		list := make([]lobbyRoom, len(infos))
		for i, info := range infos {
			list[i] = newClusterLobbyRoom(info)
		}
		return list
	}
	infos := s.hub.Rooms()
	list := make([]lobbyRoom, len(infos))
	for i, info := range infos {
		list[i] = newLobbyRoom(info)
	}
	return list
}

// lobbyRoom describes one live room, of the whole cluster in cluster mode.
func (s *Server) lobbyRoom(name string) (lobbyRoom, bool) {
	if s.node != nil {
		info, ok := s.node.Room(name)
		return newClusterLobbyRoom(info), ok
	}
	info, ok := s.hub.Room(name)
	return newLobbyRoom(info), ok
}

// serveAPI answers the lobby API under /api/ with --api:
//
//	/api/rooms/              every live room
//	/api/<room>/             one room
//	/api/<room>/connections  its number of connections
//	/api/<room>/metadata     its metadata, or null
//
// The room is percent-decoded, as in a WebSocket URL. A trailing slash is
// optional everywhere. A room named "rooms" can be read through its
// connections and metadata only, since /api/rooms/ is the list.
func (s *Server) serveAPI(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		jsonError(w, r, http.StatusMethodNotAllowed, "method not allowed")
		return
	}
	segs, ok := apiPath(r.URL.EscapedPath())
	if !ok {
		jsonError(w, r, http.StatusBadRequest, "invalid path encoding")
		return
	}
	switch {
	case len(segs) == 1 && segs[0] == "rooms":
		s.writeJSON(w, r, s.lobbyRooms())
		return
	case len(segs) == 0 || len(segs) > 2 || segs[0] == "":
		jsonError(w, r, http.StatusNotFound, "not found")
		return
	}
	var field string
	if len(segs) == 2 {
		field = segs[1]
		if field != "connections" && field != "metadata" {
			jsonError(w, r, http.StatusNotFound, "not found")
			return
		}
	}
	lr, ok := s.lobbyRoom(segs[0])
	if !ok {
		jsonError(w, r, http.StatusNotFound, "room not found")
		return
	}
	switch field {
	case "connections":
		s.writeJSON(w, r, lr.Connections)
	case "metadata":
		s.writeJSON(w, r, lr.Metadata)
	default:
		s.writeJSON(w, r, lr)
	}
}

// apiPath returns the percent-decoded segments of an escaped path after
// /api/, without one trailing empty segment; ok is false when a segment is
// not valid percent-encoding. Decoding each segment alone keeps an encoded
// "/" (%2F) inside its segment rather than splitting the path there.
func apiPath(escaped string) (segs []string, ok bool) {
	parts := strings.Split(strings.TrimPrefix(escaped, "/"), "/")
	if n := len(parts); n > 1 && parts[n-1] == "" {
		parts = parts[:n-1]
	}
	for i, p := range parts {
		seg, err := url.PathUnescape(p)
		if err != nil {
			return nil, false
		}
		parts[i] = seg
	}
	// The router sent the request here because its decoded path starts
	// with /api; its first raw segment must say so too (not "api%2Fx").
	if len(parts) == 0 || parts[0] != "api" {
		return nil, true
	}
	return parts[1:], true
}

// writeJSON answers 200 with v as JSON (no body for HEAD).
func (s *Server) writeJSON(w http.ResponseWriter, r *http.Request, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		// Only a bug can get here: every value sent is plain data.
		s.log.Error("encode API answer", "path", r.URL.Path, "err", err)
		jsonError(w, r, http.StatusInternalServerError, "internal error")
		return
	}
	writeJSONBody(w, r, http.StatusOK, append(body, '\n'))
}

// jsonError answers status with {"error": msg}.
func jsonError(w http.ResponseWriter, r *http.Request, status int, msg string) {
	// A map of one string always marshals; the error cannot happen.
	body, _ := json.Marshal(map[string]string{"error": msg})
	writeJSONBody(w, r, status, append(body, '\n'))
}

func writeJSONBody(w http.ResponseWriter, r *http.Request, status int, body []byte) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	// The lobby changes from moment to moment: nothing should cache it.
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	if r.Method != http.MethodHead {
		// A write error means the client went away; nothing is left to do.
		_, _ = w.Write(body)
	}
}
