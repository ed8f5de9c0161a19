package browser

import (
	"fmt"
	"math"
	"testing"

	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/chromedp"
)

// stroke draws with the mouse along the points, given in board
// coordinates (the 1200×800 canvas), and returns the page (CSS) position of
// the middle point.
func stroke(p *page, points [][2]float64) {
	p.t.Helper()
	r := eval[[]float64](p, `(r => [r.left, r.top, r.width, r.height])(document.getElementById('board').getBoundingClientRect())`)
	at := func(pt [2]float64) (x, y float64) { return r[0] + pt[0]*r[2]/1200, r[1] + pt[1]*r[3]/800 }
	var steps []chromedp.Action[chromedp.Void]
	x, y := at(points[0])
	steps = append(steps, chromedp.MouseEvent(chromedp.MousePressed, x, y, chromedp.ButtonLeft, chromedp.ClickCount(1)))
	for _, pt := range points[1:] {
		x, y = at(pt)
		steps = append(steps, chromedp.MouseEvent(chromedp.MouseMoved, x, y, chromedp.ButtonLeft, buttons(1)))
	}
	steps = append(steps, chromedp.MouseEvent(chromedp.MouseReleased, x, y, chromedp.ButtonLeft, chromedp.ClickCount(1)))
	p.do(steps...)
}

// buttons sets which mouse buttons are down during a move (1 is the left).
func buttons(b int64) chromedp.MouseOption {
	return func(p *input.DispatchMouseEventParams) { p.Buttons = b }
}

// waitInk waits until the board has paint at the point, in board
// coordinates.
func waitInk(p *page, x, y float64) {
	p.t.Helper()
	p.wait(fmt.Sprintf("the board has ink at %v,%v", x, y), fmt.Sprintf(
		`document.getElementById('board').getContext('2d').getImageData(%d, %d, 1, 1).data[3] > 0`,
		int(math.Round(x)), int(math.Round(y))))
}

func hasInk(p *page, x, y float64) bool {
	p.t.Helper()
	return eval[bool](p, fmt.Sprintf(
		`document.getElementById('board').getContext('2d').getImageData(%d, %d, 1, 1).data[3] > 0`,
		int(math.Round(x)), int(math.Round(y))))
}

func openBoard(t *testing.T, s *server, name, room string) *page {
	t.Helper()
	p := open(t, name, s.url("/?room="+room))
	p.waitConnected()
	return p
}

func TestWhiteboardLatePagesSeeEarlierStrokes(t *testing.T) {
	t.Parallel()
	s := startExample(t, "whiteboard", "127.0.0.1:0")

	ann := openBoard(t, s, "ann", "sketch")
	stroke(ann, [][2]float64{{100, 100}, {200, 150}, {300, 200}, {400, 250}})
	stroke(ann, [][2]float64{{600, 600}, {700, 600}})
	waitInk(ann, 300, 200)

	// A page opened later shows them, from the server's cache.
	bob := openBoard(t, s, "bob", "sketch")
	waitInk(bob, 300, 200)
	waitInk(bob, 650, 600)

	// Strokes go the other way too, live.
	stroke(bob, [][2]float64{{800, 100}, {900, 120}, {1000, 140}})
	waitInk(ann, 900, 120)

	// Another room has a board of its own.
	other := openBoard(t, s, "other", "doodle")
	stroke(other, [][2]float64{{500, 500}, {550, 500}})
	waitInk(other, 550, 500)
	if hasInk(other, 300, 200) {
		t.Error("a board of another room shows the strokes of sketch")
	}

	// With --cachepersist the drawing outlives its last page.
	ann.close()
	bob.close()
	s.waitLog("the room sketch ended", `msg="process ended"`, "room=sketch")
	cat := openBoard(t, s, "cat", "sketch")
	waitInk(cat, 300, 200)
	waitInk(cat, 900, 120)
}
