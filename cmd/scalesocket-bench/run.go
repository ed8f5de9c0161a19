package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"runtime/pprof"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// Exit statuses.
const (
	exitOK     = 0
	exitFailed = 1 // the run failed: a gap, an error, a deadline
	exitUsage  = 2
)

// scenario is one kind of load. A new value is made for every run.
type scenario interface {
	// flags registers the scenario's own flags.
	flags(fs *flag.FlagSet)
	// check validates the flags and returns the run's parameters for the
	// report.
	check() (map[string]any, error)
	// conns is how many connections the run opens at once at most.
	conns() int
	// run performs the load and fills r.
	run(ctx context.Context, env *Env, r *Report)
}

var scenarios = map[string]struct {
	summary string
	make    func() scenario
}{
	"echo":   {"one client, sequential round trips: latency percentiles", func() scenario { return new(echoScenario) }},
	"stream": {"one client, up to -inflight messages in flight: msgs/s", func() scenario { return new(streamScenario) }},
	"fanout": {"C clients in one room, M lines from the backend: frames/s, latency, gap/dup/order checks", func() scenario { return new(fanoutScenario) }},
	"storm":  {"C concurrent connects into one room: handshakes/s", func() scenario { return new(stormScenario) }},
	"idle":   {"C idle connections over R rooms: memory per connection from /proc", func() scenario { return new(idleScenario) }},
	"churn":  {"connect, one echo, close, each cycle in a new room: cycles/s", func() scenario { return new(churnScenario) }},
}

func usage(w io.Writer) {
	fmt.Fprint(w, `Usage: scalesocket-bench SCENARIO [flags]
       scalesocket-bench backend
       scalesocket-bench suite [flags]

Loads a WebSocket server on this machine (loopback only) and prints one JSON
line per run on stdout and a readable account on stderr. Exit status 0 means
the run passed its checks, 1 that it failed (a gap, an error, the deadline),
2 bad usage.

Scenarios:
`)
	names := make([]string, 0, len(scenarios))
	for n := range scenarios {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-7s %s\n", n, scenarios[n].summary)
	}
	fmt.Fprint(w, `
Other commands:
  backend  the backend program for servers to wrap: echoes every line, and
           answers a trigger line "fanout LINES RATE SIZE" with numbered,
           timestamped lines
  suite    runs ScaleSocket, websocketd and the floor side by side, repeated,
           and writes results, a summary table and a chart (scripts/bench.sh)

Run 'scalesocket-bench SCENARIO -h' for its flags.
`)
}

// Run is the whole command; it returns the exit status.
func Run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		usage(stderr)
		return exitUsage
	}
	switch args[0] {
	case "-h", "-help", "--help", "help":
		usage(stdout)
		return exitOK
	case "backend":
		return runBackend(ctx, args[1:], stdin, stdout, stderr)
	case "suite":
		return runSuite(ctx, args[1:], stdout, stderr)
	}
	name, s, o, err := parseScenario(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	if err != nil {
		fmt.Fprintf(stderr, "scalesocket-bench: %v\n", err)
		return exitUsage
	}
	r, err := RunScenario(ctx, name, s, o, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "scalesocket-bench: %v\n", err)
		return exitUsage
	}
	_ = r.WriteJSON(stdout)
	fmt.Fprint(stderr, r.Text())
	if !r.OK {
		return exitFailed
	}
	return exitOK
}

// parseScenario reads "SCENARIO [flags]". Flag errors are also printed on
// stderr by the flag package.
func parseScenario(args []string, stderr io.Writer) (string, scenario, Options, error) {
	var o Options
	sc, ok := scenarios[args[0]]
	if !ok {
		return "", nil, o, fmt.Errorf("unknown scenario %q; run without arguments for the list", args[0])
	}
	s := sc.make()
	fs := flag.NewFlagSet("scalesocket-bench "+args[0], flag.ContinueOnError)
	fs.SetOutput(stderr)
	o.register(fs)
	s.flags(fs)
	if err := fs.Parse(args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return "", nil, o, err
		}
		return "", nil, o, fmt.Errorf("%s: %w", args[0], err)
	}
	if fs.NArg() > 0 {
		return "", nil, o, fmt.Errorf("%s: unexpected argument %q", args[0], fs.Arg(0))
	}
	return args[0], s, o, nil
}

// Options are the flags every scenario shares.
type Options struct {
	URL       string
	Server    string
	ServerLog string
	PID       int
	Timeout   time.Duration
	Client    string
	Sources   int
	Progress  time.Duration
	// CPUProfile names a file for a CPU profile of the tool itself, to
	// see whether the client limits a run.
	CPUProfile string
}

func (o *Options) register(fs *flag.FlagSet) {
	fs.StringVar(&o.URL, "url", "ws://127.0.0.1:9000", "server to load: ws://HOST:PORT of a loopback address")
	fs.StringVar(&o.Server, "server", "", "command that starts the server at -url (through sh); the tool stops it after the run")
	fs.StringVar(&o.ServerLog, "serverlog", "", "file for the started server's output (default: discarded)")
	fs.IntVar(&o.PID, "pid", 0, "pid of an already running server, for memory and server CPU")
	fs.DurationVar(&o.Timeout, "timeout", 60*time.Second, "hard deadline of the whole run")
	fs.StringVar(&o.Client, "client", "gws", "client WebSocket library: gws or coder")
	fs.IntVar(&o.Sources, "sources", 1, "dial from 127.0.0.1..127.0.0.N (about 28k connections per address)")
	fs.DurationVar(&o.Progress, "progress", 2*time.Second, "interval of progress lines on stderr during long phases (0: none)")
	fs.StringVar(&o.CPUProfile, "cpuprofile", "", "write a CPU profile of the tool (the client side) to this file")
}

// RunScenario checks the options, starts the server if asked, runs s and
// stops the server. An error means bad usage; a failed run is a Report
// that is not OK.
func RunScenario(ctx context.Context, name string, s scenario, o Options, log io.Writer) (*Report, error) {
	params, err := s.check()
	if err != nil {
		return nil, err
	}
	u, err := url.Parse(o.URL)
	if err != nil {
		return nil, fmt.Errorf("-url: %w", err)
	}
	if err := checkLoopback(u); err != nil {
		return nil, err
	}
	client, ok := clients[o.Client]
	if !ok {
		return nil, fmt.Errorf("-client %q: gws or coder", o.Client)
	}
	sources, err := sourceAddrs(o.Sources, u)
	if err != nil {
		return nil, err
	}
	if o.Timeout <= 0 {
		return nil, errors.New("-timeout must be positive")
	}
	r := &Report{Scenario: name, URL: u.String(), Server: o.Server, Client: client.Name(), Params: params, OK: true}
	// A started server inherits the raised limit, hence twice the
	// connections. Below the connections themselves, the run cannot work.
	conns := uint64(s.conns())
	limit, err := raiseNoFile(2*conns + 1024)
	if err != nil || limit < conns+64 {
		r.fail("%d connections need more open files than this process may have (%d, %v): the hard limit (ulimit -Hn) "+
			"can only be raised with CAP_SYS_RESOURCE", conns, limit, err)
		return r, nil
	}
	ctx, cancel := context.WithTimeout(ctx, o.Timeout)
	defer cancel()
	start := time.Now()
	env := &Env{Client: client, Sources: sources, Log: log, Progress: o.Progress, Target: &Target{URL: u, PID: o.PID}}
	if o.Server != "" {
		t, err := startTarget(ctx, u, o.Server, o.ServerLog)
		if err != nil {
			r.fail("%v", err)
			r.ElapsedS = round3(time.Since(start).Seconds())
			return r, nil
		}
		defer t.Stop()
		env.Target = t
	}
	if o.CPUProfile != "" {
		stop, err := startProfile(o.CPUProfile)
		if err != nil {
			return nil, err
		}
		defer stop()
	}
	s.run(ctx, env, r)
	if ctx.Err() != nil {
		r.fail("deadline: the run did not finish within -timeout %s", o.Timeout)
	}
	if env.Target.Exited() {
		r.fail("the server exited during the run")
	}
	r.ElapsedS = round3(time.Since(start).Seconds())
	return r, nil
}

// Env is what a scenario runs with.
type Env struct {
	Target   *Target
	Client   Client
	Sources  []net.Addr
	Log      io.Writer
	Progress time.Duration
	// Spread lists more servers, the nodes of one cluster: dialMany
	// spreads its clients over the target and these, in turn.
	Spread []*url.URL

	nextSource atomic.Uint64
}

// roomURL is the URL of room on server u.
func roomURL(u url.URL, room string) string {
	u.Path, u.RawPath, u.RawQuery = "/"+room, "", ""
	return u.String()
}

// dial connects one client to room on the target, from the next source
// address.
func (e *Env) dial(ctx context.Context, room string, onMessage func([]byte)) (Conn, error) {
	return e.dialTo(ctx, e.Target.URL, room, onMessage)
}

// dialTo connects one client to room on server u.
func (e *Env) dialTo(ctx context.Context, u *url.URL, room string, onMessage func([]byte)) (Conn, error) {
	src := e.Sources[int(e.nextSource.Add(1)-1)%len(e.Sources)]
	return e.Client.Dial(ctx, roomURL(*u, room), src, onMessage)
}

// serverOf is the server client i of dialMany connects to.
func (e *Env) serverOf(i int) *url.URL {
	if i%(1+len(e.Spread)) == 0 {
		return e.Target.URL
	}
	return e.Spread[i%(1+len(e.Spread))-1]
}

// dialMany connects n clients, conc at a time, client i to roomOf(i) with
// the callback onMessage(i). It stops at the first failure and returns the
// clients connected so far (nil where not) with the error.
func (e *Env) dialMany(ctx context.Context, n, conc int, roomOf func(int) string, onMessage func(int) func([]byte)) ([]Conn, error) {
	conns := make([]Conn, n)
	var done atomic.Int64
	stopProgress := e.every(ctx, func() string { return fmt.Sprintf("connected %d/%d", done.Load(), n) })
	defer stopProgress()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var mu sync.Mutex
	var firstErr error
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(conc, n) {
		wg.Go(func() {
			for ctx.Err() == nil {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				c, err := e.dialTo(ctx, e.serverOf(i), roomOf(i), onMessage(i))
				if err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = fmt.Errorf("client %d: %w", i, err)
					}
					mu.Unlock()
					cancel()
					return
				}
				conns[i] = c
				done.Add(1)
			}
		})
	}
	wg.Wait()
	if firstErr == nil && ctx.Err() != nil {
		firstErr = ctx.Err()
	}
	return conns, firstErr
}

// closeAll closes every non-nil conn, many at a time.
func closeAll(conns []Conn) {
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(64, len(conns)) {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= len(conns) {
					return
				}
				if conns[i] != nil {
					conns[i].Close()
				}
			}
		})
	}
	wg.Wait()
}

// every prints what() on the log at the progress interval until the
// returned stop is called.
func (e *Env) every(ctx context.Context, what func() string) (stop func()) {
	if e.Progress <= 0 || e.Log == nil {
		return func() {}
	}
	quit := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(e.Progress)
		defer t.Stop()
		start := time.Now()
		for {
			select {
			case <-quit:
				return
			case <-ctx.Done():
				return
			case <-t.C:
				fmt.Fprintf(e.Log, "  … %4.0fs  %s\n", time.Since(start).Seconds(), what())
			}
		}
	})
	return func() {
		close(quit)
		wg.Wait()
	}
}

// cpuMeter starts measuring CPU time; the returned function stops and
// reports it, per item for the server.
func (e *Env) cpuMeter() func(items float64) *CPU {
	t0, c0 := time.Now(), selfCPU()
	m0, i0 := machineBusy()
	k0 := softirqdCPU()
	var s0 float64
	if e.Target.PID > 0 {
		s0 = treeCPU(e.Target.PID)
	}
	return func(items float64) *CPU {
		c := &CPU{WallS: round3(time.Since(t0).Seconds()), ClientS: round3(selfCPU() - c0)}
		m1, i1 := machineBusy()
		c.MachineS, c.IRQS = round3(m1-m0), round3(i1-i0)
		c.SoftirqdS = round3(softirqdCPU() - k0)
		if e.Target.PID > 0 {
			c.ServerS = round3(treeCPU(e.Target.PID) - s0)
			if items > 0 {
				c.ServerUSPerItem = round3(c.ServerS / items * 1e6)
			}
			c.OtherS = round3(max(c.MachineS-c.ClientS-c.ServerS-c.SoftirqdS, 0))
		}
		return c
	}
}

// selfCPU is this process's CPU time so far, in seconds.
func selfCPU() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
}

// closeReason describes why a connection ended, for failure reports.
func closeReason(c Conn) string {
	if err := c.Err(); err != nil {
		return err.Error()
	}
	return "closed"
}

// uniqueRoom returns a room name not used before by this process, nor,
// most likely, by an earlier one.
func uniqueRoom(prefix string) string {
	return fmt.Sprintf("%s-%x-%d", prefix, runID, roomSeq.Add(1))
}

var (
	runID   = time.Now().UnixNano() & 0xffffffff
	roomSeq atomic.Uint64
)

// perSecond is n/seconds, 0 when no time passed.
func perSecond(n float64, d time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	return round3(n / d.Seconds())
}

// flagChoice checks that v is one of choices.
func flagChoice(name, v string, choices ...string) error {
	for _, c := range choices {
		if v == c {
			return nil
		}
	}
	return fmt.Errorf("-%s %q: one of %s", name, v, strings.Join(choices, ", "))
}

// startProfile starts a CPU profile of this process into path.
func startProfile(path string) (stop func(), err error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("-cpuprofile: %w", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("-cpuprofile: %w", err)
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}, nil
}

// storeMax raises a to v if v is larger.
func storeMax(a *atomic.Int64, v int64) {
	for {
		cur := a.Load()
		if v <= cur || a.CompareAndSwap(cur, v) {
			return
		}
	}
}
