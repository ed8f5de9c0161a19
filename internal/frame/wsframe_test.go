package frame

import (
	"bytes"
	"strings"
	"testing"
)

func TestAppendWSFrame(t *testing.T) {
	t.Parallel()
	tests := []struct {
		binary  bool
		payload string
		header  []byte
	}{
		{false, "", []byte{0x81, 0}},
		{false, "hi", []byte{0x81, 2}},
		{true, "hi", []byte{0x82, 2}},
		{false, strings.Repeat("x", 125), []byte{0x81, 125}},
		{false, strings.Repeat("x", 126), []byte{0x81, 126, 0, 126}},
		{false, strings.Repeat("x", 65535), []byte{0x81, 126, 0xff, 0xff}},
		{true, strings.Repeat("x", 65536), []byte{0x82, 127, 0, 0, 0, 0, 0, 1, 0, 0}},
	}
	for _, tc := range tests {
		got := AppendWSFrame(nil, tc.binary, []byte(tc.payload))
		if !bytes.Equal(got[:len(tc.header)], tc.header) || string(got[len(tc.header):]) != tc.payload {
			t.Errorf("frame of %d bytes: header % x, want % x", len(tc.payload), got[:min(len(got), 10)], tc.header)
		}
		if WSHeaderLen(len(tc.payload)) != len(tc.header) {
			t.Errorf("WSHeaderLen(%d) = %d, want %d", len(tc.payload), WSHeaderLen(len(tc.payload)), len(tc.header))
		}
	}
}

func BenchmarkAppendWSFrame(b *testing.B) {
	payload := bytes.Repeat([]byte("x"), 60)
	buf := make([]byte, 0, 128)
	b.ReportAllocs()
	for b.Loop() {
		buf = AppendWSFrame(buf[:0], false, payload)
	}
}
