package main

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strings"
)

// Report is the result of one run: printed as one JSON line on stdout, and
// as text on stderr.
type Report struct {
	Scenario string `json:"scenario"`
	Case     string `json:"case,omitempty"`  // the suite's name for the run
	Label    string `json:"label,omitempty"` // the suite's name for the server
	Rep      int    `json:"rep,omitempty"`   // the suite's repetition, from 1
	// Retried marks a suite run that other processes disturbed and that
	// was run again; summaries leave it out.
	Retried  bool           `json:"retried,omitempty"`
	URL      string         `json:"url"`
	Server   string         `json:"server,omitempty"`
	Client   string         `json:"client"`
	Params   map[string]any `json:"params"`
	OK       bool           `json:"ok"`
	Errors   []string       `json:"errors,omitempty"`
	ElapsedS float64        `json:"elapsed_s"`

	// The headline figure of the scenario; the others stay empty.
	FramesPerS     float64 `json:"frames_per_s,omitempty"`
	MsgsPerS       float64 `json:"msgs_per_s,omitempty"`
	HandshakesPerS float64 `json:"handshakes_per_s,omitempty"`
	CyclesPerS     float64 `json:"cycles_per_s,omitempty"`

	LatencyUS *Latency  `json:"latency_us,omitempty"`
	Delivery  *Delivery `json:"delivery,omitempty"`
	Memory    *Memory   `json:"memory,omitempty"`
	CPU       *CPU      `json:"cpu,omitempty"`
}

// Memory is what idle connections cost, from /proc.
type Memory struct {
	Conns           int   `json:"conns"`
	Rooms           int   `json:"rooms"`
	ConnsLost       int   `json:"conns_lost"` // closed before the measurement
	ServerRSSBefore int64 `json:"server_rss_before"`
	ServerRSSAfter  int64 `json:"server_rss_after"`
	TotalPSSBefore  int64 `json:"total_pss_before"` // server and its processes
	TotalPSSAfter   int64 `json:"total_pss_after"`
	ProcsBefore     int   `json:"procs_before"`
	ProcsAfter      int   `json:"procs_after"`
	// Growth per connection, in bytes: (after - before) / conns.
	ServerRSSPerConn float64 `json:"server_rss_per_conn"`
	TotalPSSPerConn  float64 `json:"total_pss_per_conn"`
}

// CPU is the CPU time used while a scenario measured, in seconds; the
// machine has nproc of them per second of wall time.
type CPU struct {
	WallS   float64 `json:"wall_s"`
	ClientS float64 `json:"client_s"`
	// ServerS covers the server and its processes; it needs the server's
	// pid (-pid, or -server).
	ServerS float64 `json:"server_s,omitempty"`
	// ServerUSPerItem is ServerS per frame, message, handshake or cycle,
	// in microseconds.
	ServerUSPerItem float64 `json:"server_us_per_item,omitempty"`
	// MachineS is the busy time of all cores; IRQS the part of it the
	// kernel counted as interrupts and softirqs (mostly the loopback
	// traffic of this run, also charged to the processes).
	MachineS float64 `json:"machine_s"`
	IRQS     float64 `json:"irq_s"`
	// SoftirqdS is the time of the kernel's ksoftirqd threads: receive
	// work of this run's loopback traffic that the kernel deferred.
	SoftirqdS float64 `json:"softirqd_s"`
	// OtherS is what the rest of the machine used meanwhile: MachineS
	// less client, server and ksoftirqd. Above a few percent of WallS ×
	// cores, other work disturbed the run.
	OtherS float64 `json:"other_s,omitempty"`
}

// disturbed reports whether other processes used more than 5% of the
// machine's cores during the measurement (and over 0.1 s: CPU times come
// in 10 ms ticks, too coarse for the shortest runs).
func (r *Report) disturbed(cores int) bool {
	c := r.CPU
	return c != nil && c.WallS > 0 && c.OtherS > max(0.05*c.WallS*float64(cores), 0.1)
}

// WriteJSON writes r as one line.
func (r *Report) WriteJSON(w io.Writer) error {
	b, err := json.Marshal(r)
	if err != nil {
		return err
	}
	_, err = w.Write(append(b, '\n'))
	return err
}

// fail records a failure.
func (r *Report) fail(format string, args ...any) {
	r.OK = false
	r.Errors = append(r.Errors, fmt.Sprintf(format, args...))
}

// Text is the readable form of r, a few lines.
func (r *Report) Text() string {
	var b strings.Builder
	status := "ok"
	if !r.OK {
		status = "FAILED"
	}
	fmt.Fprintf(&b, "%s %s: %s (%s client, %.2f s)\n", r.Scenario, r.URL, status, r.Client, r.ElapsedS)
	switch {
	case r.FramesPerS > 0:
		fmt.Fprintf(&b, "  delivered %s frames/s\n", si(r.FramesPerS))
	case r.MsgsPerS > 0:
		fmt.Fprintf(&b, "  %s msgs/s\n", si(r.MsgsPerS))
	case r.HandshakesPerS > 0:
		fmt.Fprintf(&b, "  %s handshakes/s\n", si(r.HandshakesPerS))
	case r.CyclesPerS > 0:
		fmt.Fprintf(&b, "  %s cycles/s\n", si(r.CyclesPerS))
	}
	if l := r.LatencyUS; l != nil {
		fmt.Fprintf(&b, "  latency (%d): p50 %s  p90 %s  p99 %s  p99.9 %s  max %s\n",
			l.Count, us(l.P50), us(l.P90), us(l.P99), us(l.P999), us(l.Max))
	}
	if d := r.Delivery; d != nil {
		fmt.Fprintf(&b, "  %d clients × %d expected: %d frames, %d missing, %d gaps, %d dups, %d reordered, %d clients failed, %d closed early\n",
			d.Clients, d.ExpectedEach, d.Frames, d.Missing, d.Gaps, d.Dups, d.Reordered, d.ClientsFailed, d.ClosedEarly)
		for _, f := range d.FirstFailures {
			fmt.Fprintf(&b, "    client %d: received %d, missing %d, gaps %d, dups %d, reordered %d %s\n",
				f.Client, f.Received, f.Missing, f.Gaps, f.Dups, f.Reordered, f.CloseError)
		}
	}
	if m := r.Memory; m != nil {
		fmt.Fprintf(&b, "  %d conns over %d rooms (%d lost): server RSS %s → %s (%s/conn); PSS of %d→%d processes %s → %s (%s/conn)\n",
			m.Conns, m.Rooms, m.ConnsLost, bytesIEC(float64(m.ServerRSSBefore)), bytesIEC(float64(m.ServerRSSAfter)),
			bytesIEC(m.ServerRSSPerConn), m.ProcsBefore, m.ProcsAfter, bytesIEC(float64(m.TotalPSSBefore)),
			bytesIEC(float64(m.TotalPSSAfter)), bytesIEC(m.TotalPSSPerConn))
	}
	if c := r.CPU; c != nil {
		fmt.Fprintf(&b, "  CPU over %.2f s: client %.2f s", c.WallS, c.ClientS)
		if c.ServerS > 0 {
			fmt.Fprintf(&b, ", server %.2f s (%.2f µs/item)", c.ServerS, c.ServerUSPerItem)
		}
		fmt.Fprintf(&b, "; machine busy %.2f s (ksoftirqd %.2f s, other processes %.2f s)", c.MachineS, c.SoftirqdS, c.OtherS)
		b.WriteString("\n")
	}
	for _, e := range r.Errors {
		fmt.Fprintf(&b, "  error: %s\n", e)
	}
	return b.String()
}

// si formats n with a k or M suffix.
func si(n float64) string {
	switch {
	case n >= 1e6:
		return fmt.Sprintf("%.2fM", n/1e6)
	case n >= 1e4:
		return fmt.Sprintf("%.1fk", n/1e3)
	default:
		return fmt.Sprintf("%.0f", n)
	}
}

// us formats microseconds readably.
func us(v float64) string {
	switch {
	case math.IsNaN(v):
		return "-"
	case v >= 1e6:
		return fmt.Sprintf("%.2fs", v/1e6)
	case v >= 1e3:
		return fmt.Sprintf("%.2fms", v/1e3)
	default:
		return fmt.Sprintf("%.0fµs", v)
	}
}

// bytesIEC formats a byte count.
func bytesIEC(n float64) string {
	a := math.Abs(n)
	switch {
	case a >= 1<<30:
		return fmt.Sprintf("%.2f GiB", n/(1<<30))
	case a >= 1<<20:
		return fmt.Sprintf("%.1f MiB", n/(1<<20))
	case a >= 1<<10:
		return fmt.Sprintf("%.1f KiB", n/(1<<10))
	default:
		return fmt.Sprintf("%.0f B", n)
	}
}

// round3 keeps three decimals, for stable JSON.
func round3(v float64) float64 { return math.Round(v*1000) / 1000 }
