package browser

import (
	"encoding/json"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/scalesocket/scalesocket-go/internal/cluster/natstest"
)

// TestClusterChatAcrossNodes runs the chat example on two nodes of a
// cluster, as examples/cluster/run.sh does: people on different nodes
// share one room, its member list and private messages, and the lobby of
// either node shows the room with its owner.
func TestClusterChatAcrossNodes(t *testing.T) {
	t.Parallel()
	needBrowser(t)
	ns := natstest.Start(t)
	node := func(name string) *server {
		return startExample(t, "chat", "127.0.0.1:0", "--cluster", ns.URL(), "--nodename", name, "--api")
	}
	n1, n2 := node("node1"), node("node2")

	ann := joinChat(t, n1, "ann", "general", "Ann")
	bob := joinChat(t, n2, "bob", "general", "Bob")
	ann.waitText("#log", "Bob joined.")
	bob.waitText("#members", "Ann")
	say(bob, "hello from node2")
	say(ann, "hi from node1")
	for _, p := range []*page{ann, bob} {
		p.waitText("#log", "Bob: hello from node2")
		p.waitText("#log", "Ann: hi from node1")
	}
	whisperTo(bob, "Ann")
	say(bob, "psst, across nodes")
	ann.waitText("#log", "Bob → you (private): psst, across nodes")

	// The lobby counts are refreshed at each lease renewal.
	for _, s := range []*server{n1, n2} {
		deadline := time.Now().Add(timeout)
		for {
			lobby, err := lobbyOf(s)
			if err == nil && lobby == "[{general 2 node1}]" {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("lobby of %s: %s %v, want room general on node1 with 2 connections", s.addr, lobby, err)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
}

// lobbyOf returns the rooms of the server's lobby API, as name,
// connections and node.
func lobbyOf(s *server) (string, error) {
	resp, err := http.Get(s.url("/api/rooms/"))
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	var rooms []struct {
		Name        string `json:"name"`
		Connections int    `json:"connections"`
		Node        string `json:"node"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&rooms); err != nil {
		return "", err
	}
	return fmt.Sprint(rooms), nil
}
