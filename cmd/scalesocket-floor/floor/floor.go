// Package floor is a WebSocket server reduced to what a fan-out benchmark
// needs, to show how fast the machine itself can go: rooms by URL path,
// frames encoded once and shared, and each client's pending frames written
// with one writev (net.Buffers). It speaks the load tool's wire protocol:
// a trigger line starts the lines in the room itself, and any other message
// is echoed to the room.
//
// It is a measuring tool, not a product: it keeps no bound on a client's
// pending frames (a trigger bounds them) and has no slow-consumer policy.
package floor

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"sync"
	"time"

	"github.com/scalesocket/scalesocket-go/cmd/scalesocket-bench/wire"
)

// Run is the whole command: it parses args, serves until ctx is cancelled
// and returns the exit status.
func Run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("scalesocket-floor", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", "127.0.0.1:9002", "listen address")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		fmt.Fprintf(stderr, "scalesocket-floor: %v\n", err)
		return 1
	}
	fmt.Fprintf(stderr, "scalesocket-floor: listening on %s\n", ln.Addr())
	if err := New().Serve(ctx, ln); err != nil {
		fmt.Fprintf(stderr, "scalesocket-floor: %v\n", err)
		return 1
	}
	return 0
}

// Server holds the rooms. Lock order: Server.mu, then room.mu, then
// conn.mu.
type Server struct {
	mu    sync.Mutex
	rooms map[string]*room
	conns map[*conn]struct{}
	wg    sync.WaitGroup
}

// New returns a Server with no rooms.
func New() *Server {
	return &Server{rooms: make(map[string]*room), conns: make(map[*conn]struct{})}
}

// handshakeTimeout bounds the upgrade request and response.
const handshakeTimeout = 10 * time.Second

// Serve accepts connections on ln until ctx is cancelled, then closes them
// all and returns once every goroutine it started has ended.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stop := context.AfterFunc(ctx, func() {
		_ = ln.Close()
		s.mu.Lock()
		for c := range s.conns {
			_ = c.nc.Close()
		}
		s.mu.Unlock()
	})
	defer stop()
	var err error
	for {
		var nc net.Conn
		nc, err = ln.Accept()
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			break
		}
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			s.handle(ctx, nc)
		}()
	}
	cancel()
	s.wg.Wait()
	if ctx.Err() != nil {
		return nil
	}
	return fmt.Errorf("accept: %w", err)
}

// handle upgrades one connection and serves it until it closes.
func (s *Server) handle(ctx context.Context, nc net.Conn) {
	defer nc.Close()
	br := bufio.NewReaderSize(nc, readBufferSize)
	_ = nc.SetDeadline(time.Now().Add(handshakeTimeout))
	name, ok := handshake(nc, br)
	if !ok {
		return
	}
	_ = nc.SetDeadline(time.Time{})

	c := newConn(nc, br)
	rm := s.join(name, c)
	if rm == nil { // the server is stopping
		return
	}
	writerDone := make(chan struct{})
	go func() {
		defer close(writerDone)
		c.writeLoop()
	}()
	c.readLoop(func(op byte, msg []byte) {
		if t, err := wire.ParseTrigger(msg); err == nil {
			s.wg.Add(1)
			go func() {
				defer s.wg.Done()
				rm.generate(ctx, t)
			}()
			return
		}
		rm.broadcast([][]byte{appendFrame(nil, op, msg)})
	})
	s.leave(rm, c)
	c.finish()
	<-writerDone
}

func (s *Server) join(name string, c *conn) *room {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.rooms == nil {
		return nil
	}
	s.conns[c] = struct{}{}
	rm := s.rooms[name]
	if rm == nil {
		rm = &room{}
		s.rooms[name] = rm
	}
	rm.mu.Lock()
	rm.conns = append(rm.conns, c)
	rm.mu.Unlock()
	return rm
}

func (s *Server) leave(rm *room, c *conn) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.conns, c)
	rm.mu.Lock()
	defer rm.mu.Unlock()
	for i, x := range rm.conns {
		if x == c {
			rm.conns = append(rm.conns[:i], rm.conns[i+1:]...)
			break
		}
	}
	if len(rm.conns) == 0 {
		for name, r := range s.rooms {
			if r == rm {
				delete(s.rooms, name)
			}
		}
	}
}

// room is the set of connections on one path.
type room struct {
	mu    sync.Mutex
	conns []*conn
}

// broadcast queues frames for every connection of the room. The frames are
// shared, not copied.
func (r *room) broadcast(frames [][]byte) (clients int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, c := range r.conns {
		c.push(frames...)
	}
	return len(r.conns)
}

// generateBatch is how many lines of a burst are queued to the clients at
// once: fewer wake-ups than one per line, and writers still start early.
const generateBatch = 256

// generate produces the lines t asks for and broadcasts them, until done,
// until ctx is cancelled, or until the room has no clients left.
func (r *room) generate(ctx context.Context, t wire.Trigger) {
	var batch [][]byte
	errEmpty := errors.New("room is empty")
	_ = wire.Generate(ctx, t, func(line []byte, flush bool) error {
		batch = append(batch, appendFrame(make([]byte, 0, len(line)+10), opText, line))
		if !flush && len(batch) < generateBatch {
			return nil
		}
		n := r.broadcast(batch)
		clear(batch)
		batch = batch[:0]
		if n == 0 {
			return errEmpty
		}
		return nil
	})
}
