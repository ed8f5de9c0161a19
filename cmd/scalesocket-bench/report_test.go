package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

func TestReportJSONIsOneLine(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		report   Report
		has      []string // keys that must be there
		hasNot   []string // keys that must be left out
		wantText []string
	}{
		{
			name: "fanout",
			report: Report{Scenario: "fanout", URL: "ws://127.0.0.1:9000", Client: "gws", OK: true,
				Params:     map[string]any{"c": 100, "m": 10000},
				FramesPerS: 1.5e6, LatencyUS: &Latency{Count: 3, P50: 10, P99: 20},
				Delivery: &Delivery{Clients: 100, ExpectedEach: 10000, Frames: 1e6},
				CPU:      &CPU{WallS: 1, ClientS: 0.5, ServerS: 1.2, ServerUSPerItem: 1.2}},
			has:      []string{"scenario", "url", "client", "params", "ok", "elapsed_s", "frames_per_s", "latency_us", "delivery", "cpu"},
			hasNot:   []string{"msgs_per_s", "handshakes_per_s", "cycles_per_s", "memory", "errors", "label", "rep", "case"},
			wantText: []string{"fanout ws://127.0.0.1:9000: ok", "1.50M frames/s", "p50 10µs", "100 clients × 10000 expected"},
		},
		{
			name: "failed idle",
			report: Report{Scenario: "idle", URL: "ws://[::1]:9000", Client: "coder", Label: "ours", Rep: 2,
				Errors: []string{"3 of 10 connections closed while idle"},
				Memory: &Memory{Conns: 10, Rooms: 2, ConnsLost: 3, TotalPSSPerConn: 16 * 1024}},
			has:      []string{"errors", "memory", "label", "rep"},
			hasNot:   []string{"frames_per_s", "latency_us", "delivery"},
			wantText: []string{"idle ws://[::1]:9000: FAILED", "16.0 KiB/conn", "error: 3 of 10 connections"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := tt.report.WriteJSON(&buf); err != nil {
				t.Fatal(err)
			}
			out := buf.String()
			if strings.Count(out, "\n") != 1 || !strings.HasSuffix(out, "\n") {
				t.Fatalf("not one line: %q", out)
			}
			var m map[string]any
			if err := json.Unmarshal(buf.Bytes(), &m); err != nil {
				t.Fatal(err)
			}
			for _, k := range tt.has {
				if _, ok := m[k]; !ok {
					t.Errorf("key %q missing from %s", k, out)
				}
			}
			for _, k := range tt.hasNot {
				if _, ok := m[k]; ok {
					t.Errorf("key %q should be left out of %s", k, out)
				}
			}
			var back Report
			if err := json.Unmarshal(buf.Bytes(), &back); err != nil || back.Scenario != tt.report.Scenario || back.OK != tt.report.OK {
				t.Errorf("read back %+v, %v", back, err)
			}
			text := tt.report.Text()
			for _, w := range tt.wantText {
				if !strings.Contains(text, w) {
					t.Errorf("text lacks %q:\n%s", w, text)
				}
			}
		})
	}
}

func TestFormats(t *testing.T) {
	t.Parallel()
	tests := []struct{ got, want string }{
		{si(950), "950"}, {si(12345), "12.3k"}, {si(2.5e6), "2.50M"},
		{us(42), "42µs"}, {us(1500), "1.50ms"}, {us(2.5e6), "2.50s"},
		{bytesIEC(512), "512 B"}, {bytesIEC(16 * 1024), "16.0 KiB"}, {bytesIEC(3 << 20), "3.0 MiB"},
		{shellQuote("/usr/bin/cat"), "/usr/bin/cat"}, {shellQuote("a b"), "'a b'"}, {shellQuote("it's"), `'it'\''s'`},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("got %q, want %q", tt.got, tt.want)
		}
	}
}
