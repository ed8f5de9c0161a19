package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
)

// Reading /proc: the memory and CPU time of a server and of the processes
// it started (a ScaleSocket room's process, websocketd's per-connection
// processes).

// clockTicks is USER_HZ, the unit of the CPU times in /proc/PID/stat; it
// is 100 on every Linux architecture Go supports.
const clockTicks = 100

// procStat is what the tool needs from /proc/PID/stat.
type procStat struct {
	comm                         string
	ppid                         int
	utime, stime, cutime, cstime uint64 // clock ticks
}

// parseStat reads /proc/PID/stat content. The command name is in
// parentheses and may itself contain spaces and parentheses, so the fields
// are counted from the last ')'.
func parseStat(b []byte) (procStat, error) {
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return procStat{}, fmt.Errorf("stat: no command name")
	}
	f := bytes.Fields(b[i+1:])
	// f[0] is field 3 (state); ppid is field 4, utime..cstime 14..17.
	if len(f) < 15 {
		return procStat{}, fmt.Errorf("stat: %d fields", len(f)+2)
	}
	var st procStat
	if j := bytes.IndexByte(b, '('); j >= 0 && j < i {
		st.comm = string(b[j+1 : i])
	}
	var err error
	num := func(k int) uint64 {
		v, e := strconv.ParseUint(string(f[k-3]), 10, 64)
		if e != nil && err == nil {
			err = fmt.Errorf("stat field %d: %w", k, e)
		}
		return v
	}
	st.ppid = int(num(4))
	st.utime, st.stime, st.cutime, st.cstime = num(14), num(15), num(16), num(17)
	return st, err
}

func readStat(pid int) (procStat, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return procStat{}, err
	}
	return parseStat(b)
}

// descendants returns pid and every live process below it.
func descendants(pid int) []int {
	children := make(map[int][]int)
	paths, _ := filepath.Glob("/proc/[0-9]*/stat")
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			continue // gone meanwhile
		}
		st, err := parseStat(b)
		if err != nil {
			continue
		}
		child, _ := strconv.Atoi(filepath.Base(filepath.Dir(p)))
		children[st.ppid] = append(children[st.ppid], child)
	}
	tree := []int{pid}
	for i := 0; i < len(tree); i++ {
		tree = append(tree, children[tree[i]]...)
	}
	return tree
}

// rollup is what the tool needs from /proc/PID/smaps_rollup, in bytes.
type rollup struct{ rss, pss int64 }

// parseRollup reads the Rss and Pss lines (in kB) of smaps_rollup.
func parseRollup(b []byte) (rollup, error) {
	var r rollup
	var found int
	for line := range bytes.Lines(b) {
		key, rest, ok := bytes.Cut(line, []byte(":"))
		if !ok {
			continue
		}
		var dst *int64
		switch string(key) {
		case "Rss":
			dst = &r.rss
		case "Pss":
			dst = &r.pss
		default:
			continue
		}
		f := bytes.Fields(rest)
		if len(f) != 2 || string(f[1]) != "kB" {
			return rollup{}, fmt.Errorf("smaps_rollup: bad line %q", line)
		}
		kb, err := strconv.ParseInt(string(f[0]), 10, 64)
		if err != nil {
			return rollup{}, fmt.Errorf("smaps_rollup: %w", err)
		}
		*dst = kb * 1024
		found++
	}
	if found < 2 {
		return rollup{}, fmt.Errorf("smaps_rollup: no Rss or Pss")
	}
	return r, nil
}

func readRollup(pid int) (rollup, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/smaps_rollup", pid))
	if err != nil {
		return rollup{}, err
	}
	return parseRollup(b)
}

// TreeMem is the memory of a server and its descendants at one moment.
type TreeMem struct {
	ServerRSS int64 // the server process alone
	TotalPSS  int64 // server and descendants: shared pages counted once
	Procs     int   // processes in the tree, the server included
}

// treeMem measures pid and its descendants. Processes that end while it
// reads are left out.
func treeMem(pid int) (TreeMem, error) {
	var m TreeMem
	for _, p := range descendants(pid) {
		r, err := readRollup(p)
		if err != nil {
			if p == pid {
				return TreeMem{}, fmt.Errorf("server memory: %w", err)
			}
			continue
		}
		if p == pid {
			m.ServerRSS = r.rss
		}
		m.TotalPSS += r.pss
		m.Procs++
	}
	return m, nil
}

// treeCPU returns the CPU time in seconds used so far by pid, its live
// descendants and the children it has reaped.
func treeCPU(pid int) float64 {
	var ticks uint64
	for _, p := range descendants(pid) {
		st, err := readStat(p)
		if err != nil {
			continue
		}
		ticks += st.utime + st.stime
		if p == pid {
			ticks += st.cutime + st.cstime
		}
	}
	return float64(ticks) / clockTicks
}

// machineBusy returns the CPU time in seconds that all cores have spent
// busy since boot (everything in /proc/stat's cpu line but idle and
// iowait), and the part of it spent in interrupts and softirqs.
func machineBusy() (busy, irq float64) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, 0
	}
	return parseProcStat(b)
}

func parseProcStat(b []byte) (busy, irq float64) {
	line, _, _ := bytes.Cut(b, []byte("\n"))
	f := bytes.Fields(line)
	if len(f) < 8 || string(f[0]) != "cpu" {
		return 0, 0
	}
	var ticks, irqTicks uint64
	for i, v := range f[1:] {
		n, err := strconv.ParseUint(string(v), 10, 64)
		if err != nil {
			return 0, 0
		}
		switch i {
		case 3, 4: // idle, iowait
		case 5, 6: // irq, softirq
			irqTicks += n
			ticks += n
		case 8, 9: // guest time is already counted in user time
		default:
			ticks += n
		}
	}
	return float64(ticks) / clockTicks, float64(irqTicks) / clockTicks
}

// softirqThreads are the pids of the kernel's ksoftirqd threads, found
// once.
var softirqThreads = sync.OnceValue(func() []int {
	var pids []int
	paths, _ := filepath.Glob("/proc/[0-9]*/stat")
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		if st, err := parseStat(b); err == nil && strings.HasPrefix(st.comm, "ksoftirqd/") {
			pid, _ := strconv.Atoi(filepath.Base(filepath.Dir(p)))
			pids = append(pids, pid)
		}
	}
	return pids
})

// softirqdCPU is the CPU time in seconds of the ksoftirqd threads so far.
// When loopback traffic is heavy the kernel hands part of its receive work
// to them, so it belongs to the run, not to other processes.
func softirqdCPU() float64 {
	var ticks uint64
	for _, pid := range softirqThreads() {
		if st, err := readStat(pid); err == nil {
			ticks += st.utime + st.stime
		}
	}
	return float64(ticks) / clockTicks
}
