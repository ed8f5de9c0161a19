package browser

import (
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

func TestTCPLineRoundTrip(t *testing.T) {
	t.Parallel()
	s := startExample(t, "tcp", "127.0.0.1:0")

	p := open(t, "shouter", s.url("/?room=shouting"))
	p.waitConnected()
	p.waitText("#log", "hello, room shouting")
	p.do(chromedp.SendKeys(chromedp.ID("line"), "hello from the browser"+kb.Enter))
	p.waitText("#log", "HELLO FROM THE BROWSER")

	// A second page of the room shares the TCP connection.
	q := open(t, "listener", s.url("/?room=shouting"))
	q.waitConnected()
	p.do(chromedp.SendKeys(chromedp.ID("line"), "once more"+kb.Enter))
	q.waitText("#log", "ONCE MORE")
	s.waitLog("the TCP server's own output went to the log", "listening on 127.0.0.1:", "room=shouting")
}
