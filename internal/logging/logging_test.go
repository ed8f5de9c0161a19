package logging

import (
	"bytes"
	"strings"
	"testing"
)

func TestLevels(t *testing.T) {
	t.Parallel()
	tests := []struct {
		verbosity int
		quiet     bool
		want      string // the levels that are written, in order
	}{
		{0, false, "INFO INFO WARN ERROR"},
		{1, false, "DEBUG INFO INFO WARN ERROR"},
		{2, false, "TRACE DEBUG INFO INFO WARN ERROR"},
		{0, true, "INFO WARN ERROR"}, // the process's stderr stays
	}
	for _, tc := range tests {
		var buf bytes.Buffer
		log := New(&buf, "text", tc.verbosity, tc.quiet)
		log.Log(t.Context(), LevelTrace, "m")
		log.Debug("m")
		log.Info("m")
		log.Log(t.Context(), LevelNotice, "m")
		log.Warn("m")
		log.Error("m")
		var got []string
		for _, line := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
			for _, f := range strings.Fields(line) {
				if lvl, ok := strings.CutPrefix(f, "level="); ok {
					got = append(got, lvl)
				}
			}
		}
		if g := strings.Join(got, " "); g != tc.want {
			t.Errorf("verbosity %d, quiet %v: wrote %q, want %q", tc.verbosity, tc.quiet, g, tc.want)
		}
	}
}
