package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/scalesocket/scalesocket-go/cmd/scalesocket-bench/wire"
)

// churnScenario: connect to a new room, send a line, wait for its echo,
// close; -n cycles by -c workers. With ScaleSocket every cycle starts and
// ends a room's process; with websocketd a connection's process.
type churnScenario struct {
	n, c, size int
}

func (s *churnScenario) flags(fs *flag.FlagSet) {
	fs.IntVar(&s.n, "n", 500, "cycles")
	fs.IntVar(&s.c, "c", 4, "cycles in parallel")
	fs.IntVar(&s.size, "size", 64, "bytes of the echoed line")
}

func (s *churnScenario) check() (map[string]any, error) {
	if s.n < 1 || s.c < 1 || s.size < 0 || s.size > wire.MaxSize {
		return nil, errors.New("-n and -c must be ≥ 1, -size within 0..1MiB")
	}
	return map[string]any{"n": s.n, "c": s.c, "size": s.size}, nil
}

func (s *churnScenario) conns() int { return s.c }

func (s *churnScenario) run(ctx context.Context, env *Env, r *Report) {
	var rec Recorder
	var next, done atomic.Int64
	var mu sync.Mutex
	var errs []string
	failed := 0
	stop := env.every(ctx, func() string { return fmt.Sprintf("%d/%d cycles", done.Load(), s.n) })
	meter := env.cpuMeter()
	start := time.Now()
	var wg sync.WaitGroup
	for range min(s.c, s.n) {
		wg.Go(func() {
			b := rec.Batch()
			defer b.Flush()
			var line []byte
			for ctx.Err() == nil {
				i := next.Add(1) - 1
				if i >= int64(s.n) {
					return
				}
				t0 := time.Now()
				line = wire.AppendLine(line[:0], uint64(i), t0.UnixNano(), s.size)
				if err := s.cycle(ctx, env, line, uint64(i)); err != nil {
					mu.Lock()
					failed++
					if len(errs) < maxFailures {
						errs = append(errs, fmt.Sprintf("cycle %d: %v", i, err))
					}
					mu.Unlock()
					continue
				}
				b.RecordSince(t0)
				done.Add(1)
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	stop()
	r.CPU = meter(float64(done.Load()))
	r.CyclesPerS = perSecond(float64(done.Load()), elapsed)
	r.LatencyUS = rec.Hist().Summary()
	for _, e := range errs {
		r.fail("%s", e)
	}
	if failed > 0 {
		r.fail("%d of %d cycles failed", failed, s.n)
	}
}

// cycle connects to a new room, echoes line and closes.
func (s *churnScenario) cycle(ctx context.Context, env *Env, line []byte, seq uint64) error {
	got := make(chan uint64, 1)
	c, err := env.dial(ctx, uniqueRoom("churn"), func(p []byte) {
		if n, _, ok := wire.ParseLine(p); ok {
			select {
			case got <- n:
			default:
			}
		}
	})
	if err != nil {
		return err
	}
	defer c.Close()
	if err := c.Send(line); err != nil {
		return err
	}
	select {
	case n := <-got:
		if n != seq {
			return fmt.Errorf("got line %d back", n)
		}
		return nil
	case <-c.Done():
		return fmt.Errorf("closed before the echo: %s", closeReason(c))
	case <-ctx.Done():
		return ctx.Err()
	}
}
