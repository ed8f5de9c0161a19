package server_test

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/coder/websocket"
)

// joinID reads the --json join line of a client and returns its ID.
func joinID(t *testing.T, c *testClient) uint32 {
	t.Helper()
	_, msg := c.read()
	var join struct {
		T    string
		From uint32 `json:"_from"`
	}
	if err := json.Unmarshal([]byte(msg), &join); err != nil || join.T != "Join" || join.From == 0 {
		t.Fatalf("got %q, want a join line", msg)
	}
	return join.From
}

func TestJSONFramingStampsFromAndDropsNonObjects(t *testing.T) {
	t.Parallel()
	s := startServer(t, "--json", "testdata/chat.sh")
	a := s.dial(t, "chat")
	idA := joinID(t, a)
	for _, bad := range []string{"not json", "[1,2]", `"str"`, "42", `{"truncated":`} {
		a.send(bad)
	}
	a.send(`{"text":"hi","_from":999}`)
	a.expect(fmt.Sprintf(`{"text":"hi","_from":%d}`, idA))
	a.send(`  {"text" : "spaced", "n": 12345678901234567890}  `)
	a.expect(fmt.Sprintf(`{"text":"spaced","n":12345678901234567890,"_from":%d}`, idA))
}

func TestJSONRoutingToOneClientOrSome(t *testing.T) {
	t.Parallel()
	s := startServer(t, "--json", "testdata/chat.sh")
	a := s.dial(t, "chat")
	idA := joinID(t, a)
	b := s.dial(t, "chat")
	idB := joinID(t, b)
	if got := joinID(t, a); got != idB {
		t.Fatalf("a saw %d join, want %d", got, idB)
	}
	c := s.dial(t, "chat")
	idC := joinID(t, c)
	joinID(t, a)
	joinID(t, b)

	a.send(`{"private":true}`)
	a.expect(fmt.Sprintf(`{"_to":%d,"secret":"for %d"}`, idA, idA))
	b.send(fmt.Sprintf(`{"both":[%d,%d]}`, idB, idC))
	b.expect(fmt.Sprintf(`{"_to":[%d,%d],"msg":"for two"}`, idB, idC))
	c.expect(fmt.Sprintf(`{"_to":[%d,%d],"msg":"for two"}`, idB, idC))
	// _meta lines are not delivered; the broadcast after them comes first.
	c.send(`{"meta":true}`)
	c.send(`{"text":"everyone"}`)
	want := fmt.Sprintf(`{"text":"everyone","_from":%d}`, idC)
	for _, cl := range []*testClient{a, b, c} {
		cl.expect(want) // a saw neither b's nor c's private lines
	}
}

func TestJoinAndLeaveMessages(t *testing.T) {
	t.Parallel()
	s := startServer(t, "--joinmsg", "join #ID #ROOM #QUERY_NAME [#QUERY_MISSING] #QUERY_STRING", "--leavemsg", "leave #ID #QUERY_NAME", "cat")
	a := s.dial(t, "hall?name=Ann%20%22Q%22&x=1")
	a.expect(`join 1 hall Ann%20%22Q%22 [] name=Ann%20%22Q%22&x=1`)
	b := s.dial(t, "hall?name=b")
	a.expect(`join 2 hall b [] name=b`)
	b.send("last words of b") // the leave line comes after it
	b.close()
	a.expect("last words of b")
	a.expect("leave 2 b")
}

func TestJSONShorthandJoinAndLeave(t *testing.T) {
	t.Parallel()
	s := startServer(t, "--json", "testdata/chat.sh")
	a := s.dial(t, "r")
	idA := joinID(t, a)
	b := s.dial(t, "r")
	idB := joinID(t, a)
	b.close()
	a.expect(fmt.Sprintf(`{"t":"Leave","_from":%d}`, idB))
	if idB != idA+1 {
		t.Errorf("IDs %d then %d, want consecutive", idA, idB)
	}
}

// gwHeader builds a gwsocket strict-mode header.
func gwHeader(id, typ uint32, n int) []byte {
	h := make([]byte, 12)
	binary.BigEndian.PutUint32(h[0:], id)
	binary.BigEndian.PutUint32(h[4:], typ)
	binary.BigEndian.PutUint32(h[8:], uint32(n))
	return h
}

// TestGWSocketRoutesByID runs cat as a gwsocket backend: each client
// message comes back with its sender's header, so it reaches only the
// sender, with its frame type.
func TestGWSocketRoutesByID(t *testing.T) {
	t.Parallel()
	s := startServer(t, "--frame=gwsocket", "cat")
	a := s.dial(t, "gw")
	b := s.dial(t, "gw")
	a.send("for a\nwith a newline")
	a.expect("for a\nwith a newline")
	if err := b.c.Write(t.Context(), websocket.MessageBinary, []byte{0, 1, 2}); err != nil {
		t.Fatal(err)
	}
	if typ, got := b.read(); typ != websocket.MessageBinary || got != "\x00\x01\x02" {
		t.Fatalf("b got %v %q", typ, got)
	}
	a.send("again for a") // a got nothing of b's
	a.expect("again for a")
}

func TestGWSocketBroadcastAndProtocolError(t *testing.T) {
	t.Parallel()
	// The script broadcasts one message (ID 0), then writes a header with
	// type 3, which is a protocol error.
	script := fmt.Sprintf("printf '%s'; printf '%s'; exec cat >/dev/null",
		octal(append(gwHeader(0, 1, 5), "hello"...)), octal(gwHeader(0, 3, 1)))
	s := startServer(t, "--frame=gwsocket", "sh", "--", "-c", script)
	a := s.dial(t, "gw")
	a.expect("hello")
	a.expectClose(websocket.StatusInternalError, "")
	if !strings.Contains(s.logs.String(), "unknown message type") {
		t.Errorf("the protocol error is not logged")
	}
	if status, _ := s.get(t, "GET", "/health"); status != 200 {
		t.Errorf("server unhealthy after a protocol error")
	}
}

// octal writes b as printf escapes.
func octal(b []byte) string {
	var sb strings.Builder
	for _, c := range b {
		fmt.Fprintf(&sb, "\\%03o", c)
	}
	return sb.String()
}

// streamArgs is the command line of the cache replay tests: a process
// that writes the numbers 1 to streamLast once a client says go.
var streamArgs = []string{"--cache=1000", "--sendqueue", "64", "sh", "--", "-c", "read go; seq 1 " + strconv.Itoa(streamLast) + "; exec cat >/dev/null"}

const streamLast = 100000

// TestCacheReplayWhileWriting joins a client while the process is still
// writing a long numbered stream: what it gets, cache then live, must be
// consecutive numbers up to the end, with no gap and no duplicate.
func TestCacheReplayWhileWriting(t *testing.T) {
	t.Parallel()
	s := startServer(t, streamArgs...)
	expectReplayWhileWriting(t, s, s)
}

// expectReplayWhileWriting starts the stream of streamArgs with a client
// of first, and joins a client on second halfway through.
func expectReplayWhileWriting(t *testing.T, first, second *testServer) {
	t.Helper()
	a := first.dial(t, "stream")
	a.send("go")
	for {
		if _, msg := a.read(); msg == "500" {
			break
		}
	}
	b := second.dial(t, "stream")
	_, msg := b.read()
	prev, err := strconv.Atoi(msg)
	if err != nil || prev > streamLast-1000 {
		// The process cannot be done when a joined and read only 500:
		// b's first message must come from a full cache.
		t.Fatalf("late joiner's first message %q, want a cached number", msg)
	}
	for prev < streamLast {
		_, msg := b.read()
		n, err := strconv.Atoi(msg)
		if err != nil || n != prev+1 {
			t.Fatalf("after %d got %q: gap or duplicate", prev, msg)
		}
		prev = n
	}
}

func TestTaggedCacheAndPersistence(t *testing.T) {
	t.Parallel()
	script := `echo '{"_cache":true,"n":1}'; echo '{"n":2}'; echo '{"_cache":true,"n":3}'; echo '{"_cache":true,"n":4}'; echo ready; exec cat >/dev/null`
	s := startServer(t, "--cache=tagged:2", "--cachepersist", "sh", "--", "-c", script)
	a := s.dial(t, "tags")
	for _, want := range []string{`{"_cache":true,"n":1}`, `{"n":2}`, `{"_cache":true,"n":3}`, `{"_cache":true,"n":4}`, "ready"} {
		a.expect(want)
	}
	b := s.dial(t, "tags")
	b.expect(`{"_cache":true,"n":3}`)
	b.expect(`{"_cache":true,"n":4}`)
	a.close()
	b.close()
	// The room ends; with --cachepersist the next one replays the cache
	// before its own process's output.
	waitFor(t, "the room to end", func() bool { return strings.Contains(s.logs.String(), "process ended") })
	c := s.dial(t, "tags")
	c.expect(`{"_cache":true,"n":3}`)
	c.expect(`{"_cache":true,"n":4}`)
	c.expect(`{"_cache":true,"n":1}`)
}
