package e2e

import (
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// get fetches path from the server and returns the response and its body.
func (s *server) get(path string) (*http.Response, string) {
	s.t.Helper()
	client := &http.Client{Timeout: timeout}
	resp, err := client.Get("http://" + s.addr + path)
	if err != nil {
		s.t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		s.t.Fatalf("GET %s: %v", path, err)
	}
	return resp, string(body)
}

// TestMetricsLobbyAndStaticFilesFromTheBinary runs every HTTP endpoint of
// SPEC §9 at once, as the README shows them.
func TestMetricsLobbyAndStaticFilesFromTheBinary(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "index.html"), []byte("<h1>lobby</h1>"), 0o644); err != nil {
		t.Fatal(err)
	}
	s := start(t, "--metrics", "--api", "--staticdir", dir, "cat")
	c := s.dial("friday")
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	if err := c.Write(ctx, websocket.MessageText, []byte("hello")); err != nil {
		t.Fatal(err)
	}
	if msg, err := read(t, c); err != nil || msg != "hello" {
		t.Fatalf("read: %q %v", msg, err)
	}

	resp, body := s.get("/api/rooms/")
	if resp.StatusCode != http.StatusOK || body != `[{"name":"friday","connections":1,"metadata":null}]`+"\n" {
		t.Errorf("GET /api/rooms/: %d %q", resp.StatusCode, body)
	}

	resp, body = s.get("/metrics")
	parser := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := parser.TextToMetricFamilies(strings.NewReader(body))
	if resp.StatusCode != http.StatusOK || err != nil {
		t.Fatalf("GET /metrics: %d, parse: %v", resp.StatusCode, err)
	}
	open := fams["scalesocket_websocket_connections_open"]
	if open == nil || len(open.GetMetric()) != 1 || open.GetMetric()[0].GetGauge().GetValue() != 1 {
		t.Errorf("scalesocket_websocket_connections_open: %v, want friday at 1", open)
	}

	resp, body = s.get("/")
	if resp.StatusCode != http.StatusOK || body != "<h1>lobby</h1>" || resp.Header.Get("Content-Type") != "text/html; charset=utf-8" {
		t.Errorf("GET /: %d %q %q", resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}

	c.Close(websocket.StatusNormalClosure, "")
	deadline := time.Now().Add(timeout)
	for {
		if _, body := s.get("/api/rooms/"); body == "[]\n" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the room stayed in the lobby after its client left")
		}
		time.Sleep(20 * time.Millisecond)
	}
}
