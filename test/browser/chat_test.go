package browser

import (
	"net/url"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// say types text into the chat page and presses Enter.
func say(p *page, text string) {
	p.t.Helper()
	p.do(chromedp.SendKeys(chromedp.ID("text"), text+kb.Enter))
}

// whisperTo clicks the member in the list, which makes the next message
// private to them.
func whisperTo(p *page, nick string) {
	p.t.Helper()
	p.wait(nick+" is in the member list", `[...document.querySelectorAll('#members li')].some(li => li.innerText === `+js(nick)+`)`)
	p.do(chromedp.Evaluate[chromedp.Void](`[...document.querySelectorAll('#members li')].find(li => li.innerText === ` + js(nick) + `).click()`))
}

func joinChat(t *testing.T, s *server, name, room, nick string) *page {
	t.Helper()
	p := open(t, name, s.url("/?room="+room+"&nick="+url.QueryEscape(nick)))
	p.waitConnected()
	p.waitText("#log", "You joined #"+room+" as "+nick+".")
	return p
}

func TestChatRoomsNoticesPrivateMessagesAndHistory(t *testing.T) {
	t.Parallel()
	s := startExample(t, "chat", "127.0.0.1:0")

	ann := joinChat(t, s, "ann", "friday", "Ann")
	cat := joinChat(t, s, "cat", "saturday", "Cat") // another room
	bob := joinChat(t, s, "bob", "friday", "Bob")
	ann.waitText("#log", "Bob joined.")
	dan := joinChat(t, s, "dan", "friday", "Dan O'Neil") // sent as #QUERY_NICK, percent-encoded
	ann.waitText("#log", "Dan O'Neil joined.")
	bob.waitText("#log", "Dan O'Neil joined.")
	bob.waitText("#members", "Ann")

	say(ann, "hello from Ann")
	say(bob, "hi Ann, Bob here")
	for _, p := range []*page{ann, bob, dan} {
		p.waitText("#log", "Ann: hello from Ann")
		p.waitText("#log", "Bob: hi Ann, Bob here")
	}

	// A private message reaches its target (and its sender) only. Dan
	// sees the public message sent after it, and so would have seen the
	// private one first: the backend writes them in order, and the server
	// keeps the order of each client's messages.
	whisperTo(ann, "Bob")
	say(ann, "psst, Bob only")
	bob.waitText("#log", "Ann → you (private): psst, Bob only")
	ann.waitText("#log", "Ann → Bob (private): psst, Bob only")
	ann.do(chromedp.SetValue(chromedp.ID("to"), ""))
	say(ann, "after the secret")
	dan.waitText("#log", "Ann: after the secret")
	if log := dan.text("#log"); strings.Contains(log, "psst") {
		t.Errorf("Dan saw the private message to Bob:\n%s", log)
	}

	// A late joiner gets the recent room messages, but no private one.
	eve := joinChat(t, s, "eve", "friday", "Eve")
	log := eve.text("#log")
	for _, want := range []string{"Ann: hello from Ann", "Bob: hi Ann, Bob here", "Ann: after the secret"} {
		if !strings.Contains(log, want) {
			t.Errorf("the late joiner's log lacks %q:\n%s", want, log)
		}
	}
	if strings.Contains(log, "psst") {
		t.Errorf("the late joiner saw the private message:\n%s", log)
	}
	if got, want := eve.text("#members"), "Ann\nBob\nDan O'Neil\nEve (you)"; got != want {
		t.Errorf("the late joiner's member list is %q, want %q", got, want)
	}

	bob.close()
	ann.waitText("#log", "Bob left.")
	eve.waitText("#log", "Bob left.")

	// The other room saw none of it.
	if log := cat.text("#log"); log != "You joined #saturday as Cat." {
		t.Errorf("a page in another room saw:\n%s", log)
	}
	if got := cat.text("#members"); got != "Cat (you)" {
		t.Errorf("the other room's member list is %q", got)
	}
}

func TestChatReconnectsWhenTheServerComesBack(t *testing.T) {
	t.Parallel()
	s := startExample(t, "chat", "127.0.0.1:0")
	ann := joinChat(t, s, "ann", "friday", "Ann")

	s.stop()
	ann.wait("the page shows it lost the connection",
		`document.getElementById('status').dataset.state === 'closed'`)
	if state := ann.text("#status"); !strings.Contains(state, "retrying") {
		t.Errorf("the status says %q, want it to say when it retries", state)
	}

	startExample(t, "chat", s.addr)
	ann.waitConnected()
	ann.waitText("#log", "You joined #friday as Ann.")
}
