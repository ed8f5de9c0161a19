// Command backend is the game of the multiplayer example: players walk
// their avatars around a board to pick up coins. scalesocket --json runs one
// per room and talks to it over stdin and stdout, one JSON object per line:
//
//	in:  {"t":"Join","_from":3}                 player 3 joined (from --json)
//	     {"t":"Leave","_from":3}                player 3 left
//	     {"t":"Name","name":"Ann","_from":3}    player 3 is called Ann
//	     {"t":"Move","dx":1,"dy":0,"_from":3}   player 3 wants to step right
//	out: {"t":"Welcome","id":3,...,"_to":3}     to player 3 alone
//	     {"t":"State","players":[...],...}       to everyone, at most once a tick
//	     {"_meta":true,"players":2,...}          the room's entry in the lobby API
//
// The server sets "_from" on every client message, so a player can only ever
// move itself. Moves wait for the next tick: each tick moves every player at
// most one step and, if anything changed, sends the new positions to all.
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

const (
	// width and height of the board, in cells.
	width, height = 16, 10
	// tick is how often the positions go out: ten times a second.
	tick = 100 * time.Millisecond
	// maxName is the longest name kept, in runes.
	maxName = 16
	// maxLine is the longest line read: the server's default --maxmsgsize
	// plus the "_from" it adds.
	maxLine = 1<<20 + 64
)

var colors = []string{"#e11d48", "#2563eb", "#16a34a", "#d97706", "#7c3aed", "#0891b2", "#db2777", "#65a30d"}

// message is a line from the server: a join or leave message of --json, or
// a message of a page.
type message struct {
	T    string `json:"t"`
	From uint32 `json:"_from"`
	Name string `json:"name"`
	DX   int    `json:"dx"`
	DY   int    `json:"dy"`
}

type cell struct {
	X int `json:"x"`
	Y int `json:"y"`
}

type player struct {
	ID    uint32 `json:"id"`
	Name  string `json:"name"`
	Color string `json:"color"`
	Score int    `json:"score"`
	cell
	// step is the move asked for since the last tick, if any.
	step cell
}

// game is the state of one room. Only the main goroutine touches it.
type game struct {
	players map[uint32]*player
	coin    cell
	changed bool // since the last State
	out     io.Writer
	rng     *rand.Rand
}

func newGame(out io.Writer, rng *rand.Rand) *game {
	g := &game{players: map[uint32]*player{}, out: out, rng: rng}
	g.coin = g.freeCell()
	return g
}

func main() {
	lines := make(chan []byte)
	go func() {
		in := bufio.NewScanner(os.Stdin)
		in.Buffer(nil, maxLine)
		for in.Scan() {
			lines <- slices.Clone(in.Bytes())
		}
		if err := in.Err(); err != nil {
			fmt.Fprintln(os.Stderr, "read:", err)
		}
		close(lines) // the room has ended
	}()
	out := bufio.NewWriter(os.Stdout)
	g := newGame(out, rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64())))
	ticker := time.NewTicker(tick)
	defer ticker.Stop()
	for {
		select {
		case line, ok := <-lines:
			if !ok {
				return
			}
			var m message
			if err := json.Unmarshal(line, &m); err != nil {
				fmt.Fprintf(os.Stderr, "bad line %q: %v\n", line, err)
				continue
			}
			g.handle(m)
		case <-ticker.C:
			g.tick()
		}
		if err := out.Flush(); err != nil {
			fmt.Fprintln(os.Stderr, "write:", err)
			os.Exit(1)
		}
	}
}

// handle applies one message.
func (g *game) handle(m message) {
	p := g.players[m.From]
	switch {
	case m.T == "Join" && p == nil:
		p = &player{ID: m.From, Name: fmt.Sprintf("player %d", m.From),
			Color: colors[int(m.From-1)%len(colors)], cell: g.freeCell()}
		g.players[m.From] = p
		g.send(map[string]any{"t": "Welcome", "id": p.ID, "width": width, "height": height, "_to": p.ID})
		g.sendMeta()
		g.changed = true
	case p == nil: // not (or no longer) playing
	case m.T == "Leave":
		delete(g.players, m.From)
		g.sendMeta()
		g.changed = true
	case m.T == "Name":
		if name := cleanName(m.Name); name != "" && name != p.Name {
			p.Name = name
			g.sendMeta()
			g.changed = true
		}
	case m.T == "Move":
		p.step = cell{max(-1, min(1, m.DX)), max(-1, min(1, m.DY))}
	}
}

// tick moves every player one step at most and sends the new state if
// anything changed.
func (g *game) tick() {
	for _, p := range g.players {
		if p.step == (cell{}) {
			continue
		}
		p.X = max(0, min(width-1, p.X+p.step.X))
		p.Y = max(0, min(height-1, p.Y+p.step.Y))
		p.step = cell{}
		g.changed = true
	}
	for _, id := range g.ids() { // in order of arrival, so a tie is fair
		if p := g.players[id]; p.cell == g.coin {
			p.Score++
			g.coin = g.freeCell()
		}
	}
	if !g.changed {
		return
	}
	g.changed = false
	players := make([]*player, 0, len(g.players))
	for _, id := range g.ids() {
		players = append(players, g.players[id])
	}
	g.send(map[string]any{"t": "State", "players": players, "coin": g.coin})
}

// sendMeta sets the room's metadata, which the lobby API lists.
func (g *game) sendMeta() {
	names := []string{}
	for _, id := range g.ids() {
		names = append(names, g.players[id].Name)
	}
	g.send(map[string]any{"_meta": true, "players": len(g.players), "names": names})
}

func (g *game) send(v any) {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // our own values always marshal
	}
	g.out.Write(append(b, '\n'))
}

func (g *game) ids() []uint32 {
	ids := make([]uint32, 0, len(g.players))
	for id := range g.players {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

// freeCell returns a random cell with no player and no coin, or any cell
// when the board is full.
func (g *game) freeCell() cell {
	for range 100 {
		c := cell{g.rng.IntN(width), g.rng.IntN(height)}
		if c == g.coin {
			continue
		}
		taken := false
		for _, p := range g.players {
			taken = taken || p.cell == c
		}
		if !taken {
			return c
		}
	}
	return cell{g.rng.IntN(width), g.rng.IntN(height)}
}

// cleanName trims the name to maxName runes of printable text.
func cleanName(s string) string {
	s = strings.Map(func(r rune) rune {
		if r < ' ' || r == 0x7f || r == utf8.RuneError {
			return -1
		}
		return r
	}, s)
	s = strings.TrimSpace(s)
	if utf8.RuneCountInString(s) > maxName {
		s = string([]rune(s)[:maxName])
	}
	return s
}
