package cluster

import (
	"errors"
	"testing"
)

func TestRoomTokenEncodesEveryUnsafeByte(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, token string }{
		{"lobby", "lobby"},
		{"Room_42-b", "Room_42-b"},
		{"", "=_"},
		{"a.b", "a=2Eb"},
		{"*", "=2A"},
		{">", "=3E"},
		{"a b", "a=20b"},
		{"=", "=3D"},
		{"=_", "=3D_"},
		{"a/b", "a=2Fb"},
		{"é", "=C3=A9"},
		{"\x00\xff", "=00=FF"},
		{"\t\n", "=09=0A"},
	}
	for _, tt := range tests {
		if got := RoomToken(tt.name); got != tt.token {
			t.Errorf("RoomToken(%q) = %q, want %q", tt.name, got, tt.token)
		}
		if got := NodeToken(tt.name); got != tt.token {
			t.Errorf("NodeToken(%q) = %q, want %q", tt.name, got, tt.token)
		}
		got, err := RoomName(tt.token)
		if err != nil || got != tt.name {
			t.Errorf("RoomName(%q) = %q, %v; want %q, nil", tt.token, got, err, tt.name)
		}
	}
}

func TestRoomNameRejectsWhatRoomTokenNeverProduces(t *testing.T) {
	t.Parallel()
	for _, token := range []string{
		"",    // RoomToken never returns an empty token.
		"=",   // Truncated escape.
		"=4",  // Truncated escape.
		"a=2", // Truncated escape at the end.
		"=G1", // Not hex.
		"=c3", // Lowercase hex would give a second token for the same room.
		"=41", // "A" is kept as is, so escaping it is not canonical.
		"=5F", // Likewise "_".
		"a=_", // The empty-name marker only stands alone.
		".",   // Subject separator.
		"a.b", // Subject separator.
		"*",   // Subject wildcard.
		">",   // Subject wildcard.
		"a b", // Whitespace ends a subject token.
		"a/b", // Allowed in KV keys but reserved as a separator there.
		"é",   // Raw non-ASCII.
	} {
		if name, err := RoomName(token); !errors.Is(err, ErrMalformedToken) {
			t.Errorf("RoomName(%q) = %q, %v; want ErrMalformedToken", token, name, err)
		}
	}
}

// FuzzRoomToken checks both directions: any name survives a round trip
// through a token made only of safe characters, and any string RoomName
// accepts is exactly the token of the name it returns.
func FuzzRoomToken(f *testing.F) {
	for _, s := range []string{
		"", "lobby", "a.b", "*", ">", "a b", "=", "=_", "é", "chat/room=1",
		"orders.>", "=C3=A9", "=41", "=", "=G1", "\x00\xff", "日本語 room",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		token := RoomToken(s)
		if token == "" {
			t.Fatalf("RoomToken(%q) is empty", s)
		}
		for i := 0; i < len(token); i++ {
			if c := token[i]; !plain(c) && c != '=' {
				t.Fatalf("RoomToken(%q) = %q contains %q", s, token, c)
			}
		}
		name, err := RoomName(token)
		if err != nil || name != s {
			t.Fatalf("RoomName(RoomToken(%q)) = %q, %v", s, name, err)
		}
		if name, err := RoomName(s); err == nil && RoomToken(name) != s {
			t.Fatalf("RoomName(%q) = %q but RoomToken(%q) = %q", s, name, name, RoomToken(name))
		}
	})
}
