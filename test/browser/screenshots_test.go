package browser

import (
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// TestREADMEScreenshots plays a short scene in each example and saves the
// screenshot that its README shows, examples/<name>/screenshot.png. It runs
// only when asked:
//
//	SCALESOCKET_SCREENSHOTS=1 go test ./test/browser -run READMEScreenshots
func TestREADMEScreenshots(t *testing.T) {
	if os.Getenv("SCALESOCKET_SCREENSHOTS") != "1" {
		t.Skip("set SCALESOCKET_SCREENSHOTS=1 to take the screenshots of the examples' READMEs")
	}
	for name, scene := range map[string]func(*testing.T, *server) *page{
		"chat":        chatScene,
		"multiplayer": multiplayerScene,
		"whiteboard":  whiteboardScene,
		"tcp":         tcpScene,
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			s := startExample(t, name, "127.0.0.1:0")
			p := scene(t, s)
			p.wait("animations have ended", `document.getAnimations().length === 0`)
			png, err := p.screenshot()
			if err != nil {
				t.Fatal(err)
			}
			file := filepath.Join(root, "examples", name, "screenshot.png")
			if err := os.WriteFile(file, png, 0o644); err != nil {
				t.Fatal(err)
			}
			t.Logf("wrote %s", file)
		})
	}
}

func chatScene(t *testing.T, s *server) *page {
	ann := joinChat(t, s, "ann", "general", "Ann")
	cat := joinChat(t, s, "cat", "general", "Cat Lee")
	say(ann, "Morning! The build is green again.")
	cat.waitText("#log", "build is green")
	say(cat, "Nice. Was it the flaky port test?")
	ann.waitText("#log", "flaky port")
	say(ann, "Yes: it now asks the kernel for a free port.")
	cat.waitText("#log", "free port")

	bob := joinChat(t, s, "bob", "general", "Bob")
	ann.waitText("#log", "Bob joined.")
	whisperTo(ann, "Bob")
	say(ann, "Lunch at noon? Don't tell Cat, it's her birthday cake.")
	bob.waitText("#log", "birthday cake")
	say(bob, "Hi both, catching up on the history now.")
	cat.waitText("#log", "catching up")
	cat.close()
	bob.waitText("#log", "Cat Lee left.")
	bob.do(chromedp.SendKeys(chromedp.ID("text"), "See you at noon"))
	return bob
}

func multiplayerScene(t *testing.T, s *server) *page {
	ann := joinGame(t, s, "arena", "Ann")
	bob := joinGame(t, s, "arena", "Bob")
	cat := joinGame(t, s, "arena", "Cat")
	joinGame(t, s, "dojo", "Dan")
	for i, p := range []*page{ann, bob, cat} {
		step := []struct {
			key    string
			dx, dy int
		}{{kb.ArrowRight, 1, 0}, {kb.ArrowDown, 0, 1}, {kb.ArrowLeft, -1, 0}}[i]
		x, y := position(p, p.name)
		p.do(chromedp.Focus(chromedp.ID("board")), chromedp.KeyEvent(step.key))
		waitPosition(ann, p.name, min(15, max(0, x+step.dx)), min(9, max(0, y+step.dy)))
	}
	ann.waitText("#rooms", "arena — 3 players: Ann, Bob, Cat")
	ann.waitText("#rooms", "dojo — 1 player: Dan")
	return ann
}

func whiteboardScene(t *testing.T, s *server) *page {
	ann := openBoard(t, s, "ann", "sketch")
	pick := func(p *page, color string) {
		p.do(chromedp.Click(chromedp.CSS(`.swatch[title="` + color + `"]`)))
	}
	// A house, in the default ink.
	stroke(ann, [][2]float64{{250, 650}, {250, 400}, {550, 400}, {550, 650}, {250, 650}})
	stroke(ann, [][2]float64{{220, 420}, {400, 250}, {580, 420}})
	stroke(ann, [][2]float64{{360, 650}, {360, 520}, {440, 520}, {440, 650}})
	pick(ann, "#2563eb")
	stroke(ann, [][2]float64{{280, 440}, {340, 440}, {340, 490}, {280, 490}, {280, 440}})
	stroke(ann, [][2]float64{{460, 440}, {520, 440}, {520, 490}, {460, 490}, {460, 440}})

	// A sun and grass, drawn by someone else in the same room.
	bob := openBoard(t, s, "bob", "sketch")
	pick(bob, "#d97706")
	var sun [][2]float64
	for a := 0.0; a <= 2*math.Pi+0.01; a += math.Pi / 16 {
		sun = append(sun, [2]float64{900 + 70*math.Cos(a), 180 + 70*math.Sin(a)})
	}
	stroke(bob, sun)
	for a := 0.0; a < 2*math.Pi; a += math.Pi / 4 {
		stroke(bob, [][2]float64{{900 + 95*math.Cos(a), 180 + 95*math.Sin(a)}, {900 + 135*math.Cos(a), 180 + 135*math.Sin(a)}})
	}
	pick(bob, "#16a34a")
	var grass [][2]float64
	for x := 40.0; x <= 1160; x += 20 {
		grass = append(grass, [2]float64{x, 690 - 25*math.Mod(x/20, 2)})
	}
	stroke(bob, grass)
	waitInk(ann, 1160, 690)
	return ann
}

func tcpScene(t *testing.T, s *server) *page {
	p := open(t, "shouter", s.url("/?room=shouting"))
	p.waitConnected()
	p.waitText("#log", "hello, room shouting")
	for _, line := range []string{"hello", "is anybody out there?", "this is a plain TCP server", "speaking WebSocket now"} {
		p.do(chromedp.SendKeys(chromedp.ID("line"), line+kb.Enter))
	}
	p.waitText("#log", "SPEAKING WEBSOCKET NOW")
	p.do(chromedp.SendKeys(chromedp.ID("line"), "quiet, please"))
	return p
}
