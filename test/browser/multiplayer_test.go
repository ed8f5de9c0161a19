package browser

import (
	"fmt"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// position returns where the page shows the avatar of the named player.
func position(p *page, name string) (x, y int) {
	p.t.Helper()
	xy := eval[[]int](p, fmt.Sprintf(`(() => {
		const a = document.querySelector('.avatar[data-name=' + CSS.escape(%s) + ']');
		return [Number(a.dataset.x), Number(a.dataset.y)];
	})()`, js(name)))
	return xy[0], xy[1]
}

// waitPosition waits until the page shows the named player at x, y.
func waitPosition(p *page, name string, x, y int) {
	p.t.Helper()
	p.wait(fmt.Sprintf("%s is at %d,%d", name, x, y), fmt.Sprintf(
		`(a => a && a.dataset.x === '%d' && a.dataset.y === '%d')(document.querySelector('.avatar[data-name=' + CSS.escape(%s) + ']'))`,
		x, y, js(name)))
}

func joinGame(t *testing.T, s *server, room, name string) *page {
	t.Helper()
	p := open(t, name, s.url("/?room="+room+"&name="+name))
	p.waitConnected()
	p.wait(name+" is on the board", `document.querySelector('.avatar.me[data-name=`+js(name)+`]') !== null`)
	return p
}

func TestMultiplayerMovesShowInTheOtherPageAndTheLobby(t *testing.T) {
	t.Parallel()
	s := startExample(t, "multiplayer", "127.0.0.1:0")

	ann := joinGame(t, s, "arena", "Ann")
	bob := joinGame(t, s, "arena", "Bob")
	joinGame(t, s, "dojo", "Cat")
	ann.waitText("#players", "Bob")

	// A click on a button in Ann's page moves her avatar in Bob's.
	x, y := position(ann, "Ann")
	waitPosition(bob, "Ann", x, y)
	button, dx := "right", 1
	if x == 15 { // the right edge of the 16-cell board
		button, dx = "left", -1
	}
	ann.do(chromedp.Click(chromedp.ID(button)))
	waitPosition(bob, "Ann", x+dx, y)
	waitPosition(ann, "Ann", x+dx, y)

	// So does a key press; Bob's own avatar stays put.
	bx, by := position(bob, "Bob")
	key, dy := kb.ArrowDown, 1
	if y == 9 {
		key, dy = kb.ArrowUp, -1
	}
	ann.do(chromedp.Focus(chromedp.ID("board")), chromedp.KeyEvent(key))
	waitPosition(bob, "Ann", x+dx, y+dy)
	if gx, gy := position(bob, "Bob"); gx != bx || gy != by {
		t.Errorf("Bob moved from %d,%d to %d,%d when Ann pressed a key", bx, by, gx, gy)
	}

	// The lobby lists both rooms with the player counts their backends set.
	ann.waitText("#rooms", "arena — 2 players: Ann, Bob")
	ann.waitText("#rooms", "dojo — 1 player: Cat")
}
