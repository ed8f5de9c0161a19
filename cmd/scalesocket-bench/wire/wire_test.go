package wire

import (
	"context"
	"errors"
	"strings"
	"testing"
)

func TestParseTrigger(t *testing.T) {
	t.Parallel()
	tests := []struct {
		line    string
		want    Trigger
		wantErr error // nil: no error; ErrNotTrigger; errAny: some other error
	}{
		{"fanout 10000 0 64", Trigger{Lines: 10000, Size: 64}, nil},
		{"fanout 600 200 64\n", Trigger{Lines: 600, Rate: 200, Size: 64}, nil},
		{"fanout 5 2.5 0\r\n", Trigger{Lines: 5, Rate: 2.5, Size: 0}, nil},
		{"sync 1", Trigger{}, ErrNotTrigger},
		{"fanout", Trigger{}, ErrNotTrigger},
		{"fanoutx 1 0 0", Trigger{}, ErrNotTrigger},
		{"0 1764000000000000000 xxxx", Trigger{}, ErrNotTrigger},
		{"fanout ten 0 64", Trigger{}, errAny},
		{"fanout 10 -1 64", Trigger{}, errAny},
		{"fanout -1 0 64", Trigger{}, errAny},
		{"fanout 10 0 2000000", Trigger{}, errAny},
		{"fanout 1000000000 0 64", Trigger{}, errAny},
		{"fanout 10 NaN 64", Trigger{}, errAny},
	}
	for _, tt := range tests {
		got, err := ParseTrigger([]byte(tt.line))
		switch {
		case tt.wantErr == nil && err != nil:
			t.Errorf("ParseTrigger(%q): %v", tt.line, err)
		case tt.wantErr == ErrNotTrigger && !errors.Is(err, ErrNotTrigger):
			t.Errorf("ParseTrigger(%q) error = %v, want ErrNotTrigger", tt.line, err)
		case tt.wantErr == errAny && (err == nil || errors.Is(err, ErrNotTrigger)):
			t.Errorf("ParseTrigger(%q) error = %v, want a malformed-trigger error", tt.line, err)
		case got != tt.want:
			t.Errorf("ParseTrigger(%q) = %+v, want %+v", tt.line, got, tt.want)
		}
	}
}

var errAny = errors.New("any error")

func TestTriggerStringRoundTrip(t *testing.T) {
	t.Parallel()
	for _, tr := range []Trigger{{Lines: 1, Size: 0}, {Lines: 600, Rate: 200, Size: 64}, {Lines: 7, Rate: 0.5, Size: 1000}} {
		got, err := ParseTrigger([]byte(tr.String()))
		if err != nil || got != tr {
			t.Errorf("ParseTrigger(%q) = %+v, %v; want %+v", tr.String(), got, err, tr)
		}
	}
}

func TestLineRoundTrip(t *testing.T) {
	t.Parallel()
	tests := []struct {
		seq     uint64
		ts      int64
		size    int
		wantLen int
	}{
		{0, 0, 0, 3},
		{0, 1764000000000000000, 64, 64},
		{123456, 1764000000000000001, 10, 26}, // longer than size: not cut
		{1<<64 - 1, 1<<63 - 1, 100, 100},
	}
	for _, tt := range tests {
		line := AppendLine([]byte("prefix"), tt.seq, tt.ts, tt.size)[len("prefix"):]
		if len(line) != tt.wantLen {
			t.Errorf("AppendLine(%d, %d, %d) = %q: %d bytes, want %d", tt.seq, tt.ts, tt.size, line, len(line), tt.wantLen)
		}
		seq, ts, ok := ParseLine(line)
		if !ok || seq != tt.seq || ts != tt.ts {
			t.Errorf("ParseLine(%q) = %d, %d, %v; want %d, %d", line, seq, ts, ok, tt.seq, tt.ts)
		}
	}
}

func TestParseLineRejects(t *testing.T) {
	t.Parallel()
	for _, line := range []string{
		"", "12", "12 ", " 12 34", "a 34", "12 b", "12 34x", "sync 1",
		"12 99999999999999999999",      // timestamp beyond int64
		"123456789012345678901 34",     // sequence beyond uint64
		"12 9223372036854775808 xxxxx", // 2^63
	} {
		if seq, ts, ok := ParseLine([]byte(line)); ok {
			t.Errorf("ParseLine(%q) = %d, %d, true; want false", line, seq, ts)
		}
	}
}

func TestGenerate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		trigger     Trigger
		wantFlushes int
	}{
		{"burst flushes once, at the end", Trigger{Lines: 1000, Size: 32}, 1},
		// A rate this high never actually waits.
		{"paced flushes every line", Trigger{Lines: 50, Rate: 1e9, Size: 16}, 50},
		{"nothing", Trigger{Lines: 0}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var n, flushes int
			err := Generate(context.Background(), tt.trigger, func(line []byte, flush bool) error {
				seq, _, ok := ParseLine(line)
				if !ok || seq != uint64(n) {
					t.Fatalf("line %d = %q", n, line)
				}
				if len(line) < tt.trigger.Size {
					t.Fatalf("line %q shorter than %d", line, tt.trigger.Size)
				}
				n++
				if flush {
					flushes++
				}
				return nil
			})
			if err != nil || n != tt.trigger.Lines || flushes != tt.wantFlushes {
				t.Errorf("Generate: %d lines, %d flushes, err %v; want %d lines, %d flushes", n, flushes, err, tt.trigger.Lines, tt.wantFlushes)
			}
		})
	}
}

func TestGenerateStopsOnEmitErrorAndCancel(t *testing.T) {
	t.Parallel()
	stop := errors.New("stop")
	var n int
	err := Generate(context.Background(), Trigger{Lines: 100}, func([]byte, bool) error {
		n++
		if n == 3 {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) || n != 3 {
		t.Errorf("Generate after an emit error: %d lines, %v", n, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	// A paced stream far in the future must return at once when cancelled.
	err = Generate(ctx, Trigger{Lines: 10, Rate: 0.001}, func([]byte, bool) error { return nil })
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Generate on a cancelled context = %v", err)
	}
	if s := (Trigger{Lines: 3, Rate: 0, Size: 8}).String(); !strings.HasPrefix(s, TriggerWord+" ") {
		t.Errorf("trigger %q does not start with %q", s, TriggerWord)
	}
}
