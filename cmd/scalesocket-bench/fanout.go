package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/scalesocket/scalesocket-go/cmd/scalesocket-bench/wire"
)

// fanoutScenario: C clients join one room; once every one of them is known
// to be in it, the backend is triggered and prints M numbered, timestamped
// lines, and every client must receive every line once, in order.
type fanoutScenario struct {
	c, m, size, conc int
	sample           int
	rate             float64
	room, trigger    string
	// spread lists more nodes of a cluster to connect clients to.
	spread     string
	spreadURLs []*url.URL
}

// syncEvery is how often the room is asked again whether every client has
// joined (a client may finish its handshake before the server has put it
// in the room).
const syncEvery = 100 * time.Millisecond

func (s *fanoutScenario) flags(fs *flag.FlagSet) {
	fs.IntVar(&s.c, "c", 100, "clients")
	fs.IntVar(&s.m, "m", 10000, "lines the backend prints")
	fs.Float64Var(&s.rate, "rate", 0, "lines per second (0: as fast as it can); paced runs measure latency")
	fs.IntVar(&s.size, "size", 64, "bytes per line")
	fs.IntVar(&s.conc, "conc", 100, "connects in parallel while joining")
	fs.StringVar(&s.room, "room", "", "room (default: a new one)")
	fs.IntVar(&s.sample, "sample", 0, "time every Nth line for the latency (0: every line when paced, every 8th in a burst, where reading the clock is a fifth of the client's work)")
	fs.StringVar(&s.spread, "spread", "", "comma-separated ws:// URLs of more nodes of the -url server's cluster: clients go to -url and these in turn")
	fs.StringVar(&s.trigger, "trigger", "one", "who triggers the lines: one (the room's backend is shared, as with ScaleSocket) or each (a backend per connection, as with websocketd)")
}

func (s *fanoutScenario) check() (map[string]any, error) {
	if s.c < 1 || s.m < 1 || s.m > wire.MaxLines || s.rate < 0 || s.size < 0 || s.size > wire.MaxSize || s.conc < 1 {
		return nil, errors.New("-c, -m and -conc must be ≥ 1, -rate ≥ 0, -size within 0..1MiB")
	}
	if err := flagChoice("trigger", s.trigger, "one", "each"); err != nil {
		return nil, err
	}
	if s.spread != "" {
		for _, raw := range strings.Split(s.spread, ",") {
			u, err := url.Parse(raw)
			if err != nil {
				return nil, fmt.Errorf("-spread: %w", err)
			}
			if err := checkLoopback(u); err != nil {
				return nil, fmt.Errorf("-spread: %w", err)
			}
			s.spreadURLs = append(s.spreadURLs, u)
		}
	}
	switch {
	case s.sample < 0:
		return nil, errors.New("-sample must be ≥ 0")
	case s.sample == 0 && s.rate > 0:
		s.sample = 1
	case s.sample == 0:
		s.sample = 8
	}
	return map[string]any{"c": s.c, "m": s.m, "rate": s.rate, "size": s.size, "trigger": s.trigger, "sample": s.sample, "nodes": 1 + len(s.spreadURLs)}, nil
}

func (s *fanoutScenario) conns() int { return s.c }

// fanClient is one client's account; only its read goroutine writes to it
// until the run ends.
type fanClient struct {
	seq      *Seq
	lat      *Batch
	synced   atomic.Bool
	received atomic.Int64
	last     int64 // UnixNano of the last data frame timed
	done     bool
}

func (s *fanoutScenario) run(ctx context.Context, env *Env, r *Report) {
	room := s.room
	if room == "" {
		room = uniqueRoom("fanout")
	}
	env.Spread = s.spreadURLs
	var rec Recorder
	clients := make([]*fanClient, s.c)
	var synced, finished atomic.Int64
	allSynced, allDone := make(chan struct{}), make(chan struct{})
	var triggered atomic.Bool
	sample := uint64(s.sample)
	onMessage := func(i int) func([]byte) {
		fc := &fanClient{seq: NewSeq(s.m), lat: rec.Batch()}
		clients[i] = fc
		return func(p []byte) {
			n, ts, ok := wire.ParseLine(p)
			if !ok {
				if !fc.synced.Load() && len(p) >= len(wire.SyncWord) && string(p[:len(wire.SyncWord)]) == wire.SyncWord {
					fc.synced.Store(true)
					if synced.Add(1) == int64(s.c) {
						close(allSynced)
					}
				}
				return
			}
			if !triggered.Load() {
				return // lines of an earlier trigger in a shared room
			}
			fc.seq.Observe(n)
			fc.received.Add(1)
			if n%sample == 0 {
				now := time.Now().UnixNano()
				fc.lat.Record(now - ts)
				fc.last = now
			}
			if !fc.done && fc.seq.Complete() {
				fc.last = time.Now().UnixNano()
				fc.done = true
				fc.lat.Flush()
				if finished.Add(1) == int64(s.c) {
					close(allDone)
				}
			}
		}
	}
	conns, err := env.dialMany(ctx, s.c, s.conc, func(int) string { return room }, onMessage)
	defer func() { closeAll(conns) }()
	if err != nil {
		r.fail("connect: %v", err)
		return
	}

	// Every client must be in the room before the first line: the sync
	// line comes back to every client that has joined.
	each := s.trigger == "each"
	if err := syncRoom(ctx, conns, clients, each, allSynced); err != nil {
		r.fail("waiting for every client to join: %v (%d/%d joined)", err, synced.Load(), s.c)
		return
	}

	stop := env.every(ctx, func() string {
		var n int64
		for _, fc := range clients {
			n += fc.received.Load()
		}
		return fmt.Sprintf("%s/%s frames, %d/%d clients complete", si(float64(n)), si(float64(s.c)*float64(s.m)), finished.Load(), s.c)
	})
	trigger := []byte(wire.Trigger{Lines: s.m, Rate: s.rate, Size: s.size}.String())
	meter := env.cpuMeter()
	triggered.Store(true)
	start := time.Now()
	senders := conns[:1]
	if each {
		senders = conns
	}
	for i, c := range senders {
		if err := c.Send(trigger); err != nil {
			r.fail("trigger from client %d: %v", i, err)
		}
	}
	// Wait for every client to complete, or to be closed by the server.
	closed := make(chan int, s.c)
	var watchers sync.WaitGroup
	quit := make(chan struct{})
	for i, c := range conns {
		watchers.Go(func() {
			select {
			case <-c.Done():
				closed <- i
			case <-quit:
			}
		})
	}
	early := map[int]string{}
wait:
	for {
		select {
		case <-allDone:
			break wait
		case i := <-closed:
			if !clients[i].done {
				early[i] = closeReason(conns[i])
				if len(early)+int(finished.Load()) >= s.c {
					break wait
				}
			}
		case <-ctx.Done():
			break wait
		}
	}
	close(quit)
	watchers.Wait()
	stop()
	// CPU before closing: the processes that end then take their CPU time
	// with them unless the server has reaped them by the time it is read.
	var frames int64
	for _, fc := range clients {
		frames += fc.received.Load()
	}
	r.CPU = meter(float64(frames))
	closeAll(conns)

	var d Delivery
	var lastNano int64
	for i, fc := range clients {
		fc.lat.Flush()
		lastNano = max(lastNano, fc.last)
		d.Add(i, fc.seq, early[i])
	}
	r.Delivery = &d
	if lastNano > 0 {
		r.FramesPerS = perSecond(float64(d.Frames), time.Unix(0, lastNano).Sub(start))
	}
	r.LatencyUS = rec.Hist().Summary()
	if !d.OK() {
		r.fail("delivery: %d of %d clients did not get every line once and in order", d.ClientsFailed, s.c)
	}
}

// syncRoom sends sync lines until every client has seen one come back: from
// client 0 into the shared room, or from each client into its own backend.
func syncRoom(ctx context.Context, conns []Conn, clients []*fanClient, each bool, all <-chan struct{}) error {
	tick := time.NewTicker(syncEvery)
	defer tick.Stop()
	for round := 1; ; round++ {
		line := []byte(fmt.Sprintf("%s %d", wire.SyncWord, round))
		for i, c := range conns {
			if (!each && i > 0) || (each && clients[i].synced.Load()) {
				continue
			}
			if err := c.Send(line); err != nil {
				return fmt.Errorf("client %d: %w", i, err)
			}
		}
		select {
		case <-all:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
	}
}
