package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"
)

// The suite runs the same cases against ScaleSocket, websocketd and the
// floor, alternating them, repeated, and summarises: medians, min–max and
// ratios, a Markdown table, and a chart.

// suiteTarget is one of the servers compared.
type suiteTarget struct {
	label string
	// command returns the shell command that serves backend ("cat", or
	// "backend" for the tool's own) on port; bin maps "ours",
	// "websocketd", "floor" and "bench" to executables.
	command func(bin map[string]string, port int, backend string) string
	// perConn is true when every connection has a backend of its own, so
	// each client triggers its own lines.
	perConn bool
}

var suiteTargets = []suiteTarget{
	// Neither ours nor websocketd logs a line per connection (-q,
	// --loglevel error): the floor logs nothing at all.
	{label: "ours", command: func(bin map[string]string, port int, backend string) string {
		cmd := fmt.Sprintf("%s -q --addr 127.0.0.1:%d ", shellQuote(bin["ours"]), port)
		if backend == "cat" {
			return cmd + "cat"
		}
		return cmd + shellQuote(bin["bench"]) + " -- backend"
	}},
	{label: "websocketd", perConn: true, command: func(bin map[string]string, port int, backend string) string {
		cmd := fmt.Sprintf("%s --address 127.0.0.1 --port %d --loglevel error ", shellQuote(bin["websocketd"]), port)
		if backend == "cat" {
			return cmd + "cat"
		}
		return cmd + shellQuote(bin["bench"]) + " backend"
	}},
	{label: "floor", command: func(bin map[string]string, port int, _ string) string {
		return fmt.Sprintf("%s -addr 127.0.0.1:%d", shellQuote(bin["floor"]), port)
	}},
}

// suiteCase is one row group of the summary: a scenario with its
// arguments, run against each target.
type suiteCase struct {
	id      string   // e.g. "fanout C=1000"
	args    []string // scenario and its flags, without -url and -server
	backend string   // "cat" or "backend"
	timeout time.Duration
	labels  []string // targets; nil means all
	once    bool     // one repetition only
}

// metric is one figure taken from a report.
type metric struct {
	name   string
	higher bool // higher is better
	get    func(r *Report) (float64, bool)
	format func(float64) string
}

var (
	mFrames = metric{"delivered frames/s", true, func(r *Report) (float64, bool) { return r.FramesPerS, r.FramesPerS > 0 }, si}
	mMsgs   = metric{"msgs/s", true, func(r *Report) (float64, bool) { return r.MsgsPerS, r.MsgsPerS > 0 }, si}
	mHands  = metric{"handshakes/s", true, func(r *Report) (float64, bool) { return r.HandshakesPerS, r.HandshakesPerS > 0 }, si}
	mCycles = metric{"cycles/s", true, func(r *Report) (float64, bool) { return r.CyclesPerS, r.CyclesPerS > 0 }, si}
	mServUS = metric{"server CPU µs/frame", false, func(r *Report) (float64, bool) {
		if r.CPU == nil || r.CPU.ServerUSPerItem <= 0 {
			return 0, false
		}
		return r.CPU.ServerUSPerItem, true
	}, func(v float64) string { return fmt.Sprintf("%.2f", v) }}
	mClient = metric{"client CPU, cores", false, func(r *Report) (float64, bool) {
		if r.CPU == nil || r.CPU.WallS <= 0 {
			return 0, false
		}
		return r.CPU.ClientS / r.CPU.WallS, true
	}, func(v float64) string { return fmt.Sprintf("%.2f", v) }}
	mP50 = latencyMetric("p50 latency", func(l *Latency) float64 { return l.P50 })
	mP99 = latencyMetric("p99 latency", func(l *Latency) float64 { return l.P99 })
	mPSS = metric{"PSS per conn (server + processes)", false, func(r *Report) (float64, bool) {
		if r.Memory == nil {
			return 0, false
		}
		return r.Memory.TotalPSSPerConn, true
	}, func(v float64) string { return bytesIEC(v) }}
	mRSS = metric{"server RSS per conn", false, func(r *Report) (float64, bool) {
		if r.Memory == nil {
			return 0, false
		}
		return r.Memory.ServerRSSPerConn, true
	}, func(v float64) string { return bytesIEC(v) }}
)

func latencyMetric(name string, f func(*Latency) float64) metric {
	return metric{name, false, func(r *Report) (float64, bool) {
		if r.LatencyUS == nil {
			return 0, false
		}
		return f(r.LatencyUS), true
	}, us}
}

// metricsOf lists the figures the summary shows for a run of the suite.
func metricsOf(r *Report) []metric {
	switch r.Scenario {
	case "fanout":
		if paramFloat(r, "rate") > 0 {
			return []metric{mP99, mP50, mClient}
		}
		return []metric{mFrames, mServUS, mClient}
	case "echo":
		return []metric{mP50, mP99}
	case "stream":
		return []metric{mMsgs}
	case "storm":
		return []metric{mHands}
	case "churn":
		return []metric{mCycles}
	case "idle":
		return []metric{mPSS, mRSS}
	}
	return nil
}

// paramFloat reads a numeric parameter of a report, fresh or read back
// from JSON.
func paramFloat(r *Report, key string) float64 {
	switch v := r.Params[key].(type) {
	case int:
		return float64(v)
	case float64:
		return v
	}
	return 0
}

type suiteOptions struct {
	bin                     map[string]string
	reps, m, pacedM, big    int
	rate                    float64
	clients                 []int
	out, only, client, note string
	sources, retries        int
	from                    string
}

func (o *suiteOptions) cases() []suiteCase {
	var cs []suiteCase
	for _, c := range o.clients {
		cs = append(cs, suiteCase{
			id:      fmt.Sprintf("fanout C=%d M=%d", c, o.m),
			args:    []string{"fanout", "-c", strconv.Itoa(c), "-m", strconv.Itoa(o.m)},
			backend: "backend", timeout: 180 * time.Second,
		})
	}
	for _, c := range o.clients {
		cs = append(cs, suiteCase{
			id:      fmt.Sprintf("fanout paced C=%d %g lines/s", c, o.rate),
			args:    []string{"fanout", "-c", strconv.Itoa(c), "-m", strconv.Itoa(o.pacedM), "-rate", strconv.FormatFloat(o.rate, 'f', -1, 64)},
			backend: "backend", timeout: 120 * time.Second,
		})
	}
	cs = append(cs,
		suiteCase{id: "echo", args: []string{"echo", "-n", "2000"}, backend: "cat", timeout: 60 * time.Second},
		suiteCase{id: "stream inflight=1000", args: []string{"stream", "-n", "100000", "-inflight", "1000"}, backend: "cat", timeout: 60 * time.Second},
		suiteCase{id: "storm C=2000", args: []string{"storm", "-c", "2000"}, backend: "cat", timeout: 60 * time.Second},
		suiteCase{id: "churn", args: []string{"churn", "-n", "500", "-c", "4"}, backend: "cat", timeout: 60 * time.Second},
		suiteCase{id: "idle C=1000 R=10", args: []string{"idle", "-c", "1000", "-rooms", "10"}, backend: "cat", timeout: 60 * time.Second},
	)
	if o.big > 0 {
		// websocketd would need a process per connection: more than
		// this machine's pid_max (32768), and some 7 GB.
		cs = append(cs, suiteCase{
			id: fmt.Sprintf("idle C=%d R=10", o.big), args: []string{"idle", "-c", strconv.Itoa(o.big), "-rooms", "10", "-conc", "500"},
			backend: "cat", timeout: 300 * time.Second, labels: []string{"ours", "floor"}, once: true,
		})
	}
	if o.only == "" {
		return cs
	}
	var picked []suiteCase
	for _, c := range cs {
		for _, p := range strings.Split(o.only, ",") {
			if strings.HasPrefix(c.id, strings.TrimSpace(p)) {
				picked = append(picked, c)
				break
			}
		}
	}
	return picked
}

func runSuite(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	o := suiteOptions{bin: map[string]string{}}
	fs := flag.NewFlagSet("scalesocket-bench suite", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var ours, wsd, floor, bench, clientsFlag string
	fs.StringVar(&ours, "ours", "", "scalesocket binary (go build ./cmd/scalesocket)")
	fs.StringVar(&wsd, "websocketd", "websocketd", "websocketd binary (Debian package websocketd); empty: leave it out")
	fs.StringVar(&floor, "floor", "", "scalesocket-floor binary (go build ./cmd/scalesocket-floor); empty: leave it out")
	fs.StringVar(&bench, "bench", "", "scalesocket-bench binary whose backend the servers run (default: this one)")
	fs.IntVar(&o.reps, "reps", 3, "repetitions of every case")
	fs.StringVar(&clientsFlag, "clients", "10,100,1000", "client counts of the fan-out cases")
	fs.IntVar(&o.m, "m", 10000, "lines of a fan-out burst")
	fs.Float64Var(&o.rate, "rate", 200, "lines per second of the paced fan-out")
	fs.IntVar(&o.pacedM, "paced-m", 600, "lines of the paced fan-out")
	fs.IntVar(&o.big, "big", 19000, "connections of the one large idle run (ours and floor only; each side needs an open file per connection, under ulimit -Hn); 0: none")
	fs.IntVar(&o.retries, "retries", 2, "runs again, up to this many times, a run that other processes disturbed (used over 5% of the cores)")
	fs.IntVar(&o.sources, "sources", 4, "source addresses 127.0.0.1..N the clients dial from")
	fs.StringVar(&o.client, "client", "gws", "client library: gws or coder")
	fs.StringVar(&o.out, "out", "bench-results", "directory for results.jsonl, summary.md, fanout.svg and the servers' logs")
	fs.StringVar(&o.only, "only", "", "run only the cases whose names start with one of these (comma-separated), e.g. 'echo,fanout C=100'")
	fs.StringVar(&o.from, "from", "", "summarise this results.jsonl instead of running anything")
	fs.StringVar(&o.note, "note", "", "a line for the summary, such as the commit measured")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}
	for _, f := range strings.Split(clientsFlag, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			fmt.Fprintf(stderr, "scalesocket-bench suite: -clients %q: positive integers\n", clientsFlag)
			return exitUsage
		}
		o.clients = append(o.clients, n)
	}
	if err := os.MkdirAll(o.out, 0o755); err != nil {
		fmt.Fprintf(stderr, "scalesocket-bench suite: %v\n", err)
		return exitFailed
	}
	if o.from != "" {
		reports, err := readResults(o.from)
		if err != nil {
			fmt.Fprintf(stderr, "scalesocket-bench suite: %v\n", err)
			return exitFailed
		}
		// The machine and the commands, as the run that made the results
		// wrote them.
		preamble, _ := os.ReadFile(filepath.Join(filepath.Dir(o.from), "preamble.md"))
		return writeSummary(o, reports, string(preamble), stderr)
	}

	if bench == "" {
		exe, err := os.Executable()
		if err != nil {
			fmt.Fprintf(stderr, "scalesocket-bench suite: %v\n", err)
			return exitFailed
		}
		bench = exe
	}
	o.bin["ours"], o.bin["floor"], o.bin["bench"] = ours, floor, bench
	var targets []suiteTarget
	for _, t := range suiteTargets {
		path := map[string]string{"ours": ours, "websocketd": wsd, "floor": floor}[t.label]
		if path == "" {
			continue
		}
		abs, err := exec.LookPath(path)
		if err == nil {
			abs, err = filepath.Abs(abs)
		}
		if err != nil {
			fmt.Fprintf(stderr, "scalesocket-bench suite: -%s: %v\n", t.label, err)
			return exitUsage
		}
		o.bin[t.label] = abs
		targets = append(targets, t)
	}
	if o.bin["bench"], _ = filepath.Abs(bench); ours == "" {
		fmt.Fprintln(stderr, "scalesocket-bench suite: -ours is required")
		return exitUsage
	}
	machine := machineInfo(o.bin)
	if o.note != "" {
		machine += "- " + o.note + "\n"
	}
	fmt.Fprint(stderr, machine)

	results, err := os.Create(filepath.Join(o.out, "results.jsonl"))
	if err != nil {
		fmt.Fprintf(stderr, "scalesocket-bench suite: %v\n", err)
		return exitFailed
	}
	defer results.Close()
	logDir := filepath.Join(o.out, "logs")
	_ = os.MkdirAll(logDir, 0o755)
	cases := o.cases()
	var reports []*Report
	start := time.Now()
	for rep := 1; rep <= o.reps; rep++ {
		for _, c := range cases {
			if c.once && rep > 1 {
				continue
			}
			for k := range targets {
				// Rotate the order every repetition, so that no server
				// always runs right after the same one.
				t := targets[(k+rep-1)%len(targets)]
				if c.labels != nil && !slices.Contains(c.labels, t.label) {
					continue
				}
				if ctx.Err() != nil {
					fmt.Fprintln(stderr, "scalesocket-bench suite: interrupted")
					return exitFailed
				}
				for try := 0; ; try++ {
					r := runSuiteCase(ctx, o, c, t, rep, filepath.Join(logDir, t.label+".log"), stderr)
					again := try < o.retries && r.disturbed(runtime.NumCPU()) && ctx.Err() == nil
					r.Retried = again
					reports = append(reports, r)
					_ = r.WriteJSON(stdout)
					_ = r.WriteJSON(results)
					status := "ok"
					switch {
					case again:
						status = fmt.Sprintf("disturbed (other processes used %.2f s), again", r.CPU.OtherS)
					case !r.OK:
						status = "FAILED: " + strings.Join(r.Errors, "; ")
					}
					m := metricsOf(r)[0]
					v, _ := m.get(r)
					fmt.Fprintf(stderr, "[%s rep %d/%d] %-34s %-10s %12s %s  %s\n", time.Since(start).Round(time.Second),
						rep, o.reps, c.id, t.label, m.format(v), m.name, status)
					runtime.GC()
					if !again {
						break
					}
				}
			}
		}
	}
	preamble := machine + "\n" + commands(o, cases, targets)
	_ = os.WriteFile(filepath.Join(o.out, "preamble.md"), []byte(preamble), 0o644)
	return writeSummary(o, reports, preamble, stderr)
}

// commands lists the single runs the suite makes, as commands to type,
// with PORT for the free port it picks.
func commands(o suiteOptions, cases []suiteCase, targets []suiteTarget) string {
	bin := map[string]string{"ours": "scalesocket", "websocketd": "websocketd", "floor": "scalesocket-floor", "bench": "scalesocket-bench"}
	var b strings.Builder
	b.WriteString("Each run of the suite is the same as one of these commands (PORT: a free port):\n\n```sh\n")
	for _, c := range cases {
		fmt.Fprintf(&b, "# %s\n", c.id)
		for _, t := range targets {
			if c.labels != nil && !slices.Contains(c.labels, t.label) {
				continue
			}
			cmd := strings.Replace(t.command(bin, 0, c.backend), ":0", ":PORT", 1)
			cmd = strings.Replace(cmd, "--port 0", "--port PORT", 1)
			extra := ""
			if t.perConn && c.args[0] == "fanout" {
				extra = " -trigger each"
			}
			fmt.Fprintf(&b, "scalesocket-bench %s -sources %d -url ws://127.0.0.1:PORT -server '%s'%s\n", strings.Join(c.args, " "), o.sources, cmd, extra)
		}
	}
	b.WriteString("```\n")
	return b.String()
}

// runSuiteCase runs case c against target t on a free port.
func runSuiteCase(ctx context.Context, o suiteOptions, c suiteCase, t suiteTarget, rep int, logPath string, stderr io.Writer) *Report {
	fail := func(err error) *Report {
		r := &Report{Scenario: c.args[0], Case: c.id, Label: t.label, Rep: rep}
		r.fail("%v", err)
		return r
	}
	port, err := freePort()
	if err != nil {
		return fail(err)
	}
	args := append(slices.Clone(c.args),
		"-url", fmt.Sprintf("ws://127.0.0.1:%d", port),
		"-server", t.command(o.bin, port, c.backend),
		"-serverlog", logPath,
		"-timeout", c.timeout.String(),
		"-sources", strconv.Itoa(o.sources),
		"-client", o.client,
		"-progress", "10s")
	if t.perConn && c.args[0] == "fanout" {
		args = append(args, "-trigger", "each")
	}
	name, s, opts, err := parseScenario(args, stderr)
	if err != nil {
		return fail(err)
	}
	r, err := RunScenario(ctx, name, s, opts, stderr)
	if err != nil {
		return fail(err)
	}
	r.Case, r.Label, r.Rep = c.id, t.label, rep
	if !r.OK {
		fmt.Fprint(stderr, r.Text())
	}
	return r
}

// freePort asks the kernel for a loopback port that is free now.
func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// shellQuote quotes s for sh when it needs it.
func shellQuote(s string) string {
	if s != "" && strings.IndexFunc(s, func(r rune) bool {
		return !(r == '/' || r == '.' || r == '-' || r == '_' || r == ':' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z')
	}) < 0 {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

func readResults(path string) ([]*Report, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []*Report
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var r Report
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		out = append(out, &r)
	}
	return out, sc.Err()
}

// machineInfo describes this machine and the programs compared.
func machineInfo(bin map[string]string) string {
	var b strings.Builder
	cpu := "unknown"
	if data, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for line := range strings.Lines(string(data)) {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				cpu = strings.TrimSpace(v)
				break
			}
		}
	}
	kernel, _ := os.ReadFile("/proc/sys/kernel/osrelease")
	mem := "unknown"
	if data, err := os.ReadFile("/proc/meminfo"); err == nil {
		line, _, _ := strings.Cut(string(data), "\n")
		mem = strings.Join(strings.Fields(line)[1:], " ")
	}
	fmt.Fprintf(&b, "- CPU: %s, %d cores (nproc); memory: %s\n", cpu, runtime.NumCPU(), mem)
	fmt.Fprintf(&b, "- kernel: Linux %s\n", strings.TrimSpace(string(kernel)))
	fmt.Fprintf(&b, "- Go: %s (this tool, the floor and ScaleSocket)\n", runtime.Version())
	for _, k := range []string{"ours", "websocketd"} {
		if bin[k] == "" {
			continue
		}
		out, _ := exec.Command(bin[k], "--version").CombinedOutput()
		fmt.Fprintf(&b, "- %s: %s\n", filepath.Base(bin[k]), strings.TrimSpace(string(out)))
	}
	return b.String()
}
