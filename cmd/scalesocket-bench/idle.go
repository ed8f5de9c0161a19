package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"math"
	"time"
)

// idleScenario: C connections spread over R rooms, then nothing; the
// memory of the server and of its processes, before and after, from /proc.
type idleScenario struct {
	c, rooms, conc int
	settle, hold   time.Duration
}

// settlePoll is how often memory is read while it settles.
const settlePoll = 250 * time.Millisecond

func (s *idleScenario) flags(fs *flag.FlagSet) {
	fs.IntVar(&s.c, "c", 1000, "connections")
	fs.IntVar(&s.rooms, "rooms", 10, "rooms they are spread over")
	fs.IntVar(&s.conc, "conc", 200, "connects in parallel")
	fs.DurationVar(&s.settle, "settle", 5*time.Second, "longest wait for the memory to stop changing before it is measured")
	fs.DurationVar(&s.hold, "hold", 0, "keep the connections open this long after measuring (to look at the server)")
}

func (s *idleScenario) check() (map[string]any, error) {
	if s.c < 1 || s.rooms < 1 || s.conc < 1 || s.settle < 0 || s.hold < 0 {
		return nil, errors.New("-c, -rooms and -conc must be ≥ 1")
	}
	return map[string]any{"c": s.c, "rooms": s.rooms}, nil
}

func (s *idleScenario) conns() int { return s.c }

func (s *idleScenario) run(ctx context.Context, env *Env, r *Report) {
	pid := env.Target.PID
	if pid == 0 {
		r.fail("idle needs the server's pid: give -pid, or -server to start it")
		return
	}
	before, err := treeMem(pid)
	if err != nil {
		r.fail("%v", err)
		return
	}
	prefix := uniqueRoom("idle")
	meter := env.cpuMeter()
	start := time.Now()
	conns, err := env.dialMany(ctx, s.c, s.conc, func(i int) string {
		return fmt.Sprintf("%s-%d", prefix, i%s.rooms)
	}, func(int) func([]byte) { return func([]byte) {} })
	defer func() { closeAll(conns) }()
	if err != nil {
		r.fail("connect: %v", err)
		return
	}
	r.HandshakesPerS = perSecond(float64(s.c), time.Since(start))
	r.CPU = meter(float64(s.c))
	after, err := settle(ctx, pid, s.settle)
	if err != nil {
		r.fail("%v", err)
		return
	}
	lost := 0
	for _, c := range conns {
		select {
		case <-c.Done():
			lost++
		default:
		}
	}
	r.Memory = &Memory{
		Conns: s.c, Rooms: s.rooms, ConnsLost: lost,
		ServerRSSBefore: before.ServerRSS, ServerRSSAfter: after.ServerRSS,
		TotalPSSBefore: before.TotalPSS, TotalPSSAfter: after.TotalPSS,
		ProcsBefore: before.Procs, ProcsAfter: after.Procs,
		ServerRSSPerConn: math.Round(float64(after.ServerRSS-before.ServerRSS) / float64(s.c)),
		TotalPSSPerConn:  math.Round(float64(after.TotalPSS-before.TotalPSS) / float64(s.c)),
	}
	if lost > 0 {
		r.fail("%d of %d connections closed while idle", lost, s.c)
	}
	if s.hold > 0 {
		fmt.Fprintf(env.Log, "  holding %d connections for %s\n", s.c, s.hold)
		t := time.NewTimer(s.hold)
		defer t.Stop()
		select {
		case <-t.C:
		case <-ctx.Done():
		}
	}
}

// settle reads the memory of pid's tree until two readings in a row are
// within 0.5% of each other, or for at most limit, and returns the last.
func settle(ctx context.Context, pid int, limit time.Duration) (TreeMem, error) {
	deadline := time.Now().Add(limit)
	prev, err := treeMem(pid)
	if err != nil {
		return TreeMem{}, err
	}
	tick := time.NewTicker(settlePoll)
	defer tick.Stop()
	for time.Now().Before(deadline) {
		select {
		case <-ctx.Done():
			return prev, ctx.Err()
		case <-tick.C:
		}
		cur, err := treeMem(pid)
		if err != nil {
			return TreeMem{}, err
		}
		stable := math.Abs(float64(cur.TotalPSS-prev.TotalPSS)) <= 0.005*float64(prev.TotalPSS) && cur.Procs == prev.Procs
		prev = cur
		if stable {
			break
		}
	}
	return prev, nil
}
