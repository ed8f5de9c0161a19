package main

import (
	"encoding/xml"
	"io"
	"math"
	"strings"
	"testing"
)

func fanoutReport(label string, c int, rate, framesPerS, p99 float64, ok bool) *Report {
	id := "fanout C=" + map[int]string{10: "10", 100: "100"}[c]
	if rate > 0 {
		id = "fanout paced C=" + map[int]string{10: "10", 100: "100"}[c]
	}
	return &Report{Scenario: "fanout", Case: id, Label: label, OK: ok,
		Params:     map[string]any{"c": c, "m": 1000, "rate": rate},
		FramesPerS: framesPerS, LatencyUS: &Latency{P50: p99 / 2, P99: p99}, CPU: &CPU{WallS: 1, ClientS: 0.5}}
}

func TestStatsMedian(t *testing.T) {
	t.Parallel()
	tests := []struct {
		vals         []float64
		med, lo, max float64
	}{
		{[]float64{3}, 3, 3, 3},
		{[]float64{5, 1, 3}, 3, 1, 5},
		{[]float64{4, 1, 3, 2}, 2.5, 1, 4},
	}
	for _, tt := range tests {
		s := stats{vals: tt.vals}
		if s.median() != tt.med || s.min() != tt.lo || s.max() != tt.max {
			t.Errorf("%v: median %v min %v max %v", tt.vals, s.median(), s.min(), s.max())
		}
	}
	if !math.IsNaN((&stats{}).median()) {
		t.Error("median of nothing is a number")
	}
}

func TestSummaryTableAndChart(t *testing.T) {
	t.Parallel()
	reports := []*Report{
		fanoutReport("floor", 10, 0, 4e6, 0, true),
		fanoutReport("ours", 10, 0, 1e6, 0, true),
		fanoutReport("ours", 10, 0, 2e6, 0, true),
		fanoutReport("ours", 10, 0, 3e6, 0, true),
		fanoutReport("ours", 10, 0, 9e9, 0, false), // failed: counted, not a figure
		{Scenario: "fanout", Case: "fanout C=10", Label: "ours", OK: true, Retried: true, FramesPerS: 1, // run again: left out
			Params: map[string]any{"c": 10, "rate": 0.0}},
		fanoutReport("websocketd", 10, 0, 5e5, 0, true),
		fanoutReport("ours", 100, 0, 8e5, 0, true),
		fanoutReport("floor", 100, 0, 4e6, 0, true),
		fanoutReport("ours", 10, 200, 0, 400, true),
		fanoutReport("floor", 10, 200, 0, 200, true),
		fanoutReport("ours", 100, 200, 0, 4000, true),
		{Scenario: "idle", Case: "idle", Label: "ours", OK: true, Memory: &Memory{TotalPSSPerConn: 20480, ServerRSSPerConn: 10240}},
	}
	s := summarize(reports)
	if got := strings.Join(s.labels, ","); got != "ours,websocketd,floor" {
		t.Errorf("labels in order %q", got)
	}
	table := s.table()
	for _, want := range []string{
		"| case | figure | ours | websocketd | floor | ours / websocketd | ours / floor |",
		"| fanout C=10 | delivered frames/s ↑ | 2.00M (1.00M–3.00M), **1 failed** | 500.0k | 4.00M | 4.00× | 0.50× |",
		"| fanout C=100 | delivered frames/s ↑ | 800.0k | – | 4.00M | – | 0.20× |",
		"| fanout paced C=10 | p99 latency ↓ | 400µs | – | 200µs | – | 2.00× |",
		"| idle | PSS per conn (server + processes) ↓ | 20.0 KiB | – | – | – | – |",
	} {
		if !strings.Contains(table, want) {
			t.Errorf("table lacks\n%s\nin\n%s", want, table)
		}
	}

	svg := s.chart()
	dec := xml.NewDecoder(strings.NewReader(svg))
	for {
		_, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("chart is not well-formed XML: %v\n%s", err, svg)
		}
	}
	for _, want := range []string{"<svg", "burst of 1000 lines", "paced, 200 lines/s", "ours, C=10: 2.00M (1.00M–3.00M)", "<polyline", "websocketd"} {
		if !strings.Contains(svg, want) {
			t.Errorf("chart lacks %q", want)
		}
	}
}
