package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/scalesocket/scalesocket-go/internal/testutil"
)

// leaseTTL is the nodes' --leasettl: short, so that the owner's loss is
// noticed quickly, and long enough for two shared cores.
const leaseTTL = "2s"

// lossBound is how long relay clients may wait for their 1012 once the
// owner is gone: the lease, with room to spare. A bound, not a timing
// assertion.
const lossBound = 15 * time.Second

// natsServer is an external nats-server with JetStream, as CI installs it.
type natsServer struct {
	url string
	log testutil.Buffer
}

// startNATS runs $SCALESOCKET_NATS_SERVER on a free loopback port with
// JetStream in a temporary store, and waits until it accepts connections.
// Without the variable the test skips, except under CI=true, where it fails.
func startNATS(t *testing.T) *natsServer {
	t.Helper()
	bin := os.Getenv("SCALESOCKET_NATS_SERVER")
	if bin == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("SCALESOCKET_NATS_SERVER is not set: .ci/run installs nats-server and sets it")
		}
		t.Skip("SCALESOCKET_NATS_SERVER (the path of a nats-server binary) is not set")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	_, port, _ := net.SplitHostPort(addr)

	ns := &natsServer{url: "nats://" + addr}
	cmd := exec.Command(bin, "-js", "-sd", t.TempDir(), "-a", "127.0.0.1", "-p", port)
	cmd.Stdout, cmd.Stderr = &ns.log, &ns.log
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", bin, err)
	}
	exited := make(chan struct{})
	go func() {
		cmd.Wait()
		close(exited)
	}()
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(timeout):
			cmd.Process.Kill()
			<-exited
			t.Errorf("nats-server did not exit on SIGTERM")
		}
	})
	deadline := time.Now().Add(timeout)
	for {
		conn, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			conn.Close()
			return ns
		}
		select {
		case <-exited:
			t.Fatalf("nats-server exited: %v\n%s", cmd.ProcessState, ns.log.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("nats-server does not accept connections on %s: %v\n%s", addr, err, ns.log.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// dumpLogsOnFailure prints the stderr of NATS and of the nodes when the
// test has failed. Registered before the nodes start, it runs after their
// cleanups have stopped them, so it has their last lines too.
func dumpLogsOnFailure(t *testing.T, ns *natsServer, nodes *[]*server) {
	t.Cleanup(func() {
		if !t.Failed() {
			return
		}
		for i, s := range *nodes {
			var lines []string
			for done := false; !done; {
				select {
				case line, ok := <-s.log:
					if !ok {
						done = true
					} else {
						lines = append(lines, line)
					}
				case <-time.After(time.Second):
					done = true
				}
			}
			t.Logf("stderr of node n%d:\n%s", i+1, strings.Join(lines, "\n"))
		}
		t.Logf("output of nats-server:\n%s", ns.log.String())
	})
}

// pidLine is what testdata/pid.sh answers to each line it reads.
type pidLine struct {
	PID int `json:"pid"`
	In  struct {
		T    string `json:"t"`
		M    string `json:"m"`
		From uint32 `json:"_from"`
	} `json:"in"`
}

// await reads from c until a line satisfies ok, and returns it.
func await(t *testing.T, c *websocket.Conn, what string, ok func(pidLine) bool) pidLine {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	for {
		_, data, err := c.Read(ctx)
		if err != nil {
			t.Fatalf("waiting for %s: %v", what, err)
		}
		var line pidLine
		if err := json.Unmarshal(data, &line); err != nil || line.PID == 0 {
			t.Fatalf("waiting for %s: got %q", what, data)
		}
		if ok(line) {
			return line
		}
	}
}

// ownJoin reads the first join line a new client gets: its own.
func ownJoin(t *testing.T, c *websocket.Conn) pidLine {
	t.Helper()
	return await(t, c, "the client's join line", func(l pidLine) bool { return l.In.T == "Join" })
}

// lobbyRoom is one room of /api/rooms/ in a cluster; Node runs its
// process.
type lobbyRoom struct {
	Name        string `json:"name"`
	Connections int    `json:"connections"`
	Node        string `json:"node"`
}

// awaitLobby polls s's /api/rooms/ until ok accepts it; the lobby follows
// the leases, which owners rewrite every third of the lease TTL.
func awaitLobby(t *testing.T, s *server, what string, ok func([]lobbyRoom) bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		_, body := s.get("/api/rooms/")
		var rooms []lobbyRoom
		if err := json.Unmarshal([]byte(body), &rooms); err != nil {
			t.Fatalf("GET /api/rooms/: %q: %v", body, err)
		}
		if ok(rooms) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the lobby of %s does not show %s: %s", s.addr, what, body)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func ownedBy(node string, connections int) func([]lobbyRoom) bool {
	return func(rooms []lobbyRoom) bool {
		return len(rooms) == 1 && rooms[0].Name == "r" && rooms[0].Node == node &&
			(connections == 0 || rooms[0].Connections == connections)
	}
}

// awaitExited waits until pid has ended: no entry in /proc, or a zombie
// that nobody has reaped yet.
func awaitExited(t *testing.T, pid int) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
		if errors.Is(err, fs.ErrNotExist) {
			return
		}
		// The state follows the command name in parentheses.
		if i := bytes.LastIndexByte(stat, ')'); err == nil && i >= 0 && strings.HasPrefix(string(stat[i+1:]), " Z") {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the room's process %d is still running: %q %v", pid, stat, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// rejoin connects to room r on s until the room runs again, and returns
// the client and its join line. Until the dead owner's lease runs out the
// room cannot start, and the client is refused or closed.
func rejoin(t *testing.T, s *server) (*websocket.Conn, pidLine) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		c, _, err := websocket.Dial(ctx, "ws://"+s.addr+"/r", nil)
		if err == nil {
			var data []byte
			_, data, err = c.Read(ctx)
			var line pidLine
			if err == nil && json.Unmarshal(data, &line) == nil && line.In.T == "Join" && line.PID != 0 {
				cancel()
				t.Cleanup(func() { c.CloseNow() })
				return c, line
			}
			if err == nil {
				err = fmt.Errorf("first message %q", data)
			}
			c.CloseNow()
		}
		cancel()
		if time.Now().After(deadline) {
			t.Fatalf("room r did not start again on %s: %v", s.addr, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestClusterOwnerLossRestartsTheRoomOnASurvivor runs three nodes of the
// built binary on an external nats-server: one room's clients on all three
// share one process and hear each other; when the owner node is killed,
// the clients of the others are closed with 1012, its process is gone, and
// the room starts again, with a new process, on a survivor.
func TestClusterOwnerLossRestartsTheRoomOnASurvivor(t *testing.T) {
	t.Parallel()
	ns := startNATS(t)
	var nodes []*server
	dumpLogsOnFailure(t, ns, &nodes)
	for i := range 3 {
		nodes = append(nodes, start(t, "--cluster", ns.url, "--nodename", fmt.Sprintf("n%d", i+1),
			"--leasettl", leaseTTL, "--json", "--api", "./pid.sh"))
	}

	// The first client's node, n1, owns the room; the clients of n2 and
	// n3 are relayed to its process, and every client sees every join.
	var clients []*websocket.Conn
	var ids []uint32
	pid := 0
	for i, s := range nodes {
		c := s.dial("r")
		join := ownJoin(t, c)
		if i == 0 {
			pid = join.PID
			awaitLobby(t, s, "room r owned by n1", ownedBy("n1", 0))
		}
		if join.PID != pid {
			t.Fatalf("the client of n%d is served by process %d, the first by %d", i+1, join.PID, pid)
		}
		for j, other := range clients {
			seen := await(t, other, "a join line", func(l pidLine) bool { return l.In.T == "Join" && l.In.From == join.In.From })
			if seen.PID != pid {
				t.Errorf("the client of n%d saw the join of n%d's from process %d, want %d", j+1, i+1, seen.PID, pid)
			}
		}
		clients = append(clients, c)
		ids = append(ids, join.In.From)
	}
	if ids[0] == ids[1] || ids[1] == ids[2] || ids[0] == ids[2] {
		t.Fatalf("connection IDs %v are not unique in the cluster", ids)
	}

	// Every client's message reaches every client, from the one process.
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	for i, from := range clients {
		msg := fmt.Sprintf("hello from n%d", i+1)
		if err := from.Write(ctx, websocket.MessageText, []byte(`{"m":"`+msg+`"}`)); err != nil {
			t.Fatal(err)
		}
		for j, to := range clients {
			got := await(t, to, strconv.Quote(msg), func(l pidLine) bool { return l.In.M == msg })
			if got.PID != pid || got.In.From != ids[i] {
				t.Errorf("the client of n%d got %q from process %d, sender %d; want process %d, sender %d",
					j+1, msg, got.PID, got.In.From, pid, ids[i])
			}
		}
	}
	for _, s := range nodes {
		awaitLobby(t, s, "room r owned by n1 with 3 connections", ownedBy("n1", 3))
	}

	// The owner dies without a word.
	if err := nodes[0].cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	nodes[0].wait()
	lost, cancelLost := context.WithTimeout(context.Background(), lossBound)
	defer cancelLost()
	for i, c := range clients[1:] {
		var err error
		for err == nil {
			_, _, err = c.Read(lost)
		}
		if got := websocket.CloseStatus(err); got != websocket.StatusServiceRestart {
			t.Errorf("the client of n%d was closed with %d (%v), want 1012", i+2, got, err)
		}
	}
	// The server sets Pdeathsig: the room's process dies with its node.
	awaitExited(t, pid)

	// Once the lease has run out, the room starts again on a survivor.
	c2, join := rejoin(t, nodes[1])
	if join.PID == pid {
		t.Fatalf("the room restarted with the process %d of the dead node", pid)
	}
	awaitLobby(t, nodes[2], "room r owned by n2", ownedBy("n2", 0))
	c3 := nodes[2].dial("r")
	if got := ownJoin(t, c3); got.PID != join.PID {
		t.Fatalf("the client of n3 is served by process %d, the client of n2 by %d", got.PID, join.PID)
	}
	if err := c3.Write(ctx, websocket.MessageText, []byte(`{"m":"back"}`)); err != nil {
		t.Fatal(err)
	}
	if got := await(t, c2, `"back"`, func(l pidLine) bool { return l.In.M == "back" }); got.PID != join.PID {
		t.Errorf("the client of n2 got n3's message from process %d, want %d", got.PID, join.PID)
	}
}
