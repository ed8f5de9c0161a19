// Package logging builds the server's one logger: text or JSON lines on
// stderr, at info level, or debug and trace with -v and -vv.
package logging

import (
	"io"
	"log/slog"
)

// LevelTrace is below debug: every message and frame.
const LevelTrace = slog.LevelDebug - 4

// New returns a logger writing format ("text" or "json") to w, at the
// level that verbosity (the number of -v flags) selects.
func New(w io.Writer, format string, verbosity int) *slog.Logger {
	level := slog.LevelInfo
	switch {
	case verbosity == 1:
		level = slog.LevelDebug
	case verbosity >= 2:
		level = LevelTrace
	}
	opts := &slog.HandlerOptions{Level: level, ReplaceAttr: nameTrace}
	if format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// nameTrace prints LevelTrace as TRACE rather than DEBUG-4.
func nameTrace(groups []string, a slog.Attr) slog.Attr {
	if a.Key == slog.LevelKey && len(groups) == 0 {
		if l, ok := a.Value.Any().(slog.Level); ok && l == LevelTrace {
			a.Value = slog.StringValue("TRACE")
		}
	}
	return a
}
