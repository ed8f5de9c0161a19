package metrics

import (
	"sync"
	"testing"

	dto "github.com/prometheus/client_model/go"

	"github.com/scalesocket/scalesocket-go/internal/room"
)

// sample returns the value of the series of family name whose labels
// include labels (name, value pairs); ok is false when there is none.
func sample(t *testing.T, m *Metrics, name string, labels ...string) (v float64, ok bool) {
	t.Helper()
	fams, err := m.reg.Gather()
	if err != nil {
		t.Fatalf("gather: %v", err)
	}
	for _, f := range fams {
		if f.GetName() != name {
			continue
		}
		for _, s := range f.GetMetric() {
			if hasLabels(s, labels) {
				if f.GetType() == dto.MetricType_GAUGE {
					return s.GetGauge().GetValue(), true
				}
				return s.GetCounter().GetValue(), true
			}
		}
	}
	return 0, false
}

func hasLabels(s *dto.Metric, labels []string) bool {
	for i := 0; i+1 < len(labels); i += 2 {
		found := false
		for _, l := range s.GetLabel() {
			if l.GetName() == labels[i] && l.GetValue() == labels[i+1] {
				found = true
			}
		}
		if !found {
			return false
		}
	}
	return true
}

func TestKnownLabelValuesStartAtZero(t *testing.T) {
	t.Parallel()
	m := New(Options{DropReasons: []string{"too_large"}, RefusalReasons: []string{"maxrooms"}})
	for _, c := range []struct{ name, label, value string }{
		{"scalesocket_process_exits_total", "outcome", room.OutcomeExited},
		{"scalesocket_process_exits_total", "outcome", room.OutcomeSignaled},
		{"scalesocket_process_exits_total", "outcome", room.OutcomeFailedToStart},
		{"scalesocket_messages_total", "direction", room.DirectionIn},
		{"scalesocket_bytes_total", "direction", room.DirectionOut},
		{"scalesocket_messages_dropped_total", "reason", "too_large"},
		{"scalesocket_connections_refused_total", "reason", "maxrooms"},
	} {
		if v, ok := sample(t, m, c.name, c.label, c.value); !ok || v != 0 {
			t.Errorf("%s{%s=%q} = %v, %v; want 0, present", c.name, c.label, c.value, v, ok)
		}
	}
}

// TestRoomSeriesGoAwayAndStayAway: a room's series are deleted when it
// closes, a late ClientLeft does not bring them back, and the next room of
// the same name starts from zero.
func TestRoomSeriesGoAwayAndStayAway(t *testing.T) {
	t.Parallel()
	m := New(Options{})
	r := m.RoomOpened("lobby")
	r.ClientJoined()
	r.ClientJoined()
	r.ClientLeft()
	if v, _ := sample(t, m, "scalesocket_websocket_connections_total", "room", "lobby"); v != 2 {
		t.Fatalf("connections_total = %v, want 2", v)
	}
	if v, _ := sample(t, m, "scalesocket_websocket_connections_open", "room", "lobby"); v != 1 {
		t.Fatalf("connections_open = %v, want 1", v)
	}
	if v, _ := sample(t, m, "scalesocket_rooms_open"); v != 1 {
		t.Fatalf("rooms_open = %v, want 1", v)
	}
	r.Closed()
	r.ClientLeft()
	r.Closed()
	for _, name := range []string{"scalesocket_websocket_connections_total", "scalesocket_websocket_connections_open"} {
		if _, ok := sample(t, m, name, "room", "lobby"); ok {
			t.Errorf("%s{room=lobby} still there after Closed", name)
		}
	}
	if v, _ := sample(t, m, "scalesocket_rooms_open"); v != 0 {
		t.Fatalf("rooms_open = %v after Closed twice, want 0", v)
	}
	again := m.RoomOpened("lobby")
	again.ClientJoined()
	if v, _ := sample(t, m, "scalesocket_websocket_connections_total", "room", "lobby"); v != 1 {
		t.Fatalf("connections_total of the next room = %v, want 1", v)
	}
	if v, _ := sample(t, m, "scalesocket_process_starts_total"); v != 2 {
		t.Fatalf("process_starts_total = %v, want 2", v)
	}
}

func TestConcurrentCountsAddUp(t *testing.T) {
	t.Parallel()
	m := New(Options{})
	const goroutines, each = 8, 1000
	var wg sync.WaitGroup
	for range goroutines {
		wg.Go(func() {
			for range each {
				m.Message(room.DirectionIn, 3)
				m.Message(room.DirectionOut, 5)
				m.MessageDropped("not_json")
			}
		})
	}
	wg.Wait()
	for _, c := range []struct {
		name, label, value string
		want               float64
	}{
		{"scalesocket_messages_total", "direction", "in", goroutines * each},
		{"scalesocket_bytes_total", "direction", "in", 3 * goroutines * each},
		{"scalesocket_bytes_total", "direction", "out", 5 * goroutines * each},
		{"scalesocket_messages_dropped_total", "reason", "not_json", goroutines * each},
	} {
		if v, _ := sample(t, m, c.name, c.label, c.value); v != c.want {
			t.Errorf("%s{%s=%q} = %v, want %v", c.name, c.label, c.value, v, c.want)
		}
	}
}

// BenchmarkMessage measures what metrics add to every relayed message.
func BenchmarkMessage(b *testing.B) {
	m := New(Options{})
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			m.Message(room.DirectionOut, 60)
		}
	})
}
