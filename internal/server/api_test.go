package server_test

import (
	"encoding/json"
	"net/http"
	"testing"
)

// getJSON fetches path and decodes its JSON body into v, checking the
// status and the content type.
func (s *testServer) getJSON(t *testing.T, path string, wantStatus int, v any) {
	t.Helper()
	resp, body := s.do(t, s.request(t, http.MethodGet, path))
	if resp.StatusCode != wantStatus {
		t.Fatalf("GET %s: %d %q, want %d", path, resp.StatusCode, body, wantStatus)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Fatalf("GET %s: Content-Type %q, want application/json", path, ct)
	}
	if err := json.Unmarshal([]byte(body), v); err != nil {
		t.Fatalf("GET %s: %q is not the JSON expected: %v", path, body, err)
	}
}

// lobbyEntry is a room as the lobby API lists it.
type lobbyEntry struct {
	Name        string          `json:"name"`
	Connections int             `json:"connections"`
	Metadata    json.RawMessage `json:"metadata"`
	// Node is the node that runs the room, in a cluster.
	Node string `json:"node"`
}

// lobby returns the room list as a map by name.
func (s *testServer) lobby(t *testing.T) map[string]lobbyEntry {
	t.Helper()
	var list []lobbyEntry
	s.getJSON(t, "/api/rooms/", http.StatusOK, &list)
	rooms := make(map[string]lobbyEntry, len(list))
	for _, r := range list {
		rooms[r.Name] = r
	}
	return rooms
}

func TestLobbyRoomsComeAndGo(t *testing.T) {
	t.Parallel()
	s := startServer(t, "--api", "--frame=json", "testdata/chat.sh")
	if rooms := s.lobby(t); len(rooms) != 0 {
		t.Fatalf("lobby before any client: %v, want none", rooms)
	}

	a := s.dial(t, "lobby")
	// A room name is percent-decoded in the API as in the WebSocket URL.
	spaced := s.dial(t, "my%20room")
	waitFor(t, "both rooms in the lobby", func() bool {
		rooms := s.lobby(t)
		return len(rooms) == 2 && rooms["lobby"].Connections == 1 && rooms["my room"].Connections == 1
	})
	var one lobbyEntry
	s.getJSON(t, "/api/my%20room/", http.StatusOK, &one)
	if one.Name != "my room" || one.Connections != 1 || string(one.Metadata) != "null" {
		t.Fatalf("GET /api/my%%20room/: %+v, want my room with 1 connection and null metadata", one)
	}

	b := s.dial(t, "lobby")
	waitFor(t, "two connections in lobby", func() bool {
		var n int
		s.getJSON(t, "/api/lobby/connections", http.StatusOK, &n)
		return n == 2
	})
	var meta json.RawMessage
	s.getJSON(t, "/api/lobby/metadata", http.StatusOK, &meta)
	if string(meta) != "null" {
		t.Fatalf("metadata before any _meta: %s, want null", meta)
	}
	// chat.sh answers {"meta":…} with {"_meta":true,"players":2}.
	a.send(`{"meta":1}`)
	waitFor(t, "metadata from _meta", func() bool {
		s.getJSON(t, "/api/lobby/metadata", http.StatusOK, &meta)
		return string(meta) == `{"players":2}`
	})
	s.getJSON(t, "/api/lobby", http.StatusOK, &one)
	if one.Name != "lobby" || one.Connections != 2 || string(one.Metadata) != `{"players":2}` {
		t.Fatalf("GET /api/lobby: %+v", one)
	}

	a.close()
	b.close()
	waitFor(t, "lobby to leave the list", func() bool {
		_, ok := s.lobby(t)["lobby"]
		return !ok
	})
	var e struct{ Error string }
	s.getJSON(t, "/api/lobby/", http.StatusNotFound, &e)
	if e.Error == "" {
		t.Fatalf("GET /api/lobby/ after the room ended: no error message")
	}
	if _, ok := s.lobby(t)["my room"]; !ok {
		t.Fatalf("my room left the lobby with its client still there")
	}
	spaced.close()
}

func TestLobbyDropsARoomWhoseProcessExits(t *testing.T) {
	t.Parallel()
	s := startServer(t, "--api", "testdata/exit.sh")
	c := s.dial(t, "brief?status=0")
	waitFor(t, "the room in the lobby", func() bool { return s.lobby(t)["brief"].Connections == 1 })
	c.send("bye")
	c.expect("last words: bye")
	c.expectClose(1000, "")
	waitFor(t, "the room to leave the lobby", func() bool { return len(s.lobby(t)) == 0 })
}

func TestLobbyErrors(t *testing.T) {
	t.Parallel()
	s := startServer(t, "--api", "testdata/echo.sh")
	c := s.dial(t, "here")
	waitFor(t, "the room in the lobby", func() bool { return len(s.lobby(t)) == 1 })

	for _, c := range []struct {
		path   string
		status int
	}{
		{"/api/nowhere/", http.StatusNotFound},
		{"/api/nowhere/connections", http.StatusNotFound},
		{"/api/nowhere/metadata", http.StatusNotFound},
		{"/api/here/other", http.StatusNotFound},
		{"/api/here/connections/more", http.StatusNotFound},
		{"/api/", http.StatusNotFound},
		{"/api", http.StatusNotFound},
	} {
		var e map[string]string
		s.getJSON(t, c.path, c.status, &e)
		if len(e) != 1 || e["error"] == "" || len(e["error"]) > 40 {
			t.Errorf("GET %s: body %v, want a short {\"error\": …}", c.path, e)
		}
	}

	for _, method := range []string{http.MethodPost, http.MethodDelete} {
		resp, body := s.do(t, s.request(t, method, "/api/rooms/"))
		if resp.StatusCode != http.StatusMethodNotAllowed || resp.Header.Get("Allow") != "GET, HEAD" {
			t.Errorf("%s /api/rooms/: %d Allow %q, want 405 with GET, HEAD", method, resp.StatusCode, resp.Header.Get("Allow"))
		}
		var e map[string]string
		if err := json.Unmarshal([]byte(body), &e); err != nil || e["error"] == "" {
			t.Errorf("%s /api/rooms/: body %q, want a JSON error", method, body)
		}
	}
	resp, body := s.do(t, s.request(t, http.MethodHead, "/api/here/connections"))
	if resp.StatusCode != http.StatusOK || body != "" || resp.Header.Get("Content-Type") != "application/json" {
		t.Errorf("HEAD /api/here/connections: %d %q %q, want 200, JSON type, no body", resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
	c.close()

	if status, _ := startServer(t, "testdata/echo.sh").get(t, http.MethodGet, "/api/rooms/"); status != http.StatusNotFound {
		t.Errorf("GET /api/rooms/ without --api: %d, want 404", status)
	}
}
