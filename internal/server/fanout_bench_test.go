package server_test

import (
	"bufio"
	"context"
	"encoding/binary"
	"fmt"
	"net"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/scalesocket/scalesocket-go/cmd/scalesocket-bench/wire"
)

// fanoutBackendArg makes the test binary, started by the server as a room's
// process, act as the backend of BenchmarkServerFanout instead of running
// tests: it answers the trigger line of the load tool (wire.Trigger) by
// printing the lines it asks for, and echoes any other line.
const fanoutBackendArg = "-scalesocket.fanout-backend"

func init() {
	if len(os.Args) == 2 && os.Args[1] == fanoutBackendArg {
		if err := fanoutBackend(); err != nil {
			fmt.Fprintln(os.Stderr, "fanout backend:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
}

func fanoutBackend() error {
	in := bufio.NewScanner(os.Stdin)
	out := bufio.NewWriterSize(os.Stdout, 64<<10)
	for in.Scan() {
		line := in.Bytes()
		t, err := wire.ParseTrigger(line)
		if err != nil {
			out.Write(line)
			out.WriteByte('\n')
			if err := out.Flush(); err != nil {
				return err
			}
			continue
		}
		if err := wire.Generate(context.Background(), t, func(l []byte, flush bool) error {
			out.Write(l)
			out.WriteByte('\n')
			if flush {
				return out.Flush()
			}
			return nil
		}); err != nil {
			return err
		}
	}
	return in.Err()
}

// BenchmarkServerFanout measures the server's fan-out path alone: one room
// of C clients whose process prints a burst of M lines of 64 bytes, as the
// load tool's fanout case does. The clients are raw TCP connections that
// only count the frames they receive, so nearly all the CPU time in a
// profile is the server's:
//
//	go test -run '^$' -bench BenchmarkServerFanout -cpuprofile /tmp/fanout.prof ./internal/server/
//
// One iteration is one burst, timed from the trigger until every client has
// every frame of it.
func BenchmarkServerFanout(b *testing.B) {
	const m = 10000
	for _, c := range []int{100, 1000} {
		b.Run(fmt.Sprintf("C=%d/M=%d", c, m), func(b *testing.B) {
			benchFanout(b, c, m)
		})
	}
}

func benchFanout(b *testing.B, c, m int) {
	exe, err := os.Executable()
	if err != nil {
		b.Fatal(err)
	}
	s := startServer(b, exe, "--", fanoutBackendArg)

	// done gets one value from a client for each burst it has received in
	// full, and one for the sync line that precedes the first burst.
	done := make(chan struct{}, c)
	conns := make([]net.Conn, c)
	var readers sync.WaitGroup
	defer func() {
		for _, conn := range conns {
			if conn != nil {
				conn.Close()
			}
		}
		readers.Wait()
	}()
	for i := range conns {
		conn, br := s.rawUpgrade(b, "/fanout")
		conns[i] = conn
		readers.Go(func() { countFrames(br, done, m) })
	}

	// Every client is in the room once the upgrade has been answered; the
	// sync line, echoed by the backend to all of them, also makes sure the
	// process has started.
	trigger := clientFrame(true, 0x1, []byte(wire.Trigger{Lines: m, Size: 64}.String()))
	send(b, conns[0], clientFrame(true, 0x1, []byte("sync")))
	await(b, done, c)

	for b.Loop() {
		send(b, conns[0], trigger)
		await(b, done, c)
	}
	frames := float64(c) * float64(m) * float64(b.N)
	b.ReportMetric(frames/b.Elapsed().Seconds(), "frames/s")
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/frames, "ns/frame")
}

func send(b *testing.B, conn net.Conn, frame []byte) {
	b.Helper()
	if _, err := conn.Write(frame); err != nil {
		b.Fatalf("send: %v", err)
	}
}

// await receives n values from done, failing after the harness's timeout.
func await(b *testing.B, done <-chan struct{}, n int) {
	b.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for i := 0; i < n; i++ {
		select {
		case <-done:
		case <-deadline.C:
			b.Fatalf("%d of %d clients got the whole burst within %v", i, n, timeout)
		}
	}
}

// countFrames reads server frames (unmasked) from br until the connection
// ends, counting data frames: it signals done when the first one (the sync
// line) has arrived and after every m more. It parses only the headers and
// skips the payloads, so a client costs little more than its reads.
func countFrames(br *bufio.Reader, done chan<- struct{}, m int) {
	buf := make([]byte, 64<<10)
	var (
		hdr    [10]byte
		hn     int
		skip   int
		frames int
		next   = 1
	)
	for {
		n, err := br.Read(buf)
		p := buf[:n]
		for len(p) > 0 {
			if skip > 0 {
				k := min(skip, len(p))
				skip -= k
				p = p[k:]
				continue
			}
			hdr[hn] = p[0]
			hn++
			p = p[1:]
			if hn < 2 {
				continue
			}
			var size uint64
			switch l := hdr[1] & 0x7f; l {
			case 126:
				if hn < 4 {
					continue
				}
				size = uint64(binary.BigEndian.Uint16(hdr[2:4]))
			case 127:
				if hn < 10 {
					continue
				}
				size = binary.BigEndian.Uint64(hdr[2:10])
			default:
				size = uint64(l)
			}
			hn, skip = 0, int(size)
			switch hdr[0] & 0x0f {
			case 0x1, 0x2:
				frames++
				for frames >= next {
					done <- struct{}{}
					next += m
				}
			case 0x8:
				return
			}
		}
		if err != nil {
			return
		}
	}
}
