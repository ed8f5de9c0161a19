package process

import (
	"errors"
	"net"
	"strconv"
	"sync"
)

// ErrNoPorts means that every port of a pool is reserved or in use.
var ErrNoPorts = errors.New("no free TCP port")

// Ports is a pool of TCP ports, [start, end), handed to the processes of
// TCP mode one per room. It is safe for concurrent use.
type Ports struct {
	start int

	mu    sync.Mutex
	taken []bool // taken[i] is set while port start+i is reserved
	// next is where the search for a free port begins. Ports are handed out
	// in turn rather than lowest first, so that a port just given back is
	// reused last and the sockets of its previous process are long gone.
	next int
}

// NewPorts returns a pool of the ports from start up to, not including,
// end.
func NewPorts(start, end int) *Ports {
	return &Ports{start: start, taken: make([]bool, max(end-start, 0))}
}

// Reserve reserves a free port, or returns ErrNoPorts. A port that another
// program already uses on 127.0.0.1 is skipped.
func (ps *Ports) Reserve() (*Port, error) {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	for range ps.taken {
		i := ps.next
		ps.next = (ps.next + 1) % len(ps.taken)
		if !ps.taken[i] && available(ps.start+i) {
			ps.taken[i] = true
			return &Port{pool: ps, n: ps.start + i}, nil
		}
	}
	return nil, ErrNoPorts
}

// available reports whether nothing listens on 127.0.0.1:port, by
// listening there for a moment.
func available(port int) bool {
	ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err != nil {
		return false
	}
	// The port was free, which is all that was asked; a failed close
	// cannot change that.
	_ = ln.Close()
	return true
}

// Port is a port reserved from a Ports pool. It is a room.Reservation:
// Release gives it back.
type Port struct {
	pool     *Ports
	n        int
	released bool // guarded by pool.mu
}

// Number returns the port number.
func (p *Port) Number() int { return p.n }

// Release gives the port back to its pool. Only the first call counts, so
// that a port is never freed twice while someone else holds it.
func (p *Port) Release() {
	p.pool.mu.Lock()
	defer p.pool.mu.Unlock()
	if !p.released {
		p.released = true
		p.pool.taken[p.n-p.pool.start] = false
	}
}
