package main

// Seq checks one client's stream of sequence numbers 0..Expected-1: what
// arrived, what never did, what arrived twice, and what arrived after a
// later number. The zero value is not usable; see NewSeq.
type Seq struct {
	expected uint64
	seen     []uint64 // bitmap of the numbers received
	distinct uint64
	next     uint64 // one past the highest number received

	Received  uint64 // frames, duplicates included
	Dups      uint64 // numbers received more than once (each extra copy counts)
	Reordered uint64 // numbers received after a higher one
	Gaps      uint64 // jumps: a number received when the one before it was still missing
	Outside   uint64 // numbers ≥ Expected
}

// NewSeq returns a Seq expecting the numbers 0..expected-1.
func NewSeq(expected int) *Seq {
	return &Seq{expected: uint64(expected), seen: make([]uint64, (expected+63)/64)}
}

// Observe records the arrival of number n.
func (s *Seq) Observe(n uint64) {
	s.Received++
	if n >= s.expected {
		s.Outside++
		return
	}
	w, bit := n/64, uint64(1)<<(n%64)
	if s.seen[w]&bit != 0 {
		s.Dups++
		return
	}
	s.seen[w] |= bit
	s.distinct++
	switch {
	case n < s.next:
		s.Reordered++
	case n > s.next:
		s.Gaps++
		s.next = n + 1
	default:
		s.next = n + 1
	}
}

// Complete reports whether every expected number has arrived.
func (s *Seq) Complete() bool { return s.distinct == s.expected }

// Missing returns how many expected numbers have not arrived.
func (s *Seq) Missing() uint64 { return s.expected - s.distinct }

// OK reports whether the stream was complete and clean: every number once,
// in order.
func (s *Seq) OK() bool {
	return s.Complete() && s.Dups == 0 && s.Reordered == 0 && s.Gaps == 0 && s.Outside == 0
}

// Delivery sums the Seqs of every client of a run.
type Delivery struct {
	Clients       int    `json:"clients"`
	ExpectedEach  int    `json:"expected_per_client"`
	Frames        uint64 `json:"frames"`
	Missing       uint64 `json:"missing"`
	Gaps          uint64 `json:"gaps"`
	Dups          uint64 `json:"dups"`
	Reordered     uint64 `json:"reordered"`
	Outside       uint64 `json:"outside"`
	ClientsFailed int    `json:"clients_failed"`
	ClosedEarly   int    `json:"closed_early"`
	// FirstFailures describes up to maxFailures failing clients.
	FirstFailures []ClientFailure `json:"first_failures,omitempty"`
}

// ClientFailure is one client's account when it did not get a clean stream.
type ClientFailure struct {
	Client     int    `json:"client"`
	Received   uint64 `json:"received"`
	Missing    uint64 `json:"missing"`
	Gaps       uint64 `json:"gaps"`
	Dups       uint64 `json:"dups"`
	Reordered  uint64 `json:"reordered"`
	CloseError string `json:"close_error,omitempty"`
}

const maxFailures = 10

// Add counts client i's stream; closeErr is why its connection ended early,
// or "".
func (d *Delivery) Add(i int, s *Seq, closeErr string) {
	d.Clients++
	d.ExpectedEach = int(s.expected)
	d.Frames += s.Received
	d.Missing += s.Missing()
	d.Gaps += s.Gaps
	d.Dups += s.Dups
	d.Reordered += s.Reordered
	d.Outside += s.Outside
	if closeErr != "" {
		d.ClosedEarly++
	}
	if s.OK() && closeErr == "" {
		return
	}
	d.ClientsFailed++
	if len(d.FirstFailures) < maxFailures {
		d.FirstFailures = append(d.FirstFailures, ClientFailure{
			Client: i, Received: s.Received, Missing: s.Missing(), Gaps: s.Gaps,
			Dups: s.Dups, Reordered: s.Reordered, CloseError: closeErr,
		})
	}
}

// OK reports whether every client got every number once, in order.
func (d *Delivery) OK() bool { return d.ClientsFailed == 0 }
