// Package wire is the text protocol shared by the load tool, its backend and
// the floor server: the trigger line that asks for a burst or a paced stream
// of lines, and the numbered, timestamped lines themselves.
//
// A data line is "SEQ UNIXNANO" followed by a space and padding up to the
// requested size. SEQ counts from 0; UNIXNANO is the wall clock when the
// line was produced. The load tool runs on the same machine as the backend,
// so the difference between its own clock and UNIXNANO is the delivery
// latency. The tool's echo scenarios send data lines too and get them back.
package wire

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"
)

// TriggerWord starts a trigger line: "fanout LINES RATE SIZE".
const TriggerWord = "fanout"

// SyncWord starts a line the tool sends to learn that a room is ready: the
// backend echoes it like any line that is not a trigger.
const SyncWord = "sync"

// MaxLines bounds the lines one trigger may ask for, so that a stray
// trigger cannot make a backend run for hours.
const MaxLines = 100_000_000

// MaxSize bounds the size of one line.
const MaxSize = 1 << 20

// Trigger asks a backend for Lines data lines of Size bytes. Rate is in
// lines per second; 0 means as fast as possible.
type Trigger struct {
	Lines int
	Rate  float64
	Size  int
}

// String returns the trigger line, without a newline.
func (t Trigger) String() string {
	return fmt.Sprintf("%s %d %s %d", TriggerWord, t.Lines, strconv.FormatFloat(t.Rate, 'f', -1, 64), t.Size)
}

// ErrNotTrigger is returned by ParseTrigger for a line that does not start
// with TriggerWord.
var ErrNotTrigger = errors.New("not a trigger line")

// ParseTrigger reads a trigger line (a trailing "\n" or "\r\n" is allowed).
func ParseTrigger(line []byte) (Trigger, error) {
	line = trimEOL(line)
	if len(line) < len(TriggerWord)+1 || string(line[:len(TriggerWord)+1]) != TriggerWord+" " {
		return Trigger{}, ErrNotTrigger
	}
	var t Trigger
	var rate string
	if _, err := fmt.Sscanf(string(line[len(TriggerWord)+1:]), "%d %s %d", &t.Lines, &rate, &t.Size); err != nil {
		return Trigger{}, fmt.Errorf("trigger %q: %w", line, err)
	}
	r, err := strconv.ParseFloat(rate, 64)
	if err != nil {
		return Trigger{}, fmt.Errorf("trigger %q: rate: %w", line, err)
	}
	t.Rate = r
	switch {
	case t.Lines < 0 || t.Lines > MaxLines:
		return Trigger{}, fmt.Errorf("trigger %q: lines out of range 0..%d", line, MaxLines)
	case t.Size < 0 || t.Size > MaxSize:
		return Trigger{}, fmt.Errorf("trigger %q: size out of range 0..%d", line, MaxSize)
	case t.Rate < 0 || t.Rate != t.Rate:
		return Trigger{}, fmt.Errorf("trigger %q: negative rate", line)
	}
	return t, nil
}

// AppendLine appends the data line SEQ UNIXNANO, padded with 'x' to size
// bytes when it is shorter, to dst.
func AppendLine(dst []byte, seq uint64, unixNano int64, size int) []byte {
	start := len(dst)
	dst = strconv.AppendUint(dst, seq, 10)
	dst = append(dst, ' ')
	dst = strconv.AppendInt(dst, unixNano, 10)
	if pad := size - (len(dst) - start); pad > 0 {
		dst = append(dst, ' ')
		for pad--; pad > 0; pad-- {
			dst = append(dst, 'x')
		}
	}
	return dst
}

// ParseLine reads SEQ and UNIXNANO from the start of a data line. It does
// not allocate: the tool calls it for every frame it receives.
func ParseLine(b []byte) (seq uint64, unixNano int64, ok bool) {
	seq, n := parseUint(b)
	if n == 0 || n == len(b) || b[n] != ' ' {
		return 0, 0, false
	}
	b = b[n+1:]
	ts, m := parseUint(b)
	if m == 0 || ts > 1<<63-1 || (m < len(b) && b[m] != ' ') {
		return 0, 0, false
	}
	return seq, int64(ts), true
}

// parseUint reads decimal digits from the start of b and returns the
// value and how many digits there were; none, or a value beyond uint64,
// is reported as 0 digits.
func parseUint(b []byte) (v uint64, n int) {
	for n < len(b) && b[n] >= '0' && b[n] <= '9' {
		d := uint64(b[n] - '0')
		if v > (1<<64-1-d)/10 {
			return 0, 0
		}
		v = v*10 + d
		n++
	}
	return v, n
}

// Emit receives each generated line. flush is true when the caller should
// push what it has buffered: after every line of a paced stream, and after
// the last line.
type Emit func(line []byte, flush bool) error

// Generate produces t.Lines data lines, timestamped as each is made, paced
// at t.Rate lines per second when Rate > 0. The line passed to emit is only
// valid during the call.
func Generate(ctx context.Context, t Trigger, emit Emit) error {
	var buf []byte
	start := time.Now()
	var interval time.Duration
	if t.Rate > 0 {
		interval = time.Duration(float64(time.Second) / t.Rate)
	}
	for i := 0; i < t.Lines; i++ {
		if interval > 0 {
			// Due times are computed from the start, so pacing does not drift.
			if d := time.Until(start.Add(time.Duration(i) * interval)); d > 0 {
				timer := time.NewTimer(d)
				select {
				case <-ctx.Done():
					timer.Stop()
					return ctx.Err()
				case <-timer.C:
				}
			}
		} else if i&1023 == 0 && ctx.Err() != nil {
			return ctx.Err()
		}
		buf = AppendLine(buf[:0], uint64(i), time.Now().UnixNano(), t.Size)
		if err := emit(buf, interval > 0 || i == t.Lines-1); err != nil {
			return err
		}
	}
	return nil
}

func trimEOL(b []byte) []byte {
	if n := len(b); n > 0 && b[n-1] == '\n' {
		b = b[:n-1]
	}
	if n := len(b); n > 0 && b[n-1] == '\r' {
		b = b[:n-1]
	}
	return b
}
