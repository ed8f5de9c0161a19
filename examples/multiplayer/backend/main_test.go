package main

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"strings"
	"testing"
)

// lines decodes what the game wrote since the last call.
func lines(t *testing.T, out *bytes.Buffer) []map[string]any {
	t.Helper()
	var got []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		if l == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("not JSON: %q", l)
		}
		got = append(got, m)
	}
	out.Reset()
	return got
}

func TestJoinMoveTickLeave(t *testing.T) {
	var out bytes.Buffer
	g := newGame(&out, rand.New(rand.NewPCG(1, 2)))
	g.handle(message{T: "Join", From: 3})
	got := lines(t, &out)
	if len(got) != 2 || got[0]["t"] != "Welcome" || got[0]["_to"] != 3.0 || got[1]["_meta"] != true || got[1]["players"] != 1.0 {
		t.Fatalf("after a join: %v", got)
	}
	g.handle(message{T: "Name", Name: " Ann\n", From: 3})
	if got := lines(t, &out); len(got) != 1 || got[0]["names"].([]any)[0] != "Ann" {
		t.Fatalf("after a name: %v", got)
	}

	p := g.players[3]
	p.cell, g.coin = cell{0, 0}, cell{5, 5}
	g.handle(message{T: "Move", DX: -7, DY: 1, From: 3}) // clamped to one step, and to the board
	g.handle(message{T: "Move", DX: 1, From: 4})         // not a player: ignored
	if got := lines(t, &out); len(got) != 0 {
		t.Fatalf("a move was answered before the tick: %v", got)
	}
	g.tick()
	got = lines(t, &out)
	if len(got) != 1 || got[0]["t"] != "State" {
		t.Fatalf("after the tick: %v", got)
	}
	players := got[0]["players"].([]any)
	if a := players[0].(map[string]any); len(players) != 1 || a["x"] != 0.0 || a["y"] != 1.0 || a["name"] != "Ann" {
		t.Fatalf("players after the tick: %v", players)
	}
	g.tick()
	if got := lines(t, &out); len(got) != 0 {
		t.Fatalf("a tick with no change sent %v", got)
	}

	g.coin = cell{1, 1}
	g.handle(message{T: "Move", DX: 1, From: 3})
	g.tick()
	if p.Score != 1 || g.coin == (cell{1, 1}) {
		t.Fatalf("stepping on the coin: score %d, coin %v", p.Score, g.coin)
	}
	lines(t, &out)

	g.handle(message{T: "Leave", From: 3})
	if got := lines(t, &out); len(got) != 1 || got[0]["players"] != 0.0 {
		t.Fatalf("after the leave: %v", got)
	}
	g.tick()
	if got := lines(t, &out); len(got) != 1 || len(got[0]["players"].([]any)) != 0 {
		t.Fatalf("the state after the leave: %v", got)
	}
}

func TestCleanName(t *testing.T) {
	for in, want := range map[string]string{
		"Ann":                    "Ann",
		"  Bob \t":               "Bob",
		"a\x00b\nc":              "abc",
		"abcdefghijklmnopqrstuv": "abcdefghijklmnop",
		"ééééééééééééééééé":      "éééééééééééééééé",
		"\x7f":                   "",
	} {
		if got := cleanName(in); got != want {
			t.Errorf("cleanName(%q) = %q, want %q", in, got, want)
		}
	}
}
