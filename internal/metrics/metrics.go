// Package metrics counts what happens in rooms and serves it to Prometheus
// scrapers (SPEC §14). It is the only package that knows the Prometheus
// client.
//
// It keeps a registry of its own rather than the global one, so that a
// scrape shows exactly the families below and nothing a library registered
// globally, and so that several servers in one process (as in the tests)
// do not collide.
package metrics

import (
	"log/slog"
	"net/http"
	"slices"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	dto "github.com/prometheus/client_model/go"

	"github.com/scalesocket/scalesocket-go/internal/room"
)

// namespace prefixes every family of ours.
const namespace = "scalesocket"

// maxScrapesInFlight bounds concurrent scrapes; more get 503. A scrape
// reads the Go runtime and /proc, so a flood of them must not pile up.
const maxScrapesInFlight = 4

// Metrics is a room.Observer that counts into Prometheus families, plus the
// counters the server feeds itself (refused connections, dropped output).
// Its methods are safe for concurrent use and cheap: counters and gauges
// that label values name in advance are resolved once, so a message costs
// one atomic add per family.
type Metrics struct {
	reg     *prometheus.Registry
	handler http.Handler

	connsTotal    *prometheus.CounterVec
	connsOpen     *prometheus.GaugeVec
	roomsOpen     prometheus.Gauge
	processStarts prometheus.Counter
	processExits  *prometheus.CounterVec
	messages      *prometheus.CounterVec
	bytes         *prometheus.CounterVec
	dropped       *prometheus.CounterVec
	refused       *prometheus.CounterVec
	slowConsumers prometheus.Counter

	// The hot path's counters, resolved once (see Message).
	messagesIn, messagesOut prometheus.Counter
	bytesIn, bytesOut       prometheus.Counter
}

// Options name label values known in advance. Each is shown with 0 from the
// start, so that a family is there to graph and alert on before its first
// event; other values still count when they first happen.
type Options struct {
	// DropReasons are reasons for messages_dropped_total.
	DropReasons []string
	// RefusalReasons are reasons for connections_refused_total.
	RefusalReasons []string
	// Log receives errors of gathering or serving a scrape.
	Log *slog.Logger
}

// New returns metrics with a registry of their own, holding the families of
// SPEC §14 and the Go and process collectors.
func New(opts Options) *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		connsTotal: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "websocket_connections_total",
			Help: "WebSocket connections that joined a room, per live room.",
		}, []string{"room"}),
		connsOpen: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: namespace, Name: "websocket_connections_open",
			Help: "WebSocket connections in a room now, per live room.",
		}, []string{"room"}),
		roomsOpen: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: namespace, Name: "rooms_open",
			Help: "Rooms whose process runs.",
		}),
		processStarts: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: namespace, Name: "process_starts_total",
			Help: "Room processes started.",
		}),
		processExits: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "process_exits_total",
			Help: "Room processes ended, by outcome: exited, signaled, or failed_to_start.",
		}, []string{"outcome"}),
		messages: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "messages_total",
			Help: "Messages relayed: in is client to process, out is process to clients (once per message, not per recipient).",
		}, []string{"direction"}),
		bytes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "bytes_total",
			Help: "Payload bytes of the messages in messages_total.",
		}, []string{"direction"}),
		dropped: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "messages_dropped_total",
			Help: "Messages not delivered, by reason.",
		}, []string{"reason"}),
		refused: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "connections_refused_total",
			Help: "Connections refused before the WebSocket upgrade, by reason.",
		}, []string{"reason"}),
		slowConsumers: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: namespace, Name: "slow_consumer_disconnects_total",
			Help: "Clients closed for not keeping up with their room.",
		}),
	}
	// MustRegister panics only on a clash of names or labels among the
	// collectors above, a programming error that every test run would show.
	m.reg.MustRegister(
		m.connsTotal, m.connsOpen, m.roomsOpen, m.processStarts, m.processExits,
		m.messages, m.bytes, m.dropped, m.refused, m.slowConsumers,
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	m.messagesIn = m.messages.WithLabelValues(room.DirectionIn)
	m.messagesOut = m.messages.WithLabelValues(room.DirectionOut)
	m.bytesIn = m.bytes.WithLabelValues(room.DirectionIn)
	m.bytesOut = m.bytes.WithLabelValues(room.DirectionOut)
	for _, outcome := range []string{room.OutcomeExited, room.OutcomeSignaled, room.OutcomeFailedToStart} {
		m.processExits.WithLabelValues(outcome)
	}
	for _, reason := range opts.DropReasons {
		m.dropped.WithLabelValues(reason)
	}
	for _, reason := range opts.RefusalReasons {
		m.refused.WithLabelValues(reason)
	}

	hopts := promhttp.HandlerOpts{
		EnableOpenMetrics:   true,
		MaxRequestsInFlight: maxScrapesInFlight,
	}
	if opts.Log != nil {
		hopts.ErrorLog = slog.NewLogLogger(opts.Log.Handler(), slog.LevelWarn)
	}
	m.handler = promhttp.HandlerFor(prometheus.GathererFunc(m.gather), hopts)
	return m
}

// clashing is a family of the Go collector left out of every scrape. In
// OpenMetrics a counter's family is named without its _total, so this
// counter's family would be go_memstats_alloc_bytes, the name of a gauge
// of the same collector, and the exposition would be invalid as a whole
// (a known problem of the Prometheus Go client). Prometheus itself copes;
// a strict parser rejects every family. The gauge is kept.
const clashing = "go_memstats_alloc_bytes_total"

// gather is the registry's Gather without the clashing family.
func (m *Metrics) gather() ([]*dto.MetricFamily, error) {
	fams, err := m.reg.Gather()
	return slices.DeleteFunc(fams, func(f *dto.MetricFamily) bool { return f.GetName() == clashing }), err
}

// Handler serves a scrape: OpenMetrics when the Accept header asks for it,
// the Prometheus text format otherwise. It answers any method; the caller
// routes only GET and HEAD to it.
func (m *Metrics) Handler() http.Handler { return m.handler }

// ConnectionRefused counts a connection refused before its upgrade.
func (m *Metrics) ConnectionRefused(reason string) {
	m.refused.WithLabelValues(reason).Inc()
}

// RoomOpened counts a room whose process has started and returns the
// observer of its connections.
func (m *Metrics) RoomOpened(name string) room.RoomObserver {
	m.processStarts.Inc()
	m.roomsOpen.Inc()
	return &roomMetrics{
		m:     m,
		name:  name,
		total: m.connsTotal.WithLabelValues(name),
		open:  m.connsOpen.WithLabelValues(name),
	}
}

// ProcessEnded counts a room process's end by outcome.
func (m *Metrics) ProcessEnded(outcome string) {
	m.processExits.WithLabelValues(outcome).Inc()
}

// Message counts one message of a direction and its payload bytes. It is
// on the hot path, so the two known directions skip the label lookup.
func (m *Metrics) Message(direction string, bytes int) {
	switch direction {
	case room.DirectionIn:
		m.messagesIn.Inc()
		m.bytesIn.Add(float64(bytes))
	case room.DirectionOut:
		m.messagesOut.Inc()
		m.bytesOut.Add(float64(bytes))
	default:
		m.messages.WithLabelValues(direction).Inc()
		m.bytes.WithLabelValues(direction).Add(float64(bytes))
	}
}

// MessageDropped counts a message that was not delivered, by reason.
func (m *Metrics) MessageDropped(reason string) {
	m.dropped.WithLabelValues(reason).Inc()
}

// SlowConsumer counts a client closed for not keeping up.
func (m *Metrics) SlowConsumer() { m.slowConsumers.Inc() }

// roomMetrics is the RoomObserver of one room. It holds its own series, so
// that once Closed has deleted them from their families, late calls (a
// client leaving after its room ended) change only these detached series
// and never bring the room's labels back into a scrape.
type roomMetrics struct {
	m         *Metrics
	name      string
	total     prometheus.Counter
	open      prometheus.Gauge
	closeOnce sync.Once
}

func (r *roomMetrics) ClientJoined() {
	r.total.Inc()
	r.open.Inc()
}

func (r *roomMetrics) ClientLeft() { r.open.Dec() }

// Closed removes the room's series: label cardinality follows the live
// rooms, not their history. The room package calls it before a room of the
// same name can open, so the next room starts new series from zero.
func (r *roomMetrics) Closed() {
	r.closeOnce.Do(func() {
		r.m.connsTotal.DeleteLabelValues(r.name)
		r.m.connsOpen.DeleteLabelValues(r.name)
		r.m.roomsOpen.Dec()
	})
}

// Interface checks: the hub takes Metrics as its Observer.
var (
	_ room.Observer     = (*Metrics)(nil)
	_ room.RoomObserver = (*roomMetrics)(nil)
)
