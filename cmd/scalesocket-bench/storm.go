package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// stormScenario: C clients connect to one room at the same moment;
// handshakes/s is C over the time until the last handshake completed.
type stormScenario struct {
	c    int
	room string
}

func (s *stormScenario) flags(fs *flag.FlagSet) {
	fs.IntVar(&s.c, "c", 1000, "clients connecting at once")
	fs.StringVar(&s.room, "room", "", "room (default: a new one)")
}

func (s *stormScenario) check() (map[string]any, error) {
	if s.c < 1 {
		return nil, errors.New("-c must be ≥ 1")
	}
	return map[string]any{"c": s.c}, nil
}

func (s *stormScenario) conns() int { return s.c }

func (s *stormScenario) run(ctx context.Context, env *Env, r *Report) {
	room := s.room
	if room == "" {
		room = uniqueRoom("storm")
	}
	conns := make([]Conn, s.c)
	errs := make([]error, s.c)
	var rec Recorder
	var ready, wg sync.WaitGroup
	var connected atomic.Int64
	var last atomic.Int64
	gate := make(chan struct{})
	ready.Add(s.c)
	for i := range s.c {
		wg.Go(func() {
			b := rec.Batch()
			ready.Done()
			<-gate
			t0 := time.Now()
			conns[i], errs[i] = env.dial(ctx, room, func([]byte) {})
			if errs[i] == nil {
				b.RecordSince(t0)
				b.Flush()
				connected.Add(1)
				storeMax(&last, time.Now().UnixNano())
			}
		})
	}
	ready.Wait()
	stop := env.every(ctx, func() string { return fmt.Sprintf("connected %d/%d", connected.Load(), s.c) })
	meter := env.cpuMeter()
	start := time.Now()
	close(gate)
	wg.Wait()
	stop()
	r.CPU = meter(float64(connected.Load()))
	if l := last.Load(); l > 0 {
		r.HandshakesPerS = perSecond(float64(connected.Load()), time.Unix(0, l).Sub(start))
	}
	r.LatencyUS = rec.Hist().Summary()
	failed := 0
	for i, err := range errs {
		if err != nil {
			if failed < maxFailures {
				r.fail("client %d: %v", i, err)
			}
			failed++
		}
	}
	if failed > 0 {
		r.fail("%d of %d connects failed", failed, s.c)
	}
	closeAll(conns)
}
