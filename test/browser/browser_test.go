// Package browser tests the examples as their users meet them: each test
// starts the built scalesocket binary with the command that the example's
// README gives, opens the example's page in headless Chromium (driven with
// chromedp) and clicks and types as a person would.
//
// The tests need Debian's chromium package (apt-get install chromium). Without
// it they skip, except when CI=true: there they fail, so that CI never passes
// by skipping them. When a test fails, a screenshot of each of its pages is
// saved in $SCALESOCKET_ARTIFACTS, or in a new temporary directory, and the
// test log gives the path.
package browser

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// timeout bounds every wait: for the server, the browser and each condition
// on a page. CI has two shared cores.
const timeout = 20 * time.Second

// The size of every page, in CSS pixels: the size of the screenshots.
const viewportWidth, viewportHeight = 1000, 640

// root is the repository root, where the README commands run.
const root = "../.."

var (
	// binary is the scalesocket binary built by TestMain, "" without Chromium.
	binary string
	// chromium is the path of the browser, "" when it is not installed.
	chromium string
	// browserCtx holds the one browser that all tests share; each page is
	// a tab of it.
	browserCtx context.Context
)

func TestMain(m *testing.M) { os.Exit(run(m)) }

func run(m *testing.M) int {
	chromium = findChromium()
	if chromium == "" {
		return m.Run() // every test skips, or fails under CI
	}
	dir, err := os.MkdirTemp("", "scalesocket-browser")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	// The binary of the README's "go run ./cmd/scalesocket", built once.
	// Building the examples' Go backends too checks that they compile and
	// fills the build cache, so that their "go run" in a README command
	// starts in well under the --tcp connect timeout.
	for _, build := range [][]string{
		{"go", "build", "-race", "-o", filepath.Join(dir, "scalesocket"), "./cmd/scalesocket"},
		{"go", "build", "-o", filepath.Join(dir, "backends") + "/", "./examples/..."},
	} {
		cmd := exec.Command(build[0], build[1:]...)
		cmd.Dir = root
		cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
		if err := cmd.Run(); err != nil {
			fmt.Fprintln(os.Stderr, strings.Join(build, " ")+":", err)
			return 1
		}
	}
	binary = filepath.Join(dir, "scalesocket")

	// The allocator gives the browser a fresh --user-data-dir and removes
	// it afterwards; the flags keep Chromium off the network.
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium),
		chromedp.NoSandbox,
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-component-update", true),
	)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancelAlloc()
	ctx, cancel := chromedp.NewContext(allocCtx)
	defer cancel()
	if err := within(timeout, func() error { return chromedp.Do(ctx) }); err != nil {
		fmt.Fprintf(os.Stderr, "start %s: %v\n", chromium, err)
		return 1
	}
	browserCtx = ctx
	return m.Run()
}

// findChromium returns the path of Chromium or Chrome, or "".
func findChromium() string {
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// within runs f and gives up after d. It is for the first call on a
// chromedp context, which must not get a context with a deadline because the
// tab or browser lives as long as the context of that call.
func within(d time.Duration, f func() error) error {
	done := make(chan error, 1)
	go func() { done <- f() }()
	select {
	case err := <-done:
		return err
	case <-time.After(d):
		return fmt.Errorf("no answer within %v", d)
	}
}

// needBrowser skips t when Chromium is missing, or fails it in CI.
func needBrowser(t *testing.T) {
	t.Helper()
	if chromium != "" {
		return
	}
	const how = "Chromium is not installed; install it with `apt-get install chromium` " +
		"(Debian's package) to run the browser tests"
	if os.Getenv("CI") == "true" {
		t.Fatal(how + " (CI=true: these tests must run in CI, not skip)")
	}
	t.Skip(how)
}

// server is a scalesocket binary started with an example's README command.
type server struct {
	t    *testing.T
	cmd  *exec.Cmd
	addr string
	args []string  // the command line, for logs
	once sync.Once // for stop

	mu  sync.Mutex
	log []string // the last lines of stderr
	// logged gets a token after each new line of stderr.
	logged chan struct{}
	// exited is closed when the process has been waited for.
	exited chan struct{}
}

const keepLogLines = 200

var listeningRE = regexp.MustCompile(`msg=listening addr=(\S+)`)

// startExample starts the example's README command, with the built binary in
// place of "go run ./cmd/scalesocket", listening on addr (127.0.0.1:0 for a
// free port), with extra flags before the README's. It stops the server
// when the test ends.
func startExample(t *testing.T, example, addr string, extra ...string) *server {
	t.Helper()
	needBrowser(t)
	words, err := readmeCommand(filepath.Join(root, "examples", example, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	args := append(append([]string{"--addr", addr}, extra...), words[3:]...)
	s := &server{t: t, args: append([]string{binary}, args...),
		logged: make(chan struct{}, 1), exited: make(chan struct{})}
	s.cmd = exec.Command(binary, args...)
	s.cmd.Dir = root
	stderr, err := s.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	listening := make(chan string, 1)
	go func() {
		lines := bufio.NewScanner(stderr)
		for lines.Scan() {
			line := lines.Text()
			if m := listeningRE.FindStringSubmatch(line); m != nil {
				listening <- m[1]
			}
			s.mu.Lock()
			if len(s.log) == keepLogLines {
				s.log = s.log[1:]
			}
			s.log = append(s.log, line)
			s.mu.Unlock()
			select {
			case s.logged <- struct{}{}:
			default: // a token is waiting already
			}
		}
		s.cmd.Wait()
		close(s.exited)
	}()
	t.Cleanup(func() {
		s.stop()
		if t.Failed() {
			t.Logf("server %s\n%s", strings.Join(s.args, " "), s.logText())
		}
	})
	select {
	case s.addr = <-listening:
	case <-s.exited:
		t.Fatalf("%s exited before listening:\n%s", strings.Join(s.args, " "), s.logText())
	case <-time.After(timeout):
		t.Fatalf("%s did not listen within %v:\n%s", strings.Join(s.args, " "), timeout, s.logText())
	}
	return s
}

// stop ends the server as a user does, with SIGTERM, and kills it if it
// does not exit in time.
func (s *server) stop() { s.once.Do(s.stopOnce) }

func (s *server) stopOnce() {
	select {
	case <-s.exited:
	default:
		s.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-s.exited:
		case <-time.After(timeout):
			s.cmd.Process.Kill()
			<-s.exited
			s.t.Errorf("server did not exit within %v of SIGTERM", timeout)
		}
	}
}

// waitLog waits until a line of the server's log contains every one of
// parts.
func (s *server) waitLog(what string, parts ...string) {
	s.t.Helper()
	deadline := time.After(timeout)
	for {
		s.mu.Lock()
		found := slices.ContainsFunc(s.log, func(line string) bool {
			return !slices.ContainsFunc(parts, func(p string) bool { return !strings.Contains(line, p) })
		})
		s.mu.Unlock()
		if found {
			return
		}
		select {
		case <-s.logged:
		case <-deadline:
			s.t.Fatalf("the server did not log that %s (a line with %q) within %v", what, parts, timeout)
		}
	}
}

func (s *server) logText() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return strings.Join(s.log, "\n")
}

// url is the address of path on the server.
func (s *server) url(path string) string { return "http://" + s.addr + path }

// page is one browser tab.
type page struct {
	t    *testing.T
	name string
	ctx  context.Context

	// cancel closes the tab.
	cancel context.CancelFunc

	mu         sync.Mutex
	errors     []string // uncaught exceptions and console errors
	exceptions int      // a bug in the page: the test fails
}

// close closes the tab, as a user closes it.
func (p *page) close() { p.cancel() }

var artifacts struct {
	once sync.Once
	dir  string
	err  error
}

// artifactDir is where screenshots of failed tests go.
func artifactDir() (string, error) {
	artifacts.once.Do(func() {
		if d := os.Getenv("SCALESOCKET_ARTIFACTS"); d != "" {
			artifacts.dir, artifacts.err = d, os.MkdirAll(d, 0o755)
			return
		}
		// Not t.TempDir: that is removed when the test ends.
		artifacts.dir, artifacts.err = os.MkdirTemp("", "scalesocket-browser-artifacts")
	})
	return artifacts.dir, artifacts.err
}

// open opens the page at url in a new tab, named name in logs and
// screenshots. The tab closes when the test ends, after a screenshot if the
// test failed.
func open(t *testing.T, name, url string) *page {
	t.Helper()
	p := &page{t: t, name: name}
	ctx, cancel := chromedp.NewContext(browserCtx, chromedp.WithListener(p.listen))
	p.ctx, p.cancel = ctx, cancel
	t.Cleanup(func() {
		p.mu.Lock()
		if p.exceptions > 0 {
			t.Errorf("page %s threw %d uncaught exceptions", name, p.exceptions)
		}
		if t.Failed() {
			for _, e := range p.errors {
				t.Logf("page %s: %s", name, e)
			}
		}
		p.mu.Unlock()
		if t.Failed() && ctx.Err() == nil {
			p.screenshotOnFailure()
		}
		cancel()
	})
	if err := within(timeout, func() error { return chromedp.Do(ctx) }); err != nil {
		t.Fatalf("open a tab for %s: %v", name, err)
	}
	p.do(chromedp.EmulateViewport(viewportWidth, viewportHeight), chromedp.Navigate(url))
	return p
}

func (p *page) listen(ev any) {
	var msg string
	exception := false
	switch ev := ev.(type) {
	case *runtime.EventExceptionThrown:
		exception = true
		d := ev.ExceptionDetails
		msg = fmt.Sprintf("uncaught exception at %s:%d: %s", d.URL, d.LineNumber+1, d.Text)
		if d.Exception != nil && d.Exception.Description != "" {
			msg += " " + d.Exception.Description
		}
	case *runtime.EventConsoleAPICalled:
		if ev.Type != runtime.ConsoleAPICalledTypeError {
			return
		}
		msg = "console.error:"
		for _, a := range ev.Args {
			msg += " " + string(a.Value) + a.Description
		}
	default:
		return
	}
	p.mu.Lock()
	p.errors = append(p.errors, msg)
	if exception {
		p.exceptions++
	}
	p.mu.Unlock()
}

func (p *page) screenshotOnFailure() {
	dir, err := artifactDir()
	if err != nil {
		p.t.Logf("no screenshot of %s: %v", p.name, err)
		return
	}
	png, err := p.screenshot()
	if err != nil {
		p.t.Logf("no screenshot of %s: %v", p.name, err)
		return
	}
	file := filepath.Join(dir, fmt.Sprintf("%s-%s.png", strings.ReplaceAll(p.t.Name(), "/", "_"), p.name))
	if err := os.WriteFile(file, png, 0o644); err != nil {
		p.t.Logf("no screenshot of %s: %v", p.name, err)
		return
	}
	p.t.Logf("screenshot of page %s: %s", p.name, file)
}

// screenshot returns a PNG of the tab's viewport.
func (p *page) screenshot() ([]byte, error) {
	ctx, cancel := context.WithTimeout(p.ctx, timeout)
	defer cancel()
	return chromedp.Run(ctx, chromedp.CaptureScreenshot())
}

// do runs the actions in the tab and fails the test if they do not finish
// within the timeout.
func (p *page) do(actions ...chromedp.Action[chromedp.Void]) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, timeout)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		p.t.Fatalf("page %s: %v", p.name, err)
	}
}

// eval returns the value of a JavaScript expression in the tab.
func eval[T any](p *page, expr string) T {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, timeout)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		p.t.Fatalf("page %s: %s: %v", p.name, expr, err)
	}
	return v
}

// wait waits until the JavaScript expression is true in the tab, checking
// every 50 ms.
func (p *page) wait(what, expr string) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, timeout)
	defer cancel()
	_, err := chromedp.Run(ctx, chromedp.Poll[chromedp.Void](expr,
		chromedp.WithPollingInterval(50*time.Millisecond), chromedp.WithPollingTimeout(timeout)))
	if err != nil {
		p.t.Fatalf("page %s: waiting until %s (%s): %v", p.name, what, expr, err)
	}
}

// waitText waits until the element's visible text contains want.
func (p *page) waitText(sel, want string) {
	p.t.Helper()
	p.wait(fmt.Sprintf("%s shows %q", sel, want), fmt.Sprintf(
		`(document.querySelector(%s)?.innerText ?? '').includes(%s)`, js(sel), js(want)))
}

// text returns the element's visible text.
func (p *page) text(sel string) string {
	p.t.Helper()
	return eval[string](p, fmt.Sprintf(`document.querySelector(%s)?.innerText ?? ''`, js(sel)))
}

// js returns s as a JavaScript string literal.
func js(s string) string {
	b, err := json.Marshal(s)
	if err != nil {
		panic(err) // a string always marshals
	}
	return string(b)
}

// waitConnected waits until the page says it is connected.
func (p *page) waitConnected() {
	p.t.Helper()
	p.wait("connected", `document.getElementById('status').dataset.state === 'open'`)
}
