package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"syscall"
	"time"
)

// Target is the server a scenario runs against: one already running at a
// URL, or one the tool starts and stops.
type Target struct {
	URL *url.URL
	// PID is the server's process id, 0 when unknown (an already running
	// server without -pid). Memory and server CPU need it.
	PID int

	cmd    *exec.Cmd
	exited chan struct{} // closed when a started server has exited
}

// readyTimeout bounds the wait for a started server to answer HTTP.
const readyTimeout = 10 * time.Second

// stopGrace is how long a started server gets to exit after SIGTERM
// (ScaleSocket ends its rooms' processes first, with a 2 s grace of its
// own) before its process group is killed.
const stopGrace = 5 * time.Second

// checkLoopback refuses any URL whose host is not a loopback address: the
// tool is for this machine only.
func checkLoopback(u *url.URL) error {
	if u.Scheme != "ws" {
		return fmt.Errorf("url %q: only ws:// is supported", u)
	}
	host := u.Hostname()
	if host == "localhost" {
		return nil
	}
	ip := net.ParseIP(host)
	if ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("url %q: host %q is not a loopback address; the tool only loads servers on this machine", u, host)
	}
	return nil
}

// startTarget starts command (through sh, so it may use quoting and
// redirections) in a process group of its own, and waits until it answers
// HTTP at u. Its output goes to logPath, or nowhere.
func startTarget(ctx context.Context, u *url.URL, command, logPath string) (*Target, error) {
	cmd := exec.Command("/bin/sh", "-c", "exec "+command)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	out, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if logPath != "" {
		out, err = os.OpenFile(logPath, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	}
	if err != nil {
		return nil, fmt.Errorf("server log: %w", err)
	}
	defer out.Close()
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start server %q: %w", command, err)
	}
	t := &Target{URL: u, PID: cmd.Process.Pid, cmd: cmd, exited: make(chan struct{})}
	go func() {
		_ = cmd.Wait()
		close(t.exited)
	}()
	if err := t.waitReady(ctx); err != nil {
		t.Stop()
		return nil, fmt.Errorf("server %q: %w", command, err)
	}
	return t, nil
}

// waitReady polls with plain HTTP GETs until the server answers anything
// at all: its own answer, not just an open port.
func (t *Target) waitReady(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, readyTimeout)
	defer cancel()
	hc := &http.Client{Timeout: 500 * time.Millisecond, Transport: &http.Transport{DisableKeepAlives: true}}
	probe := "http://" + t.URL.Host + "/"
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, probe, nil)
		if resp, err := hc.Do(req); err == nil {
			resp.Body.Close()
			return nil
		}
		select {
		case <-t.exited:
			return errors.New("exited before it answered HTTP")
		case <-ctx.Done():
			return fmt.Errorf("no HTTP answer at %s: %w", probe, ctx.Err())
		case <-tick.C:
		}
	}
}

// Stop ends a server the tool started: SIGTERM, then SIGKILL to its whole
// process group after stopGrace. It does nothing for a server it did not
// start.
func (t *Target) Stop() {
	if t == nil || t.cmd == nil {
		return
	}
	_ = t.cmd.Process.Signal(syscall.SIGTERM)
	timer := time.NewTimer(stopGrace)
	defer timer.Stop()
	select {
	case <-t.exited:
	case <-timer.C:
	}
	// Whatever is left in the group (websocketd's per-connection
	// processes) goes too. The group is the one this tool created.
	_ = syscall.Kill(-t.PID, syscall.SIGKILL)
	<-t.exited
}

// Exited reports whether a started server has exited.
func (t *Target) Exited() bool {
	if t == nil || t.exited == nil {
		return false
	}
	select {
	case <-t.exited:
		return true
	default:
		return false
	}
}

// raiseNoFile lifts this process's open-file limit towards want (within
// the kernel's fs.nr_open), so that servers the tool starts inherit it
// too. Without CAP_SYS_RESOURCE the hard limit cannot be raised, and the
// soft one goes up to the hard one only. It returns the limit in force.
func raiseNoFile(want uint64) (uint64, error) {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return 0, err
	}
	if lim.Cur >= want {
		return lim.Cur, nil
	}
	if b, err := os.ReadFile("/proc/sys/fs/nr_open"); err == nil {
		var nrOpen uint64
		if _, err := fmt.Sscan(string(b), &nrOpen); err == nil {
			want = min(want, nrOpen)
		}
	}
	raised := syscall.Rlimit{Cur: want, Max: max(lim.Max, want)}
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &raised); err == nil {
		return want, nil
	}
	lim.Cur = lim.Max
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return 0, fmt.Errorf("raise the open-file limit: %w", err)
	}
	return lim.Cur, nil
}

// sourceAddrs returns the local addresses clients dial from: 127.0.0.1
// to 127.0.0.n, so that more than one address's worth of ephemeral ports
// (about 28,000) can be open at once. n = 1 lets the kernel choose.
func sourceAddrs(n int, target *url.URL) ([]net.Addr, error) {
	if n <= 1 {
		return []net.Addr{nil}, nil
	}
	if n > 254 {
		return nil, fmt.Errorf("-sources %d: at most 254", n)
	}
	if ip := net.ParseIP(target.Hostname()); ip != nil && ip.To4() == nil {
		return nil, fmt.Errorf("-sources needs an IPv4 target, not %s", target.Host)
	}
	addrs := make([]net.Addr, n)
	for i := range addrs {
		addrs[i] = &net.TCPAddr{IP: net.IPv4(127, 0, 0, byte(i+1))}
	}
	return addrs, nil
}
