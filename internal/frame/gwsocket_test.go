package frame

import (
	"bytes"
	"errors"
	"math"
	"testing"
)

func TestAppendGWWritesBigEndianHeader(t *testing.T) {
	t.Parallel()
	got := AppendGW([]byte("prev"), 0x01020304, GWBinary, []byte("hi"))
	want := []byte("prev\x01\x02\x03\x04\x00\x00\x00\x02\x00\x00\x00\x02hi")
	if !bytes.Equal(got, want) {
		t.Errorf("AppendGW = %q, want %q", got, want)
	}
	if got := AppendGW(nil, 7, GWText, nil); !bytes.Equal(got, []byte("\x00\x00\x00\x07\x00\x00\x00\x01\x00\x00\x00\x00")) {
		t.Errorf("AppendGW with empty payload = %q", got)
	}
}

func TestParseGWRoundTrip(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		id, typ uint32
		payload string
	}{
		{"text", 3, GWText, `{"msg":"hello"}`},
		{"binary", 1<<32 - 1, GWBinary, "\x00\xff\x00\n\r"},
		{"broadcast", 0, GWText, "to everyone"},
		{"empty payload", 9, GWText, ""},
		{"payload looks like a header", 1, GWBinary, "\x00\x00\x00\x01\x00\x00\x00\x09\xff\xff\xff\xff"},
		{"payload at the limit", 2, GWText, string(bytes.Repeat([]byte("x"), 64))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			buf := AppendGW(nil, tt.id, tt.typ, []byte(tt.payload))
			msg, n, err := ParseGW(buf, 64)
			if err != nil || n != len(buf) {
				t.Fatalf("ParseGW = n %d, err %v; want n %d", n, err, len(buf))
			}
			if msg.ID != tt.id || msg.Type != tt.typ || string(msg.Payload) != tt.payload {
				t.Fatalf("ParseGW = %+v, want id %d type %d payload %q", msg, tt.id, tt.typ, tt.payload)
			}
			if msg.Payload == nil {
				t.Errorf("Payload is nil, want an empty slice of buf")
			}
		})
	}
}

func TestParseGWWaitsForEveryPartialBuffer(t *testing.T) {
	t.Parallel()
	stream := AppendGW(nil, 5, GWText, []byte("first"))
	stream = AppendGW(stream, 6, GWBinary, nil)
	stream = AppendGW(stream, 0, GWText, []byte("third message"))
	want := []GWMessage{{5, GWText, []byte("first")}, {6, GWBinary, []byte{}}, {0, GWText, []byte("third message")}}

	// Feed the stream as the reader would, cut at every point.
	for cut := 0; cut <= len(stream); cut++ {
		var pending []byte
		var got []GWMessage
		for _, chunk := range [][]byte{stream[:cut], stream[cut:]} {
			pending = append(pending, chunk...)
			for {
				msg, n, err := ParseGW(pending, 1024)
				if err != nil {
					t.Fatalf("cut %d: %v", cut, err)
				}
				if n == 0 {
					break
				}
				msg.Payload = bytes.Clone(msg.Payload)
				got = append(got, msg)
				pending = pending[n:]
			}
		}
		if len(pending) != 0 || len(got) != len(want) {
			t.Fatalf("cut %d: got %d messages, %d bytes left", cut, len(got), len(pending))
		}
		for i := range want {
			if got[i].ID != want[i].ID || got[i].Type != want[i].Type || !bytes.Equal(got[i].Payload, want[i].Payload) {
				t.Fatalf("cut %d: message %d = %+v, want %+v", cut, i, got[i], want[i])
			}
		}
	}
	// Every proper prefix of a message is "need more", never an error.
	one := AppendGW(nil, 1, GWText, []byte("abc"))
	for i := range one {
		if msg, n, err := ParseGW(one[:i], 1024); n != 0 || err != nil || msg.Payload != nil {
			t.Errorf("prefix %d: n %d err %v payload %q", i, n, err, msg.Payload)
		}
	}
}

func TestParseGWRefusesBadHeaders(t *testing.T) {
	t.Parallel()
	header := func(id, typ, size uint32) []byte {
		h := AppendGW(nil, id, typ, nil)
		h[8], h[9], h[10], h[11] = byte(size>>24), byte(size>>16), byte(size>>8), byte(size)
		return h
	}
	tests := []struct {
		name   string
		buf    []byte
		maxLen int
		want   error
	}{
		{"type 0", header(1, 0, 0), 10, ErrGWType},
		{"type 3", header(1, 3, 0), 10, ErrGWType},
		{"type max", header(1, math.MaxUint32, 0), 10, ErrGWType},
		{"little-endian text", []byte("\x01\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00\x00"), 10, ErrGWType},
		{"over the limit, payload not yet read", header(1, GWText, 11), 10, ErrGWTooLarge},
		{"huge length", header(1, GWBinary, math.MaxUint32), 1 << 20, ErrGWTooLarge},
		{"negative limit", header(1, GWText, 0), -1, ErrGWTooLarge},
	}
	for _, tt := range tests {
		msg, n, err := ParseGW(tt.buf, tt.maxLen)
		if !errors.Is(err, tt.want) || n != 0 || msg.Payload != nil {
			t.Errorf("%s: ParseGW = n %d, err %v; want n 0, %v", tt.name, n, err, tt.want)
		}
	}
	// The limit is inclusive, and an empty payload passes a zero limit.
	if _, n, err := ParseGW(AppendGW(nil, 1, GWText, []byte("0123456789")), 10); err != nil || n != 22 {
		t.Errorf("payload of exactly maxLen: n %d, err %v", n, err)
	}
	if _, n, err := ParseGW(AppendGW(nil, 1, GWText, nil), 0); err != nil || n != GWHeaderLen {
		t.Errorf("empty payload, zero limit: n %d, err %v", n, err)
	}
}

func TestParseGWPayloadCannotClobberNextMessage(t *testing.T) {
	t.Parallel()
	stream := AppendGW(nil, 1, GWText, []byte("ab"))
	stream = AppendGW(stream, 2, GWText, []byte("cd"))
	msg, n, _ := ParseGW(stream, 10)
	_ = append(msg.Payload, "XXXXXXXXXXXXXXXX"...)
	if next, _, err := ParseGW(stream[n:], 10); err != nil || next.ID != 2 || string(next.Payload) != "cd" {
		t.Errorf("next message after appending to a payload: %+v, %v", next, err)
	}
}

func TestParseGWDoesNotAllocate(t *testing.T) {
	buf := AppendGW(nil, 1, GWText, []byte("hello"))
	if allocs := testing.AllocsPerRun(100, func() { _, _, _ = ParseGW(buf, 1024) }); allocs != 0 {
		t.Errorf("ParseGW allocates %v times, want 0", allocs)
	}
}

// FuzzParseGW checks that ParseGW never reads past what it consumes, never
// hands out bytes outside buf, and that a parsed message re-encodes to the
// bytes it was parsed from.
func FuzzParseGW(f *testing.F) {
	f.Add(AppendGW(nil, 3, GWText, []byte(`{"msg":"hello"}`)), 1<<20)
	f.Add(AppendGW(nil, 0, GWText, []byte("broadcast")), 1<<20)
	f.Add(AppendGW(AppendGW(nil, 1, GWBinary, []byte{0, 1, 2}), 2, GWText, []byte("x")), 1<<20)
	f.Add(AppendGW(nil, 1, GWBinary, nil), 0)
	f.Add(AppendGW(nil, 1, GWText, []byte("too long")), 4)
	f.Add([]byte("\x00\x00\x00\x01\x00\x00\x00\x03\x00\x00\x00\x00"), 10)
	f.Add([]byte("\x00\x00\x00\x01\x00\x00\x00\x01\x00\x00"), 10)
	f.Add([]byte("plain text the process wrote by mistake\n"), 1<<20)
	f.Fuzz(func(t *testing.T, buf []byte, maxLen int) {
		msg, n, err := ParseGW(buf, maxLen)
		if err != nil || n == 0 {
			if n != 0 || msg.Payload != nil {
				t.Fatalf("n %d, payload %q with err %v", n, msg.Payload, err)
			}
			if err != nil && !errors.Is(err, ErrGWType) && !errors.Is(err, ErrGWTooLarge) {
				t.Fatalf("unexpected error %v", err)
			}
			return
		}
		if n > len(buf) || n < GWHeaderLen {
			t.Fatalf("n = %d for %d bytes", n, len(buf))
		}
		if len(msg.Payload) > maxLen || len(msg.Payload) != n-GWHeaderLen {
			t.Fatalf("payload of %d bytes, n %d, maxLen %d", len(msg.Payload), n, maxLen)
		}
		if len(msg.Payload) > 0 && &msg.Payload[0] != &buf[GWHeaderLen] {
			t.Fatalf("payload is not a sub-slice of buf")
		}
		if cap(msg.Payload) != len(msg.Payload) {
			t.Fatalf("payload capacity %d reaches past the message", cap(msg.Payload))
		}
		if msg.Type != GWText && msg.Type != GWBinary {
			t.Fatalf("type %d accepted", msg.Type)
		}
		if re := AppendGW(nil, msg.ID, msg.Type, msg.Payload); !bytes.Equal(re, buf[:n]) {
			t.Fatalf("re-encoded %q, consumed %q", re, buf[:n])
		}
	})
}

func BenchmarkParseGW(b *testing.B) {
	buf := AppendGW(nil, 3, GWText, []byte(`{"type":"state","tick":18231,"players":[{"id":1,"x":12.5,"y":40}]}`))
	b.ReportAllocs()
	b.SetBytes(int64(len(buf)))
	for b.Loop() {
		if _, _, err := ParseGW(buf, 1<<20); err != nil {
			b.Fatal(err)
		}
	}
}
