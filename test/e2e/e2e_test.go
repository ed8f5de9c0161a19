// Package e2e tests the built scalesocket binary as a user runs it: from
// the command line, with real processes, curl and WebSocket clients, and
// signals.
package e2e

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/scalesocket/scalesocket-go/internal/testcert"
)

// timeout bounds every wait; CI has two shared cores.
const timeout = 20 * time.Second

// binary is the scalesocket binary built by TestMain.
var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "scalesocket-e2e")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "scalesocket")
	build := exec.Command("go", "build", "-race", "-o", binary, "../../cmd/scalesocket")
	build.Stdout, build.Stderr = os.Stdout, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build scalesocket:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// server is a running scalesocket binary.
type server struct {
	t    *testing.T
	cmd  *exec.Cmd
	addr string
	// log collects stderr after the listening line.
	log    chan string
	exited chan error
}

var listeningRE = regexp.MustCompile(`msg=listening addr=(\S+)`)

// start runs the binary with args on a free loopback port and waits until
// it says where it listens.
func start(t *testing.T, args ...string) *server {
	t.Helper()
	cmd := exec.Command(binary, append([]string{"--addr", "127.0.0.1:0"}, args...)...)
	cmd.Dir = "testdata"
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	s := &server{t: t, cmd: cmd, log: make(chan string, 1000), exited: make(chan error, 1)}
	lines := bufio.NewScanner(stderr)
	addr := make(chan string, 1)
	go func() {
		defer close(s.log)
		for lines.Scan() {
			if m := listeningRE.FindStringSubmatch(lines.Text()); m != nil {
				addr <- m[1]
			}
			select {
			case s.log <- lines.Text():
			default: // the test reads the log only when it fails
			}
		}
	}()
	go func() { s.exited <- cmd.Wait() }()
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Signal(syscall.SIGTERM)
			s.wait()
		}
	})
	select {
	case s.addr = <-addr:
	case <-time.After(timeout):
		t.Fatalf("server did not start listening")
	}
	return s
}

// wait waits for the server to exit and returns its exit status.
func (s *server) wait() int {
	s.t.Helper()
	select {
	case <-s.exited:
		return s.cmd.ProcessState.ExitCode()
	case <-time.After(timeout):
		s.cmd.Process.Kill()
		s.t.Fatalf("server did not exit")
		return -1
	}
}

func (s *server) dial(room string) *websocket.Conn {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	c, _, err := websocket.Dial(ctx, "ws://"+s.addr+"/"+room, nil)
	if err != nil {
		s.t.Fatalf("dial %s: %v", room, err)
	}
	s.t.Cleanup(func() { c.CloseNow() })
	return c
}

func read(t *testing.T, c *websocket.Conn) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	_, data, err := c.Read(ctx)
	return string(data), err
}

func gone(pid int) bool { return errors.Is(syscall.Kill(pid, 0), syscall.ESRCH) }

func waitGone(t *testing.T, pids []int) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for _, pid := range pids {
		for pause := time.Millisecond; !gone(pid); pause = min(2*pause, 50*time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("process %d still exists", pid)
			}
			time.Sleep(pause)
		}
	}
}

// familyPIDs reads the PIDs that children.sh prints: its own, a child's
// and a grandchild's.
func familyPIDs(t *testing.T, c *websocket.Conn) []int {
	t.Helper()
	var pids []int
	for len(pids) < 3 {
		line, err := read(t, c)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range strings.Fields(line)[1:] {
			pid, err := strconv.Atoi(f)
			if err != nil {
				t.Fatalf("bad line %q", line)
			}
			pids = append(pids, pid)
		}
	}
	return pids
}

// TestQuickStart runs the Quick Start of the original README: the same
// curl command, including its 13-byte Sec-WebSocket-Key.
func TestQuickStart(t *testing.T) {
	t.Parallel()
	if _, err := exec.LookPath("curl"); err != nil {
		t.Skip("curl is not installed")
	}
	s := start(t, "./example.sh")
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	curl := exec.CommandContext(ctx, "curl", "--include", "--no-buffer", "--http1.1",
		"--header", "Connection: Upgrade",
		"--header", "Upgrade: websocket",
		"--header", "Sec-WebSocket-Key: SGVsbG8sIHdvcmxkIQ==",
		"--header", "Sec-WebSocket-Version: 13",
		"http://"+s.addr+"/exampleroom")
	out, err := curl.Output()
	if err != nil {
		t.Fatalf("curl: %v (the connection must close when the script ends)\n%s", err, out)
	}
	got := string(out)
	for _, want := range []string{
		"HTTP/1.1 101 Switching Protocols",
		// The accept key computed from the short key, as the original does.
		"Sec-Websocket-Accept: ",
		`{"message": "hello world"}`,
		`{"message": "goodbye"}`,
	} {
		if !strings.Contains(strings.ToLower(got), strings.ToLower(want)) {
			t.Errorf("curl output lacks %q:\n%q", want, got)
		}
	}
	if i, j := strings.Index(got, "hello world"), strings.Index(got, "goodbye"); i < 0 || j < i {
		t.Errorf("messages out of order:\n%q", got)
	}
}

func TestUsageErrorsExitWithStatus2(t *testing.T) {
	t.Parallel()
	tests := []struct {
		args []string
		want string
	}{
		{nil, "missing CMD"},
		{[]string{"--nosuchflag", "cat"}, "unknown flag: --nosuchflag"},
		{[]string{"--maxrooms", "zero", "cat"}, "--maxrooms"},
		{[]string{"--json", "--frame", "cat"}, "--json"},
		{[]string{"--null", "--delimiters=;", "cat"}, "--null"},
	}
	for _, tc := range tests {
		cmd := exec.Command(binary, tc.args...)
		var stderr strings.Builder
		cmd.Stderr = &stderr
		err := cmd.Run()
		var exitErr *exec.ExitError
		if !errors.As(err, &exitErr) || exitErr.ExitCode() != 2 {
			t.Errorf("%q: %v, want exit status 2", tc.args, err)
		}
		lines := strings.Split(strings.TrimSpace(stderr.String()), "\n")
		if len(lines) != 2 || !strings.HasPrefix(lines[0], "scalesocket: ") || !strings.Contains(lines[0], tc.want) ||
			!strings.Contains(lines[1], "--help") {
			t.Errorf("%q: stderr %q, want one line naming %q and a usage hint", tc.args, stderr.String(), tc.want)
		}
	}
}

func TestHelpAndVersion(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{{"--help"}, {"-h"}, {"-V"}, {"--version"}} {
		out, err := exec.Command(binary, args...).Output()
		if err != nil {
			t.Errorf("%q: %v", args, err)
		}
		if !strings.Contains(string(out), "scalesocket") {
			t.Errorf("%q printed %q", args, out)
		}
	}
}

// TestREADMEListsEveryFlag keeps the README's flag reference equal to
// --help, so that the two cannot drift.
func TestREADMEListsEveryFlag(t *testing.T) {
	t.Parallel()
	help, err := exec.Command(binary, "--help").Output()
	if err != nil {
		t.Fatal(err)
	}
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(readme), "```text\n"+string(help)+"```") {
		t.Errorf("README.md does not contain the output of scalesocket --help in a ```text block; paste:\n%s", help)
	}
}

// TestSignalsEndEverything sends the server SIGTERM or SIGINT while a room
// runs a process with children: the client is closed with 1001, no process
// is left, and the server exits 0.
func TestSignalsEndEverything(t *testing.T) {
	t.Parallel()
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT} {
		t.Run(sig.String(), func(t *testing.T) {
			t.Parallel()
			s := start(t, "--grace", "500ms", "./children.sh")
			c := s.dial("family")
			pids := familyPIDs(t, c)
			s.cmd.Process.Signal(sig)
			_, err := read(t, c)
			if got := websocket.CloseStatus(err); got != websocket.StatusGoingAway {
				t.Errorf("client closed with %v (%v), want 1001", got, err)
			}
			if code := s.wait(); code != 0 {
				t.Errorf("server exit status %d, want 0", code)
			}
			waitGone(t, pids)
		})
	}
}

// TestVanishedClientEndsItsRoom drops a client's TCP connection without a
// close frame: the room's process group must still be ended.
func TestVanishedClientEndsItsRoom(t *testing.T) {
	t.Parallel()
	s := start(t, "--grace", "500ms", "./children.sh")
	c := s.dial("vanish")
	pids := familyPIDs(t, c)
	c.CloseNow()
	waitGone(t, pids)
}

func TestOneshotServesOneClientThenExits(t *testing.T) {
	t.Parallel()
	s := start(t, "--oneshot", "cat")
	c := s.dial("only")
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	if second, resp, err := websocket.Dial(ctx, "ws://"+s.addr+"/other", nil); err == nil {
		second.CloseNow()
		t.Fatal("a second client was admitted")
	} else if resp == nil || resp.StatusCode != 503 {
		t.Fatalf("second client: %v, want HTTP 503", err)
	}
	if err := c.Write(ctx, websocket.MessageText, []byte("echo")); err != nil {
		t.Fatal(err)
	}
	if got, err := read(t, c); got != "echo" {
		t.Fatalf("got %q, %v", got, err)
	}
	c.Close(websocket.StatusNormalClosure, "")
	if code := s.wait(); code != 0 {
		t.Fatalf("oneshot server exit status %d, want 0", code)
	}
}

// TestLogsAreJSONLines checks --log json: every line of stderr is one JSON
// object with the room and connection where they apply.
func TestLogsAreJSONLines(t *testing.T) {
	t.Parallel()
	cmd := exec.Command(binary, "--addr", "127.0.0.1:0", "--log", "json", "--oneshot", "echo", "--", "hi")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	r := bufio.NewReader(stderr)
	first, err := r.ReadString('\n')
	m := regexp.MustCompile(`"msg":"listening","addr":"([^"]+)"`).FindStringSubmatch(first)
	if err != nil || m == nil {
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatalf("first log line %q, %v", first, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	c, _, err := websocket.Dial(ctx, "ws://"+m[1]+"/r", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	if _, data, err := c.Read(ctx); err != nil || string(data) != "hi" {
		t.Fatalf("got %q, %v", data, err)
	}
	rest, _ := io.ReadAll(r)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("oneshot server: %v", err)
	}
	joined := false
	for _, line := range strings.Split(strings.TrimSpace(string(rest)), "\n") {
		if !strings.HasPrefix(line, "{") || !strings.HasSuffix(line, "}") {
			t.Errorf("not a JSON line: %q", line)
		}
		if strings.Contains(line, `"msg":"client connected"`) && strings.Contains(line, `"room":"r"`) && strings.Contains(line, `"conn":1`) {
			joined = true
		}
	}
	if !joined {
		t.Errorf("no JSON line for the client's connection with room and conn:\n%s", rest)
	}
}

// TestSIGHUPReloadsTheCertificate serves wss from the binary, swaps the
// certificate files, and sends SIGHUP: new connections get the new
// certificate.
func TestSIGHUPReloadsTheCertificate(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	testcert.Write(t, certFile, keyFile, 1)
	s := start(t, "--tlscert", certFile, "--tlskey", keyFile, "cat")
	serial := func() int64 {
		conn, err := tls.Dial("tcp", s.addr, &tls.Config{InsecureSkipVerify: true})
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		return conn.ConnectionState().PeerCertificates[0].SerialNumber.Int64()
	}
	if got := serial(); got != 1 {
		t.Fatalf("serial %d, want 1", got)
	}
	testcert.Write(t, certFile, keyFile, 2)
	s.cmd.Process.Signal(syscall.SIGHUP)
	deadline := time.Now().Add(timeout)
	for serial() != 2 {
		if time.Now().After(deadline) {
			t.Fatal("the new certificate was not served after SIGHUP")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestQuietLogsNoLinePerConnection runs the binary with -q: the listening
// address and the process's stderr are still logged, a client's
// connection and its room's process are not.
func TestQuietLogsNoLinePerConnection(t *testing.T) {
	t.Parallel()
	s := start(t, "-q", "sh", "--", "-c", "echo oops >&2; exec cat")
	c := s.dial("r")
	if err := c.Write(context.Background(), websocket.MessageText, []byte("hi")); err != nil {
		t.Fatal(err)
	}
	if got, err := read(t, c); got != "hi" || err != nil {
		t.Fatalf("echo: %q, %v", got, err)
	}
	c.Close(websocket.StatusNormalClosure, "")
	s.cmd.Process.Signal(syscall.SIGTERM)
	if code := s.wait(); code != 0 {
		t.Fatalf("exit status %d", code)
	}
	var lines []string
	for line := range s.log {
		lines = append(lines, line)
	}
	log := strings.Join(lines, "\n")
	if !strings.Contains(log, "level=INFO msg=listening") {
		t.Errorf("no listening line:\n%s", log)
	}
	if !strings.Contains(log, `level=INFO msg=stderr room=r`) || !strings.Contains(log, "line=oops") {
		t.Errorf("the process's stderr is not logged:\n%s", log)
	}
	for _, quiet := range []string{"client connected", "client disconnected", "process started", "process ended"} {
		if strings.Contains(log, quiet) {
			t.Errorf("-q logged %q:\n%s", quiet, log)
		}
	}
}
