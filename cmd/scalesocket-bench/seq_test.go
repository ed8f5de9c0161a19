package main

import "testing"

func TestSeqAccounting(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		expected  int
		arrivals  []uint64
		ok        bool
		missing   uint64
		gaps      uint64
		dups      uint64
		reordered uint64
		outside   uint64
	}{
		{"in order", 5, []uint64{0, 1, 2, 3, 4}, true, 0, 0, 0, 0, 0},
		{"tail missing", 5, []uint64{0, 1, 2}, false, 2, 0, 0, 0, 0},
		{"head missing", 5, []uint64{2, 3, 4}, false, 2, 1, 0, 0, 0},
		{"one gap, then more", 6, []uint64{0, 1, 4, 5}, false, 2, 1, 0, 0, 0},
		{"two gaps", 8, []uint64{0, 2, 3, 6, 7}, false, 3, 2, 0, 0, 0},
		{"duplicate", 3, []uint64{0, 1, 1, 2}, false, 0, 0, 1, 0, 0},
		{"duplicate of an old one", 3, []uint64{0, 1, 2, 0, 0}, false, 0, 0, 2, 0, 0},
		{"swapped pair", 4, []uint64{0, 2, 1, 3}, false, 0, 1, 0, 1, 0},
		{"reversed", 3, []uint64{2, 1, 0}, false, 0, 1, 0, 2, 0},
		{"beyond the expected", 2, []uint64{0, 1, 2}, false, 0, 0, 0, 0, 1},
		{"nothing", 2, nil, false, 2, 0, 0, 0, 0},
		{"across a bitmap word", 130, seqRange(0, 130), true, 0, 0, 0, 0, 0},
	}
	for _, tt := range tests {
		s := NewSeq(tt.expected)
		for _, n := range tt.arrivals {
			s.Observe(n)
		}
		if s.OK() != tt.ok || s.Missing() != tt.missing || s.Gaps != tt.gaps || s.Dups != tt.dups ||
			s.Reordered != tt.reordered || s.Outside != tt.outside || s.Received != uint64(len(tt.arrivals)) {
			t.Errorf("%s: ok %v missing %d gaps %d dups %d reordered %d outside %d received %d; want ok %v missing %d gaps %d dups %d reordered %d outside %d received %d",
				tt.name, s.OK(), s.Missing(), s.Gaps, s.Dups, s.Reordered, s.Outside, s.Received,
				tt.ok, tt.missing, tt.gaps, tt.dups, tt.reordered, tt.outside, len(tt.arrivals))
		}
	}
}

func seqRange(from, to uint64) []uint64 {
	var s []uint64
	for i := from; i < to; i++ {
		s = append(s, i)
	}
	return s
}

func TestDeliverySums(t *testing.T) {
	t.Parallel()
	var d Delivery
	clean := NewSeq(3)
	for _, n := range []uint64{0, 1, 2} {
		clean.Observe(n)
	}
	gappy := NewSeq(3)
	gappy.Observe(0)
	gappy.Observe(2)
	d.Add(0, clean, "")
	d.Add(1, gappy, "")
	d.Add(2, clean, "closed 1008 slow consumer") // complete, yet closed early
	if d.OK() || d.Clients != 3 || d.ClientsFailed != 2 || d.ClosedEarly != 1 || d.Frames != 8 || d.Missing != 1 || d.Gaps != 1 {
		t.Errorf("Delivery = %+v", d)
	}
	if len(d.FirstFailures) != 2 || d.FirstFailures[0].Client != 1 || d.FirstFailures[1].CloseError == "" {
		t.Errorf("FirstFailures = %+v", d.FirstFailures)
	}
	for i := range 2 * maxFailures {
		d.Add(3+i, gappy, "")
	}
	if len(d.FirstFailures) != maxFailures {
		t.Errorf("%d failures described, want at most %d", len(d.FirstFailures), maxFailures)
	}
}
