package server_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/scalesocket/scalesocket-go/internal/config"
	"github.com/scalesocket/scalesocket-go/internal/server"
)

// request returns a plain HTTP request for path on the server.
func (s *testServer) request(t *testing.T, method, path string) *http.Request {
	t.Helper()
	req, err := http.NewRequest(method, "http://"+s.addr+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	return req
}

// do sends req without following redirects and returns the response with
// its body read.
func (s *testServer) do(t *testing.T, req *http.Request) (*http.Response, string) {
	t.Helper()
	client := &http.Client{
		Timeout:       timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: read body: %v", req.Method, req.URL, err)
	}
	return resp, string(body)
}

// rawGet sends target as the request line exactly as given, which Go's
// client would clean or re-encode, and returns the status and body.
func (s *testServer) rawGet(t *testing.T, target string) (int, string) {
	t.Helper()
	conn, err := net.DialTimeout("tcp", s.addr, timeout)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if err := conn.SetDeadline(time.Now().Add(timeout)); err != nil {
		t.Fatal(err)
	}
	if _, err := fmt.Fprintf(conn, "GET %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n", target, s.addr); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("GET %s: %v", target, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: read body: %v", target, err)
	}
	return resp.StatusCode, string(body)
}

// secret is the content of a file beside the static directory, which must
// never be served.
const secret = "the secret outside the static directory"

// staticSite lays out a static directory, a secret file beside it, and
// symlinks from inside to both, and returns the directory.
func staticSite(t *testing.T) string {
	t.Helper()
	base := t.TempDir()
	dir := filepath.Join(base, "public")
	files := map[string]string{
		"index.html":       "<h1>home</h1>",
		"style.css":        "body { color: red }",
		"app.js":           "console.log(1)",
		"data.json":        `{"a":1}`,
		"sub/index.html":   "<h1>sub</h1>",
		"nested/page.html": "<p>page</p>",
		"%2e%2e/odd.txt":   "a file whose name merely looks encoded",
		"../secret.txt":    secret,
	}
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Mkdir(filepath.Join(dir, "empty"), 0o755); err != nil {
		t.Fatal(err)
	}
	links := map[string]string{
		"alias.css": "style.css",                       // inside: served
		"leak.txt":  "../secret.txt",                   // relative, escapes
		"abs.txt":   filepath.Join(base, "secret.txt"), // absolute
		"up":        "..",                              // a directory outside
		"sub/back":  "../../secret.txt",                // escapes from a subdirectory
	}
	for name, target := range links {
		if err := os.Symlink(target, filepath.Join(dir, name)); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestStaticFilesServedWithTheirTypes(t *testing.T) {
	t.Parallel()
	s := startServer(t, "--staticdir", staticSite(t), "testdata/echo.sh")
	for _, c := range []struct{ path, typ, body string }{
		{"/", "text/html; charset=utf-8", "<h1>home</h1>"},
		{"/index.html", "text/html; charset=utf-8", "<h1>home</h1>"},
		{"/style.css", "text/css; charset=utf-8", "body { color: red }"},
		{"/app.js", "text/javascript; charset=utf-8", "console.log(1)"},
		{"/data.json", "application/json", `{"a":1}`},
		{"/sub/", "text/html; charset=utf-8", "<h1>sub</h1>"},
		{"/alias.css", "text/css; charset=utf-8", "body { color: red }"},
		{"/%252e%252e/odd.txt", "text/plain; charset=utf-8", "a file whose name merely looks encoded"},
	} {
		resp, body := s.do(t, s.request(t, http.MethodGet, c.path))
		if resp.StatusCode != http.StatusOK || body != c.body {
			t.Errorf("GET %s: %d %q, want 200 %q", c.path, resp.StatusCode, body, c.body)
			continue
		}
		if got := resp.Header.Get("Content-Type"); got != c.typ {
			t.Errorf("GET %s: Content-Type %q, want %q", c.path, got, c.typ)
		}
	}

	resp, body := s.do(t, s.request(t, http.MethodHead, "/style.css"))
	if resp.StatusCode != http.StatusOK || body != "" || resp.ContentLength != int64(len("body { color: red }")) {
		t.Errorf("HEAD /style.css: %d, length %d, body %q; want 200, the file's length, no body", resp.StatusCode, resp.ContentLength, body)
	}

	resp, _ = s.do(t, s.request(t, http.MethodGet, "/sub?x=1"))
	if resp.StatusCode != http.StatusMovedPermanently || resp.Header.Get("Location") != "/sub/?x=1" {
		t.Errorf("GET /sub: %d Location %q, want 301 to /sub/?x=1", resp.StatusCode, resp.Header.Get("Location"))
	}

	// Upgrades still reach rooms, whatever files there are.
	c := s.dial(t, "index.html")
	c.send("still a room")
	for {
		if _, msg := c.read(); msg == "still a room" {
			break
		}
	}
}

func TestStaticMissingFilesAndDirectoriesWithoutIndex(t *testing.T) {
	t.Parallel()
	s := startServer(t, "--staticdir", staticSite(t), "testdata/echo.sh")
	for _, path := range []string{"/missing.html", "/sub/missing.css", "/empty/", "/nested/", "/style.css/", "/index.html/", "/sub/index.html/"} {
		resp, body := s.do(t, s.request(t, http.MethodGet, path))
		if resp.StatusCode != http.StatusNotFound {
			t.Errorf("GET %s: %d, want 404", path, resp.StatusCode)
		}
		if strings.Contains(body, "page.html") || strings.Contains(body, "/tmp") || len(body) > 64 {
			t.Errorf("GET %s: body %q lists files or shows internals", path, body)
		}
	}
}

// TestStaticNeverServesOutsideTheDirectory sends each request line exactly
// as written, so that nothing cleans it before the server sees it.
func TestStaticNeverServesOutsideTheDirectory(t *testing.T) {
	t.Parallel()
	s := startServer(t, "--staticdir", staticSite(t), "testdata/echo.sh")
	for _, target := range []string{
		"/../secret.txt",
		"/sub/../../secret.txt",
		"/%2e%2e/secret.txt",
		"/%2E%2E/secret.txt",
		"/.%2e/secret.txt",
		"/sub/..%2f..%2fsecret.txt",
		"/%252e%252e/secret.txt",
		"/%252e%252e%252fsecret.txt",
		"/leak.txt",
		"/abs.txt",
		"/up/secret.txt",
		"/up/",
		"/sub/back",
		"//secret.txt",
		"/sub/%00/../secret.txt",
	} {
		status, body := s.rawGet(t, target)
		if status != http.StatusBadRequest && status != http.StatusNotFound {
			t.Errorf("GET %s: status %d, want 400 or 404", target, status)
		}
		if strings.Contains(body, secret) {
			t.Errorf("GET %s served the file outside the directory", target)
		}
	}
}

func TestStaticConditionalGetAndMethods(t *testing.T) {
	t.Parallel()
	s := startServer(t, "--staticdir", staticSite(t), "testdata/echo.sh")
	resp, _ := s.do(t, s.request(t, http.MethodGet, "/style.css"))
	lastModified, etag := resp.Header.Get("Last-Modified"), resp.Header.Get("ETag")
	if lastModified == "" || etag == "" {
		t.Fatalf("GET /style.css: Last-Modified %q, ETag %q; want both", lastModified, etag)
	}
	for header, value := range map[string]string{"If-Modified-Since": lastModified, "If-None-Match": etag} {
		req := s.request(t, http.MethodGet, "/style.css")
		req.Header.Set(header, value)
		resp, body := s.do(t, req)
		if resp.StatusCode != http.StatusNotModified || body != "" {
			t.Errorf("GET with %s: %d %q, want 304 and no body", header, resp.StatusCode, body)
		}
	}
	req := s.request(t, http.MethodGet, "/style.css")
	req.Header.Set("If-None-Match", `W/"other"`)
	if resp, _ := s.do(t, req); resp.StatusCode != http.StatusOK {
		t.Errorf("GET with a stale ETag: %d, want 200", resp.StatusCode)
	}

	for _, method := range []string{http.MethodPost, http.MethodPut, http.MethodDelete} {
		resp, body := s.do(t, s.request(t, method, "/style.css"))
		if resp.StatusCode != http.StatusMethodNotAllowed || resp.Header.Get("Allow") != "GET, HEAD" {
			t.Errorf("%s /style.css: %d Allow %q, want 405 with GET, HEAD", method, resp.StatusCode, resp.Header.Get("Allow"))
		}
		if len(body) > 64 {
			t.Errorf("%s /style.css: long error body %q", method, body)
		}
	}
}

func TestNoStaticFilesWithoutStaticDir(t *testing.T) {
	t.Parallel()
	if status, _ := startServer(t, "testdata/echo.sh").get(t, http.MethodGet, "/index.html"); status != http.StatusNotFound {
		t.Errorf("GET /index.html without --staticdir: %d, want 404", status)
	}
}

func TestMissingStaticDirStopsTheServerAtStart(t *testing.T) {
	t.Parallel()
	cfg, err := config.Parse([]string{"--staticdir", filepath.Join(t.TempDir(), "missing"), "cat"})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	err = server.New(cfg, slog.New(slog.DiscardHandler)).Serve(ctx, ln)
	if err == nil || !strings.Contains(err.Error(), "--staticdir") {
		t.Fatalf("Serve: %v, want an error naming --staticdir", err)
	}
}
