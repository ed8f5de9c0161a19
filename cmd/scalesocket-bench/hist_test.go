package main

import (
	"math"
	"sync"
	"testing"
)

func TestHistQuantiles(t *testing.T) {
	t.Parallel()
	uniform := make([]int64, 10000) // 1..10000 µs
	for i := range uniform {
		uniform[i] = int64(i+1) * 1000
	}
	tests := []struct {
		name   string
		values []int64
		q      float64
		want   float64
	}{
		{"one value", []int64{42}, 0.5, 42},
		{"small values are exact", []int64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, 0.9, 9},
		{"nearest rank rounds up", []int64{10, 20, 30, 40}, 0.5, 20},
		{"p0 is the minimum", []int64{5, 9, 100}, 0, 5},
		{"p100 is the maximum", []int64{5, 9, 1_000_000}, 1, 1_000_000},
		{"median of a uniform spread", uniform, 0.5, 5_000_000},
		{"p99 of a uniform spread", uniform, 0.99, 9_900_000},
		{"p99.9 with one outlier in a thousand", append(make([]int64, 999), 1_000_000_000), 0.999, 0},
		{"negative counts as zero", []int64{-5, -1}, 0.5, 0},
	}
	for _, tt := range tests {
		var h Hist
		for _, v := range tt.values {
			h.Record(v)
		}
		got := h.Quantile(tt.q)
		// Within the histogram's precision of 1/128.
		if math.Abs(got-tt.want) > tt.want/128+0.5 {
			t.Errorf("%s: Quantile(%v) = %v, want %v", tt.name, tt.q, got, tt.want)
		}
	}
}

func TestHistBucketsCoverEveryValue(t *testing.T) {
	t.Parallel()
	prev := -1
	for _, v := range []int64{0, 1, 127, 128, 255, 256, 257, 1000, 1 << 20, 1<<20 + 1, 123456789, 1 << 39, 1<<40 - 1} {
		i := bucketOf(v)
		if i < prev {
			t.Errorf("bucketOf(%d) = %d, below bucketOf of a smaller value (%d)", v, i, prev)
		}
		prev = i
		if mid := bucketMid(i); math.Abs(mid-float64(v)) > float64(v)/128+0.5 {
			t.Errorf("value %d: bucket %d has middle %v, more than 1/128 away", v, i, mid)
		}
	}
	if i := bucketOf(math.MaxInt64); i != maxBucket-1 {
		t.Errorf("bucketOf(MaxInt64) = %d, want the last bucket %d", i, maxBucket-1)
	}
}

func TestHistSummaryAndMerge(t *testing.T) {
	t.Parallel()
	var empty Hist
	if empty.Summary() != nil || !math.IsNaN(empty.Quantile(0.5)) {
		t.Error("an empty histogram has a summary")
	}
	var a, b Hist
	for i := range 100 {
		a.Record(int64(i+1) * 1000) // 1..100 µs
		b.Record(int64(i+101) * 1000)
	}
	a.Merge(&b)
	a.Merge(&empty)
	s := a.Summary()
	want := Latency{Count: 200, Mean: 100.5, Min: 1, P50: 100, P90: 180, P99: 198, P999: 200, Max: 200}
	near := func(got, want float64) bool { return math.Abs(got-want) <= want/128+0.1 }
	if s.Count != want.Count || !near(s.Mean, want.Mean) || !near(s.Min, want.Min) || !near(s.P50, want.P50) ||
		!near(s.P90, want.P90) || !near(s.P99, want.P99) || !near(s.P999, want.P999) || !near(s.Max, want.Max) {
		t.Errorf("Summary = %+v, want about %+v", *s, want)
	}
}

func TestRecorderBatchesFromManyGoroutines(t *testing.T) {
	t.Parallel()
	var r Recorder
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			b := r.Batch()
			for i := range 1000 {
				b.Record(int64(g*1000 + i))
			}
			b.Flush()
		})
	}
	wg.Wait()
	h := r.Hist()
	if h.Count() != 8000 || h.min != 0 || h.max != 7999 {
		t.Errorf("Recorder holds %d values in %d..%d, want 8000 in 0..7999", h.Count(), h.min, h.max)
	}
}
