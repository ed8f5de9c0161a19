package main

import (
	"context"
	"flag"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/scalesocket/scalesocket-go/cmd/scalesocket-bench/wire"
)

// maxInflight bounds -inflight: more would only measure queueing.
const maxInflight = 1000

// streamScenario: one client keeps up to -inflight lines on their way and
// counts the echoes; msgs/s is echoes per second.
type streamScenario struct {
	n, inflight, size int
	room              string
}

func (s *streamScenario) flags(fs *flag.FlagSet) {
	fs.IntVar(&s.n, "n", 100000, "messages")
	fs.IntVar(&s.inflight, "inflight", 100, "messages sent and not yet echoed, at most (≤ 1000)")
	fs.IntVar(&s.size, "size", 64, "bytes per message")
	fs.StringVar(&s.room, "room", "", "room (default: a new one)")
}

func (s *streamScenario) check() (map[string]any, error) {
	if s.n < 1 || s.inflight < 1 || s.inflight > maxInflight || s.size < 0 || s.size > wire.MaxSize {
		return nil, fmt.Errorf("-n must be ≥ 1, -inflight within 1..%d, -size within 0..1MiB", maxInflight)
	}
	return map[string]any{"n": s.n, "inflight": s.inflight, "size": s.size}, nil
}

func (s *streamScenario) conns() int { return 1 }

func (s *streamScenario) run(ctx context.Context, env *Env, r *Report) {
	room := s.room
	if room == "" {
		room = uniqueRoom("stream")
	}
	seq := NewSeq(s.n)
	slots := make(chan struct{}, s.inflight)
	all := make(chan struct{})
	var rec Recorder
	batch := rec.Batch()
	var received atomic.Int64
	var last atomic.Int64 // UnixNano of the last echo
	c, err := env.dial(ctx, room, func(p []byte) {
		n, ts, ok := wire.ParseLine(p)
		if !ok {
			return
		}
		now := time.Now().UnixNano()
		batch.Record(now - ts)
		seq.Observe(n)
		last.Store(now)
		if received.Add(1) == int64(s.n) {
			batch.Flush()
			close(all)
		}
		select {
		case <-slots:
		default: // an echo we did not wait for: counted by seq
		}
	})
	if err != nil {
		r.fail("connect: %v", err)
		return
	}
	stop := env.every(ctx, func() string { return fmt.Sprintf("%d/%d echoed", received.Load(), s.n) })
	meter := env.cpuMeter()
	start := time.Now()
	var line []byte
send:
	for i := range s.n {
		select {
		case slots <- struct{}{}:
		case <-c.Done():
			break send
		case <-ctx.Done():
			break send
		}
		line = wire.AppendLine(line[:0], uint64(i), time.Now().UnixNano(), s.size)
		if err := c.Send(line); err != nil {
			r.fail("send %d: %v", i, err)
			break
		}
	}
	select {
	case <-all:
	case <-c.Done():
		r.fail("connection closed after %d echoes: %s", received.Load(), closeReason(c))
	case <-ctx.Done():
	}
	stop()
	r.CPU = meter(float64(received.Load()))
	c.Close()
	if l := last.Load(); l > 0 {
		r.MsgsPerS = perSecond(float64(received.Load()), time.Unix(0, l).Sub(start))
	}
	if received.Load() == int64(s.n) {
		r.LatencyUS = rec.Hist().Summary()
	}
	var d Delivery
	d.Add(0, seq, "")
	r.Delivery = &d
	if !d.OK() && r.OK {
		r.fail("echoes lost, repeated or out of order")
	}
}
