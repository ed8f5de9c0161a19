// Package logging builds the server's one logger: text or JSON lines on
// stderr, at info level, or debug and trace with -v and -vv, or warnings
// and errors alone with -q.
package logging

import (
	"io"
	"log/slog"
)

// LevelTrace is below debug: every message and frame.
const LevelTrace = slog.LevelDebug - 4

// LevelNotice is the level of the info lines that -q keeps: where the
// server listens, and what a room's process writes to stderr (its own
// diagnostics). It is printed as INFO, and sits just above it so that -q
// can leave out the rest: a line per connection and per process.
const LevelNotice = slog.LevelInfo + 1

// New returns a logger writing format ("text" or "json") to w, at the
// level that verbosity (the number of -v flags) or quiet selects.
func New(w io.Writer, format string, verbosity int, quiet bool) *slog.Logger {
	level := slog.LevelInfo
	switch {
	case quiet:
		level = LevelNotice
	case verbosity == 1:
		level = slog.LevelDebug
	case verbosity >= 2:
		level = LevelTrace
	}
	opts := &slog.HandlerOptions{Level: level, ReplaceAttr: nameLevels}
	if format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// nameLevels prints LevelTrace as TRACE rather than DEBUG-4, and
// LevelNotice as INFO rather than INFO+1.
func nameLevels(groups []string, a slog.Attr) slog.Attr {
	if a.Key == slog.LevelKey && len(groups) == 0 {
		switch l, _ := a.Value.Any().(slog.Level); l {
		case LevelTrace:
			a.Value = slog.StringValue("TRACE")
		case LevelNotice:
			a.Value = slog.StringValue("INFO")
		}
	}
	return a
}
