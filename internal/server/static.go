package server

import (
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path"
	"strconv"
	"strings"
)

// openStatic opens --staticdir, if given, for serveStatic; closeStatic
// closes it once the server no longer serves requests.
//
// Files are read through an os.Root: every name is resolved below the
// directory and one that leaves it, by ".." or by a symlink, is refused,
// so safety does not rest on cleaning paths correctly. Because of that a
// symlink is followed only if it is relative and stays inside.
func (s *Server) openStatic() error {
	if s.cfg.StaticDir == "" {
		return nil
	}
	root, err := os.OpenRoot(s.cfg.StaticDir)
	if err != nil {
		return fmt.Errorf("open --staticdir: %w", err)
	}
	s.ext.static = root
	return nil
}

func (s *Server) closeStatic() {
	if s.ext.static != nil {
		// Only ever read: a close error cannot lose anything.
		_ = s.ext.static.Close()
	}
}

// serveStatic serves a file under --staticdir to a plain GET or HEAD: the
// file's content with its type, Last-Modified and ETag (so conditional
// GETs get 304, and ranges work, as http.ServeContent gives them), or a
// directory's index.html. There are no directory listings.
func (s *Server) serveStatic(w http.ResponseWriter, r *http.Request) {
	if !allowMethods(w, r, http.MethodGet, http.MethodHead) {
		return
	}
	// r.URL.Path is already percent-decoded once, so "%2e%2e" is ".." here;
	// a double-encoded "%252e%252e" stays a plain name that matches no file.
	// Refusing ".." outright, rather than cleaning it away, keeps a request
	// that tries to climb out from being served some other file instead.
	p := r.URL.Path
	if !strings.HasPrefix(p, "/") || strings.IndexByte(p, 0) >= 0 || hasDotDot(p) {
		plainError(w, http.StatusBadRequest, "invalid path")
		return
	}
	clean := path.Clean(p)
	name := strings.TrimPrefix(clean, "/")
	if name == "" {
		name = "."
	}
	info, err := s.ext.static.Stat(name)
	if err != nil {
		s.staticError(w, r, err)
		return
	}
	// A path that ends in "/" names a directory, served by its index.html,
	// never a file.
	wantDir := strings.HasSuffix(p, "/")
	switch {
	case info.IsDir() && !wantDir:
		// Relative links in the index resolve against the directory only
		// when its URL ends with a slash, as http.FileServer does too.
		redirectToDir(w, r, clean)
		return
	case info.IsDir():
		name = path.Join(name, "index.html")
		if info, err = s.ext.static.Stat(name); err != nil {
			s.staticError(w, r, err)
			return
		}
	case wantDir:
		plainError(w, http.StatusNotFound, "not found")
		return
	}
	// Directories (an index.html that is one) and special files (a FIFO
	// would block the open) are not served.
	if !info.Mode().IsRegular() {
		plainError(w, http.StatusNotFound, "not found")
		return
	}
	f, err := s.ext.static.Open(name)
	if err != nil {
		s.staticError(w, r, err)
		return
	}
	// Read-only: a close error cannot lose anything.
	defer func() { _ = f.Close() }()
	// Stat the open file, not the name, so that the headers describe what
	// is sent even if the file was replaced in between.
	if info, err = f.Stat(); err != nil || !info.Mode().IsRegular() {
		plainError(w, http.StatusNotFound, "not found")
		return
	}
	// net/http gives Last-Modified but no ETag; a weak one from the
	// modification time and size lets If-None-Match give 304 too.
	w.Header().Set("ETag", "W/\""+strconv.FormatInt(info.ModTime().UnixNano(), 36)+"-"+strconv.FormatInt(info.Size(), 36)+"\"")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	http.ServeContent(w, r, info.Name(), info.ModTime(), f)
}

// hasDotDot reports whether p has a ".." segment.
func hasDotDot(p string) bool {
	for seg := range strings.SplitSeq(p, "/") {
		if seg == ".." {
			return true
		}
	}
	return false
}

// redirectToDir sends the client to the directory URL with a slash. The
// target is built from the cleaned path, re-encoded, so it always starts
// with a single "/" and cannot become a redirect to another host
// ("//host" or "/\host").
func redirectToDir(w http.ResponseWriter, r *http.Request, clean string) {
	target := (&url.URL{Path: clean + "/"}).EscapedPath()
	if clean == "/" {
		target = "/"
	}
	if r.URL.RawQuery != "" {
		target += "?" + r.URL.RawQuery
	}
	w.Header().Set("Location", target)
	w.WriteHeader(http.StatusMovedPermanently)
}

// staticError answers a file that cannot be served: 404 when it is
// missing or outside the directory (os.Root refuses an escaping symlink),
// 403 when it may not be read. The body never names the file or the error.
func (s *Server) staticError(w http.ResponseWriter, r *http.Request, err error) {
	if errors.Is(err, fs.ErrPermission) {
		plainError(w, http.StatusForbidden, "forbidden")
		return
	}
	if !errors.Is(err, fs.ErrNotExist) {
		s.log.Debug("static file not served", "path", r.URL.Path, "err", err)
	}
	plainError(w, http.StatusNotFound, "not found")
}
