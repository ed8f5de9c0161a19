package main

import (
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
)

// stats are the values of one figure over the repetitions of a case.
type stats struct {
	vals   []float64
	failed int
}

func (s *stats) median() float64 {
	if len(s.vals) == 0 {
		return math.NaN()
	}
	v := slices.Sorted(slices.Values(s.vals))
	n := len(v)
	if n%2 == 1 {
		return v[n/2]
	}
	return (v[n/2-1] + v[n/2]) / 2
}

func (s *stats) min() float64 { return slices.Min(s.vals) }
func (s *stats) max() float64 { return slices.Max(s.vals) }

// summary holds every figure by case, label and metric name, in the order
// the cases first ran.
type summary struct {
	cases  []string
	labels []string
	first  map[string]*Report // a report of each case
	cells  map[[3]string]*stats
}

func summarize(reports []*Report) *summary {
	s := &summary{first: map[string]*Report{}, cells: map[[3]string]*stats{}}
	for _, r := range reports {
		if r.Case == "" || r.Retried {
			continue
		}
		if _, ok := s.first[r.Case]; !ok {
			s.cases = append(s.cases, r.Case)
			s.first[r.Case] = r
		}
		if !slices.Contains(s.labels, r.Label) {
			s.labels = append(s.labels, r.Label)
		}
		for _, m := range metricsOf(s.first[r.Case]) {
			key := [3]string{r.Case, r.Label, m.name}
			st := s.cells[key]
			if st == nil {
				st = &stats{}
				s.cells[key] = st
			}
			if !r.OK {
				st.failed++
				continue
			}
			if v, ok := m.get(r); ok && !math.IsNaN(v) {
				st.vals = append(st.vals, v)
			}
		}
	}
	// A fixed order of the servers: ours first, then the references.
	order := []string{"ours", "websocketd", "floor"}
	slices.SortStableFunc(s.labels, func(a, b string) int {
		ia, ib := slices.Index(order, a), slices.Index(order, b)
		if ia < 0 {
			ia = len(order)
		}
		if ib < 0 {
			ib = len(order)
		}
		return ia - ib
	})
	return s
}

func (s *summary) cell(c, label string, m metric) *stats {
	return s.cells[[3]string{c, label, m.name}]
}

// table renders the summary as Markdown: per case and figure, the median
// with min–max of every server, and ours against each other server.
func (s *summary) table() string {
	var b strings.Builder
	others := slices.DeleteFunc(slices.Clone(s.labels), func(l string) bool { return l == "ours" })
	b.WriteString("| case | figure |")
	for _, l := range s.labels {
		fmt.Fprintf(&b, " %s |", l)
	}
	for _, l := range others {
		fmt.Fprintf(&b, " ours / %s |", l)
	}
	b.WriteString("\n|---|---|")
	b.WriteString(strings.Repeat("---|", len(s.labels)+len(others)))
	b.WriteString("\n")
	for _, c := range s.cases {
		for _, m := range metricsOf(s.first[c]) {
			arrow := "↓"
			if m.higher {
				arrow = "↑"
			}
			fmt.Fprintf(&b, "| %s | %s %s |", c, m.name, arrow)
			for _, l := range s.labels {
				fmt.Fprintf(&b, " %s |", s.cell(c, l, m).text(m))
			}
			for _, l := range others {
				fmt.Fprintf(&b, " %s |", ratio(s.cell(c, "ours", m), s.cell(c, l, m)))
			}
			b.WriteString("\n")
		}
	}
	b.WriteString("\nMedian (min–max) over the repetitions; ↑ higher is better, ↓ lower is better. " +
		"A ratio above 1 means ours is higher. Failed runs are left out of the figures and counted.\n")
	return b.String()
}

func (st *stats) text(m metric) string {
	if st == nil {
		return "–"
	}
	var parts []string
	switch len(st.vals) {
	case 0:
	case 1:
		parts = append(parts, m.format(st.vals[0]))
	default:
		parts = append(parts, fmt.Sprintf("%s (%s–%s)", m.format(st.median()), m.format(st.min()), m.format(st.max())))
	}
	if st.failed > 0 {
		parts = append(parts, fmt.Sprintf("**%d failed**", st.failed))
	}
	return strings.Join(parts, ", ")
}

func ratio(a, b *stats) string {
	if a == nil || b == nil || len(a.vals) == 0 || len(b.vals) == 0 || b.median() == 0 {
		return "–"
	}
	return fmt.Sprintf("%.2f×", a.median()/b.median())
}

// writeSummary writes summary.md and fanout.svg into the output directory
// and prints the table on stderr. It fails when any run failed.
func writeSummary(o suiteOptions, reports []*Report, preamble string, stderr io.Writer) int {
	s := summarize(reports)
	table := s.table()
	var failures []string
	for _, r := range reports {
		if !r.OK && !r.Retried {
			failures = append(failures, fmt.Sprintf("- %s, %s, rep %d: %s", r.Case, r.Label, r.Rep, strings.Join(r.Errors, "; ")))
		}
	}
	// Runs that other processes disturbed even after the retries, by
	// server.
	disturbed := map[string]int{}
	kept, nDisturbed := 0, 0
	for _, r := range reports {
		if r.Retried {
			continue
		}
		kept++
		if r.disturbed(runtime.NumCPU()) {
			disturbed[r.Label]++
			nDisturbed++
		}
	}
	if nDisturbed > 0 {
		var per []string
		for _, l := range s.labels {
			per = append(per, fmt.Sprintf("%s %d", l, disturbed[l]))
		}
		table += fmt.Sprintf("\n%d of the %d runs kept shared the machine with other processes even after the retries (%s); "+
			"results.jsonl has each run's cpu.other_s.\n", nDisturbed, kept, strings.Join(per, ", "))
	} else {
		table += "\nNo run kept here shared the machine with other processes (none used over 5% of the cores, or 0.1 s, during a run).\n"
	}
	var md strings.Builder
	md.WriteString("# Benchmark results\n\n")
	md.WriteString(preamble)
	md.WriteString("\n")
	md.WriteString(table)
	if len(failures) > 0 {
		md.WriteString("\nFailed runs:\n\n" + strings.Join(failures, "\n") + "\n")
	}
	md.WriteString("\n![fan-out throughput and p99 latency against clients](fanout.svg)\n")
	if err := os.WriteFile(filepath.Join(o.out, "summary.md"), []byte(md.String()), 0o644); err != nil {
		fmt.Fprintf(stderr, "scalesocket-bench suite: %v\n", err)
		return exitFailed
	}
	if err := os.WriteFile(filepath.Join(o.out, "fanout.svg"), []byte(s.chart()), 0o644); err != nil {
		fmt.Fprintf(stderr, "scalesocket-bench suite: %v\n", err)
		return exitFailed
	}
	fmt.Fprintf(stderr, "\n%s\nwritten: %s, %s\n", table, filepath.Join(o.out, "summary.md"), filepath.Join(o.out, "fanout.svg"))
	if len(failures) > 0 {
		fmt.Fprintf(stderr, "%d runs failed:\n%s\n", len(failures), strings.Join(failures, "\n"))
		return exitFailed
	}
	return exitOK
}
