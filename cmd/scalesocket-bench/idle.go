package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"math"
	"os"
	"os/signal"
	"syscall"
	"time"
)

// idleScenario: C connections spread over R rooms, then nothing; the
// memory of the server and of its processes, before and after, from /proc.
type idleScenario struct {
	c, rooms, conc int
	settle, hold   time.Duration
	// prefix names the rooms PREFIX-0 .. PREFIX-(R-1); empty: a prefix
	// of this run alone. Load tools that share one names the same rooms,
	// as on the nodes of one cluster.
	prefix string
}

// settlePoll is how often memory is read while it settles.
const settlePoll = 250 * time.Millisecond

func (s *idleScenario) flags(fs *flag.FlagSet) {
	fs.IntVar(&s.c, "c", 1000, "connections")
	fs.IntVar(&s.rooms, "rooms", 10, "rooms they are spread over")
	fs.IntVar(&s.conc, "conc", 200, "connects in parallel")
	fs.DurationVar(&s.settle, "settle", 5*time.Second, "longest wait for the memory to stop changing before it is measured")
	fs.DurationVar(&s.hold, "hold", 0, "keep the connections open this long after measuring (to look at the server), or until SIGUSR1")
	fs.StringVar(&s.prefix, "roomprefix", "", "name the rooms PREFIX-0 .. PREFIX-(R-1), the same in every run (default: a prefix of this run alone)")
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
	prefix := s.prefix
	if prefix == "" {
		prefix = uniqueRoom("idle")
	}
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
	lost := countClosed(conns)
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
		s.holdOpen(ctx, env)
		if held := countClosed(conns) - lost; held > 0 {
			r.fail("%d of %d connections closed while held", held, s.c)
		}
	}
}

// holdOpen waits for the end of -hold, or for SIGUSR1: a script that
// measures the servers itself while the connections are open (the nodes of
// a cluster, scripts/bench-idle-cluster.sh) ends the hold when it is done.
// The "holding" line is its sign to start; the signal is caught from
// before that line, so that it never kills the tool.
func (s *idleScenario) holdOpen(ctx context.Context, env *Env) {
	release := make(chan os.Signal, 1)
	signal.Notify(release, syscall.SIGUSR1)
	defer signal.Stop(release)
	fmt.Fprintf(env.Log, "  holding %d connections for %s\n", s.c, s.hold)
	t := time.NewTimer(s.hold)
	defer t.Stop()
	select {
	case <-t.C:
	case <-release:
	case <-ctx.Done():
	}
}

// countClosed is how many of conns have ended.
func countClosed(conns []Conn) int {
	n := 0
	for _, c := range conns {
		select {
		case <-c.Done():
			n++
		default:
		}
	}
	return n
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
