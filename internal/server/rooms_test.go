package server_test

import (
	"fmt"
	"net/http"
	"net/url"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/coder/websocket"

	"github.com/scalesocket/scalesocket-go/internal/config"
)

func TestClientsOfARoomShareItsProcess(t *testing.T) {
	t.Parallel()
	s := startServer(t, "testdata/echo.sh")
	a := s.dial(t, "lobby")
	_, pidA := a.read()
	b := s.dial(t, "lobby")
	b.send("hello from b")
	a.expect("hello from b")
	b.expect("hello from b")

	other := s.dial(t, "other")
	_, pidOther := other.read()
	if pidOther == pidA || !strings.HasPrefix(pidOther, "pid ") {
		t.Fatalf("room other got %q, room lobby %q: want two processes", pidOther, pidA)
	}
	other.send("only for other")
	other.expect("only for other")
	a.send("only for lobby")
	a.expect("only for lobby")
	b.expect("only for lobby")
}

func TestConcurrentFirstClientsStartOneProcess(t *testing.T) {
	t.Parallel()
	s := startServer(t, "testdata/shared.sh")
	const n = 8
	clients := make([]*testClient, n)
	var wg sync.WaitGroup
	for i := range clients {
		wg.Go(func() { clients[i] = s.dial(t, "race") })
	}
	wg.Wait()
	pids := map[string]bool{}
	for i, c := range clients {
		c.send("hi " + strconv.Itoa(i))
		for {
			_, msg := c.read()
			pid, text, _ := strings.Cut(msg, " ")
			pids[pid] = true
			if text == "hi "+strconv.Itoa(i) {
				break
			}
		}
	}
	if len(pids) != 1 {
		t.Fatalf("clients saw processes %v, want one", pids)
	}
}

// TestMessagesStayWholeAndInOrder has several clients send at once; every
// client must receive every message whole, and each sender's in order.
func TestMessagesStayWholeAndInOrder(t *testing.T) {
	t.Parallel()
	s := startServer(t, "testdata/echo.sh")
	const senders, perSender = 4, 100
	clients := make([]*testClient, senders)
	for i := range clients {
		clients[i] = s.dial(t, "order")
		// Once its own message comes back, the client has joined, so it
		// sees everything sent after.
		hello := fmt.Sprintf("hello %d", i)
		clients[i].send(hello)
		for _, c := range clients[:i+1] {
			for {
				if _, msg := c.read(); msg == hello {
					break
				}
			}
		}
	}
	long := strings.Repeat("x", 5000) // longer than an atomic pipe write
	var wg sync.WaitGroup
	for i, c := range clients {
		wg.Go(func() {
			for j := range perSender {
				c.send(fmt.Sprintf("%d %d %s", i, j, long))
			}
		})
	}
	for _, c := range clients {
		next := make([]int, senders)
		for range senders * perSender {
			_, msg := c.read()
			var from, seq int
			var rest string
			if _, err := fmt.Sscanf(msg, "%d %d %s", &from, &seq, &rest); err != nil || rest != long {
				t.Fatalf("mangled message %.60q", msg)
			}
			if seq != next[from] {
				t.Fatalf("from sender %d got message %d, want %d", from, seq, next[from])
			}
			next[from]++
		}
	}
	wg.Wait()
}

func TestLastLeaveKillsProcessGroup(t *testing.T) {
	t.Parallel()
	s := startServer(t, "testdata/children.sh")
	c := s.dial(t, "family")
	var pids []int
	for len(pids) < 3 {
		_, msg := c.read()
		for _, f := range strings.Fields(msg)[1:] {
			pid, err := strconv.Atoi(f)
			if err != nil {
				t.Fatalf("bad line %q", msg)
			}
			pids = append(pids, pid)
		}
	}
	c.close()
	for _, pid := range pids {
		waitFor(t, fmt.Sprintf("pid %d to be gone", pid), func() bool { return gone(pid) })
	}
}

func TestProcessIgnoringSIGTERMIsKilledAfterGrace(t *testing.T) {
	t.Parallel()
	s := startServer(t, "--grace", "100ms", "testdata/ignoreterm.sh")
	c := s.dial(t, "stubborn")
	_, msg := c.read()
	pid, err := strconv.Atoi(strings.TrimPrefix(msg, "pid "))
	if err != nil {
		t.Fatalf("bad line %q", msg)
	}
	c.close()
	waitFor(t, "the process to be killed", func() bool { return gone(pid) })
	if !strings.Contains(s.logs.String(), "killing it") {
		t.Errorf("no log line says the process was killed after the grace period")
	}
}

func TestProcessExitClosesClients(t *testing.T) {
	t.Parallel()
	s := startServer(t, "testdata/exit.sh")
	tests := []struct {
		status string
		code   websocket.StatusCode
	}{
		{"0", websocket.StatusNormalClosure},
		{"3", websocket.StatusInternalError},
	}
	for _, tc := range tests {
		room := "exit" + tc.status + "?status=" + tc.status
		a := s.dial(t, room)
		b := s.dial(t, room)
		a.send("bye")
		a.expect("last words: bye")
		b.expect("last words: bye")
		reason := "process exited with status " + tc.status
		a.expectClose(tc.code, reason)
		b.expectClose(tc.code, reason)
		// The room is gone; the next client starts a new process.
		c := s.dial(t, room)
		c.send("again")
		c.expect("last words: again")
		c.expectClose(tc.code, reason)
	}
}

func TestQuickStartDeliversAllOutputThenCloses(t *testing.T) {
	t.Parallel()
	s := startServer(t, "testdata/example.sh")
	c := s.dial(t, "exampleroom")
	c.expect(`{"message": "hello world"}`)
	c.expect(`{"message": "goodbye"}`)
	c.expectClose(websocket.StatusNormalClosure, "process exited with status 0")
}

func TestOutputSplitting(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		args []string
		want []string // "b:" marks a binary frame
	}{
		{"newline", nil, []string{"one", "two", "three;four,five\x00six", "b:bad \377 utf8", "tail without newline"}},
		{"delimiters", []string{"--delimiters=;,"}, []string{"one\r\ntwo\nthree", "four", "b:five\x00six\nbad \377 utf8\ntail without newline"}},
		{"null", []string{"--null"}, []string{"one\r\ntwo\nthree;four,five", "b:six\nbad \377 utf8\ntail without newline"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := startServer(t, append(tc.args, "testdata/split.sh")...)
			c := s.dial(t, "split")
			for _, want := range tc.want {
				typ, got := c.read()
				if strings.HasPrefix(want, "b:") {
					if typ != websocket.MessageBinary || got != want[2:] {
						t.Fatalf("got %v %q, want binary %q", typ, got, want[2:])
					}
				} else if typ != websocket.MessageText || got != want {
					t.Fatalf("got %v %q, want text %q", typ, got, want)
				}
			}
			c.expectClose(websocket.StatusNormalClosure, "")
		})
	}
}

func TestBinaryModeRelaysRawBytes(t *testing.T) {
	t.Parallel()
	s := startServer(t, "-b", "cat")
	c := s.dial(t, "bin")
	msg := []byte{0, 1, 2, 0xff, '\n', 'x'}
	ctx := t.Context()
	if err := c.c.Write(ctx, websocket.MessageBinary, msg); err != nil {
		t.Fatal(err)
	}
	typ, got := c.read()
	if typ != websocket.MessageBinary || got != string(msg) {
		t.Fatalf("got %v %q, want binary %q (no newline added)", typ, got, msg)
	}
}

func TestRoomNames(t *testing.T) {
	t.Parallel()
	s := startServer(t, "--rooms", "allowed,caf\u00e9,a b", "cat")
	refused := []string{
		"",      // empty
		"%ff",   // not UTF-8
		"a%00b", // control character
		"a%2Fb", // slash
		"api", "metrics", "health", "static", "upload", "robots.txt", "favicon.ico",
		"notallowed",
	}
	for _, name := range refused {
		if got := s.refusal(t, name); got != 400 {
			t.Errorf("room %q: status %d, want 400", name, got)
		}
	}
	for _, name := range []string{"allowed", "allowed/", "allowed/more", url.PathEscape("café"), "a%20b"} {
		c := s.dial(t, name)
		c.send("hi")
		c.expect("hi")
		c.close()
	}
}

func TestLongestValidRoomName(t *testing.T) {
	t.Parallel()
	s := startServer(t, "cat")
	c := s.dial(t, strings.Repeat("é", 64)) // 128 bytes
	c.send("fits")
	c.expect("fits")
}

func TestPlainHTTP(t *testing.T) {
	t.Parallel()
	s := startServer(t, "cat")
	tests := []struct {
		method, path string
		status       int
		body         string
	}{
		{"GET", "/health", 200, `{"status":"ok"}`},
		{"HEAD", "/health", 200, ""},
		{"POST", "/health", 405, "method not allowed\n"},
		{"GET", "/someroom", 404, "not found\n"},
		{"GET", "/", 404, "not found\n"},
	}
	for _, tc := range tests {
		status, body := s.get(t, tc.method, tc.path)
		if status != tc.status || body != tc.body {
			t.Errorf("%s %s = %d %q, want %d %q", tc.method, tc.path, status, body, tc.status, tc.body)
		}
	}
}

func TestMaxRooms(t *testing.T) {
	t.Parallel()
	s := startServer(t, "--maxrooms", "1", "cat")
	a := s.dial(t, "a")
	if got := s.refusal(t, "b"); got != 503 {
		t.Fatalf("second room: status %d, want 503", got)
	}
	a2 := s.dial(t, "a") // joining the existing room is still allowed
	a2.send("still here")
	a.expect("still here")
	a.close()
	a2.close()
	waitFor(t, "room a to end and b to be admitted", func() bool { return s.admits(t, "b") })
}

func TestCommandThatCannotStart(t *testing.T) {
	t.Parallel()
	s := startServer(t, "/nonexistent/backend")
	c := s.dial(t, "broken")
	c.expectClose(websocket.StatusInternalError, "")
	if status, _ := s.get(t, "GET", "/health"); status != 200 {
		t.Fatalf("server not healthy after a failed start: %d", status)
	}
	if !strings.Contains(s.logs.String(), "no such file") {
		t.Errorf("the failed start is not logged with its reason")
	}
}

func TestProcessEnvironment(t *testing.T) {
	t.Setenv("SCALESOCKET_TEST_SET", "yes")
	t.Setenv("SCALESOCKET_TEST_LEAK", "no")
	s := startServer(t, "--passenv", "PATH,SCALESOCKET_TEST_SET,SCALESOCKET_TEST_UNSET", "testdata/env.sh")
	header := http.Header{}
	header.Set("Origin", "http://example.com")
	header.Set("User-Agent", "envtest/1.0")
	header.Add("X-Multi", "one")
	header.Add("X-Multi", "two")
	header.Set("Cookie", "secret=1")
	header.Set("Authorization", "Bearer secret")
	header.Set("Proxy", "http://evil.example")
	c := s.dialWith(t, "env?name=a%20b&x=1", header)
	env := c.readEnv()
	delete(env, "PWD") // dash sets it itself
	_, port, _ := strings.Cut(s.addr, ":")
	want := map[string]string{
		"PATH":                       os.Getenv("PATH"),
		"SCALESOCKET_TEST_SET":       "yes",
		"ROOM":                       "env",
		"QUERY_STRING":               "name=a%20b&x=1",
		"REMOTE_ADDR":                "127.0.0.1:" + env["REMOTE_PORT"],
		"REMOTE_HOST":                "127.0.0.1",
		"REMOTE_PORT":                env["REMOTE_PORT"],
		"GATEWAY_INTERFACE":          "CGI/1.1",
		"SERVER_SOFTWARE":            "scalesocket/" + config.Version,
		"SERVER_PROTOCOL":            "HTTP/1.1",
		"SERVER_NAME":                "127.0.0.1",
		"SERVER_PORT":                port,
		"REQUEST_METHOD":             "GET",
		"REQUEST_URI":                "/env?name=a%20b&x=1",
		"SCRIPT_NAME":                "/env",
		"PATH_INFO":                  "",
		"HTTP_HOST":                  s.addr,
		"HTTP_ORIGIN":                "http://example.com",
		"HTTP_USER_AGENT":            "envtest/1.0",
		"HTTP_X_MULTI":               "one, two",
		"HTTP_CONNECTION":            "Upgrade",
		"HTTP_UPGRADE":               "websocket",
		"HTTP_SEC_WEBSOCKET_KEY":     env["HTTP_SEC_WEBSOCKET_KEY"],
		"HTTP_SEC_WEBSOCKET_VERSION": "13",
	}
	// The client library may offer compression and gzip on its own.
	for _, k := range []string{"HTTP_SEC_WEBSOCKET_EXTENSIONS", "HTTP_ACCEPT_ENCODING"} {
		if v, ok := env[k]; ok {
			want[k] = v
		}
	}
	if env["REMOTE_PORT"] == "" || len(env["HTTP_SEC_WEBSOCKET_KEY"]) != 24 {
		t.Errorf("REMOTE_PORT %q, HTTP_SEC_WEBSOCKET_KEY %q", env["REMOTE_PORT"], env["HTTP_SEC_WEBSOCKET_KEY"])
	}
	var extra, missing []string
	for k, v := range env {
		if w, ok := want[k]; !ok {
			extra = append(extra, k)
		} else if w != v {
			t.Errorf("%s=%q, want %q", k, v, w)
		}
	}
	for k := range want {
		if _, ok := env[k]; !ok {
			missing = append(missing, k)
		}
	}
	sort.Strings(extra)
	sort.Strings(missing)
	if len(extra) > 0 || len(missing) > 0 {
		t.Errorf("unexpected variables %v, missing %v", extra, missing)
	}
}

func TestDelayKeepsEarlyOutput(t *testing.T) {
	t.Parallel()
	s := startServer(t, "--delay", "1", "testdata/echo.sh")
	c := s.dial(t, "late")
	if _, msg := c.read(); !strings.HasPrefix(msg, "pid ") {
		t.Fatalf("first message %q, want the process's first line", msg)
	}
}

func TestBadClientMessagesCloseOnlyThatClient(t *testing.T) {
	t.Parallel()
	s := startServer(t, "--maxmsgsize", "10", "cat")
	good := s.dial(t, "room")
	tests := []struct {
		typ  websocket.MessageType
		msg  []byte
		code websocket.StatusCode
	}{
		{websocket.MessageText, []byte("eleven byte"), websocket.StatusMessageTooBig},
		{websocket.MessageText, []byte{'a', 0xff}, websocket.StatusInvalidFramePayloadData},
	}
	for _, tc := range tests {
		bad := s.dial(t, "room")
		if err := bad.c.Write(t.Context(), tc.typ, tc.msg); err != nil {
			t.Fatal(err)
		}
		bad.expectClose(tc.code, "")
	}
	good.send("ten bytes!")
	good.expect("ten bytes!")
}
