package server_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/coder/websocket"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/scalesocket/scalesocket-go/internal/cluster/natstest"
)

// leaseTTL is the lease of the cluster tests: short, so that a lost
// node is noticed quickly, and long enough for two shared cores.
const leaseTTL = "2s"

// startNode starts one node of a cluster on NATS at natsURL, with the
// cluster's flags before args.
func startNode(t *testing.T, natsURL, name string, args ...string) *testServer {
	t.Helper()
	return startServer(t, append([]string{"--cluster", natsURL, "--nodename", name, "--leasettl", leaseTTL}, args...)...)
}

// pids lists the PIDs that testdata/pidfile.sh processes wrote to dir.
func pids(t *testing.T, dir string) []int {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var list []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			t.Fatalf("unexpected file %s", e.Name())
		}
		list = append(list, pid)
	}
	slices.Sort(list)
	return list
}

// joinID reads a client's own join line and returns its ID.
func (c *testClient) joinID() uint32 {
	c.t.Helper()
	_, line := c.read()
	var join struct {
		T    string `json:"t"`
		From uint32 `json:"_from"`
	}
	if err := json.Unmarshal([]byte(line), &join); err != nil || join.T != "Join" || join.From == 0 {
		c.t.Fatalf("got %q, want a join line", line)
	}
	return join.From
}

// pair connects a client of room r to each of two nodes running an echo,
// and checks that a message of the second reaches both.
func pair(t *testing.T, n1, n2 *testServer) (a, b *testClient) {
	t.Helper()
	a, b = n1.dial(t, "r"), n2.dial(t, "r")
	b.send("ping")
	a.expect("ping")
	b.expect("ping")
	return a, b
}

// lobbyBody returns the server's /api/rooms/ body as it is.
func (s *testServer) lobbyBody(t *testing.T) string {
	t.Helper()
	status, body := s.get(t, "GET", "/api/rooms/")
	if status != 200 {
		t.Fatalf("GET /api/rooms/: %d %s", status, body)
	}
	return strings.TrimSpace(body)
}

// TestClusterRoomAcrossNodes: clients of one room on three nodes share one
// process, see each other's messages, join and leave lines and the cache,
// and get "_to" messages only where the target is; the lobby is the same
// on every node.
func TestClusterRoomAcrossNodes(t *testing.T) {
	ns := natstest.Start(t)
	dir := t.TempDir()
	var nodes []*testServer
	for i := range 3 {
		nodes = append(nodes, startNode(t, ns.URL(), fmt.Sprintf("n%d", i+1), "--json", "--cache", "16", "--api",
			"testdata/pidfile.sh", "--", dir))
	}
	a := nodes[0].dial(t, "r")
	idA := a.joinID()
	join := func(id uint32) string { return fmt.Sprintf(`{"t":"Join","_from":%d}`, id) }
	leave := func(id uint32) string { return fmt.Sprintf(`{"t":"Leave","_from":%d}`, id) }

	// b, on n2, gets the cache first: a's join line, then its own.
	b := nodes[1].dial(t, "r")
	b.expect(join(idA))
	idB := b.joinID()
	a.expect(join(idB))
	c := nodes[2].dial(t, "r")
	c.expect(join(idA))
	c.expect(join(idB))
	idC := c.joinID()
	a.expect(join(idC))
	b.expect(join(idC))
	if idA == idB || idB == idC || idA == idC {
		t.Fatalf("IDs %d %d %d are not unique", idA, idB, idC)
	}

	// Every client's message reaches every client, stamped with its ID.
	for _, from := range []struct {
		c  *testClient
		id uint32
	}{{a, idA}, {b, idB}, {c, idC}} {
		from.c.send(`{"m":"hi"}`)
		want := fmt.Sprintf(`{"m":"hi","_from":%d}`, from.id)
		for _, to := range []*testClient{a, b, c} {
			to.expect(want)
		}
	}

	// A message to b reaches b only; the next broadcast shows the others
	// did not get it.
	c.send(fmt.Sprintf(`{"_to":%d,"m":"dm"}`, idB))
	b.expect(fmt.Sprintf(`{"_to":%d,"m":"dm","_from":%d}`, idB, idC))
	a.send(`{"m":"after"}`)
	after := fmt.Sprintf(`{"m":"after","_from":%d}`, idA)
	for _, to := range []*testClient{a, b, c} {
		to.expect(after)
	}

	if got := pids(t, dir); len(got) != 1 {
		t.Fatalf("room processes %v, want exactly one in the cluster", got)
	}
	pid := pids(t, dir)[0]

	want := `[{"name":"r","connections":3,"metadata":null,"node":"n1"}]`
	for _, n := range nodes {
		var got string
		waitFor(t, "the lobby to show the room on every node", func() bool {
			got = n.lobbyBody(t)
			return got == want
		})
		if got != want {
			t.Fatalf("lobby %s, want %s", got, want)
		}
	}

	c.close()
	a.expect(leave(idC))
	b.expect(leave(idC))
	b.close()
	a.expect(leave(idB))
	a.close()
	waitFor(t, "the room's process to end", func() bool { return gone(pid) })
	for _, n := range nodes {
		waitFor(t, "the lobby to be empty on every node", func() bool { return n.lobbyBody(t) == "[]" })
	}
}

// TestClusterMaxClients: --maxclients counts a room's clients on every
// node.
func TestClusterMaxClients(t *testing.T) {
	ns := natstest.Start(t)
	n1 := startNode(t, ns.URL(), "n1", "--maxclients", "2", "cat")
	n2 := startNode(t, ns.URL(), "n2", "--maxclients", "2", "cat")
	n1.dial(t, "r")
	n2.dial(t, "r")
	if got := n2.refusal(t, "r"); got != 503 {
		t.Fatalf("third client of the room got %d, want 503", got)
	}
	if got := n1.refusal(t, "r"); got != 503 {
		t.Fatalf("third client of the room on the owner got %d, want 503", got)
	}
	n2.dial(t, "other")
}

// TestClusterOwnerShutdown: when the owner node shuts down, the clients
// of other nodes are closed with 1012, and the room starts again on a
// surviving node at their next connection.
func TestClusterOwnerShutdown(t *testing.T) {
	ns := natstest.Start(t)
	dir := t.TempDir()
	n1 := startNode(t, ns.URL(), "n1", "testdata/pidfile.sh", "--", dir)
	n2 := startNode(t, ns.URL(), "n2", "testdata/pidfile.sh", "--", dir)
	a, b := pair(t, n1, n2)
	old := pids(t, dir)
	n1.stop()
	a.expectClose(websocket.StatusGoingAway, "")
	b.expectClose(websocket.StatusCode(1012), "")
	waitFor(t, "the old process to end", func() bool { return gone(old[0]) })

	b2 := n2.dial(t, "r")
	b2.send("again")
	b2.expect("again")
	if got := pids(t, dir); len(got) != 2 {
		t.Fatalf("room processes %v, want the old one and one new", got)
	}
}

// TestClusterOwnerLosesNATS: an owner cut off from NATS stops its room's
// process before its lease runs out, so that when the room starts again
// on another node, the old process is already gone: two processes of the
// room are never both heard.
func TestClusterOwnerLosesNATS(t *testing.T) {
	ns := natstest.Start(t)
	dir := t.TempDir()
	proxy := startProxy(t, ns.URL())
	n1 := startNode(t, proxy.url(), "n1", "testdata/pidfile.sh", "--", dir)
	n2 := startNode(t, ns.URL(), "n2", "testdata/pidfile.sh", "--", dir)
	a, b := pair(t, n1, n2)
	old := pids(t, dir)[0]

	proxy.cut()
	b.expectClose(websocket.StatusCode(1012), "room owner node lost")
	a.expectClose(websocket.StatusCode(1012), "room lease lost")
	// Reconnecting succeeds once the old lease has run out.
	// Until then, a client is refused with 503 before its upgrade: the
	// owner does not answer and its lease still runs.
	var b2 *websocket.Conn
	waitFor(t, "the room to start again on n2", func() bool {
		c, resp, err := websocket.Dial(t.Context(), n2.url("r"), nil)
		if err != nil && (resp == nil || resp.StatusCode != 503) {
			t.Fatalf("dial while the old lease runs: %v (response %v), want 503", err, resp)
		}
		b2 = c
		return err == nil
	})
	defer b2.CloseNow()
	(&testClient{t: t, c: b2}).send("again")
	(&testClient{t: t, c: b2}).expect("again")
	got := pids(t, dir)
	if len(got) != 2 {
		t.Fatalf("room processes %v, want the old one and one new", got)
	}
	if !gone(old) {
		t.Fatalf("the old owner's process %d still runs beside the new one", old)
	}
}

// TestClusterLeastLoaded: with --placement=leastloaded, new rooms go to
// the node with the fewest, wherever their clients connect.
func TestClusterLeastLoaded(t *testing.T) {
	ns := natstest.Start(t)
	var nodes []*testServer
	for i := range 3 {
		nodes = append(nodes, startNode(t, ns.URL(), fmt.Sprintf("n%d", i+1), "--placement", "leastloaded", "--api", "cat"))
	}
	// Each node publishes itself as it starts; rooms are placed once all
	// three are in the nodes bucket.
	nc, err := nats.Connect(ns.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "every node in the nodes bucket", func() bool {
		kv, err := js.KeyValue(t.Context(), "scalesocket_nodes")
		if err != nil {
			return false
		}
		keys, err := kv.Keys(t.Context())
		return err == nil && len(keys) == 3
	})
	want := map[string]bool{}
	for i := range 3 {
		name := fmt.Sprintf("r%d", i)
		c := nodes[0].dial(t, name)
		c.send("x")
		c.expect("x")
		var owner string
		waitFor(t, "the lobby to show "+name, func() bool {
			owner = nodes[0].lobby(t)[name].Node
			return owner != ""
		})
		want[owner] = true
	}
	if len(want) != 3 {
		t.Fatalf("three rooms went to nodes %v, want one on each", want)
	}
}

// proxy forwards TCP connections to a NATS server until cut, which closes
// them all and refuses new ones: a node cut off from NATS.
type proxy struct {
	ln     net.Listener
	target string
	mu     sync.Mutex
	conns  []net.Conn
	wg     sync.WaitGroup
}

func startProxy(t *testing.T, natsURL string) *proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{ln: ln, target: natsURL[len("nats://"):]}
	p.wg.Add(1)
	go p.accept()
	t.Cleanup(p.cut)
	return p
}

func (p *proxy) url() string { return "nats://" + p.ln.Addr().String() }

func (p *proxy) accept() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		s, err := net.Dial("tcp", p.target)
		if err != nil {
			c.Close()
			continue
		}
		p.mu.Lock()
		p.conns = append(p.conns, c, s)
		p.mu.Unlock()
		p.wg.Add(2)
		go p.pipe(c, s)
		go p.pipe(s, c)
	}
}

func (p *proxy) pipe(dst, src net.Conn) {
	defer p.wg.Done()
	io.Copy(dst, src)
	dst.Close()
}

// cut closes the listener and every connection, and waits for the
// proxy's goroutines.
func (p *proxy) cut() {
	p.ln.Close()
	p.mu.Lock()
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
	p.mu.Unlock()
	p.wg.Wait()
}

// TestClusterCacheReplayWhileWriting: a client that joins on a relay node
// while the owner's process writes a long numbered stream gets cache then
// live with no gap and no duplicate, as on one server.
func TestClusterCacheReplayWhileWriting(t *testing.T) {
	ns := natstest.Start(t)
	n1 := startNode(t, ns.URL(), "n1", streamArgs...)
	n2 := startNode(t, ns.URL(), "n2", streamArgs...)
	expectReplayWhileWriting(t, n1, n2)
}

// TestClusterMaxRooms: --maxrooms counts the rooms of every node.
func TestClusterMaxRooms(t *testing.T) {
	ns := natstest.Start(t)
	n1 := startNode(t, ns.URL(), "n1", "--maxrooms", "1", "--api", "cat")
	n2 := startNode(t, ns.URL(), "n2", "--maxrooms", "1", "--api", "cat")
	n1.dial(t, "a")
	waitFor(t, "n2 to see room a", func() bool { return n2.lobby(t)["a"].Node == "n1" })
	if got := n2.refusal(t, "b"); got != 503 {
		t.Fatalf("a second room on another node got %d, want 503", got)
	}
	// Joining the existing room from another node is not a new room.
	n2.dial(t, "a")
}

// TestClusterGWSocketAcrossNodes: with gwsocket framing the header's
// client ID routes a message to the node that holds the client, with its
// frame type.
func TestClusterGWSocketAcrossNodes(t *testing.T) {
	ns := natstest.Start(t)
	n1 := startNode(t, ns.URL(), "n1", "--frame=gwsocket", "cat")
	n2 := startNode(t, ns.URL(), "n2", "--frame=gwsocket", "cat")
	a := n1.dial(t, "gw")
	b := n2.dial(t, "gw")
	if err := b.c.Write(t.Context(), websocket.MessageBinary, []byte{0, 1, 2}); err != nil {
		t.Fatal(err)
	}
	if typ, got := b.read(); typ != websocket.MessageBinary || got != "\x00\x01\x02" {
		t.Fatalf("b got %v %q", typ, got)
	}
	a.send("for a")
	a.expect("for a") // a got nothing of b's
	b.send("for b")
	b.expect("for b") // and b nothing of a's
}

// TestClusterProcessExit: a process that exits by itself has its last
// output delivered on every node, then every client is closed as on one
// server: 1000 for status 0, 1011 otherwise, with the status as reason.
func TestClusterProcessExit(t *testing.T) {
	ns := natstest.Start(t)
	for _, tc := range []struct {
		status string
		code   websocket.StatusCode
	}{{"0", websocket.StatusNormalClosure}, {"3", websocket.StatusInternalError}} {
		script := "read go; echo bye; exit " + tc.status
		n1 := startNode(t, ns.URL(), "n1-"+tc.status, "sh", "--", "-c", script)
		n2 := startNode(t, ns.URL(), "n2-"+tc.status, "sh", "--", "-c", script)
		a := n1.dial(t, "exit"+tc.status)
		b := n2.dial(t, "exit"+tc.status)
		b.send("go")
		for _, c := range []*testClient{a, b} {
			c.expect("bye")
			c.expectClose(tc.code, "process exited with status "+tc.status)
		}
	}
}

// TestClusterMetrics: each node counts what it sends to other nodes, and
// the owner its lease renewals.
func TestClusterMetrics(t *testing.T) {
	ns := natstest.Start(t)
	n1 := startNode(t, ns.URL(), "n1", "--metrics", "cat")
	n2 := startNode(t, ns.URL(), "n2", "--metrics", "cat")
	a, b := pair(t, n1, n2)
	for _, msg := range []string{"one", "two"} {
		b.send(msg)
		a.expect(msg)
		b.expect(msg)
	}
	n2.waitMetrics(t, map[metric]float64{
		counter("cluster_relayed_messages_total", "direction", "to_owner"):   3,
		counter("cluster_relayed_messages_total", "direction", "from_owner"): 0,
		counter("cluster_gaps_total"):                                        0,
		counter("cluster_stale_messages_total"):                              0,
	})
	n1.waitMetrics(t, map[metric]float64{
		counter("cluster_relayed_messages_total", "direction", "to_owner"):   0,
		counter("cluster_relayed_messages_total", "direction", "from_owner"): 3,
		counter("cluster_lease_renewals_total", "result", "failed"):          0,
		counter("cluster_leases_lost_total"):                                 0,
	})
	waitFor(t, "a lease renewal", func() bool {
		v, ok := counter("cluster_lease_renewals_total", "result", "ok").value(n1.scrape(t))
		return ok && v > 0
	})
}

// TestClusterLargeMessages: a message larger than NATS lets one message
// be (1 MiB by default) crosses nodes in parts, both ways.
func TestClusterLargeMessages(t *testing.T) {
	ns := natstest.Start(t)
	n1 := startNode(t, ns.URL(), "n1", "--maxmsgsize", "3000000", "cat")
	n2 := startNode(t, ns.URL(), "n2", "--maxmsgsize", "3000000", "cat")
	a, b := pair(t, n1, n2)
	big := strings.Repeat("0123456789", 250000)
	b.send(big)
	a.expect(big)
	b.expect(big)
	b.send("small")
	a.expect("small")
	b.expect("small")
}
