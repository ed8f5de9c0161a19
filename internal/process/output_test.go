package process

import (
	"bytes"
	"errors"
	"io"
	"log/slog"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/scalesocket/scalesocket-go/internal/frame"
)

// TestOutputReaderItems reads streams whose items are shorter and longer
// than the first read buffer and than a full read, through readers that
// fill every buffer (so the buffer grows at each read) and readers that
// return a byte or half a buffer at a time: every item comes out whole and
// in order, and an item over the limit is dropped alone.
func TestOutputReaderItems(t *testing.T) {
	t.Parallel()
	short := make([]string, 5000)
	for i := range short {
		short[i] = strings.Repeat("x", i%97)
	}
	tests := []struct {
		name  string
		items []string
		max   int
		want  []string // nil: items
	}{
		{"many short lines", short, 1 << 20, nil},
		{"one line longer than the first read", []string{strings.Repeat("a", firstRead+1)}, 1 << 20, nil},
		{"lines longer than a full read", []string{"s", strings.Repeat("b", 3*readChunk+5), "t", strings.Repeat("c", readChunk)}, 1 << 20, nil},
		{"a line over the limit", []string{"keep", strings.Repeat("d", 10000), "also"}, 9000, []string{"keep", "also"}},
	}
	readers := map[string]func(io.Reader) io.Reader{
		"whole":    func(r io.Reader) io.Reader { return r },
		"half":     iotest.HalfReader,
		"one byte": iotest.OneByteReader,
	}
	for _, tc := range tests {
		want := tc.want
		if want == nil {
			want = tc.items
		}
		stream := strings.Join(tc.items, "\n") + "\n"
		for rname, wrap := range readers {
			if rname == "one byte" && len(stream) > 100000 {
				continue
			}
			t.Run(tc.name+"/"+rname, func(t *testing.T) {
				t.Parallel()
				o := NewOutputReader(wrap(strings.NewReader(stream)), OutputOptions{
					Delimiters: "\n", MaxItem: tc.max, Log: slog.New(slog.DiscardHandler),
				})
				outs := readAll(t, o)
				for i, out := range outs {
					if !bytes.HasSuffix(out.Frame, out.Data) {
						t.Fatalf("item %d: frame does not end with the data", i)
					}
				}
				sameItems(t, outs, want)
			})
		}
	}
}

// TestOutputReaderChunks reads binary output: the chunks, whatever their
// sizes, put the stream back together.
func TestOutputReaderChunks(t *testing.T) {
	t.Parallel()
	stream := bytes.Repeat([]byte("0123456789abcdef"), 20000)
	o := NewOutputReader(bytes.NewReader(stream), OutputOptions{Binary: true, MaxItem: 1 << 20, Log: slog.New(slog.DiscardHandler)})
	var got []byte
	largest := 0
	for _, out := range readAll(t, o) {
		if !out.Binary {
			t.Fatal("a chunk is not binary")
		}
		got = append(got, out.Data...)
		largest = max(largest, len(out.Data))
	}
	if !bytes.Equal(got, stream) {
		t.Fatalf("%d bytes back, want %d", len(got), len(stream))
	}
	if largest != readChunk {
		t.Errorf("largest chunk %d bytes, want %d: the buffer grows to a full read", largest, readChunk)
	}
}

// chunkReader returns r's bytes in reads of the sizes in sizes, in turn.
type chunkReader struct {
	r     io.Reader
	sizes []byte
	i     int
}

func (c *chunkReader) Read(p []byte) (int, error) {
	if len(c.sizes) > 0 {
		n := int(c.sizes[c.i%len(c.sizes)])*37 + 1 // up to about 9 KiB: past the first buffer
		c.i++
		p = p[:min(len(p), n)]
	}
	return c.r.Read(p)
}

// FuzzOutputReader reads process output in reads of arbitrary sizes, as a
// pipe may deliver it: the items must be those of splitting the whole
// stream at once, however the read buffer grew on the way.
func FuzzOutputReader(f *testing.F) {
	f.Add([]byte("a\nbb\r\nccc"), []byte{0, 1, 2}, uint16(2))
	f.Add(bytes.Repeat([]byte("line of output\n"), 2000), []byte{255, 3}, uint16(100))
	f.Add(append(bytes.Repeat([]byte{'x'}, 10000), '\n', 'y'), []byte{7}, uint16(9000))
	f.Fuzz(func(t *testing.T, stream, sizes []byte, max uint16) {
		limit := int(max) + 1
		var want []string
		split := frame.NewSplitter("\n", limit)
		buf := stream
		for {
			item, n, res := split.Next(buf)
			buf = buf[n:]
			if res == frame.Item {
				want = append(want, string(item))
				continue
			}
			if res == frame.NeedMore {
				break
			}
		}
		if item, res := split.Last(buf); res == frame.Item {
			want = append(want, string(item))
		}

		o := NewOutputReader(&chunkReader{r: bytes.NewReader(stream), sizes: sizes}, OutputOptions{
			Delimiters: "\n", MaxItem: limit, Log: slog.New(slog.DiscardHandler),
		})
		sameItems(t, readAll(t, o), want)
	})
}

// readAll returns every item of o, up to the end of its stream.
func readAll(t *testing.T, o *OutputReader) []frame.Output {
	t.Helper()
	var outs []frame.Output
	for {
		out, err := o.Next()
		if errors.Is(err, io.EOF) {
			return outs
		}
		if err != nil {
			t.Fatal(err)
		}
		outs = append(outs, out)
	}
}

// sameItems fails unless the payloads of outs are want, in order.
func sameItems(t *testing.T, outs []frame.Output, want []string) {
	t.Helper()
	if len(outs) != len(want) {
		t.Fatalf("%d items, want %d", len(outs), len(want))
	}
	for i := range want {
		if got := string(outs[i].Data); got != want[i] {
			t.Fatalf("item %d: %d bytes %.40q, want %d bytes %.40q", i, len(got), got, len(want[i]), want[i])
		}
	}
}

// TestOutputReaderTryNext returns what is already read, and says when
// more would need a read: a partial line is not an item until its end or
// the end of the stream.
func TestOutputReaderTryNext(t *testing.T) {
	t.Parallel()
	o := NewOutputReader(strings.NewReader("a\nb\nc"), OutputOptions{Delimiters: "\n", MaxItem: 100, Log: slog.New(slog.DiscardHandler)})
	if _, ok, err := o.TryNext(); ok || err != nil {
		t.Fatalf("before any read: ok %v, err %v; want nothing ready", ok, err)
	}
	steps := []struct {
		try      bool
		want     string
		wantOK   bool
		wantDone bool
	}{
		{try: false, want: "a", wantOK: true},
		{try: true, want: "b", wantOK: true},
		{try: true, wantOK: false}, // "c" has no end yet
		{try: false, want: "c", wantOK: true},
		{try: true, wantOK: true, wantDone: true},
	}
	for i, st := range steps {
		var (
			out frame.Output
			ok  = true
			err error
		)
		if st.try {
			out, ok, err = o.TryNext()
		} else {
			out, err = o.Next()
		}
		if ok != st.wantOK || errors.Is(err, io.EOF) != st.wantDone || (err != nil && !errors.Is(err, io.EOF)) || string(out.Data) != st.want {
			t.Fatalf("step %d: %q, ok %v, err %v; want %q, ok %v, end %v", i, out.Data, ok, err, st.want, st.wantOK, st.wantDone)
		}
	}
}
