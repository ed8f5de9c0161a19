package server_test

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// TestTCPMode runs the backend of testdata/tcpbackend with --tcp (SPEC §7).
// The backend is built once, here, and its subtests share it.
func TestTCPMode(t *testing.T) {
	t.Parallel()
	bin := filepath.Join(t.TempDir(), "tcpbackend")
	build := exec.Command("go", "build", "-o", bin, "./testdata/tcpbackend")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build the TCP backend: %v\n%s", err, out)
	}

	t.Run("RelaysBothWaysInASharedRoom", func(t *testing.T) {
		t.Parallel()
		s := startServer(t, "--tcp", "--tcpports", portRange(t, 2), bin)
		a := s.dial(t, "lobby")
		pidA, _ := greeting(t, a)
		b := s.dial(t, "lobby")
		b.send("hello from b")
		a.expect("hello from b")
		b.expect("hello from b")
		a.send("hello from a")
		a.expect("hello from a")
		b.expect("hello from a")
		a.close()
		b.close()
		waitFor(t, "the room's process to end", func() bool { return gone(pidA) })
	})

	t.Run("RoomsGetDifferentPortsFromTheRange", func(t *testing.T) {
		t.Parallel()
		ports := portRange(t, 2)
		s := startServer(t, "--tcp", "--tcpports", ports, bin)
		_, portA := greeting(t, s.dial(t, "a"))
		_, portB := greeting(t, s.dial(t, "b"))
		start, end := splitRange(t, ports)
		if portA == portB || portA < start || portA >= end || portB < start || portB >= end {
			t.Fatalf("rooms got ports %d and %d, want two different ones from %s", portA, portB, ports)
		}
	})

	t.Run("EmptyPoolRefusesNewRoomsUntilAPortIsBack", func(t *testing.T) {
		t.Parallel()
		ports := portRange(t, 1)
		s := startServer(t, "--tcp", "--tcpports", ports, bin)
		a := s.dial(t, "a")
		pidA, port := greeting(t, a)
		if got := s.refusal(t, "b"); got != 503 {
			t.Fatalf("second room with one port: status %d, want 503", got)
		}
		if !strings.Contains(s.logs.String(), "reason=tcp_ports") {
			t.Errorf("the refusal is not logged with reason tcp_ports")
		}
		a.close()
		waitFor(t, "room a to end", func() bool { return gone(pidA) })
		var b *testClient
		waitFor(t, "room b to be admitted", func() bool {
			c, _, err := websocket.Dial(t.Context(), s.url("b"), nil)
			if err != nil {
				return false
			}
			t.Cleanup(func() { c.CloseNow() })
			b = &testClient{t: t, c: c}
			return true
		})
		if _, portB := greeting(t, b); portB != port {
			t.Fatalf("room b got port %d, want the one port %d", portB, port)
		}
	})

	t.Run("ProcessThatNeverListensEndsTheRoom", func(t *testing.T) {
		t.Parallel()
		ports := portRange(t, 1)
		s := startServer(t, "--tcp", "--tcpports", ports, "--delay", "1", bin, "--", "never")
		begin := time.Now()
		c := s.dial(t, "deaf")
		start, _ := splitRange(t, ports)
		c.expectClose(websocket.StatusInternalError, fmt.Sprintf("process did not listen on 127.0.0.1:%d within 1s", start))
		// The deadline, then SIGTERM, which the backend does not catch.
		if elapsed := time.Since(begin); elapsed > 4*time.Second {
			t.Errorf("closed after %v, want about 1s", elapsed)
		}
		// The process is reaped before the client is closed.
		if pid := stdoutPID(t, s); !gone(pid) {
			t.Errorf("process %d is still there after its room ended", pid)
		}
		// Its port is back: the next room is not refused.
		again := s.dial(t, "deaf")
		again.expectClose(websocket.StatusInternalError, "")
	})

	t.Run("ShutdownDoesNotWaitForAProcessThatNeverListens", func(t *testing.T) {
		t.Parallel()
		s := startServer(t, "--tcp", "--tcpports", portRange(t, 1), bin, "--", "never")
		s.dial(t, "deaf")
		pid := stdoutPID(t, s)
		begin := time.Now()
		s.stop()
		// Without giving up at shutdown it would take the 10 s connect
		// deadline.
		if elapsed := time.Since(begin); elapsed > 5*time.Second {
			t.Errorf("shutdown took %v", elapsed)
		}
		if !gone(pid) {
			t.Errorf("process %d is still there after shutdown", pid)
		}
	})

	t.Run("LateListenerMissesNothing", func(t *testing.T) {
		t.Parallel()
		s := startServer(t, "--tcp", "--tcpports", portRange(t, 1), bin, "--", "late")
		c := s.dial(t, "late")
		c.send("first")
		greeting(t, c)
		c.expect("first")
	})

	t.Run("ProcessStdoutGoesToTheLog", func(t *testing.T) {
		t.Parallel()
		s := startServer(t, "--tcp", "--tcpports", portRange(t, 1), bin)
		c := s.dial(t, "quiet")
		pid, _ := greeting(t, c)
		c.send("only this")
		c.expect("only this")
		want := fmt.Sprintf("msg=stdout room=quiet pid=%d line=\"stdout of %d\"", pid, pid)
		waitFor(t, "the stdout line in the log", func() bool { return strings.Contains(s.logs.String(), want) })
	})

	t.Run("EnvironmentHasPort", func(t *testing.T) {
		t.Parallel()
		s := startServer(t, "--tcp", "--tcpports", portRange(t, 1), bin, "--", "env")
		c := s.dial(t, "env?x=1")
		_, port := greeting(t, c)
		env := c.readEnv()
		if env["PORT"] != strconv.Itoa(port) || env["ROOM"] != "env" || env["QUERY_STRING"] != "x=1" {
			t.Errorf("PORT=%q ROOM=%q QUERY_STRING=%q, want %d, env, x=1", env["PORT"], env["ROOM"], env["QUERY_STRING"], port)
		}
		// The same variables as over stdio (TestProcessEnvironment checks
		// their values), and PORT.
		cgi := map[string]bool{
			"PATH": true, "PORT": true, "ROOM": true, "QUERY_STRING": true,
			"REMOTE_ADDR": true, "REMOTE_HOST": true, "REMOTE_PORT": true,
			"GATEWAY_INTERFACE": true, "SERVER_SOFTWARE": true, "SERVER_PROTOCOL": true,
			"SERVER_NAME": true, "SERVER_PORT": true, "REQUEST_METHOD": true,
			"REQUEST_URI": true, "SCRIPT_NAME": true, "PATH_INFO": true,
		}
		for k := range env {
			if !cgi[k] && !strings.HasPrefix(k, "HTTP_") {
				t.Errorf("unexpected variable %s", k)
			}
		}
	})
}

// greeting reads the backend's first message, "pid <PID> port <PORT>".
func greeting(t *testing.T, c *testClient) (pid, port int) {
	t.Helper()
	_, msg := c.read()
	if _, err := fmt.Sscanf(msg, "pid %d port %d", &pid, &port); err != nil {
		t.Fatalf("first message %q, want the backend's greeting", msg)
	}
	return pid, port
}

var stdoutLine = regexp.MustCompile(`line="stdout of (\d+)"`)

// stdoutPID waits for the backend's stdout line in the log and returns the
// PID it names.
func stdoutPID(t *testing.T, s *testServer) int {
	t.Helper()
	var m []string
	waitFor(t, "the backend's stdout line in the log", func() bool {
		m = stdoutLine.FindStringSubmatch(s.logs.String())
		return m != nil
	})
	pid, err := strconv.Atoi(m[1])
	if err != nil {
		t.Fatal(err)
	}
	return pid
}

// Ports for the tests' --tcpports are taken from below the usual ephemeral
// range, so that the client connections of other tests cannot take one
// between the pool's check and the backend's listen; each range is handed
// out once, so that tests running in parallel never share a port.
const (
	testPortsLow  = 20000
	testPortsHigh = 32000
)

var testPorts struct {
	mu   sync.Mutex
	next int
}

// portRange returns "START:END", n ports that are free now and that no
// other test of this run is given.
func portRange(t *testing.T, n int) string {
	t.Helper()
	testPorts.mu.Lock()
	defer testPorts.mu.Unlock()
	if testPorts.next == 0 {
		// Spread concurrent runs of the tests over the range.
		testPorts.next = testPortsLow + os.Getpid()%100*100
	}
	for tries := 0; tries < 1000; tries++ {
		start := testPorts.next
		if start+n > testPortsHigh {
			start = testPortsLow
		}
		testPorts.next = start + n
		if allFree(start, start+n) {
			return fmt.Sprintf("%d:%d", start, start+n)
		}
	}
	t.Fatalf("no %d free ports between %d and %d", n, testPortsLow, testPortsHigh)
	return ""
}

func allFree(start, end int) bool {
	for port := start; port < end; port++ {
		ln, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port))
		if err != nil {
			return false
		}
		ln.Close()
	}
	return true
}

func splitRange(t *testing.T, r string) (start, end int) {
	t.Helper()
	if _, err := fmt.Sscanf(r, "%d:%d", &start, &end); err != nil {
		t.Fatal(err)
	}
	return start, end
}
