package frame

import (
	"bytes"
	"slices"
	"testing"
)

// splitAll feeds input to a Splitter in chunks of size chunk, as reads
// would, and returns the items, with "!" standing for a dropped item.
func splitAll(delims string, max int, input []byte, chunk int) []string {
	s := NewSplitter(delims, max)
	var out []string
	var buf []byte
	for len(input) > 0 || len(buf) > 0 {
		n := min(chunk, len(input))
		buf = append(buf, input[:n]...)
		input = input[n:]
		for {
			item, used, res := s.Next(buf)
			buf = buf[used:]
			if res == Item {
				out = append(out, string(item))
			} else if res == Dropped {
				out = append(out, "!")
			} else {
				break
			}
		}
		if len(buf) > s.BufferSize() {
			panic("splitter left more than BufferSize bytes pending")
		}
		if len(input) == 0 {
			item, res := s.Last(buf)
			if res == Item {
				out = append(out, string(item))
			} else if res == Dropped {
				out = append(out, "!")
			}
			buf = nil
		}
	}
	return out
}

func TestSplitter(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		delims string
		max    int
		input  string
		want   []string
	}{
		{"lines", "\n", 100, "a\nb\n", []string{"a", "b"}},
		{"crlf", "\n", 100, "a\r\nb\r\n", []string{"a", "b"}},
		{"lone cr kept", "\n", 100, "a\rb\n", []string{"a\rb"}},
		{"cr only before the newline", "\n", 100, "a\r\r\n", []string{"a\r"}},
		{"empty lines", "\n", 100, "\n\na\n", []string{"", "", "a"}},
		{"tail without delimiter", "\n", 100, "a\nb", []string{"a", "b"}},
		{"nothing", "\n", 100, "", nil},
		{"several delimiters", ";,", 100, "a;b,c\nd", []string{"a", "b", "c\nd"}},
		{"cr not trimmed without newline delimiter", ";", 100, "a\r;b", []string{"a\r", "b"}},
		{"nul", "\x00", 100, "<p>\nx</p>\x00<b>\x00", []string{"<p>\nx</p>", "<b>"}},
		{"exactly max", "\n", 3, "abc\n", []string{"abc"}},
		{"exactly max with crlf", "\n", 3, "abc\r\n", []string{"abc"}},
		{"over max dropped whole", "\n", 3, "abcd\nok\n", []string{"!", "ok"}},
		{"long run dropped once", "\n", 3, "abcdefghijklmnop\nok\n", []string{"!", "ok"}},
		{"tail over max", "\n", 3, "ok\nabcd", []string{"ok", "!"}},
		{"tail exactly max", "\n", 3, "ok\nabc", []string{"ok", "abc"}},
	}
	for _, tc := range tests {
		for _, chunk := range []int{1, 2, 3, 7, 1 << 20} {
			got := splitAll(tc.delims, tc.max, []byte(tc.input), chunk)
			if !slices.Equal(got, tc.want) {
				t.Errorf("%s (reads of %d): got %q, want %q", tc.name, chunk, got, tc.want)
			}
		}
	}
}

func BenchmarkSplitterLines(b *testing.B) {
	line := append(bytes.Repeat([]byte("x"), 60), '\n')
	buf := bytes.Repeat(line, 1000)
	s := NewSplitter("\n", 1<<20)
	b.SetBytes(int64(len(buf)))
	b.ReportAllocs()
	for b.Loop() {
		rest := buf
		for {
			_, n, res := s.Next(rest)
			rest = rest[n:]
			if res == NeedMore {
				break
			}
		}
	}
}

// FuzzSplitter checks that splitting never panics, that how the input is
// cut into reads does not change the items, and that items are bounded.
func FuzzSplitter(f *testing.F) {
	f.Add([]byte("a\nb\r\nc"), ";\n", uint8(4), uint8(3))
	f.Add([]byte("{\"x\":1}\n{\"_to\":2}\n"), "\n", uint8(50), uint8(5))
	f.Add([]byte("abcdefgh\x00ij\x00"), "\x00", uint8(3), uint8(1))
	f.Fuzz(func(t *testing.T, input []byte, delims string, max, chunk uint8) {
		if delims == "" {
			delims = "\n"
		}
		limit := int(max) + 1
		whole := splitAll(delims, limit, input, len(input)+1)
		pieces := splitAll(delims, limit, input, int(chunk)+1)
		if !slices.Equal(whole, pieces) {
			t.Fatalf("one read gives %q, reads of %d give %q", whole, int(chunk)+1, pieces)
		}
		for _, item := range whole {
			if len(item) > limit {
				t.Fatalf("item of %d bytes, limit %d", len(item), limit)
			}
		}
	})
}
