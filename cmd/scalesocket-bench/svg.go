package main

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strings"
)

// The chart of the suite: fan-out throughput and p99 latency against the
// number of clients, one line per server, drawn as SVG by hand.

var seriesColors = map[string]string{"ours": "#1f77b4", "websocketd": "#d62728", "floor": "#2ca02c"}

type point struct{ x, y, lo, hi float64 }

type series struct {
	label, color string
	pts          []point
}

type panel struct {
	title, yLabel string
	format        func(float64) string
	series        []series
}

// chart draws the fan-out cases of the summary: bursts by frames/s, paced
// runs by p99 latency.
func (s *summary) chart() string {
	burst := panel{title: "Fan-out throughput (burst)", yLabel: "delivered frames/s", format: si}
	paced := panel{title: "Fan-out p99 latency (paced)", yLabel: "p99 delivery latency", format: us}
	for _, l := range s.labels {
		color := seriesColors[l]
		if color == "" {
			color = "#555555"
		}
		b, p := series{label: l, color: color}, series{label: l, color: color}
		for _, c := range s.cases {
			r := s.first[c]
			if r.Scenario != "fanout" {
				continue
			}
			x := paramFloat(r, "c")
			if paramFloat(r, "rate") > 0 {
				if st := s.cell(c, l, mP99); st != nil && len(st.vals) > 0 {
					p.pts = append(p.pts, point{x, st.median(), st.min(), st.max()})
				}
				if paced.title == "Fan-out p99 latency (paced)" {
					paced.title = fmt.Sprintf("Fan-out p99 latency (paced, %g lines/s)", paramFloat(r, "rate"))
				}
			} else {
				if st := s.cell(c, l, mFrames); st != nil && len(st.vals) > 0 {
					b.pts = append(b.pts, point{x, st.median(), st.min(), st.max()})
				}
				if burst.title == "Fan-out throughput (burst)" {
					burst.title = fmt.Sprintf("Fan-out throughput (burst of %g lines)", paramFloat(r, "m"))
				}
			}
		}
		sortPts := func(a, b point) int { return cmp.Compare(a.x, b.x) }
		slices.SortFunc(b.pts, sortPts)
		slices.SortFunc(p.pts, sortPts)
		burst.series = append(burst.series, b)
		paced.series = append(paced.series, p)
	}
	return svgChart([]panel{burst, paced})
}

const (
	panelW, panelH              = 470, 360
	marginL, marginR            = 78, 18
	marginT, marginB            = 46, 58
	legendH                     = 34
	axisColor, gridColor, textC = "#333333", "#dddddd", "#222222"
)

var xmlEscaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;")

// svgChart lays the panels side by side with one legend below them.
func svgChart(panels []panel) string {
	w, h := panelW*len(panels), panelH+legendH
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="12">`+"\n", w, h, w, h)
	fmt.Fprintf(&b, `<rect width="%d" height="%d" fill="white"/>`+"\n", w, h)
	for i, p := range panels {
		drawPanel(&b, float64(i*panelW), p)
	}
	// Legend: the series of the first panel.
	if len(panels) > 0 {
		x := float64(w)/2 - float64(len(panels[0].series))*55
		y := float64(panelH) + legendH/2
		for _, s := range panels[0].series {
			fmt.Fprintf(&b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="%s" stroke-width="2.5"/>`+"\n", x, y, x+22, y, s.color)
			fmt.Fprintf(&b, `<circle cx="%.1f" cy="%.1f" r="3.5" fill="%s"/>`+"\n", x+11, y, s.color)
			fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" fill="%s">%s</text>`+"\n", x+28, y+4, textC, xmlEscaper.Replace(s.label))
			x += 110
		}
	}
	b.WriteString("</svg>\n")
	return b.String()
}

func drawPanel(b *strings.Builder, ox float64, p panel) {
	x0, x1 := ox+marginL, ox+panelW-marginR
	y0, y1 := float64(marginT), float64(panelH-marginB) // top, bottom
	fmt.Fprintf(b, `<text x="%.1f" y="22" text-anchor="middle" font-size="14" font-weight="bold" fill="%s">%s</text>`+"\n",
		(x0+x1)/2, textC, xmlEscaper.Replace(p.title))

	var xs, ys []float64
	for _, s := range p.series {
		for _, pt := range s.pts {
			xs = append(xs, pt.x)
			ys = append(ys, pt.lo, pt.hi, pt.y)
		}
	}
	if len(xs) == 0 {
		fmt.Fprintf(b, `<text x="%.1f" y="%.1f" text-anchor="middle" fill="%s">no data</text>`+"\n", (x0+x1)/2, (y0+y1)/2, textC)
		return
	}
	// Both axes are logarithmic, in whole decades.
	xlo, xhi := decades(slices.Min(xs), slices.Max(xs))
	ylo, yhi := decades(slices.Min(ys), slices.Max(ys))
	pad := 0.15
	sx := func(v float64) float64 {
		return x0 + (math.Log10(v)-xlo+pad)/(xhi-xlo+2*pad)*(x1-x0)
	}
	sy := func(v float64) float64 {
		return y1 - (math.Log10(v)-ylo)/(yhi-ylo)*(y1-y0)
	}
	// Grid and ticks.
	for d := ylo; d <= yhi+1e-9; d++ {
		for _, m := range []float64{1, 2, 5} {
			v := m * math.Pow(10, d)
			if math.Log10(v) > yhi+1e-9 {
				break
			}
			y := sy(v)
			fmt.Fprintf(b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="%s"/>`+"\n", x0, y, x1, y, gridColor)
			if m == 1 || yhi-ylo <= 2 {
				fmt.Fprintf(b, `<text x="%.1f" y="%.1f" text-anchor="end" fill="%s">%s</text>`+"\n", x0-6, y+4, textC, xmlEscaper.Replace(p.format(v)))
			}
		}
	}
	for d := xlo; d <= xhi+1e-9; d++ {
		v := math.Pow(10, d)
		x := sx(v)
		fmt.Fprintf(b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="%s"/>`+"\n", x, y0, x, y1, gridColor)
		fmt.Fprintf(b, `<text x="%.1f" y="%.1f" text-anchor="middle" fill="%s">%g</text>`+"\n", x, y1+16, textC, v)
	}
	fmt.Fprintf(b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="none" stroke="%s"/>`+"\n", x0, y0, x1-x0, y1-y0, axisColor)
	fmt.Fprintf(b, `<text x="%.1f" y="%.1f" text-anchor="middle" fill="%s">clients in one room (C)</text>`+"\n", (x0+x1)/2, y1+38, textC)
	fmt.Fprintf(b, `<text transform="translate(%.1f %.1f) rotate(-90)" text-anchor="middle" fill="%s">%s</text>`+"\n",
		ox+16, (y0+y1)/2, textC, xmlEscaper.Replace(p.yLabel))

	for _, s := range p.series {
		var pts []string
		for _, pt := range s.pts {
			pts = append(pts, fmt.Sprintf("%.1f,%.1f", sx(pt.x), sy(pt.y)))
		}
		if len(pts) > 1 {
			fmt.Fprintf(b, `<polyline points="%s" fill="none" stroke="%s" stroke-width="2.5"/>`+"\n", strings.Join(pts, " "), s.color)
		}
		for _, pt := range s.pts {
			x := sx(pt.x)
			// The whisker spans min–max over the repetitions.
			fmt.Fprintf(b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="%s" stroke-width="1.5"/>`+"\n", x, sy(pt.lo), x, sy(pt.hi), s.color)
			fmt.Fprintf(b, `<circle cx="%.1f" cy="%.1f" r="3.5" fill="%s"><title>%s, C=%g: %s (%s–%s)</title></circle>`+"\n",
				x, sy(pt.y), s.color, xmlEscaper.Replace(s.label), pt.x, xmlEscaper.Replace(p.format(pt.y)),
				xmlEscaper.Replace(p.format(pt.lo)), xmlEscaper.Replace(p.format(pt.hi)))
		}
	}
}

// decades returns the whole powers of ten around lo..hi, as exponents.
func decades(lo, hi float64) (float64, float64) {
	lo, hi = max(lo, 1e-9), max(hi, 1e-9)
	a, b := math.Floor(math.Log10(lo)), math.Ceil(math.Log10(hi))
	if a == b {
		b++
	}
	return a, b
}
