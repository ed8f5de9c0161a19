package main

import (
	"os"
	"testing"
)

func TestParseStat(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   string
		want procStat
		ok   bool
	}{
		{"plain", "1234 (cat) S 99 1234 1234 0 -1 4194304 100 0 0 0 7 3 2 1 20 0 1 0 5 1000 10",
			procStat{comm: "cat", ppid: 99, utime: 7, stime: 3, cutime: 2, cstime: 1}, true},
		{"name with spaces and parentheses", "77 (my (odd) prog) R 1 77 77 0 -1 0 0 0 0 0 100 50 0 0 20 0 1 0 5 1000 10",
			procStat{comm: "my (odd) prog", ppid: 1, utime: 100, stime: 50}, true},
		{"no name", "77 R 1", procStat{}, false},
		{"too short", "77 (x) R 1 2 3", procStat{}, false},
	}
	for _, tt := range tests {
		got, err := parseStat([]byte(tt.in))
		if (err == nil) != tt.ok || (tt.ok && got != tt.want) {
			t.Errorf("%s: parseStat = %+v, %v; want %+v, ok %v", tt.name, got, err, tt.want, tt.ok)
		}
	}
}

func TestParseRollup(t *testing.T) {
	t.Parallel()
	in := `55d4e6a0e000-7ffd2d1f9000 ---p 00000000 00:00 0                          [rollup]
Rss:               12345 kB
Pss:                6789 kB
Pss_Anon:           5000 kB
Shared_Clean:       1000 kB
`
	r, err := parseRollup([]byte(in))
	if err != nil || r.rss != 12345*1024 || r.pss != 6789*1024 {
		t.Errorf("parseRollup = %+v, %v", r, err)
	}
	if _, err := parseRollup([]byte("Rss: 12 kB\n")); err == nil {
		t.Error("parseRollup without Pss succeeded")
	}
	if _, err := parseRollup([]byte("Rss: 12 MB\nPss: 3 kB\n")); err == nil {
		t.Error("parseRollup with an unknown unit succeeded")
	}
}

func TestParseProcStat(t *testing.T) {
	t.Parallel()
	busy, irq := parseProcStat([]byte("cpu  100 5 50 1000 20 3 7 1 40 0\ncpu0 1 2 3\n"))
	// user+nice+system+irq+softirq+steal, leaving out idle, iowait and guest.
	if busy != 1.66 || irq != 0.1 {
		t.Errorf("parseProcStat = %v, %v; want 1.66, 0.1", busy, irq)
	}
}

func TestOwnProcessMemoryAndCPU(t *testing.T) {
	t.Parallel()
	pid := os.Getpid()
	m, err := treeMem(pid)
	if err != nil {
		t.Skipf("no smaps_rollup here: %v", err)
	}
	if m.ServerRSS <= 0 || m.TotalPSS <= 0 || m.Procs < 1 {
		t.Errorf("treeMem(self) = %+v", m)
	}
	if tree := descendants(pid); len(tree) < 1 || tree[0] != pid {
		t.Errorf("descendants(self) = %v", tree)
	}
	if treeCPU(pid) < 0 {
		t.Error("negative CPU time")
	}
}
