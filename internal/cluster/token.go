// Package cluster lets several ScaleSocket nodes share rooms through NATS
// JetStream.
package cluster

import (
	"errors"
	"fmt"
	"strings"
)

// emptyToken stands for the empty name. NATS subject tokens and KV keys
// cannot be empty, and no non-empty name encodes to it because every escape
// is "=" followed by two uppercase hex digits.
const emptyToken = "=_"

const hexDigits = "0123456789ABCDEF"

// ErrMalformedToken is returned by RoomName for a string RoomToken never
// produces.
var ErrMalformedToken = errors.New("malformed token")

// RoomToken encodes a room name, which is arbitrary text taken from a URL,
// so that it can be used as a single NATS subject token and as (part of) a
// JetStream KV key. Bytes in [A-Za-z0-9_-] are kept so plain names stay
// readable in subjects and `nats kv ls`; every other byte becomes "=XX" with
// uppercase hex. The result never contains ".", "*", ">", "/" or whitespace,
// is never empty, and differs for different names.
func RoomToken(name string) string {
	if name == "" {
		return emptyToken
	}
	n := 0
	for i := 0; i < len(name); i++ {
		if !plain(name[i]) {
			n++
		}
	}
	if n == 0 {
		return name // The common case costs no allocation.
	}
	var b strings.Builder
	b.Grow(len(name) + 2*n)
	for i := 0; i < len(name); i++ {
		c := name[i]
		if plain(c) {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('=')
		b.WriteByte(hexDigits[c>>4])
		b.WriteByte(hexDigits[c&0xF])
	}
	return b.String()
}

// RoomName reverses RoomToken. It accepts only the exact output of RoomToken
// (uppercase hex, no escaped plain bytes) so that each room has one token and
// therefore one subject and one key.
func RoomName(token string) (string, error) {
	if token == emptyToken {
		return "", nil
	}
	if token == "" {
		return "", fmt.Errorf("decode token %q: %w", token, ErrMalformedToken)
	}
	var b strings.Builder
	b.Grow(len(token))
	for i := 0; i < len(token); i++ {
		c := token[i]
		if plain(c) {
			b.WriteByte(c)
			continue
		}
		if c != '=' || i+2 >= len(token) {
			return "", fmt.Errorf("decode token %q: %w", token, ErrMalformedToken)
		}
		hi, ok1 := unhex(token[i+1])
		lo, ok2 := unhex(token[i+2])
		d := hi<<4 | lo
		if !ok1 || !ok2 || plain(d) {
			return "", fmt.Errorf("decode token %q: %w", token, ErrMalformedToken)
		}
		b.WriteByte(d)
		i += 2
	}
	return b.String(), nil
}

// NodeToken encodes a node name the same way as RoomToken, for the same
// reasons: node names come from configuration and end up in subjects.
func NodeToken(name string) string { return RoomToken(name) }

func plain(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '-'
}

func unhex(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}
