package server_test

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// scrape fetches /metrics in the Prometheus text format and parses it.
func (s *testServer) scrape(t *testing.T) map[string]*dto.MetricFamily {
	t.Helper()
	resp, body := s.do(t, s.request(t, http.MethodGet, "/metrics"))
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /metrics: %d %q", resp.StatusCode, body)
	}
	if f := expfmt.ResponseFormat(resp.Header); f.FormatType() != expfmt.TypeTextPlain {
		t.Fatalf("GET /metrics without Accept: Content-Type %q, want the text format", resp.Header.Get("Content-Type"))
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := parser.TextToMetricFamilies(strings.NewReader(body))
	if err != nil {
		t.Fatalf("parse scrape: %v\n%s", err, body)
	}
	return fams
}

// metric is one expected series: family, type, and at most one label,
// which is all that ours carry.
type metric struct {
	name              string
	typ               dto.MetricType
	label, labelValue string
}

// value returns the series' value; ok is false if the family or the
// series is missing or the family has another type.
func (m metric) value(fams map[string]*dto.MetricFamily) (v float64, ok bool) {
	f := fams[m.name]
	if f == nil || f.GetType() != m.typ {
		return 0, false
	}
	for _, s := range f.GetMetric() {
		labels := s.GetLabel()
		if m.label == "" && len(labels) > 0 ||
			m.label != "" && (len(labels) != 1 || labels[0].GetName() != m.label || labels[0].GetValue() != m.labelValue) {
			continue
		}
		if m.typ == dto.MetricType_GAUGE {
			return s.GetGauge().GetValue(), true
		}
		return s.GetCounter().GetValue(), true
	}
	return 0, false
}

func (m metric) String() string {
	if m.label == "" {
		return m.name
	}
	return fmt.Sprintf("%s{%s=%q}", m.name, m.label, m.labelValue)
}

// counter and gauge name a series of ours: its family without the
// scalesocket_ prefix, then optionally a label and its value.
func counter(name string, label ...string) metric {
	return newMetric(name, dto.MetricType_COUNTER, label)
}
func gauge(name string, label ...string) metric { return newMetric(name, dto.MetricType_GAUGE, label) }

func newMetric(name string, typ dto.MetricType, label []string) metric {
	m := metric{name: "scalesocket_" + name, typ: typ}
	if len(label) == 2 {
		m.label, m.labelValue = label[0], label[1]
	}
	return m
}

// waitMetrics scrapes until every series has its value, and fails with
// what still differs at the timeout.
func (s *testServer) waitMetrics(t *testing.T, want map[metric]float64) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for pause := time.Millisecond; ; pause = min(2*pause, 50*time.Millisecond) {
		fams := s.scrape(t)
		var diff []string
		for m, v := range want {
			if got, ok := m.value(fams); !ok || got != v {
				diff = append(diff, fmt.Sprintf("%v = %v (present %v), want %v", m, got, ok, v))
			}
		}
		if len(diff) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("metrics not as expected after %v:\n%s", timeout, strings.Join(diff, "\n"))
		}
		time.Sleep(pause)
	}
}

func TestMetricsFollowConnectionsMessagesAndRooms(t *testing.T) {
	t.Parallel()
	s := startServer(t, "--metrics", "testdata/echo.sh")

	fams := s.scrape(t)
	for _, m := range []metric{
		gauge("rooms_open"),
		counter("process_starts_total"),
		counter("process_exits_total", "outcome", "exited"),
		counter("process_exits_total", "outcome", "signaled"),
		counter("process_exits_total", "outcome", "failed_to_start"),
		counter("messages_total", "direction", "in"),
		counter("messages_total", "direction", "out"),
		counter("bytes_total", "direction", "in"),
		counter("bytes_total", "direction", "out"),
		counter("messages_dropped_total", "reason", "not_json"),
		counter("messages_dropped_total", "reason", "too_large"),
		counter("connections_refused_total", "reason", "reserved"),
		counter("connections_refused_total", "reason", "maxrooms"),
		counter("slow_consumer_disconnects_total"),
	} {
		if v, ok := m.value(fams); !ok || v != 0 {
			t.Errorf("before any client: %v = %v (present %v), want 0", m, v, ok)
		}
	}
	for _, name := range []string{"go_goroutines", "process_cpu_seconds_total", "process_open_fds"} {
		if fams[name] == nil {
			t.Errorf("family %s of the Go and process collectors missing", name)
		}
	}
	for _, name := range []string{"scalesocket_websocket_connections_total", "scalesocket_websocket_connections_open"} {
		if f := fams[name]; f != nil && len(f.GetMetric()) > 0 {
			t.Errorf("%s has series before any room: %v", name, f.GetMetric())
		}
	}

	a := s.dial(t, "lobby")
	_, pid := a.read()
	b := s.dial(t, "lobby")
	b.send("hello")
	a.expect("hello")
	b.expect("hello")
	if got := s.refusal(t, "metrics"); got != http.StatusBadRequest {
		t.Fatalf("room metrics: status %d, want 400", got)
	}
	s.waitMetrics(t, map[metric]float64{
		counter("websocket_connections_total", "room", "lobby"): 2,
		gauge("websocket_connections_open", "room", "lobby"):    2,
		gauge("rooms_open"):             1,
		counter("process_starts_total"): 1,
		// "hello" in once; out the pid line and "hello", each counted
		// once however many clients received it.
		counter("messages_total", "direction", "in"):               1,
		counter("bytes_total", "direction", "in"):                  5,
		counter("messages_total", "direction", "out"):              2,
		counter("bytes_total", "direction", "out"):                 float64(len(pid) + 5),
		counter("connections_refused_total", "reason", "reserved"): 1,
	})

	b.close()
	s.waitMetrics(t, map[metric]float64{
		counter("websocket_connections_total", "room", "lobby"): 2,
		gauge("websocket_connections_open", "room", "lobby"):    1,
	})

	a.close()
	waitFor(t, "the room's series to go and its process to be counted out", func() bool {
		fams := s.scrape(t)
		for _, name := range []string{"scalesocket_websocket_connections_total", "scalesocket_websocket_connections_open"} {
			if f := fams[name]; f != nil && len(f.GetMetric()) > 0 {
				return false
			}
		}
		// Closing stdin or SIGTERM, whichever cat notices first, ends it.
		exited, _ := counter("process_exits_total", "outcome", "exited").value(fams)
		signaled, _ := counter("process_exits_total", "outcome", "signaled").value(fams)
		rooms, _ := gauge("rooms_open").value(fams)
		return exited+signaled == 1 && rooms == 0
	})

	// The next room of the same name starts its series from zero.
	c := s.dial(t, "lobby")
	c.read()
	s.waitMetrics(t, map[metric]float64{
		counter("websocket_connections_total", "room", "lobby"): 1,
		gauge("websocket_connections_open", "room", "lobby"):    1,
		counter("process_starts_total"):                         2,
	})
}

func TestMetricsCountOversizedOutputAndFailedStarts(t *testing.T) {
	t.Parallel()
	// The process doubles every line, so a client message of 6 bytes, within
	// the limit of 10, comes back as an item of 12, which is dropped.
	s := startServer(t, "--metrics", "--maxmsgsize", "10", "sh", "--", "-c", `while read -r l; do echo "$l$l"; done`)
	c := s.dial(t, "big")
	c.send("123456")
	c.send("ok")
	c.expect("okok")
	s.waitMetrics(t, map[metric]float64{
		counter("messages_dropped_total", "reason", "too_large"): 1,
		counter("messages_total", "direction", "out"):            1,
	})

	missing := startServer(t, "--metrics", "/nonexistent/command")
	m := missing.dial(t, "r")
	m.expectClose(1011, "")
	missing.waitMetrics(t, map[metric]float64{
		counter("process_exits_total", "outcome", "failed_to_start"): 1,
		counter("process_starts_total"):                              0,
		gauge("rooms_open"):                                          0,
	})
}

func TestMetricsServeOpenMetricsWhenAsked(t *testing.T) {
	t.Parallel()
	s := startServer(t, "--metrics", "testdata/echo.sh")
	req := s.request(t, http.MethodGet, "/metrics")
	// What Prometheus itself sends.
	req.Header.Set("Accept", "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1")
	resp, body := s.do(t, req)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d", resp.StatusCode)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/openmetrics-text") {
		t.Fatalf("Content-Type %q, want application/openmetrics-text", ct)
	}
	if !strings.HasSuffix(body, "# EOF\n") {
		t.Fatalf("OpenMetrics body does not end with # EOF:\n%s", body)
	}
	dec := expfmt.NewDecoder(strings.NewReader(body), expfmt.ResponseFormat(resp.Header))
	found := map[string]dto.MetricType{}
	for {
		var f dto.MetricFamily
		err := dec.Decode(&f)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("decode OpenMetrics: %v\n%s", err, body)
		}
		found[f.GetName()] = f.GetType()
	}
	if typ, ok := found["scalesocket_process_starts_total"]; !ok || typ != dto.MetricType_COUNTER {
		t.Errorf("OpenMetrics family scalesocket_process_starts_total: %v %v, want a counter; got %v", typ, ok, found)
	}
	if typ, ok := found["scalesocket_rooms_open"]; !ok || typ != dto.MetricType_GAUGE {
		t.Errorf("OpenMetrics family scalesocket_rooms_open: %v %v, want a gauge", typ, ok)
	}

	status, _ := s.get(t, http.MethodPost, "/metrics")
	if status != http.StatusMethodNotAllowed {
		t.Errorf("POST /metrics: %d, want 405", status)
	}
	if status, _ := startServer(t, "testdata/echo.sh").get(t, http.MethodGet, "/metrics"); status != http.StatusNotFound {
		t.Errorf("GET /metrics without --metrics: %d, want 404", status)
	}
}
