package main

import (
	"math"
	"math/bits"
	"sync"
	"time"
)

// subBits sets the histogram's precision: each power of two is cut into
// 2^subBits buckets, so a recorded value is off by less than 1/128 (0.8%).
const subBits = 7

// maxBucket covers values up to 2^40 ns (18 minutes), longer than any run.
const maxBucket = (40 - subBits + 1) << subBits

// Hist is a log-linear histogram of durations in nanoseconds. It keeps
// the exact count, sum, minimum and maximum, and percentiles within 0.8%.
// The zero value is empty and ready to use; it is not safe for concurrent
// use (see Recorder).
type Hist struct {
	counts   []uint64
	n        uint64
	sum      float64
	min, max int64
}

func bucketOf(v int64) int {
	if v < 1<<subBits {
		return int(max(v, 0))
	}
	shift := bits.Len64(uint64(v)) - subBits - 1
	i := (shift+1)<<subBits + int(uint64(v)>>shift) - 1<<subBits
	return min(i, maxBucket-1)
}

// bucketMid is the middle of bucket i's range of values.
func bucketMid(i int) float64 {
	if i < 2<<subBits {
		return float64(i)
	}
	shift := i>>subBits - 1
	lo := uint64(i&(1<<subBits-1)|1<<subBits) << shift
	return float64(lo) + float64(uint64(1)<<shift-1)/2
}

// Record adds one duration in nanoseconds; negative values count as 0.
func (h *Hist) Record(v int64) {
	v = max(v, 0)
	if h.counts == nil {
		h.counts = make([]uint64, maxBucket)
	}
	h.counts[bucketOf(v)]++
	if h.n == 0 || v < h.min {
		h.min = v
	}
	if v > h.max {
		h.max = v
	}
	h.n++
	h.sum += float64(v)
}

// Merge adds every value of o to h.
func (h *Hist) Merge(o *Hist) {
	if o.n == 0 {
		return
	}
	if h.counts == nil {
		h.counts = make([]uint64, maxBucket)
	}
	for i, c := range o.counts {
		h.counts[i] += c
	}
	if h.n == 0 || o.min < h.min {
		h.min = o.min
	}
	h.max = max(h.max, o.max)
	h.n += o.n
	h.sum += o.sum
}

// Count returns how many values were recorded.
func (h *Hist) Count() uint64 { return h.n }

// Quantile returns the value below which a fraction q (0..1) of the
// recorded values lie: the nearest-rank percentile, taken at its bucket's
// middle and kept within the exact minimum and maximum.
func (h *Hist) Quantile(q float64) float64 {
	if h.n == 0 {
		return math.NaN()
	}
	rank := uint64(math.Ceil(q * float64(h.n)))
	rank = min(max(rank, 1), h.n)
	var seen uint64
	for i, c := range h.counts {
		seen += c
		if seen >= rank {
			return min(max(bucketMid(i), float64(h.min)), float64(h.max))
		}
	}
	return float64(h.max)
}

// Summary returns the percentiles the reports show.
func (h *Hist) Summary() *Latency {
	if h.n == 0 {
		return nil
	}
	us := func(ns float64) float64 { return math.Round(ns/100) / 10 }
	return &Latency{
		Count: h.n,
		Mean:  us(h.sum / float64(h.n)),
		Min:   us(float64(h.min)),
		P50:   us(h.Quantile(0.50)),
		P90:   us(h.Quantile(0.90)),
		P99:   us(h.Quantile(0.99)),
		P999:  us(h.Quantile(0.999)),
		Max:   us(float64(h.max)),
	}
}

// Latency is a distribution of durations in microseconds.
type Latency struct {
	Count uint64  `json:"count"`
	Mean  float64 `json:"mean"`
	Min   float64 `json:"min"`
	P50   float64 `json:"p50"`
	P90   float64 `json:"p90"`
	P99   float64 `json:"p99"`
	P999  float64 `json:"p999"`
	Max   float64 `json:"max"`
}

// Recorder lets many goroutines feed one Hist: each goroutine records into
// a Batch of its own, which takes the lock once per batchSize values.
type Recorder struct {
	mu sync.Mutex
	h  Hist
}

// batchSize values are kept per goroutine between flushes.
const batchSize = 512

// Batch buffers one goroutine's values for a Recorder.
type Batch struct {
	r    *Recorder
	vals []int64
}

// Batch returns a new buffer that flushes into r.
func (r *Recorder) Batch() *Batch {
	return &Batch{r: r, vals: make([]int64, 0, batchSize)}
}

// Record buffers v, flushing when the buffer is full.
func (b *Batch) Record(v int64) {
	b.vals = append(b.vals, v)
	if len(b.vals) == cap(b.vals) {
		b.Flush()
	}
}

// RecordSince records the time from t to now.
func (b *Batch) RecordSince(t time.Time) { b.Record(int64(time.Since(t))) }

// Flush moves the buffered values into the Recorder.
func (b *Batch) Flush() {
	if len(b.vals) == 0 {
		return
	}
	b.r.mu.Lock()
	for _, v := range b.vals {
		b.r.h.Record(v)
	}
	b.r.mu.Unlock()
	b.vals = b.vals[:0]
}

// Hist returns a copy of everything flushed so far.
func (r *Recorder) Hist() *Hist {
	r.mu.Lock()
	defer r.mu.Unlock()
	var h Hist
	h.Merge(&r.h)
	return &h
}
