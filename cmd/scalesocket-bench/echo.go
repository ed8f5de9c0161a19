package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/scalesocket/scalesocket-go/cmd/scalesocket-bench/wire"
)

// echoScenario: one client sends a line and waits for it to come back,
// -n times; the round trips after -warmup make the latency percentiles.
type echoScenario struct {
	n, warmup, size int
	room            string
}

func (s *echoScenario) flags(fs *flag.FlagSet) {
	fs.IntVar(&s.n, "n", 2000, "round trips measured")
	fs.IntVar(&s.warmup, "warmup", 100, "round trips before measuring")
	fs.IntVar(&s.size, "size", 64, "bytes per message")
	fs.StringVar(&s.room, "room", "", "room (default: a new one)")
}

func (s *echoScenario) check() (map[string]any, error) {
	if s.n < 1 || s.warmup < 0 || s.size < 0 || s.size > wire.MaxSize {
		return nil, errors.New("-n must be ≥ 1, -warmup ≥ 0, -size within 0..1MiB")
	}
	return map[string]any{"n": s.n, "warmup": s.warmup, "size": s.size}, nil
}

func (s *echoScenario) conns() int { return 1 }

func (s *echoScenario) run(ctx context.Context, env *Env, r *Report) {
	room := s.room
	if room == "" {
		room = uniqueRoom("echo")
	}
	total := s.warmup + s.n
	seq := NewSeq(total)
	got := make(chan uint64, 1)
	c, err := env.dial(ctx, room, func(p []byte) {
		if n, _, ok := wire.ParseLine(p); ok {
			seq.Observe(n)
			select {
			case got <- n:
			default: // an echo nobody asked for: counted by seq
			}
		}
	})
	if err != nil {
		r.fail("connect: %v", err)
		return
	}
	var rec Recorder
	batch := rec.Batch()
	var done atomic.Int64
	stop := env.every(ctx, func() string { return fmt.Sprintf("%d/%d round trips", done.Load(), total) })
	var meter func(float64) *CPU
	var start time.Time
	var line []byte
	for i := range total {
		if i == s.warmup {
			meter, start = env.cpuMeter(), time.Now()
		}
		t0 := time.Now()
		line = wire.AppendLine(line[:0], uint64(i), t0.UnixNano(), s.size)
		if err := c.Send(line); err != nil {
			r.fail("send %d: %v", i, err)
			break
		}
		select {
		case n := <-got:
			if n != uint64(i) {
				r.fail("round trip %d: got line %d back", i, n)
			}
		case <-c.Done():
			r.fail("connection closed at round trip %d: %s", i, closeReason(c))
		case <-ctx.Done():
		}
		if !r.OK || ctx.Err() != nil {
			break
		}
		if i >= s.warmup {
			batch.RecordSince(t0)
		}
		done.Add(1)
	}
	elapsed := time.Since(start)
	stop()
	batch.Flush()
	if meter != nil {
		h := rec.Hist()
		r.CPU = meter(float64(h.Count()))
		r.MsgsPerS = perSecond(float64(h.Count()), elapsed)
		r.LatencyUS = h.Summary()
	}
	c.Close()
	var d Delivery
	d.Add(0, seq, "")
	r.Delivery = &d
	if !d.OK() && r.OK {
		r.fail("echoes lost, repeated or out of order")
	}
}
