package server

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/scalesocket/scalesocket-go/internal/config"
)

// FuzzStaticPath hands serveStatic any decoded path, bypassing the
// checks of Go's request parser, and checks that a file outside the
// directory is never served and that nothing but 200, 301, 400, 403, 404
// and 304 comes back.
func FuzzStaticPath(f *testing.F) {
	for _, seed := range []string{
		"/", "/index.html", "/sub", "/../secret.txt", "/sub/../../secret.txt",
		"/./../secret.txt", "/leak.txt", "/up/secret.txt", "//secret.txt",
		"/sub/back", "/%2e%2e/secret.txt", "/..\\secret.txt", "/sub/\x00",
	} {
		f.Add(seed)
	}
	base := f.TempDir()
	dir := filepath.Join(base, "public")
	const secret = "outside"
	for name, content := range map[string]string{
		"index.html": "home", "sub/index.html": "sub", "../secret.txt": secret,
	} {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			f.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			f.Fatal(err)
		}
	}
	for name, target := range map[string]string{
		"leak.txt": "../secret.txt", "up": "..", "sub/back": "../../secret.txt",
		"abs.txt": filepath.Join(base, "secret.txt"),
	} {
		if err := os.Symlink(target, filepath.Join(dir, name)); err != nil {
			f.Fatal(err)
		}
	}
	s := &Server{cfg: &config.Config{StaticDir: dir}, log: slog.New(slog.DiscardHandler)}
	if err := s.openStatic(); err != nil {
		f.Fatal(err)
	}
	f.Cleanup(s.closeStatic)

	f.Fuzz(func(t *testing.T, path string) {
		req := httptest.NewRequest(http.MethodGet, "/", nil)
		req.URL.Path = path
		req.URL.RawPath = ""
		rec := httptest.NewRecorder()
		s.serveStatic(rec, req)
		switch rec.Code {
		case http.StatusOK, http.StatusMovedPermanently, http.StatusBadRequest,
			http.StatusForbidden, http.StatusNotFound, http.StatusNotModified:
		default:
			t.Fatalf("path %q: status %d", path, rec.Code)
		}
		if strings.Contains(rec.Body.String(), secret) {
			t.Fatalf("path %q served the file outside the directory", path)
		}
		if loc := rec.Header().Get("Location"); loc != "" && (!strings.HasPrefix(loc, "/") || strings.HasPrefix(loc, "//") || strings.HasPrefix(loc, "/\\")) {
			t.Fatalf("path %q redirects to %q, which could leave the site", path, loc)
		}
	})
}
